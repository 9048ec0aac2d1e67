//! The browser side's background loops, in the housekeeping shape (one process at a
//! time holds each pass): the matcher every few seconds, the match-rate alert check,
//! and the retention purge.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::crypto::Keys;
use crate::db::Db;
use crate::housekeeping::{leader, periodically};

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
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let matcher = {
        let (db, keys, clock, holder) = (db.clone(), keys, clock.clone(), holder.clone());
        tokio::spawn(periodically(
            "match_dedup",
            MATCH_EVERY,
            shutdown.clone(),
            move || {
                let (db, keys, now, holder) =
                    (db.clone(), keys.clone(), clock.now_ms(), holder.clone());
                async move {
                    if !leader(&db, "match_dedup", &holder, now, MATCH_EVERY).await? {
                        return Ok(0);
                    }
                    super::matcher::run_once(&db, &keys, now).await
                }
            },
        ))
    };
    let alerts = {
        let (db, clock, holder) = (db.clone(), clock.clone(), holder.clone());
        tokio::spawn(periodically(
            "check_dedup_alerts",
            ALERTS_EVERY,
            shutdown.clone(),
            move || {
                let (db, now, holder) = (db.clone(), clock.now_ms(), holder.clone());
                async move {
                    if !leader(&db, "check_dedup_alerts", &holder, now, ALERTS_EVERY).await? {
                        return Ok(0);
                    }
                    super::alerts::check(&db, now).await
                }
            },
        ))
    };
    let purge = tokio::spawn(periodically(
        "purge_browser_events",
        PURGE_EVERY,
        shutdown,
        move || {
            let (db, now, holder) = (db.clone(), clock.now_ms(), holder.clone());
            async move {
                if !leader(&db, "purge_browser_events", &holder, now, PURGE_EVERY).await? {
                    return Ok(0);
                }
                super::purge::purge(&db, now).await
            }
        },
    ));
    vec![matcher, alerts, purge]
}
