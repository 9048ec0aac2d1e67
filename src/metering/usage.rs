//! Usage for a tenant and month: what the meter counted (by kind) and what is still
//! pending. `GET /v1/usage` and the admin equivalent answer with this.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use super::alerts::{self, Alert};
use crate::clock::rfc3339;
use crate::db::Db;
use crate::entities::{deliveries, usage_meter};
use crate::error::AppResult;
use crate::period::Period;
use crate::plans;
use crate::plans::pricing::{Priced, TierMode, price};
use crate::states::{DeliveryStatus, LimitMode};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub code: String,
    pub included: i64,
    pub hard_limit: Option<i64>,
    pub limit_mode: LimitMode,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Usage {
    pub period: String,
    pub counted: i64,
    pub by_kind: BTreeMap<String, i64>,
    /// Deliveries not yet final (pending or paused).
    pub pending: u64,
    pub plan: Option<PlanSummary>,
    pub alerts: Vec<Alert>,
    /// The month's invoice if nothing else arrived: plan fee + tiers for counted + pending.
    pub projected: Option<Priced>,
    pub resets_at: String,
}

/// Start of the month after a stored `period` (`YYYY-MM`), in ms; 0 for text that is
/// not a month (periods are checked where they come in).
pub fn period_end_ms(period: &str) -> i64 {
    Period::parse(period).map_or(0, Period::end_ms)
}

/// Start of a stored `period` (`YYYY-MM`), in ms; 0 for text that is not a month.
pub fn period_start_ms(period: &str) -> i64 {
    Period::parse(period).map_or(0, Period::start_ms)
}

/// Counted sends per kind for a tenant and month, straight from the meter.
pub async fn counted(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> AppResult<BTreeMap<String, i64>> {
    let rows = usage_meter::Entity::find()
        .filter(usage_meter::Column::TenantId.eq(tenant_id))
        .filter(usage_meter::Column::Period.eq(period))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.counted)).collect())
}

/// Succeeded deliveries of a tenant in a month, counted from the deliveries themselves
/// (the invariant: this equals the meter).
pub async fn succeeded_deliveries(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> AppResult<i64> {
    let select = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from("deliveries")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("status").eq(DeliveryStatus::Succeeded))
        .and_where(Expr::col("succeeded_at").gte(period_start_ms(period)))
        .and_where(Expr::col("succeeded_at").lt(period_end_ms(period)))
        .to_owned();
    let row = db.query_one(&select).await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// Usage of a tenant for a month, with the plan's figures, alerts and the projected
/// invoice amount (the same pricing the invoice uses, applied to counted + pending).
/// All of it is read from one snapshot: read one after the other, a batch completing in
/// between could show its deliveries as neither pending nor counted.
pub async fn usage(
    db: &Db,
    tenant_id: Uuid,
    plan_id: Option<Uuid>,
    period: &str,
) -> AppResult<Usage> {
    let snapshot = db.begin_snapshot().await?;
    let usage = usage_in(&snapshot, tenant_id, plan_id, period).await?;
    snapshot.commit().await?;
    Ok(usage)
}

async fn usage_in(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    plan_id: Option<Uuid>,
    period: &str,
) -> AppResult<Usage> {
    let by_kind = counted(db, tenant_id, period).await?;
    let counted: i64 = by_kind.values().sum();
    let pending = deliveries::Entity::find()
        .filter(deliveries::Column::TenantId.eq(tenant_id))
        .filter(deliveries::Column::Status.is_in(DeliveryStatus::WAITING))
        .count(db)
        .await?;
    let plan = match plan_id {
        Some(id) => Some(plans::get(db, id).await?),
        None => None,
    };
    let projected = plan.as_ref().and_then(|p| {
        let mode = TierMode::parse(&p.model.tier_mode)?;
        Some(price(
            &p.model.currency,
            p.model.monthly_fee,
            mode,
            &p.tiers,
            counted + pending as i64,
        ))
    });
    Ok(Usage {
        period: period.to_string(),
        counted,
        by_kind,
        pending,
        plan: plan.map(|p| PlanSummary {
            code: p.model.code.clone(),
            included: p.included(),
            hard_limit: p.model.hard_limit,
            limit_mode: p.model.limit_mode,
        }),
        alerts: alerts::list(db, tenant_id, period).await?,
        projected,
        resets_at: rfc3339(period_end_ms(period)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_ends_at_the_next_month_start_utc() {
        assert_eq!(
            rfc3339(period_end_ms("2026-11")),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(period_end_ms("2026-12")),
            "2027-01-01T00:00:00.000Z"
        );
        let january = Period::parse("2027-01").unwrap();
        assert_eq!(january.previous().to_string(), "2026-12");
    }
}
