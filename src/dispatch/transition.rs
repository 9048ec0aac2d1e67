//! From an attempt's outcome to the delivery's next state — a pure function, so the
//! retry rules are tested without a database.

use std::time::Duration;

use super::outcome::{Attempt, Outcome};
use super::retry::{Next, next_attempt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// `succeeded`, `pending` (retry), `failed`, `dead` or `paused`.
    pub status: &'static str,
    pub next_attempt_at: Option<i64>,
    /// Whether this attempt counts toward the retry limit.
    pub counts_attempt: bool,
    pub last_error: Option<String>,
}

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

/// `attempt_no` is the 1-based number of this attempt; `expires_at_ms` the last moment
/// the destination still accepts the event; `unit` ∈ [0,1) drives the jitter.
pub fn transition(
    outcome: &Outcome,
    attempt: &Attempt,
    attempt_no: u32,
    schedule: &[Duration],
    now_ms: i64,
    expires_at_ms: i64,
    unit: f64,
) -> Transition {
    let t = |status, next_attempt_at, counts_attempt, last_error| Transition {
        status,
        next_attempt_at,
        counts_attempt,
        last_error,
    };
    match outcome {
        Outcome::Delivered => t("succeeded", None, true, None),
        Outcome::Fail => t("failed", None, true, Some(describe(attempt))),
        Outcome::Pause => t("paused", None, false, Some(describe(attempt))),
        Outcome::Expired => t(
            "dead",
            None,
            false,
            Some("expired: the destination no longer accepts an event this old".into()),
        ),
        Outcome::Retry { after, .. } => {
            match next_attempt(schedule, attempt_no, now_ms, *after, expires_at_ms, unit) {
                Next::RetryAt(at) => t("pending", Some(at), true, Some(describe(attempt))),
                Next::Exhausted => t(
                    "dead",
                    None,
                    true,
                    Some(format!("retries exhausted; last: {}", describe(attempt))),
                ),
                Next::Expired => t(
                    "dead",
                    None,
                    true,
                    Some(format!(
                        "expired: the destination no longer accepts the event; last: {}",
                        describe(attempt)
                    )),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(30)];

    fn retry() -> Outcome {
        Outcome::Retry {
            after: None,
            whole_destination: false,
        }
    }

    #[test]
    fn a_transient_failure_is_retried_on_schedule_then_dies() {
        let a = Attempt {
            http_status: Some(500),
            ..Attempt::default()
        };
        let first = transition(&retry(), &a, 1, &SCHEDULE, 0, i64::MAX, 0.5);
        assert_eq!(
            (first.status, first.next_attempt_at),
            ("pending", Some(5_000))
        );
        assert!(first.last_error.unwrap().starts_with("HTTP 500"));
        assert_eq!(
            transition(&retry(), &a, 3, &SCHEDULE, 0, i64::MAX, 0.5).status,
            "dead"
        );
    }

    #[test]
    fn a_retry_past_the_age_limit_is_dead_as_expired() {
        let t = transition(&retry(), &Attempt::default(), 1, &SCHEDULE, 0, 1_000, 0.5);
        assert_eq!(t.status, "dead");
        assert!(t.last_error.unwrap().starts_with("expired"));
    }

    #[test]
    fn a_pause_burns_no_attempt_and_success_clears_the_error() {
        let paused = transition(
            &Outcome::Pause,
            &Attempt::default(),
            1,
            &SCHEDULE,
            0,
            i64::MAX,
            0.5,
        );
        assert_eq!((paused.status, paused.counts_attempt), ("paused", false));
        let ok = transition(
            &Outcome::Delivered,
            &Attempt::default(),
            1,
            &SCHEDULE,
            0,
            i64::MAX,
            0.5,
        );
        assert_eq!((ok.status, ok.last_error), ("succeeded", None));
        assert_eq!(
            transition(
                &Outcome::Fail,
                &Attempt::default(),
                1,
                &SCHEDULE,
                0,
                i64::MAX,
                0.5
            )
            .status,
            "failed"
        );
    }
}
