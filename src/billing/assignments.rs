//! Plan assignments: which plan a tenant had from when (`plan_assignments`, one row per
//! change, `plan_id` null when the plan was removed). Written by the tenants service in
//! the same transaction as the change, so the history is never behind the tenant row.
//!
//! The rule billing prices a month with: the plan in force at the END of the month,
//! i.e. the tenant's last assignment with `effective_from` before the month ends. A
//! tenant whose plan is removed before the month ends gets no invoice for it; one that
//! switches plans mid-month pays the new plan for the whole month.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// Records that `tenant_id` has `plan_id` (none: no plan) from `effective_from` on.
pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    plan_id: Option<Uuid>,
    effective_from: i64,
) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert
        .into_table("plan_assignments")
        .columns(["tenant_id", "effective_from", "plan_id"])
        .values_panic([tenant_id.into(), effective_from.into(), plan_id.into()])
        .on_conflict(
            OnConflict::columns(["tenant_id", "effective_from"])
                .update_column("plan_id")
                .to_owned(),
        );
    db.execute(&insert).await?;
    Ok(())
}

/// Tenant → plan in force at `end_ms` (the end of the month billed), for every tenant
/// that had a plan then. Ordered by tenant id.
pub async fn in_force_at(
    db: &impl ConnectionTrait,
    end_ms: i64,
) -> Result<BTreeMap<Uuid, Uuid>, DbErr> {
    let select = Query::select()
        .columns(["tenant_id", "plan_id"])
        .from("plan_assignments")
        .and_where(Expr::col("effective_from").lt(end_ms))
        .order_by("tenant_id", Order::Asc)
        .order_by("effective_from", Order::Asc)
        .to_owned();
    let mut latest: BTreeMap<Uuid, Option<Uuid>> = BTreeMap::new();
    for row in db.query_all(&select).await? {
        latest.insert(row.try_get("", "tenant_id")?, row.try_get("", "plan_id")?);
    }
    Ok(latest
        .into_iter()
        .filter_map(|(tenant, plan)| plan.map(|p| (tenant, p)))
        .collect())
}
