//! Hard plan limits. For a plan in `hard` mode, counted + pending sends of a month may
//! never exceed `hard_limit`. Headroom is reserved atomically on a per-tenant,
//! per-month row (`quota_usage.used`): the ingest transaction locks the row with an
//! upsert (a write first, so SQLite takes its write lock and PostgreSQL a row lock),
//! reserves what fits, and commits with the deliveries. Failed and dead deliveries give
//! their reservation back; `recompute` repairs any drift from the deliveries themselves.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::plans::Plan;
use crate::states::{DeliveryStatus, LimitMode};

/// A hard limit in force for a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardLimit {
    pub limit: i64,
    pub period: String,
}

/// The hard limit of a plan, when it is in hard mode.
pub fn hard_limit(plan: Option<&Plan>, period: &str) -> Option<HardLimit> {
    let plan = plan?;
    (plan.model.limit_mode == LimitMode::Hard).then_some(())?;
    Some(HardLimit {
        limit: plan.model.hard_limit?,
        period: period.to_string(),
    })
}

/// Locks the tenant's row for the period (creating it) and returns what is used.
pub async fn lock_used(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> Result<i64, DbErr> {
    // Usually the row exists: a no-op update takes its lock and reads it.
    let touch = Query::update()
        .table("quota_usage")
        .value("used", Expr::cust("used"))
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("period").eq(period))
        .returning(Query::returning().column("used"))
        .to_owned();
    if let Some(row) = db.query_one(&touch).await? {
        return row.try_get("", "used");
    }
    // First hard-limited request of the month: start from what the tenant already has in
    // flight or counted this month (it may have just moved to a hard plan).
    let initial = in_use(db, tenant_id, period).await?;
    let mut upsert = Query::insert();
    upsert
        .into_table("quota_usage")
        .columns(["tenant_id", "period", "used"])
        .values_panic([tenant_id.into(), period.into(), initial.into()])
        .on_conflict(
            OnConflict::columns(["tenant_id", "period"])
                .value("used", Expr::cust("quota_usage.used"))
                .to_owned(),
        )
        .returning(Query::returning().column("used"));
    let row = db
        .query_one(&upsert)
        .await?
        .ok_or_else(|| DbErr::Custom("quota row not returned".into()))?;
    row.try_get("", "used")
}

/// Counted + pending sends of a tenant for a month: waiting deliveries and the ones that
/// succeeded in the month.
pub async fn in_use(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> Result<i64, DbErr> {
    use sea_orm::sea_query::Condition;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let (start, end) = (
        super::usage::period_start_ms(period),
        super::usage::period_end_ms(period),
    );
    let n = crate::entities::deliveries::Entity::find()
        .filter(crate::entities::deliveries::Column::TenantId.eq(tenant_id))
        .filter(
            Condition::any()
                .add(crate::entities::deliveries::Column::Status.is_in(DeliveryStatus::WAITING))
                .add(
                    Condition::all()
                        .add(
                            crate::entities::deliveries::Column::Status
                                .eq(DeliveryStatus::Succeeded),
                        )
                        .add(crate::entities::deliveries::Column::SucceededAt.gte(start))
                        .add(crate::entities::deliveries::Column::SucceededAt.lt(end)),
                ),
        )
        .count(db)
        .await?;
    Ok(n as i64)
}

/// Adds `delta` (positive: reserve; negative: release) to the used headroom, never below 0.
pub async fn add_used(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
    delta: i64,
) -> Result<(), DbErr> {
    if delta == 0 {
        return Ok(());
    }
    let update = Query::update()
        .table("quota_usage")
        // `delta` is an integer: formatting it into the expression is safe.
        .value(
            "used",
            Expr::cust(format!(
                "CASE WHEN used + ({delta}) < 0 THEN 0 ELSE used + ({delta}) END"
            )),
        )
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("period").eq(period))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// Sets every tenant's used headroom for `period` to its counted + pending sends
/// (`in_use`), repairing any drift.
pub async fn recompute(db: &impl ConnectionTrait, period: &str) -> Result<u64, DbErr> {
    // Lock the month's rows first: ingests that reserved before us have committed, later
    // ones wait, so the counts below (fresh snapshots) miss none of them.
    let lock = Query::select()
        .column("tenant_id")
        .from("quota_usage")
        .and_where(Expr::col("period").eq(period))
        .lock(sea_orm::sea_query::LockType::Update)
        .to_owned();
    let rows = db.query_all(&lock).await?;
    for row in &rows {
        let tenant_id: Uuid = row.try_get("", "tenant_id")?;
        let used = in_use(db, tenant_id, period).await?;
        let update = Query::update()
            .table("quota_usage")
            .value("used", used)
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("period").eq(period))
            .to_owned();
        db.execute(&update).await?;
    }
    Ok(rows.len() as u64)
}
