//! Time as the domain sees it: milliseconds since the Unix epoch (UTC). The clock is
//! injectable so tests can move time (dedup windows, event ages) without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A clock shared by the whole application. `system()` follows the wall clock plus an
/// offset that only tests change.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Current time in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward; used by tests.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// RFC 3339 rendering of a millisecond timestamp, as every API response shows times.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `YYYY-MM` of a millisecond timestamp (UTC), the metering and billing period, as
/// stored (see `Period` for stepping and bounds).
pub fn period_of(ms: i64) -> String {
    crate::period::Period::of(ms).to_string()
}

/// `YYYY-MM-DD` of a millisecond timestamp (UTC), the diagnostics bucket.
pub fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_clone_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now_ms();
        clock.advance_ms(MS_PER_DAY);
        assert!(other.now_ms() - before >= MS_PER_DAY);
    }

    #[test]
    fn periods_and_days_are_utc() {
        let ms = 1_764_547_199_000; // 2025-11-30T23:59:59Z
        assert_eq!(period_of(ms), "2025-11");
        assert_eq!(day_of(ms), "2025-11-30");
        assert_eq!(rfc3339(ms), "2025-11-30T23:59:59.000Z");
    }
}
