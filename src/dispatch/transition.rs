//! From an attempt's outcome to the delivery's next state — a pure function, so the
//! retry and resend rules are tested without a database.

use std::time::Duration;

use super::resend::resend_until;
use super::retry::{Next, next_attempt};
use crate::destinations::outcome::{Attempt, Outcome};
use crate::states::DeliveryStatus::{self, Dead, Failed, Paused, Pending, Succeeded, Unconfirmed};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// `Pending` here is a retry (or deferred work, due at once).
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    /// Whether this attempt counts toward the retry limit.
    pub counts_attempt: bool,
    pub last_error: Option<String>,
    /// The start of the earliest attempt whose outcome is unknown, once there is one.
    pub maybe_sent_at: Option<i64>,
}

/// What the rules need to know besides the outcome.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The 1-based number of this attempt.
    pub attempt_no: u32,
    pub schedule: &'a [Duration],
    pub now_ms: i64,
    /// The last moment the destination still accepts the event.
    pub expires_at_ms: i64,
    /// The start of the earliest earlier attempt whose outcome is unknown.
    pub maybe_sent_at: Option<i64>,
    /// How long after such an attempt the destination drops a resend (`None`: never).
    pub dedup_window_ms: Option<i64>,
    /// ∈ [0, 1): drives the jitter.
    pub unit: f64,
}

pub const UNCONFIRMED: &str = "outcome unknown: an attempt may have reached the destination, \
     which would count a resend as a second conversion; not resent (replay to send it on purpose)";

/// Why a delivery never sent ended: its event is past the destination's age limit.
pub const EXPIRED: &str = "expired: the destination no longer accepts an event this old";

fn describe(attempt: &Attempt) -> String {
    let status = attempt
        .http_status
        .map(|s| format!("HTTP {s}: "))
        .unwrap_or_default();
    let code = attempt
        .error_code
        .as_deref()
        .map(|c| format!("[{c}] "))
        .unwrap_or_default();
    format!(
        "{status}{code}{}",
        attempt.error_message.as_deref().unwrap_or("error")
    )
}

pub fn transition(outcome: &Outcome, attempt: &Attempt, cx: &Context) -> Transition {
    let maybe_sent_at = match outcome {
        Outcome::Unknown => Some(cx.maybe_sent_at.unwrap_or(attempt.started_at)),
        _ => cx.maybe_sent_at,
    };
    let t = |status, next_attempt_at, counts_attempt, last_error: String| Transition {
        status,
        next_attempt_at,
        counts_attempt,
        last_error: Some(last_error),
        maybe_sent_at,
    };
    let unconfirmed = |counts| t(Unconfirmed, None, counts, UNCONFIRMED.to_string());
    match outcome {
        Outcome::Delivered => Transition {
            last_error: None,
            ..t(Succeeded, None, true, String::new())
        },
        Outcome::Fail => t(Failed, None, true, describe(attempt)),
        Outcome::Pause => t(Paused, None, false, describe(attempt)),
        Outcome::Deferred => t(
            Pending,
            Some(cx.now_ms),
            false,
            "deferred: not sent before this worker's lease would run out".into(),
        ),
        Outcome::Unconfirmed => unconfirmed(false),
        Outcome::Expired if maybe_sent_at.is_some() => unconfirmed(false),
        Outcome::Expired => t(Dead, None, false, EXPIRED.into()),
        Outcome::Retry { .. } | Outcome::Unknown => retry(outcome, attempt, cx, maybe_sent_at),
    }
}

/// A transient failure or an unknown outcome: try again on schedule, but once an attempt
/// may have arrived, only while the destination would still drop the resend.
fn retry(
    outcome: &Outcome,
    attempt: &Attempt,
    cx: &Context,
    maybe_sent_at: Option<i64>,
) -> Transition {
    let t = |status, next_attempt_at, last_error| Transition {
        status,
        next_attempt_at,
        counts_attempt: true,
        last_error: Some(last_error),
        maybe_sent_at,
    };
    let after = match outcome {
        Outcome::Retry { after, .. } => *after,
        _ => None,
    };
    let deadline = match maybe_sent_at {
        None => cx.expires_at_ms,
        Some(at) => match resend_until(cx.dedup_window_ms, at) {
            Some(until) => until.min(cx.expires_at_ms),
            None => return t(Unconfirmed, None, UNCONFIRMED.into()),
        },
    };
    let next = next_attempt(
        cx.schedule,
        cx.attempt_no,
        cx.now_ms,
        after,
        deadline,
        cx.unit,
    );
    match (next, maybe_sent_at) {
        (Next::RetryAt(at), _) => t(Pending, Some(at), describe(attempt)),
        (_, Some(_)) => t(Unconfirmed, None, UNCONFIRMED.into()),
        (Next::Exhausted, None) => t(
            Dead,
            None,
            format!("retries exhausted; last: {}", describe(attempt)),
        ),
        (Next::Expired, None) => t(
            Dead,
            None,
            format!(
                "expired: the destination no longer accepts the event; last: {}",
                describe(attempt)
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
