//! GA4 Measurement Protocol: `POST {base}/mp/collect?measurement_id=…&api_secret=…`, up
//! to 25 events of one `client_id` per request. GA4 answers 2xx for anything it
//! receives, so 2xx is success; 5xx, 429 and network errors retry; 401/403 pause.

use std::collections::BTreeMap;
use std::time::Instant;

use uuid::Uuid;

use super::body;
use crate::destinations::StoredEvent;
use crate::destinations::outcome::{self, Attempt, Outcome};
use crate::destinations::send::{
    Budget, deferred, elapsed_ms, parse_retry_after, transport_failure,
};

pub const MAX_EVENTS: usize = 25;

/// A GA4 data stream: a web stream by measurement id (events keyed by `client_id`) or
/// an app stream by Firebase app id (keyed by `app_instance_id`).
#[derive(Debug, Clone, Copy)]
pub enum Stream<'a> {
    Web(&'a str),
    App(&'a str),
}

impl Stream<'_> {
    /// The query parameter naming the stream, and the body key of the event's id.
    pub(super) fn keys(&self) -> (&'static str, &'static str) {
        match self {
            Stream::Web(_) => ("measurement_id", "client_id"),
            Stream::App(_) => ("firebase_app_id", "app_instance_id"),
        }
    }
    pub(super) fn id(&self) -> &str {
        match self {
            Stream::Web(id) | Stream::App(id) => id,
        }
    }
    /// The event's id for this stream.
    pub(super) fn event_id<'e>(&self, e: &'e StoredEvent) -> Option<&'e str> {
        match self {
            Stream::Web(_) => e.ga4_client_id.as_deref(),
            Stream::App(_) => e.ga4_app_instance_id.as_deref(),
        }
    }
}

pub struct Ga4Target<'a> {
    pub stream: Stream<'a>,
    pub api_secret: &'a str,
    /// Send to the EU collection endpoint.
    pub eu: bool,
}

pub struct Ga4Client {
    pub http: reqwest::Client,
    pub base: String,
    pub eu_base: String,
}

/// Classifies a `/mp/collect` status.
pub fn classify(status: u16, retry_after: Option<&str>, attempt: &mut Attempt) -> Outcome {
    attempt.http_status = Some(i32::from(status));
    if (200..300).contains(&status) {
        return Outcome::Delivered;
    }
    attempt.error_code = Some(status.to_string());
    attempt.error_message = Some(format!("GA4 answered HTTP {status}"));
    match status {
        401 | 403 => Outcome::Pause,
        429 | 500..=599 => Outcome::Retry {
            after: parse_retry_after(retry_after),
            whole_destination: false,
        },
        _ => Outcome::Fail,
    }
}

impl Ga4Client {
    /// Sends events grouped by what a request holds once (the stream's id for the
    /// event, user_id, event time and the request-level fields: hints, consent, user data) in requests of ≤ 25;
    /// requests the claim's budget has no room for are deferred, unsent.
    pub async fn send_groups(
        &self,
        target: &Ga4Target<'_>,
        events: &[(Uuid, &StoredEvent)],
        budget: &Budget<'_>,
    ) -> Vec<(Uuid, outcome::Result)> {
        type Key<'e> = (&'e str, Option<&'e str>, i64, String);
        let mut groups: BTreeMap<Key, Vec<(Uuid, &StoredEvent)>> = BTreeMap::new();
        let mut results = Vec::with_capacity(events.len());
        for (id, e) in events {
            match target.stream.event_id(e) {
                Some(client) => groups
                    .entry((
                        client,
                        e.ga4_user_id.as_deref(),
                        e.event_time_ms,
                        body::hints_key(e),
                    ))
                    .or_default()
                    .push((*id, e)),
                None => results.push((*id, missing_id(target.stream.keys().1))),
            }
        }
        let mut first = true;
        for ((client, user, _, _), group) in groups {
            for chunk in group.chunks(MAX_EVENTS) {
                let result = if first || budget.allows() {
                    let stored: Vec<&StoredEvent> = chunk.iter().map(|(_, e)| *e).collect();
                    self.post(target, client, user, &stored).await
                } else {
                    deferred()
                };
                first = false;
                results.extend(chunk.iter().map(|(id, _)| (*id, result.clone())));
            }
        }
        results
    }

    async fn post(
        &self,
        target: &Ga4Target<'_>,
        client: &str,
        user: Option<&str>,
        events: &[&StoredEvent],
    ) -> outcome::Result {
        let (stream_key, id_key) = target.stream.keys();
        let body = body::request(id_key, client, user, events);
        let base = if target.eu { &self.eu_base } else { &self.base };
        let url = format!("{base}/mp/collect");
        let query = [
            (stream_key, target.stream.id()),
            ("api_secret", target.api_secret),
        ];
        let started = Instant::now();
        let mut attempt = Attempt {
            started_at: chrono::Utc::now().timestamp_millis(),
            ..Attempt::default()
        };
        let outcome = match self.http.post(url).query(&query).json(&body).send().await {
            Err(err) => transport_failure(&err, &mut attempt),
            Ok(response) => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                classify(
                    response.status().as_u16(),
                    retry_after.as_deref(),
                    &mut attempt,
                )
            }
        };
        attempt.duration_ms = elapsed_ms(started);
        outcome::Result { outcome, attempt }
    }
}

fn missing_id(key: &str) -> outcome::Result {
    let attempt = Attempt {
        error_code: Some(format!("missing_{key}")),
        error_message: Some(format!("the event has no GA4 {key}")),
        ..Attempt::default()
    };
    outcome::Result {
        outcome: Outcome::Fail,
        attempt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ga4_statuses_classify() {
        let mut a = Attempt::default();
        assert_eq!(classify(204, None, &mut a), Outcome::Delivered);
        assert_eq!(classify(401, None, &mut a), Outcome::Pause);
        assert_eq!(classify(400, None, &mut a), Outcome::Fail);
        assert_eq!(
            classify(429, Some("7"), &mut a),
            Outcome::Retry {
                after: Some(std::time::Duration::from_secs(7)),
                whole_destination: false
            }
        );
        assert!(matches!(classify(502, None, &mut a), Outcome::Retry { .. }));
    }
}
