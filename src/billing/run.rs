//! The billing run for a closed month: one invoice per tenant that had a plan at the
//! month's end (zero usage still pays the fee), priced from the meter with that plan's
//! tiers, then synced to Stripe when configured. Before reading the meter the run closes
//! the month ([`periods::close`]), so no completion stamped in it can commit afterwards.
//! Re-running changes nothing and reports the same invoices; a run that left tenants
//! without an invoice is recorded for a retry ([`run_log`]).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use super::stripe_sync::StripeSync;
use super::{assignments, invoices, periods, run_log};
use crate::clock::rfc3339;
use crate::db::Db;
use crate::entities::invoices as invoice_rows;
use crate::error::{AppError, AppResult};
use crate::metering::usage::{counted, period_end_ms};
use crate::period::Period;
use crate::plans;
use crate::plans::pricing::{TierMode, price};
use crate::states::SyncStatus;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct InvoiceSummary {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub total: i64,
    pub currency: String,
    pub status: String,
    pub sync_status: SyncStatus,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RunFailure {
    pub tenant_id: Uuid,
    pub invoice_id: Option<Uuid>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RunReport {
    pub period: String,
    pub invoices: Vec<InvoiceSummary>,
    pub failed: Vec<RunFailure>,
    /// When the run is tried again because some tenant has no invoice yet (else null).
    pub retry_at: Option<String>,
}

impl RunReport {
    /// Every tenant with a plan has an issued invoice.
    pub fn all_issued(&self) -> bool {
        self.failed.iter().all(|f| f.invoice_id.is_some())
    }
}

/// Only a month that has ended, and whose completions have settled, can be billed.
pub fn check_closed(period: &str, now_ms: i64) -> AppResult<()> {
    if Period::parse(period).is_none() {
        return Err(AppError::invalid("period", "period must be YYYY-MM"));
    }
    if !periods::settled(period, now_ms) {
        return Err(AppError::unprocessable(
            "period_not_closed",
            format!(
                "{period} can be billed from {}, once it has ended and its last sends are counted",
                rfc3339(period_end_ms(period) + periods::GRACE_MS)
            ),
        )
        .with_field("period"));
    }
    Ok(())
}

/// Runs billing for `period`. Issues missing invoices, then syncs those not yet synced.
#[tracing::instrument(name = "billing.run", skip(db, stripe), fields(invoices = tracing::field::Empty, failed = tracing::field::Empty))]
pub async fn run(
    db: &Db,
    stripe: Option<&StripeSync>,
    period: &str,
    now_ms: i64,
) -> AppResult<RunReport> {
    check_closed(period, now_ms)?;
    let txn = db.begin_write().await?;
    periods::close(&*txn, period, now_ms).await?;
    txn.commit().await?;
    let billable = assignments::in_force_at(&db.conn, period_end_ms(period)).await?;
    let sync_status = if stripe.is_some() {
        SyncStatus::Pending
    } else {
        SyncStatus::NotConfigured
    };
    let mut failed = Vec::new();
    for (&tenant_id, &plan_id) in &billable {
        if let Err(e) = issue_one(db, tenant_id, plan_id, period, sync_status, now_ms).await {
            failed.push(RunFailure {
                tenant_id,
                invoice_id: None,
                code: e.code.into(),
                message: e.message,
            });
        }
    }
    if let Some(stripe) = stripe {
        failed.extend(sync_all(db, stripe, period, now_ms).await?);
    }
    let not_invoiced = failed.iter().filter(|f| f.invoice_id.is_none()).count();
    let txn = db.begin_write().await?;
    let retry_at = run_log::record(&*txn, period, not_invoiced, now_ms).await?;
    txn.commit().await?;
    Ok(RunReport {
        period: period.to_string(),
        invoices: summaries(db, period).await?,
        failed,
        retry_at: retry_at.map(rfc3339),
    })
}

/// Syncs the month's invoices not yet in Stripe; one failure per invoice that is not.
async fn sync_all(
    db: &Db,
    stripe: &StripeSync,
    period: &str,
    now_ms: i64,
) -> AppResult<Vec<RunFailure>> {
    let mut failed = Vec::new();
    for invoice in unsynced(db, period).await? {
        if let Err(message) = stripe.sync(db, invoice.id, now_ms).await {
            failed.push(RunFailure {
                tenant_id: invoice.tenant_id,
                invoice_id: Some(invoice.id),
                code: "stripe_sync_failed".into(),
                message,
            });
        }
    }
    Ok(failed)
}

async fn summaries(db: &Db, period: &str) -> AppResult<Vec<InvoiceSummary>> {
    Ok(invoice_rows::Entity::find()
        .filter(invoice_rows::Column::Period.eq(period))
        .order_by_asc(invoice_rows::Column::TenantId)
        .all(&db.conn)
        .await?
        .into_iter()
        .map(|i| InvoiceSummary {
            tenant_id: i.tenant_id,
            invoice_id: i.id,
            total: i.total,
            currency: i.currency,
            status: i.status,
            sync_status: i.sync_status,
        })
        .collect())
}

/// Issues the tenant's invoice for `period` with `plan_id`, the plan in force at its end.
async fn issue_one(
    db: &Db,
    tenant_id: Uuid,
    plan_id: Uuid,
    period: &str,
    sync_status: SyncStatus,
    now_ms: i64,
) -> AppResult<()> {
    if invoices::find_for_period(&db.conn, tenant_id, period)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let plan = plans::get(&db.conn, plan_id).await?;
    let mode = TierMode::parse(&plan.model.tier_mode)
        .ok_or_else(|| AppError::internal("unknown tier mode"))?;
    let units: i64 = counted(&db.conn, tenant_id, period).await?.values().sum();
    let priced = price(
        &plan.model.currency,
        plan.model.monthly_fee,
        mode,
        &plan.tiers,
        units,
    );
    let txn = db.begin_write().await?;
    invoices::issue(
        &*txn,
        tenant_id,
        period,
        units,
        &priced,
        sync_status,
        now_ms,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Invoices of a month waiting for Stripe (pending, or failed earlier).
pub async fn unsynced(db: &Db, period: &str) -> AppResult<Vec<invoice_rows::Model>> {
    Ok(invoice_rows::Entity::find()
        .filter(invoice_rows::Column::Period.eq(period))
        .filter(invoice_rows::Column::SyncStatus.is_in(SyncStatus::UNSYNCED))
        .all(&db.conn)
        .await?)
}
