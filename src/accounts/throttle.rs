//! The login lock: failed logins are counted per client address and per account (email,
//! known or not, so a lock does not reveal which admins exist). After `MAX_FAILURES`
//! within `WINDOW_MS` the address or account is locked for `LOCK_MS`, and while it is
//! locked every attempt is refused before its password is checked, the right one too.
//! Time is the application clock, so tests pass a lock without sleeping.
//!
//! The counts live in this process: with several `api` processes each keeps its own, so
//! a lock holds per process. Memory stays bounded without a cap of its own: only attempts
//! that ran a password check are counted, and the password gate limits those to a few
//! dozen a second; accounts are keyed by a digest of the email, so each count has a fixed
//! size; stale entries are swept once a minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::MS_PER_HOUR;
use crate::crypto::sha256_hex;

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW_MS: i64 = MS_PER_HOUR / 4;
pub const LOCK_MS: i64 = MS_PER_HOUR / 4;
const SWEEP_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Address(IpAddr),
    Account(String),
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    since: i64,
    locked_until: i64,
}

impl Count {
    fn stale(&self, now: i64) -> bool {
        self.locked_until <= now && self.since + WINDOW_MS <= now
    }
}

#[derive(Default)]
struct Counts {
    by_subject: HashMap<Subject, Count>,
    next_sweep: i64,
}

#[derive(Default)]
pub struct LoginThrottle {
    counts: Mutex<Counts>,
}

impl Subject {
    /// An account by a digest of its email as logins compare it: a fixed size, however
    /// long the email a client sends, and no addresses kept in memory.
    fn account(email: &str) -> Subject {
        Subject::Account(sha256_hex(email.trim().to_ascii_lowercase().as_bytes()))
    }
}

impl LoginThrottle {
    /// When the address or account is locked at `now`: the later lock end (ms).
    pub fn locked_until(&self, address: IpAddr, email: &str, now: i64) -> Option<i64> {
        let counts = self.lock();
        [Subject::Address(address), Subject::account(email)]
            .iter()
            .filter_map(|s| counts.by_subject.get(s))
            .map(|c| c.locked_until)
            .filter(|&until| until > now)
            .max()
    }

    /// Counts a failed password check against both the address and the account.
    pub fn failed(&self, address: IpAddr, email: &str, now: i64) {
        let mut counts = self.lock();
        if counts.next_sweep <= now {
            counts.by_subject.retain(|_, c| !c.stale(now));
            counts.next_sweep = now + SWEEP_EVERY_MS;
        }
        for subject in [Subject::Address(address), Subject::account(email)] {
            let count = counts.by_subject.entry(subject).or_insert(Count {
                failures: 0,
                since: now,
                locked_until: 0,
            });
            if count.since + WINDOW_MS <= now {
                *count = Count {
                    failures: 0,
                    since: now,
                    locked_until: count.locked_until,
                };
            }
            count.failures += 1;
            if count.failures >= MAX_FAILURES {
                // The lock starts a fresh count: after it, another full series locks again.
                *count = Count {
                    failures: 0,
                    since: now,
                    locked_until: now + LOCK_MS,
                };
            }
        }
    }

    /// A successful login forgets the account's failures (not the address's: other
    /// people behind it may still be guessing).
    pub fn succeeded(&self, email: &str) {
        self.lock().by_subject.remove(&Subject::account(email));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A panic while holding this lock cannot leave the counts inconsistent.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    fn fail(t: &LoginThrottle, address: IpAddr, email: &str, n: u32, now: i64) {
        for _ in 0..n {
            t.failed(address, email, now);
        }
    }

    #[test]
    fn the_tenth_failure_locks_the_address_and_the_account_until_the_lock_ends() {
        let t = LoginThrottle::default();
        fail(&t, HOME, "a@x.test", MAX_FAILURES - 1, 1_000);
        assert_eq!(t.locked_until(HOME, "a@x.test", 1_000), None);
        t.failed(HOME, "a@x.test", 2_000);
        assert_eq!(
            t.locked_until(HOME, "b@x.test", 2_000),
            Some(2_000 + LOCK_MS)
        );
        assert_eq!(
            t.locked_until(AWAY, "a@x.test", 2_000),
            Some(2_000 + LOCK_MS)
        );
        assert_eq!(t.locked_until(AWAY, "b@x.test", 2_000), None);
        assert_eq!(t.locked_until(HOME, "a@x.test", 2_000 + LOCK_MS), None);
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock() {
        let t = LoginThrottle::default();
        fail(&t, HOME, "a@x.test", MAX_FAILURES - 1, 0);
        fail(&t, HOME, "a@x.test", MAX_FAILURES - 1, WINDOW_MS);
        assert_eq!(t.locked_until(HOME, "a@x.test", WINDOW_MS), None);
    }

    #[test]
    fn a_success_forgets_the_account_but_not_the_address() {
        let t = LoginThrottle::default();
        fail(&t, HOME, "a@x.test", MAX_FAILURES - 1, 0);
        t.succeeded("a@x.test");
        t.failed(AWAY, "a@x.test", 1);
        t.failed(HOME, "c@x.test", 1);
        assert_eq!(t.locked_until(AWAY, "a@x.test", 1), None);
        assert_eq!(t.locked_until(HOME, "d@x.test", 1), Some(1 + LOCK_MS));
    }

    #[test]
    fn an_account_is_one_whatever_the_case_or_spaces_of_its_email() {
        let t = LoginThrottle::default();
        fail(&t, HOME, "A@X.test", MAX_FAILURES - 1, 0);
        t.failed(AWAY, " a@x.TEST ", 0);
        assert_eq!(t.locked_until(AWAY, "a@x.test", 0), Some(LOCK_MS));
    }

    #[test]
    fn stale_counts_are_swept() {
        let t = LoginThrottle::default();
        fail(&t, HOME, "a@x.test", 3, 0);
        t.failed(AWAY, "b@x.test", WINDOW_MS + SWEEP_EVERY_MS);
        assert_eq!(
            t.lock().by_subject.len(),
            2,
            "only AWAY and b@x.test remain"
        );
    }
}
