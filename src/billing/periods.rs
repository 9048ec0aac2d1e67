//! The fence between metering and billing. A worker reads its clock before its
//! completion transaction commits, and nodes' clocks differ, so "the month has ended by
//! my clock" proves nothing about completions still stamped in it. Each month has a row
//! in `meter_periods`:
//! - a completion transaction calls [`stamp`] first: it locks its month's row shared
//!   (`FOR SHARE`; on SQLite the write transaction already excludes every other writer)
//!   and holds it until it commits; when the month is already closed — the worker's
//!   clock is behind — it records the start of the first open month instead, so the
//!   sends are metered (and `succeeded_at` dated) there and `kickin reconcile` stays exact;
//! - the billing run calls [`close`] before it reads the meter: closing updates the row,
//!   which waits for every transaction holding it shared, so once `close` returns no
//!   completion stamped in the month can still commit.
//!
//! Runs also wait [`GRACE_MS`] past the month's end, longer than a completion
//! transaction takes and than clocks drift, so in practice nothing is carried over;
//! the fence is what makes it certain.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr};

use crate::clock::period_of;
use crate::metering::usage::period_end_ms;

/// How long after a month ends its run may start. A completion transaction lasts
/// milliseconds and NTP keeps clocks within a second, so ten minutes leaves wide room;
/// nothing bounds a stalled transaction, though, which is why the fence, not the grace,
/// is what guarantees the invoice.
pub const GRACE_MS: i64 = 10 * 60_000;

/// Whether `period`'s run may start at `now_ms`.
pub fn settled(period: &str, now_ms: i64) -> bool {
    now_ms >= period_end_ms(period) + GRACE_MS
}

async fn closed(db: &impl ConnectionTrait, period: &str) -> Result<Option<bool>, DbErr> {
    let mut select = Query::select();
    select
        .column("closed_at")
        .from("meter_periods")
        .and_where(Expr::col("period").eq(period));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select.lock_shared();
    }
    match db.query_one(&select).await? {
        Some(row) => Ok(Some(row.try_get::<Option<i64>>("", "closed_at")?.is_some())),
        None => Ok(None),
    }
}

/// The time a completion transaction records for its successes: `now_ms`, or the start
/// of the first month not yet billed when `now_ms` falls in a closed one. Call it first
/// in the transaction; the lock it takes lasts until the transaction ends.
pub async fn stamp(db: &impl ConnectionTrait, now_ms: i64) -> Result<i64, DbErr> {
    let mut at = now_ms;
    loop {
        let period = period_of(at);
        let is_closed = match closed(db, &period).await? {
            Some(c) => c,
            None => {
                // The month's first completion: create the row so there is one to lock.
                let mut insert = Query::insert();
                insert
                    .into_table("meter_periods")
                    .columns(["period"])
                    .values_panic([period.clone().into()])
                    .on_conflict(OnConflict::column("period").do_nothing().to_owned());
                db.execute(&insert).await?;
                closed(db, &period).await?.unwrap_or(false)
            }
        };
        if !is_closed {
            return Ok(at);
        }
        at = period_end_ms(&period);
    }
}

/// Closes `period` for metering; waits for the completions that stamped it to commit.
/// Closing again keeps the first close time.
pub async fn close(db: &impl ConnectionTrait, period: &str, now_ms: i64) -> Result<(), DbErr> {
    let mut upsert = Query::insert();
    upsert
        .into_table("meter_periods")
        .columns(["period", "closed_at"])
        .values_panic([period.into(), now_ms.into()])
        .on_conflict(
            OnConflict::column("period")
                .value(
                    "closed_at",
                    Expr::cust("COALESCE(meter_periods.closed_at, excluded.closed_at)"),
                )
                .to_owned(),
        );
    db.execute(&upsert).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_settles_only_after_its_end_and_the_grace() {
        let end = period_end_ms("2026-11");
        assert!(!settled("2026-11", end));
        assert!(!settled("2026-11", end + GRACE_MS - 1));
        assert!(settled("2026-11", end + GRACE_MS));
    }
}
