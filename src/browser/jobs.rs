//! The browser side's background loops, in the housekeeping shape (one process at a
//! time holds each pass): the matcher every few seconds, the match-rate alert check,
//! and the retention purge.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::crypto::Keys;
use crate::db::Db;
use crate::housekeeping::Leased;

/// How often new server events and observations are paired: the report lags by this.
pub const MATCH_EVERY: Duration = Duration::from_secs(5);
pub const ALERTS_EVERY: Duration = Duration::from_secs(900);
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the loops (call where housekeeping starts: worker processes).
pub fn spawn(
    db: Db,
    keys: Keys,
    clock: Clock,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let leased = Leased::new(db, clock, shutdown);
    let matcher = leased.spawn("match_dedup", MATCH_EVERY, move |db, now| {
        let keys = keys.clone();
        async move { super::matcher::run_once(&db, &keys, now).await }
    });
    let alerts = leased.spawn("check_dedup_alerts", ALERTS_EVERY, |db, now| async move {
        super::alerts::check(&db, now).await
    });
    let purge = leased.spawn("purge_browser_events", PURGE_EVERY, |db, now| async move {
        super::purge::purge(&db, now).await
    });
    vec![matcher, alerts, purge]
}
