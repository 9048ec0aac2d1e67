//! Housekeeping loops of one shape (`periodically`): purge expired dedup keys, purge
//! event payloads past the plan's retention (keeping the identity billing and audit need,
//! with no PII), and recompute hard-limit reservations so a crash never leaks headroom.

use std::future::Future;
use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, MS_PER_DAY, period_of};
use crate::db::Db;
use crate::entities::{plans, tenants};
use crate::metering::limits;
use crate::metering::usage::period_start_ms;

/// Runs `task` every `every` until `shutdown`, logging what it did.
pub async fn periodically<F, Fut>(
    name: &'static str,
    every: Duration,
    shutdown: CancellationToken,
    mut task: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, DbErr>>,
{
    loop {
        match task().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(task = name, affected = n, "housekeeping"),
            Err(err) => tracing::warn!(task = name, error = %err, "housekeeping failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Starts the three loops.
pub fn spawn(
    db: Db,
    clock: Clock,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (d1, c1, d2, c2, d3, c3) = (
        db.clone(),
        clock.clone(),
        db.clone(),
        clock.clone(),
        db,
        clock,
    );
    vec![
        tokio::spawn(periodically(
            "purge_dedup_keys",
            Duration::from_secs(600),
            shutdown.clone(),
            move || {
                let (db, now) = (d1.clone(), c1.now_ms());
                async move { purge_dedup_keys(&db, now).await }
            },
        )),
        tokio::spawn(periodically(
            "purge_payloads",
            Duration::from_secs(3600),
            shutdown.clone(),
            move || {
                let (db, now) = (d2.clone(), c2.now_ms());
                async move { purge_payloads(&db, now).await }
            },
        )),
        tokio::spawn(periodically(
            "release_stale_reservations",
            Duration::from_secs(300),
            shutdown,
            move || {
                let (db, now) = (d3.clone(), c3.now_ms());
                async move { release_stale_reservations(&db, now).await }
            },
        )),
    ]
}

/// Deletes dedup keys whose window has passed (they no longer block anything).
pub async fn purge_dedup_keys(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    for tenant in tenants::Entity::find().all(&db.conn).await? {
        let delete = Query::delete()
            .from_table("dedup_keys")
            .and_where(Expr::col("tenant_id").eq(tenant.id))
            .and_where(Expr::col("expires_at").lte(now_ms))
            .to_owned();
        let txn = db.begin_write().await?;
        total += txn.execute(&delete).await?.rows_affected();
        txn.commit().await?;
    }
    Ok(total)
}

/// Empties payloads older than the tenant plan's `retention_days` (30 without a plan) once
/// no delivery of the event is waiting: the event keeps its id, name and times.
pub async fn purge_payloads(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    for tenant in tenants::Entity::find().all(&db.conn).await? {
        let retention_days = match tenant.plan_id {
            Some(id) => plans::Entity::find_by_id(id)
                .one(&db.conn)
                .await?
                .map_or(30, |p| p.retention_days),
            None => 30,
        };
        let cutoff = now_ms - i64::from(retention_days) * MS_PER_DAY;
        let update = Query::update()
            .table("events")
            .value("payload", "{}")
            .value("sealed", Option::<String>::None)
            .value("purged_at", now_ms)
            .and_where(Expr::col("tenant_id").eq(tenant.id))
            .and_where(Expr::col("received_at").lt(cutoff))
            .and_where(Expr::col("purged_at").is_null())
            .and_where(Expr::cust(
                "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = events.tenant_id \
                 AND d.event_row_id = events.id AND d.status IN ('pending', 'paused'))",
            ))
            .to_owned();
        let txn = db.begin_write().await?;
        total += txn.execute(&update).await?.rows_affected();
        txn.commit().await?;
    }
    Ok(total)
}

/// Recomputes this and last month's reservations from the deliveries that hold them.
pub async fn release_stale_reservations(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let this = period_of(now_ms);
    let last = period_of(period_start_ms(&this) - 1);
    let txn = db.begin_write().await?;
    let n = limits::recompute(&*txn, &this).await? + limits::recompute(&*txn, &last).await?;
    txn.commit().await?;
    Ok(n)
}
