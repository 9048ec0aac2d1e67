//! When a delivery may be sent again after an attempt whose outcome is unknown (a timeout
//! after the request was written, a lost connection, a worker that stopped mid-send).
//! Kickin resends only where the destination deduplicates the resend; anywhere else a
//! resend could be a second conversion in the customer's reports, so the delivery ends
//! `unconfirmed` instead.

/// Resends stop this long before the destination's window closes: the window is counted
/// from when Kickin started the attempt, which is a little before the destination saw it,
/// and clocks differ between machines.
pub const RESEND_MARGIN_MS: i64 = 3_600_000;

/// The last moment a resend is deduplicated, for a delivery whose earliest attempt of
/// unknown outcome started at `maybe_sent_at`; `None` when no resend is.
pub fn resend_until(window_ms: Option<i64>, maybe_sent_at: i64) -> Option<i64> {
    window_ms.map(|w| {
        maybe_sent_at
            .saturating_add(w)
            .saturating_sub(RESEND_MARGIN_MS)
    })
}

/// Whether a delivery claimed at `now_ms` may be sent: always when no earlier attempt's
/// outcome is unknown, otherwise only inside the destination's dedup window.
pub fn may_send(window_ms: Option<i64>, maybe_sent_at: Option<i64>, now_ms: i64) -> bool {
    match maybe_sent_at {
        None => true,
        Some(at) => resend_until(window_ms, at).is_some_and(|until| now_ms < until),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MS_PER_HOUR;

    #[test]
    fn meta_takes_a_resend_inside_48_hours_of_the_first_attempt_only() {
        let window = Some(crate::destinations::meta::RESEND_DEDUP_WINDOW_MS);
        let first = 1_000 * MS_PER_HOUR;
        assert!(may_send(window, Some(first), first + 46 * MS_PER_HOUR));
        assert!(!may_send(window, Some(first), first + 47 * MS_PER_HOUR));
        assert!(!may_send(window, Some(first), first + 49 * MS_PER_HOUR));
        assert!(may_send(window, None, first + 1_000 * MS_PER_HOUR));
    }

    #[test]
    fn an_event_the_destination_cannot_deduplicate_is_never_resent() {
        assert!(!may_send(None, Some(0), 1));
        assert!(may_send(None, None, 1));
        assert_eq!(resend_until(None, 0), None);
        assert_eq!(
            resend_until(Some(i64::MAX), 5),
            Some(i64::MAX - RESEND_MARGIN_MS)
        );
    }
}
