//! The password-check gate: Argon2id (the default parameters) takes a 19 MiB block per
//! hash, so password work runs on the blocking pool behind a semaphore. However many
//! logins arrive at once, at most `permits` hashes are in memory; up to `MAX_WAITING`
//! more wait in line, and the line is bounded too: each waiting request holds its body
//! (up to the body limit), so past it attempts are turned away at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Upper bound of concurrent password checks: 4 × 19 MiB ≈ 76 MiB at most, and more than
/// one per core would only queue inside the CPU instead of here.
pub const MAX_PERMITS: usize = 4;
/// Logins waiting for a slot before more are turned away: with checks of ~50 ms this is a
/// second or two of work, far more than people logging in at once.
pub const MAX_WAITING: usize = 64;

pub struct PasswordGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// The line at the gate is full.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

/// The right to run one password check.
pub struct Permit(OwnedSemaphorePermit);

impl PasswordGate {
    pub fn new(permits: usize, max_waiting: usize) -> Self {
        PasswordGate {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// One permit per core, at least 2 and at most `MAX_PERMITS`.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.clamp(2, MAX_PERMITS), MAX_WAITING)
    }

    /// Waits for a free slot, unless the line is full.
    pub async fn enter(&self) -> Result<Permit, Busy> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(Permit(permit));
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        // The semaphore is never closed, so acquiring only ends with a permit.
        Ok(Permit(permit.expect("the password gate is never closed")))
    }

    /// Checks waiting for a slot (for tests and metrics).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Free slots right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

impl Permit {
    /// Runs `work` on the blocking pool. The permit moves into the job, so the slot is
    /// freed when the hash is done, even if the request that asked for it went away
    /// (`None`: the job panicked).
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let permit = self.0;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    /// Jobs that report how many run at once and block until the test opens them.
    #[derive(Default)]
    struct Probe {
        running: AtomicUsize,
        most: AtomicUsize,
        started: AtomicUsize,
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl Probe {
        fn job(&self) {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            self.started.fetch_add(1, Ordering::SeqCst);
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            drop(open);
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_never_runs_more_checks_at_once_than_its_permits() {
        let gate = Arc::new(PasswordGate::new(2, 8));
        let probe = Arc::new(Probe::default());
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (gate, probe) = (gate.clone(), probe.clone());
                tokio::spawn(
                    async move { gate.enter().await.unwrap().run(move || probe.job()).await },
                )
            })
            .collect();
        // Two checks hold the slots; the six others queue at the gate, not in memory.
        while probe.started.load(Ordering::SeqCst) < 2 || gate.waiting() < 6 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.available(), 0);
        assert_eq!(probe.started.load(Ordering::SeqCst), 2);
        *probe.open.lock().unwrap() = true;
        probe.opened.notify_all();
        for job in jobs {
            assert!(job.await.unwrap().is_some());
        }
        assert_eq!(probe.started.load(Ordering::SeqCst), 8);
        assert_eq!(probe.most.load(Ordering::SeqCst), 2);
        assert_eq!(gate.available(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_line_turns_checks_away_at_once() {
        let gate = Arc::new(PasswordGate::new(1, 1));
        let held = gate.enter().await.unwrap();
        let in_line = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter().await.map(|_| ()) })
        };
        while gate.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.enter().await, Err(Busy)));
        drop(held);
        assert_eq!(
            in_line.await.unwrap(),
            Ok(()),
            "the one in line gets its turn"
        );
        assert!(gate.enter().await.is_ok());
    }
}
