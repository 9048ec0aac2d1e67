//! What every destination's client shares: the HTTP client, how a transport failure is
//! read (nothing sent, or outcome unknown), the claim's time budget, `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use uuid::Uuid;

use super::StoredEvent;
use super::outcome::{Attempt, Outcome};
use super::spec::SendFuture;

/// Meta recommends a 1.5 s budget; a few seconds (`KICKIN_SEND_TIMEOUT`, default 5 s)
/// leaves room for slow networks. Past it the attempt's outcome is unknown.
pub fn http_client(send_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(send_timeout)
        .connect_timeout(Duration::from_secs(2))
        .user_agent(concat!("kickin/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with rustls builds")
}

/// A transport failure's code, what it means for the attempt, and a short, log-safe
/// description (never the URL: it carries secrets). Only a connection that was never
/// made proves nothing was sent; a timeout or a lost connection after the request was
/// written may have been recorded by the destination, so its outcome is unknown.
pub fn describe_transport(err: &reqwest::Error) -> (&'static str, Outcome, &'static str) {
    if err.is_connect() {
        (
            "connect",
            Outcome::retry(),
            "could not connect to the destination: nothing was sent",
        )
    } else if err.is_timeout() {
        (
            "timeout",
            Outcome::Unknown,
            "no answer from the destination in time: the outcome is unknown",
        )
    } else {
        (
            "network",
            Outcome::Unknown,
            "the connection to the destination was lost: the outcome is unknown",
        )
    }
}

/// What a transport failure means for the attempt, recorded on its log line.
pub fn transport_failure(err: &reqwest::Error, attempt: &mut Attempt) -> Outcome {
    let (code, outcome, message) = describe_transport(err);
    attempt.error_code = Some(code.to_string());
    attempt.error_message = Some(message.to_string());
    outcome
}

/// Milliseconds since `started`, as the attempt log stores them.
pub fn elapsed_ms(started: std::time::Instant) -> i32 {
    started.elapsed().as_millis().min(i32::MAX as u128) as i32
}

/// How long a worker may keep sending one claim: its lease, less room for a request to
/// time out and its completion to commit. The first request of a claim always goes;
/// later ones (Meta's split halves, GA4's further client groups) only while `allows`.
pub struct Budget<'a> {
    pub clock: &'a crate::clock::Clock,
    pub deadline_ms: i64,
}

impl Budget<'_> {
    pub fn allows(&self) -> bool {
        self.clock.now_ms() < self.deadline_ms
    }
}

/// The result for work not started because the claim's budget ran out.
pub fn deferred() -> super::outcome::Result {
    super::outcome::Result {
        outcome: Outcome::Deferred,
        attempt: Attempt {
            error_code: Some("deferred".into()),
            error_message: Some("not sent before the lease would run out".into()),
            ..Attempt::default()
        },
    }
}

/// One request's result, as `send_splitting` asks for it.
pub type PostFuture<'a> = Pin<Box<dyn Future<Output = super::outcome::Result> + Send + 'a>>;

/// Sends a batch with `post`. Where one refused event refuses the whole request (Meta,
/// TikTok), a refused multi-event batch is split in halves and each half sent again
/// while the claim's budget allows, so the good events still go; halves not tried in
/// time are deferred to the next claim, unsent.
pub fn send_splitting<'a>(
    post: &'a (dyn Fn(&'a [(Uuid, &'a StoredEvent)]) -> PostFuture<'a> + Sync),
    events: &'a [(Uuid, &'a StoredEvent)],
    budget: &'a Budget<'a>,
) -> SendFuture<'a> {
    Box::pin(async move {
        let result = post(events).await;
        if result.outcome != Outcome::Fail || events.len() < 2 {
            return events.iter().map(|(id, _)| (*id, result.clone())).collect();
        }
        let (left, right) = events.split_at(events.len() / 2);
        let mut results = Vec::with_capacity(events.len());
        for half in [left, right] {
            if budget.allows() {
                results.extend(send_splitting(post, half, budget).await);
            } else {
                results.extend(half.iter().map(|(id, _)| (*id, deferred())));
            }
        }
        results
    })
}

