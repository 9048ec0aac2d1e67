//! The deletion loop, in the housekeeping shape: one process at a time runs a pass.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::crypto::Keys;
use crate::db::Db;
use crate::housekeeping::{leader, periodically};

/// How often pending deletions are worked on.
pub const EVERY: Duration = Duration::from_secs(10);

/// Starts the loop (worker processes).
pub fn spawn(
    db: Db,
    keys: Keys,
    clock: Clock,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let run = tokio::spawn(periodically(
        "privacy_deletions",
        EVERY,
        shutdown,
        move || {
            let (db, keys, now, holder) =
                (db.clone(), keys.clone(), clock.now_ms(), holder.clone());
            async move {
                if !leader(&db, "privacy_deletions", &holder, now, EVERY).await? {
                    return Ok(0);
                }
                super::job::run_once(&db, &keys, now).await
            }
        },
    ));
    vec![run]
}
