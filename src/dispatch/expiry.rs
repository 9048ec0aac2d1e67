//! Nothing waits forever. A delivery parked on a paused or disabled destination (bad
//! credentials nobody fixes), or left due but unclaimed, ends once it passes its
//! destination's age limit: `dead` with reason `expired` — or `unconfirmed` when an
//! earlier attempt's outcome is unknown — never sent, never counted, and its hard-limit
//! headroom given back. Housekeeping runs this every `EVERY`, so a delivery ends within
//! a minute of its limit.

use std::time::Duration;

use sea_orm::DbErr;
use sea_orm::sea_query::{Expr, ExprTrait, Query};

use super::queue;
use crate::db::Db;
use crate::destinations::Kind;
use crate::states::DeliveryStatus;

pub const EVERY: Duration = Duration::from_secs(30);
/// Deliveries one transaction ends at most; the pass repeats until none is left.
const BATCH: u64 = 1_000;

/// Ends every waiting delivery past its destination's age limit. Returns how many.
pub async fn expire_waiting(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    for kind in Kind::ALL {
        let cutoff = kind.spec().too_old_before(now_ms);
        loop {
            let n = expire_batch(db, kind, cutoff, now_ms).await?;
            total += n;
            if n < BATCH {
                break;
            }
        }
    }
    Ok(total)
}

/// Parked deliveries, and due ones no worker claimed since before the cutoff (a pending
/// delivery is due no earlier than its event was received, so older ones are few and
/// found by `deliveries_due`). A delivery a worker holds is left to that worker.
fn candidates(kind: Kind, cutoff: i64, now_ms: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column("id")
        .from("deliveries")
        .and_where(
            Expr::col("status")
                .eq(DeliveryStatus::Paused)
                .or(Expr::col("status")
                    .eq(DeliveryStatus::Pending)
                    .and(Expr::col("next_attempt_at").lte(cutoff))),
        )
        .and_where(Expr::col("kind").eq(kind.as_str()))
        .and_where(
            Expr::col("locked_until")
                .is_null()
                .or(Expr::col("locked_until").lte(now_ms)),
        )
        .and_where(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from_as("events", "e")
                .and_where(Expr::col(("e", "tenant_id")).equals(("deliveries", "tenant_id")))
                .and_where(Expr::col(("e", "id")).equals(("deliveries", "event_row_id")))
                .and_where(Expr::col(("e", "event_time")).lte(cutoff))
                .to_owned(),
        ))
        .limit(BATCH)
        .to_owned()
}

async fn expire_batch(db: &Db, kind: Kind, cutoff: i64, now_ms: i64) -> Result<u64, DbErr> {
    let txn = db.begin_write().await?;
    let ended = queue::end_expired(&*txn, candidates(kind, cutoff, now_ms), now_ms).await?;
    txn.commit().await?;
    let metrics = crate::metrics::metrics();
    for status in &ended {
        metrics.send(kind.as_str(), status.as_str(), 1);
    }
    Ok(ended.len() as u64)
}