/// One sender per kind, built once from configuration.
pub struct Senders {
    by_kind: std::collections::HashMap<super::Kind, Box<dyn super::spec::Sender>>,
}

impl Senders {
    pub fn new(config: &crate::config::Config) -> Self {
        let http = http_client(config.send_timeout);
        let by_kind = super::Kind::ALL
            .into_iter()
            .map(|kind| (kind, kind.spec().sender(http.clone(), config)))
            .collect();
        Senders { by_kind }
    }

    pub fn get(&self, kind: super::Kind) -> &dyn super::spec::Sender {
        self.by_kind[&kind].as_ref()
    }
}

/// Parses a `Retry-After` header given in seconds (HTTP dates are not used by these APIs).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Sends a claim one group per `test_event_code` (request-level at Meta and TikTok; the
/// destination's `own` code wins, see `stored::by_test_code`) with `send`; a group the
/// claim's budget has no room for after the first is deferred to the next claim, unsent.
pub async fn per_test_code<'a>(
    send: &(dyn Fn(Option<&'a str>, Vec<(Uuid, &'a StoredEvent)>) -> SendFuture<'a> + Sync),
    events: &'a [(Uuid, &'a StoredEvent)],
    own: Option<&'a str>,
    budget: &Budget<'_>,
) -> super::spec::Results {
    let mut results = Vec::with_capacity(events.len());
    for (code, group) in super::stored::by_test_code(events, own) {
        if !results.is_empty() && !budget.allows() {
            results.extend(group.iter().map(|(id, _)| (*id, deferred())));
            continue;
        }
        results.extend(send(code, group).await);
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_headers_in_seconds_parse() {
        assert_eq!(
            parse_retry_after(Some(" 30 ")),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }

    fn stored(code: Option<&str>) -> StoredEvent {
        let mut payload = serde_json::json!({"action_source": "website"});
        if let Some(code) = code {
            payload["test_event_code"] = serde_json::json!(code);
        }
        StoredEvent {
            event_id: "e".into(),
            event_name: "Purchase".into(),
            event_time_ms: 1,
            payload,
            identifiers: Default::default(),
            ga4_client_id: None,
            ga4_user_id: None,
            ga4_app_instance_id: None,
            ga4_ip_override: None,
            trace_context: None,
        }
    }

    #[tokio::test]
    async fn a_claim_split_by_test_code_sends_each_delivery_once_and_defers_what_time_leaves() {
        let (live, a) = (stored(None), stored(Some("TEST1")));
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let claim = [(ids[0], &live), (ids[1], &a), (ids[2], &live), (ids[3], &a)];
        let clock = crate::clock::Clock::system();
        let sent = std::sync::Mutex::new(Vec::new());
        let send = |code: Option<&str>, group: Vec<(Uuid, &StoredEvent)>| -> SendFuture<'_> {
            sent.lock()
                .unwrap()
                .push((code.map(str::to_string), group.len()));
            let results = group.iter().map(|(id, _)| (*id, deferred())).collect();
            Box::pin(async move { results })
        };
        let open = Budget {
            clock: &clock,
            deadline_ms: i64::MAX,
        };
        let results = per_test_code(&send, &claim, None, &open).await;
        let mut got: Vec<Uuid> = results.iter().map(|(id, _)| *id).collect();
        got.sort();
        assert_eq!(got, ids, "every delivery has exactly one result");
        assert_eq!(
            *sent.lock().unwrap(),
            [(None, 2), (Some("TEST1".into()), 2)]
        );

        sent.lock().unwrap().clear();
        let spent = Budget {
            clock: &clock,
            deadline_ms: 0,
        };
        let results = per_test_code(&send, &claim, None, &spent).await;
        assert_eq!(results.len(), 4);
        assert_eq!(
            sent.lock().unwrap().len(),
            1,
            "only the first group goes once time is up"
        );
        let own = per_test_code(&send, &claim, Some("OWN"), &open).await;
        assert_eq!(own.len(), 4);
        assert_eq!(
            sent.lock().unwrap().last(),
            Some(&(Some("OWN".into()), 4)),
            "the destination's code wins"
        );
    }
}
