//! Nothing waits forever. A delivery parked on a paused or disabled destination (bad
//! credentials nobody fixes), or left due but unclaimed, ends once it passes its
//! destination's age limit: `dead` with reason `expired` — or `unconfirmed` when an
//! earlier attempt's outcome is unknown — never sent, never counted, and its hard-limit
//! headroom given back. Housekeeping runs this every `EVERY`, so a delivery ends within
//! a minute of its limit.

use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::queue;
use crate::db::Db;
use crate::destinations::Kind;
use crate::entities::destinations;
use crate::states::DeliveryStatus;

pub const EVERY: Duration = Duration::from_secs(30);
/// Deliveries one transaction ends at most; the pass repeats until none is left.
const BATCH: u64 = 1_000;

/// The two ways a delivery waits too long. Each is one range of `deliveries_queue
/// (tenant_id, destination_id, status, next_attempt_at, id)`, so a destination with
/// nothing to end costs two index probes, whatever its history.
#[derive(Clone, Copy)]
enum Stuck {
    /// Parked on a paused or disabled destination (bad credentials nobody fixes).
    Parked,
    /// Due, but no worker claimed it since before the cutoff (a pending delivery is due
    /// no earlier than its event was received, so these are few).
    Unclaimed,
}

/// Where and what one pass looks for.
struct Probe {
    tenant_id: Uuid,
    destination_id: Uuid,
    stuck: Stuck,
    cutoff: i64,
    now_ms: i64,
}

/// Ends every waiting delivery past its destination's age limit. Returns how many.
pub async fn expire_waiting(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    for kind in Kind::ALL {
        let cutoff = kind.spec().too_old_before(now_ms);
        for (tenant_id, destination_id) in destinations_of(db, kind).await? {
            for stuck in [Stuck::Parked, Stuck::Unclaimed] {
                let probe = Probe {
                    tenant_id,
                    destination_id,
                    stuck,
                    cutoff,
                    now_ms,
                };
                total += expire_all(db, kind, &probe).await?;
            }
        }
    }
    Ok(total)
}

/// Every destination of a kind, deleted ones too (they are only ever soft-deleted, and
/// what still waits on one must end as well).
async fn destinations_of(db: &Db, kind: Kind) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    destinations::Entity::find()
        .select_only()
        .columns([destinations::Column::TenantId, destinations::Column::Id])
        .filter(destinations::Column::Kind.eq(kind.as_str()))
        .into_tuple()
        .all(&db.conn)
        .await
}

/// A read first, so a destination with nothing to end takes no write transaction (on
/// SQLite one would wait for, and hold up, the single writer).
async fn expire_all(db: &Db, kind: Kind, probe: &Probe) -> Result<u64, DbErr> {
    let mut first = candidates(probe);
    first.limit(1);
    if db.conn.query_one(&first).await?.is_none() {
        return Ok(0);
    }
    let mut total = 0;
    loop {
        let n = expire_batch(db, kind, probe).await?;
        total += n;
        if n < BATCH {
            return Ok(total);
        }
    }
}

/// One destination's deliveries stuck this way, whose event is older than the cutoff.
/// A delivery a worker holds is left to that worker.
fn candidates(p: &Probe) -> SelectStatement {
    let waiting = match p.stuck {
        Stuck::Parked => Expr::col("status").eq(DeliveryStatus::Paused),
        Stuck::Unclaimed => (Expr::col("status").eq(DeliveryStatus::Pending))
            .and(Expr::col("next_attempt_at").lte(p.cutoff)),
    };
    Query::select()
        .column("id")
        .from("deliveries")
        .and_where(Expr::col("tenant_id").eq(p.tenant_id))
        .and_where(Expr::col("destination_id").eq(p.destination_id))
        .and_where(waiting)
        .and_where(
            Expr::col("locked_until")
                .is_null()
                .or(Expr::col("locked_until").lte(p.now_ms)),
        )
        .and_where(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from_as("events", "e")
                .and_where(Expr::col(("e", "tenant_id")).equals(("deliveries", "tenant_id")))
                .and_where(Expr::col(("e", "id")).equals(("deliveries", "event_row_id")))
                .and_where(Expr::col(("e", "event_time")).lte(p.cutoff))
                .to_owned(),
        ))
        .limit(BATCH)
        .to_owned()
}

async fn expire_batch(db: &Db, kind: Kind, probe: &Probe) -> Result<u64, DbErr> {
    let txn = db.begin_write().await?;
    let (tenant_id, now_ms) = (probe.tenant_id, probe.now_ms);
    let ended = queue::end_expired(&*txn, tenant_id, candidates(probe), now_ms).await?;
    txn.commit().await?;
    let metrics = crate::metrics::metrics();
    for status in &ended {
        metrics.send(kind.as_str(), status.as_str(), 1);
    }
    Ok(ended.len() as u64)
}
