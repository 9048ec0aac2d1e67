//! The metering and billing month: `YYYY-MM` in UTC, stored and shown as that text.
//! Parsed once, then stepped (`next`, `previous`) and turned into its bounds
//! (`start_ms`, `end_ms`) without cutting strings apart.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::error::{AppError, AppResult};

/// `YYYY-MM` → the month; 400 naming `period` otherwise.
pub fn parse_query(period: &str) -> AppResult<Period> {
    Period::parse(period).ok_or_else(|| {
        AppError::bad_request("invalid_query", "period must be YYYY-MM").with_field("period")
    })
}

/// One calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    /// 1..=12.
    month: u32,
}

impl Period {
    /// The month a millisecond timestamp falls in.
    pub fn of(ms: i64) -> Self {
        let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        Self {
            year: at.year(),
            month: at.month(),
        }
    }

    /// A month written exactly `YYYY-MM` (four digits, a dash, `01`..`12`).
    pub fn parse(s: &str) -> Option<Self> {
        let (year, month) = s.split_once('-')?;
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return None;
        }
        let month: u32 = month.parse().ok()?;
        (1..=12).contains(&month).then_some(Self {
            year: year.parse().ok()?,
            month,
        })
    }

    pub fn next(self) -> Self {
        match self.month {
            12 => Self {
                year: self.year + 1,
                month: 1,
            },
            m => Self {
                month: m + 1,
                ..self
            },
        }
    }

    pub fn previous(self) -> Self {
        match self.month {
            1 => Self {
                year: self.year - 1,
                month: 12,
            },
            m => Self {
                month: m - 1,
                ..self
            },
        }
    }

    /// The first millisecond of the month.
    pub fn start_ms(self) -> i64 {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_millis())
            .unwrap_or_default()
    }

    /// The start of the next month: the month is `[start_ms, end_ms)`.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Not a month like `2026-11`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a period is a month written YYYY-MM")]
pub struct NotAPeriod;

impl FromStr for Period {
    type Err = NotAPeriod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or(NotAPeriod)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_four_and_two_digits() {
        assert_eq!(
            Period::parse("2026-11").map(|p| p.to_string()).as_deref(),
            Some("2026-11")
        );
        for bad in [
            "2026-+1", "2026-13", "2026-00", "26-11", "2026/11", "+026-11", "2026-1", "2026-011",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_step_across_the_year() {
        let dec = Period::parse("2026-12").unwrap();
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.next().previous(), dec);
        assert_eq!(Period::parse("2027-01").unwrap().previous(), dec);
    }

    #[test]
    fn a_month_runs_from_its_first_millisecond_to_the_next_months() {
        let nov = Period::parse("2025-11").unwrap();
        assert_eq!(nov.start_ms(), 1_761_955_200_000); // 2025-11-01T00:00:00Z
        assert_eq!(nov.end_ms(), 1_764_547_200_000); // 2025-12-01T00:00:00Z
        assert_eq!(Period::of(nov.end_ms() - 1), nov);
        assert_eq!(Period::of(nov.end_ms()), nov.next());
    }
}
