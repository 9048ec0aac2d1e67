//! The billing run for a closed month: one invoice per tenant that has a plan (zero usage
//! still pays the fee), priced from the meter with the plan's tiers, then synced to
//! Stripe when configured. Re-running changes nothing and reports the same invoices.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use super::invoices;
use super::plans;
use super::pricing::{TierMode, price};
use super::stripe_sync::StripeSync;
use crate::clock::period_of;
use crate::db::Db;
use crate::entities::{invoices as invoice_rows, tenants};
use crate::error::{AppError, AppResult};
use crate::metering::usage::{counted, period_end_ms};

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct InvoiceSummary {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub total: i64,
    pub currency: String,
    pub status: String,
    pub sync_status: String,
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
}

impl RunReport {
    /// Every tenant with a plan has an issued invoice.
    pub fn all_issued(&self) -> bool {
        self.failed.iter().all(|f| f.invoice_id.is_some())
    }
}

/// Only a month that has ended can be billed.
pub fn check_closed(period: &str, now_ms: i64) -> AppResult<()> {
    if !crate::clock::is_period(period) {
        return Err(AppError::invalid("period", "period must be YYYY-MM"));
    }
    if period >= period_of(now_ms).as_str() {
        return Err(AppError::unprocessable(
            "period_not_closed",
            format!("{period} has not ended yet; bill it once it has"),
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
    let mut failed = Vec::new();
    let billable = tenants::Entity::find()
        .filter(tenants::Column::PlanId.is_not_null())
        .filter(tenants::Column::CreatedAt.lt(period_end_ms(period)))
        .order_by_asc(tenants::Column::Id)
        .all(&db.conn)
        .await?;
    let sync_status = if stripe.is_some() {
        "pending"
    } else {
        "not_configured"
    };
    for tenant in &billable {
        if let Err(e) = issue_one(db, tenant, period, sync_status, now_ms).await {
            failed.push(RunFailure {
                tenant_id: tenant.id,
                invoice_id: None,
                code: e.code.into(),
                message: e.message,
            });
        }
    }
    if let Some(stripe) = stripe {
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
    }
    let invoices = invoice_rows::Entity::find()
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
        .collect();
    Ok(RunReport {
        period: period.to_string(),
        invoices,
        failed,
    })
}

async fn issue_one(
    db: &Db,
    tenant: &tenants::Model,
    period: &str,
    sync_status: &str,
    now_ms: i64,
) -> AppResult<()> {
    if invoices::find_for_period(&db.conn, tenant.id, period)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let plan = plans::get(&db.conn, tenant.plan_id.expect("filtered on plan")).await?;
    let mode = TierMode::parse(&plan.model.tier_mode)
        .ok_or_else(|| AppError::internal("unknown tier mode"))?;
    let units: i64 = counted(&db.conn, tenant.id, period).await?.values().sum();
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
        tenant.id,
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
        .filter(invoice_rows::Column::SyncStatus.is_in(["pending", "failed", "not_configured"]))
        .all(&db.conn)
        .await?)
}
