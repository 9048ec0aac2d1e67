//! TikTok Events API 2.0: `POST {base}/open_api/v1.3/event/track/` with the token in the
//! `Access-Token` header, up to 1,000 web events of one pixel per request. A refused
//! multi-event batch is split in halves and resent, so one bad event cannot hold back the
//! good ones.

use std::time::Instant;

use uuid::Uuid;

use super::{body, classify::classify};
use crate::destinations::StoredEvent;
use crate::destinations::outcome::{self, Attempt, Outcome};
use crate::destinations::send::{
    Budget, PostFuture, elapsed_ms, send_splitting, transport_failure,
};
use crate::destinations::spec::SendFuture;

/// Over 1,000 events TikTok rejects the whole request.
pub const MAX_BATCH: usize = 1000;
/// TikTok keeps the first of the copies of (pixel, event, event_id) that arrive within
/// 48 hours of it: a resend inside this window of the first send is never counted twice.
pub const RESEND_DEDUP_WINDOW_MS: i64 = 48 * crate::clock::MS_PER_HOUR;
/// The path keeps TikTok's trailing slash.
pub(super) const TRACK_PATH: &str = "/open_api/v1.3/event/track/";

pub struct TiktokTarget<'a> {
    pub pixel_code: &'a str,
    pub access_token: &'a str,
    pub test_event_code: Option<&'a str>,
}

pub struct TiktokClient {
    pub http: reqwest::Client,
    pub base: String,
}

impl TiktokClient {
    /// Sends events (delivery id, event) and returns one result per delivery; a batch
    /// refused for a bad event is split to isolate it (`send_splitting`).
    pub fn send<'a>(
        &'a self,
        target: &'a TiktokTarget<'a>,
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
        target: &TiktokTarget<'_>,
        events: &[(Uuid, &StoredEvent)],
        clock: &crate::clock::Clock,
    ) -> outcome::Result {
        let now = clock.now_ms();
        let stored: Vec<&StoredEvent> = events.iter().map(|(_, e)| *e).collect();
        let body = body::request(&stored, target.pixel_code, target.test_event_code, now);
        let started = Instant::now();
        let mut attempt = Attempt {
            started_at: now,
            ..Attempt::default()
        };
        let sent = self
            .http
            .post(format!("{}{TRACK_PATH}", self.base))
            .header("Access-Token", target.access_token)
            .json(&body)
            .send()
            .await;
        let outcome = match sent {
            Err(err) => transport_failure(&err, &mut attempt),
            Ok(response) => answer(response, events.len(), &mut attempt).await,
        };
        attempt.duration_ms = elapsed_ms(started);
        outcome::Result { outcome, attempt }
    }
}

async fn answer(response: reqwest::Response, events: usize, attempt: &mut Attempt) -> Outcome {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match response.text().await {
        Ok(text) => classify(status, &text, retry_after.as_deref(), events, attempt),
        // The status line came but the answer was cut: TikTok may have taken it.
        Err(err) => {
            let outcome = transport_failure(&err, attempt);
            attempt.http_status = Some(i32::from(status));
            outcome
        }
    }
}
