//! The deletion loop, in the housekeeping shape: one process at a time runs a pass.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::crypto::Keys;
use crate::db::Db;
use crate::housekeeping::Leased;

/// How often pending deletions are worked on.
pub const EVERY: Duration = Duration::from_secs(10);

/// Starts the loop (worker processes).
pub fn spawn(
    db: Db,
    keys: Keys,
    clock: Clock,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let leased = Leased::new(db, clock, shutdown);
    vec![leased.spawn("privacy_deletions", EVERY, move |db, now| {
        let keys = keys.clone();
        async move { super::job::run_once(&db, &keys, now).await }
    })]
}
