//! The billing scheduler: once the previous month has settled (its end plus
//! [`periods::GRACE_MS`]) it runs that month, it re-runs every month whose last run left
//! a tenant without an invoice when its retry is due ([`run_log`]), and it retries
//! failed Stripe syncs when they are due. A lease row per month (`job_leases`) lets
//! exactly one instance run a month's billing at a time when several share a database;
//! the holder checks the run log again under the lease, so a month finished meanwhile by
//! another instance is not run twice, and the invoices' unique index backs that up.

use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use tokio_util::sync::CancellationToken;

use super::run::{RunReport, run};
use super::stripe_sync::StripeSync;
use super::{periods, run_log};
use crate::clock::Clock;
use crate::db::Db;
use crate::entities::invoices;
use crate::error::AppResult;
use crate::period::Period;

/// How long a run may hold its lease before another instance may take over.
const RUN_LEASE_MS: i64 = 15 * 60_000;

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

/// One scheduler step: bill last month if nobody has, re-run the months whose retry is
/// due, then retry due Stripe syncs. Returns the report of the last month this instance
/// ran.
pub async fn tick(
    db: &Db,
    stripe: Option<&StripeSync>,
    holder: &str,
    now_ms: i64,
) -> AppResult<Option<RunReport>> {
    let previous = Period::of(now_ms).previous().to_string();
    let mut months = run_log::due(&db.conn, now_ms).await?;
    if periods::settled(&previous, now_ms) && !months.contains(&previous) {
        months.push(previous);
    }
    let mut report = None;
    for period in months {
        if let Some(r) = run_leased(db, stripe, holder, &period, now_ms).await? {
            report = Some(r);
        }
    }
    if let Some(stripe) = stripe {
        retry_syncs(db, stripe, now_ms).await?;
    }
    Ok(report)
}

/// Runs `period` under its lease if the month still needs a run.
async fn run_leased(
    db: &Db,
    stripe: Option<&StripeSync>,
    holder: &str,
    period: &str,
    now_ms: i64,
) -> AppResult<Option<RunReport>> {
    let name = format!("billing-run:{period}");
    let txn = db.begin_write().await?;
    let taken = try_lease(&*txn, &name, holder, now_ms, now_ms + RUN_LEASE_MS).await?;
    txn.commit().await?;
    if !taken {
        return Ok(None);
    }
    // An error keeps the lease: the month is tried again once the lease expires.
    let report = if run_log::needs_run(&db.conn, period, now_ms).await? {
        Some(run(db, stripe, period, now_ms).await?)
    } else {
        None
    };
    // Released once the run is recorded: the run log, not the lease, says whether the
    // month is done.
    let txn = db.begin_write().await?;
    set_lease(&*txn, &name, 0).await?;
    txn.commit().await?;
    if let Some(r) = &report {
        tracing::info!(period = %period, invoices = r.invoices.len(), failed = r.failed.len(), retry_at = ?r.retry_at, "scheduled billing run done");
    }
    Ok(report)
}

async fn retry_syncs(db: &Db, stripe: &StripeSync, now_ms: i64) -> AppResult<()> {
    let due = invoices::Entity::find()
        .filter(invoices::Column::SyncStatus.is_in(crate::states::SyncStatus::UNSYNCED))
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
