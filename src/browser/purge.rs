//! Retention: observations and the per-event dedup rows go after the tenant plan's
//! `retention_days` (30 without a plan), like event payloads. The per-day counts and
//! the alerts stay: they hold no identifier, and the report of a past month keeps its
//! numbers (its examples go with the rows).

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};
use uuid::Uuid;

use crate::clock::MS_PER_DAY;
use crate::db::Db;
use crate::entities::tenants;
use crate::ids;

/// Rows one purge transaction deletes at most (bounded locks and WAL).
const BATCH: u64 = 5_000;

/// Purges every tenant; returns the rows deleted.
pub async fn purge(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .into_tuple()
        .all(&db.conn)
        .await?;
    let mut total = 0;
    for tenant_id in ids {
        let days = match crate::plans::for_tenant(&db.conn, tenant_id).await {
            Ok(plan) => plan.map_or(30, |p| p.model.retention_days),
            Err(e) => return Err(DbErr::Custom(e.message)),
        };
        total += purge_tenant(db, tenant_id, now_ms - i64::from(days) * MS_PER_DAY).await?;
    }
    Ok(total)
}

/// Deletes the tenant's observations received before `cutoff` (their ids are UUIDv7 of
/// the receipt, so this is a key range) and its dedup rows of events received before it
/// — once the matcher's cursor has passed them, so their event is never read as new.
pub async fn purge_tenant(db: &Db, tenant_id: Uuid, cutoff: i64) -> Result<u64, DbErr> {
    let browser = Expr::col("id").lt(ids::first_at(cutoff));
    let passed = Query::select()
        .column("position")
        .from("dedup_cursors")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .to_owned();
    let server = Expr::col("received_at")
        .lt(cutoff)
        .and(Expr::col("event_row_id").lt(Expr::SubQuery(None, Box::new(passed.into()))));
    let mut total = 0;
    for (table, key, old) in [
        ("browser_events", "id", browser),
        ("dedup_matches", "event_row_id", server),
    ] {
        loop {
            let batch = Query::select()
                .column(key)
                .from(table)
                .and_where(Expr::col("tenant_id").eq(tenant_id))
                .and_where(old.clone())
                .limit(BATCH)
                .to_owned();
            let delete = Query::delete()
                .from_table(table)
                .and_where(Expr::col("tenant_id").eq(tenant_id))
                .and_where(Expr::col(key).in_subquery(batch))
                .to_owned();
            let txn = db.begin_write().await?;
            let n = txn.execute(&delete).await?.rows_affected();
            txn.commit().await?;
            total += n;
            if n < BATCH {
                break;
            }
        }
    }
    Ok(total)
}
