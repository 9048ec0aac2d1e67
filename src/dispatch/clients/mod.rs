//! HTTP clients of the destinations. Each turns stored events into the vendor's request,
//! sends it, and classifies the answer into an `Outcome` per delivery (spec §3).

pub mod ga4;
mod ga4_body;
pub mod meta;
mod meta_body;
mod meta_classify;

use std::time::Duration;

use crate::dispatch::outcome::{Attempt, Outcome};

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

/// What a transport failure means for the attempt, with a short, log-safe description
/// (never the URL: it carries secrets). Only a connection that was never made proves
/// nothing was sent; a timeout or a lost connection after the request was written may
/// have been recorded by the destination, so its outcome is unknown.
pub fn transport_failure(err: &reqwest::Error, attempt: &mut Attempt) -> Outcome {
    let (code, outcome, message) = if err.is_connect() {
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
    };
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
pub fn deferred() -> crate::dispatch::outcome::Result {
    crate::dispatch::outcome::Result {
        outcome: Outcome::Deferred,
        attempt: Attempt {
            error_code: Some("deferred".into()),
            error_message: Some("not sent before the lease would run out".into()),
            ..Attempt::default()
        },
    }
}
