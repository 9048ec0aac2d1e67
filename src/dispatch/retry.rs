//! Retry timing as small pure functions: the configured schedule with ±20 % jitter, at
//! least any `Retry-After` the destination asked for, and never past the event's
//! maximum age at the destination.

use std::time::Duration;

/// Longest wait a destination may impose through `Retry-After` or throttling hints.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// What to do after failed attempt number `attempt` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RetryAt(i64),
    /// The schedule is used up.
    Exhausted,
    /// The next try would be past the destination's age limit.
    Expired,
}

/// The schedule delay after `attempt`, jittered by `unit` ∈ [0, 1) mapped to ±20 %.
pub fn jittered(delay: Duration, unit: f64) -> Duration {
    let factor = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
    Duration::from_millis((delay.as_millis() as f64 * factor).round() as u64)
}

/// Decides the next attempt. `server_wait` is a `Retry-After` or throttling hint.
pub fn next_attempt(
    schedule: &[Duration],
    attempt: u32,
    now_ms: i64,
    server_wait: Option<Duration>,
    expires_at_ms: i64,
    unit: f64,
) -> Next {
    let Some(delay) = schedule.get(attempt.saturating_sub(1) as usize) else {
        return Next::Exhausted;
    };
    let wait = jittered(*delay, unit).max(server_wait.unwrap_or_default().min(MAX_SERVER_WAIT));
    let at = now_ms.saturating_add(wait.as_millis() as i64);
    if at >= expires_at_ms {
        Next::Expired
    } else {
        Next::RetryAt(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn jitter_stays_within_twenty_percent() {
        assert_eq!(jittered(S(10), 0.0), S(8));
        assert_eq!(jittered(S(10), 0.5), S(10));
        assert_eq!(jittered(S(10), 0.999_999), Duration::from_millis(12_000));
    }

    #[test]
    fn the_schedule_gives_the_delay_of_each_attempt_then_runs_out() {
        let schedule = [S(5), S(30)];
        assert_eq!(
            next_attempt(&schedule, 1, 0, None, i64::MAX, 0.5),
            Next::RetryAt(5_000)
        );
        assert_eq!(
            next_attempt(&schedule, 2, 0, None, i64::MAX, 0.5),
            Next::RetryAt(30_000)
        );
        assert_eq!(
            next_attempt(&schedule, 3, 0, None, i64::MAX, 0.5),
            Next::Exhausted
        );
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let schedule = [S(5)];
        assert_eq!(
            next_attempt(&schedule, 1, 0, Some(S(60)), i64::MAX, 0.5),
            Next::RetryAt(60_000)
        );
        assert_eq!(
            next_attempt(&schedule, 1, 0, Some(S(1)), i64::MAX, 0.5),
            Next::RetryAt(5_000)
        );
        let capped = next_attempt(&schedule, 1, 0, Some(S(10 * 86_400)), i64::MAX, 0.5);
        assert_eq!(capped, Next::RetryAt(MAX_SERVER_WAIT.as_millis() as i64));
    }

    #[test]
    fn a_retry_past_the_age_limit_is_expired() {
        let schedule = [S(3600)];
        assert_eq!(
            next_attempt(&schedule, 1, 0, None, 1_000, 0.5),
            Next::Expired
        );
    }
}
