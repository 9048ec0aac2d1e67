//! Meta Conversions API: `POST {base}/{version}/{pixel_id}/events?access_token=…`, up to
//! 1,000 events of one pixel per request. A rejected multi-event batch is split in halves
//! and resent, so one bad event cannot hold back the good ones.

use std::time::Instant;

use uuid::Uuid;

use super::body;
use super::classify::{Answer, classify};
use crate::destinations::StoredEvent;
use crate::destinations::outcome::{self, Attempt};
use crate::destinations::send::{
    Budget, PostFuture, elapsed_ms, send_splitting, transport_failure,
};
use crate::destinations::spec::SendFuture;

pub const MAX_BATCH: usize = 1000;
/// Meta drops a server event whose event_name + event_id it received in the previous
/// 48 hours: a resend inside this window of the first send is never counted twice.
pub const RESEND_DEDUP_WINDOW_MS: i64 = 48 * crate::clock::MS_PER_HOUR;

pub struct MetaTarget<'a> {
    pub pixel_id: &'a str,
    pub access_token: &'a str,
    pub test_event_code: Option<&'a str>,
}

pub struct MetaClient {
    pub http: reqwest::Client,
    pub base: String,
    pub version: String,
}

impl MetaClient {
    /// Sends events (delivery id, event) and returns one result per delivery; a batch
    /// refused for a bad event is split to isolate it (`send_splitting`).
    pub fn send_batch<'a>(
        &'a self,
        target: &'a MetaTarget<'a>,
        events: &'a [(Uuid, &'a StoredEvent)],
        budget: &'a Budget<'a>,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let post =
                |batch| -> PostFuture<'_> { Box::pin(self.post(target, batch, budget.clock)) };
            send_splitting(&post, events, budget).await
        })
    }

    async fn post(
        &self,
        target: &MetaTarget<'_>,
        events: &[(Uuid, &StoredEvent)],
        clock: &crate::clock::Clock,
    ) -> outcome::Result {
        let now = clock.now_ms();
        let stored: Vec<&StoredEvent> = events.iter().map(|(_, e)| *e).collect();
        let body = body::request(&stored, target.test_event_code, now);
        let url = format!("{}/{}/{}/events", self.base, self.version, target.pixel_id);
        let started = Instant::now();
        let mut attempt = Attempt {
            started_at: now,
            ..Attempt::default()
        };
        let sent = self
            .http
            .post(url)
            .query(&[("access_token", target.access_token)])
            .json(&body)
            .send()
            .await;
        let outcome = match sent {
            Err(err) => transport_failure(&err, &mut attempt),
            Ok(response) => {
                let status = response.status().as_u16();
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let retry_after = header("retry-after");
                let usage = header("x-business-use-case-usage");
                let text = match response.text().await {
                    Ok(text) => text,
                    // The status line came but the answer was cut: Meta may have taken it.
                    Err(err) => {
                        let outcome = transport_failure(&err, &mut attempt);
                        attempt.http_status = Some(i32::from(status));
                        attempt.duration_ms = elapsed_ms(started);
                        return outcome::Result { outcome, attempt };
                    }
                };
                let answer = Answer {
                    status,
                    body: &text,
                    retry_after: retry_after.as_deref(),
                    business_usage: usage.as_deref(),
                };
                classify(&answer, events.len(), &mut attempt)
            }
        };
        attempt.duration_ms = elapsed_ms(started);
        outcome::Result { outcome, attempt }
    }
}
