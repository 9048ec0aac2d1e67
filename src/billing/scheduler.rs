//! The billing scheduler: shortly after each month starts it runs the previous month,
//! and it retries failed Stripe syncs when they are due. A lease row per job
//! (`job_leases`) lets exactly one instance run a month's billing when several share a
//! database; the invoices' unique index backs that up.

use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use tokio_util::sync::CancellationToken;

use super::run::{RunReport, run};
use super::stripe_sync::StripeSync;
use crate::clock::{Clock, period_of};
use crate::db::Db;
use crate::entities::invoices;
use crate::error::AppResult;
use crate::metering::usage::period_start_ms;

/// How long a run may hold its lease before another instance may take over.
const RUN_LEASE_MS: i64 = 15 * 60_000;
/// A finished month's lease never expires: it marks the month as done.
const DONE: i64 = i64::MAX;

/// Takes the named lease until `until` if it is free (or expired). True when taken.
pub async fn try_lease(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    now_ms: i64,
    until: i64,
) -> Result<bool, DbErr> {
    let mut upsert = Query::insert();
    upsert
        .into_table("job_leases")
        .columns(["name", "holder", "locked_until"])
        .values_panic([name.into(), holder.into(), until.into()])
        .on_conflict(
            OnConflict::column("name")
                .update_columns(["holder", "locked_until"])
                .action_and_where(Expr::col(("job_leases", "locked_until")).lt(now_ms))
                .to_owned(),
        )
        .returning(Query::returning().column("holder"));
    Ok(db.query_one(&upsert).await?.is_some())
}

async fn set_lease(db: &impl ConnectionTrait, name: &str, until: i64) -> Result<(), DbErr> {
    let update = Query::update()
        .table("job_leases")
        .value("locked_until", until)
        .and_where(Expr::col("name").eq(name))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// One scheduler step: bill last month if nobody has, then retry due Stripe syncs.
/// Returns the run report when this instance ran billing.
pub async fn tick(
    db: &Db,
    stripe: Option<&StripeSync>,
    holder: &str,
    now_ms: i64,
) -> AppResult<Option<RunReport>> {
    let previous = period_of(period_start_ms(&period_of(now_ms)) - 1);
    let name = format!("billing-run:{previous}");
    let mut report = None;
    let taken = {
        let txn = db.begin_write().await?;
        let taken = try_lease(&*txn, &name, holder, now_ms, now_ms + RUN_LEASE_MS).await?;
        txn.commit().await?;
        taken
    };
    if taken {
        let r = run(db, stripe, &previous, now_ms).await?;
        tracing::info!(period = %previous, invoices = r.invoices.len(), failed = r.failed.len(), "scheduled billing run done");
        let txn = db.begin_write().await?;
        set_lease(&*txn, &name, DONE).await?;
        txn.commit().await?;
        report = Some(r);
    }
    if let Some(stripe) = stripe {
        retry_syncs(db, stripe, now_ms).await?;
    }
    Ok(report)
}

async fn retry_syncs(db: &Db, stripe: &StripeSync, now_ms: i64) -> AppResult<()> {
    let due = invoices::Entity::find()
        .filter(invoices::Column::SyncStatus.is_in(["pending", "failed", "not_configured"]))
        .filter(invoices::Column::NextSyncAt.lte(now_ms))
        .all(&db.conn)
        .await?;
    for invoice in due {
        let _ = stripe.sync(db, invoice.id, now_ms).await;
    }
    Ok(())
}

/// Runs `tick` every minute until `shutdown`.
pub async fn run_loop(
    db: Db,
    stripe: Option<StripeSync>,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    loop {
        if let Err(err) = tick(&db, stripe.as_ref(), &holder, clock.now_ms()).await {
            tracing::warn!(error = %err, "billing scheduler tick failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}
