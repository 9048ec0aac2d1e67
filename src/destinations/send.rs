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
}
