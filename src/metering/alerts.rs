//! Usage alerts at 80 % and 100 % of the included quota and of the hard limit: recorded
//! once per tenant, month, kind and threshold (the primary key makes a second insert a
//! no-op), shown in usage responses.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::rfc3339;

pub const THRESHOLDS: [i64; 2] = [80, 100];

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Alert {
    /// `included` (the plan's included quota) or `hard_limit`.
    pub kind: String,
    /// 80 or 100 (percent).
    pub threshold: i64,
    pub limit: i64,
    /// Usage when the threshold was crossed.
    pub used: i64,
    pub at: String,
}

/// Thresholds `used` has reached for `limit`.
pub fn crossed(used: i64, limit: i64) -> impl Iterator<Item = i64> {
    THRESHOLDS
        .into_iter()
        .filter(move |t| limit > 0 && used.saturating_mul(100) >= limit.saturating_mul(*t))
}

/// Records the thresholds crossed (once each).
pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
    kind: &str,
    limit: i64,
    used: i64,
    now_ms: i64,
) -> Result<(), DbErr> {
    for threshold in crossed(used, limit) {
        let mut insert = Query::insert();
        insert
            .into_table("usage_alerts")
            .columns([
                "tenant_id",
                "period",
                "kind",
                "threshold",
                "limit_value",
                "used",
                "created_at",
            ])
            .values_panic([
                tenant_id.into(),
                period.into(),
                kind.into(),
                threshold.into(),
                limit.into(),
                used.into(),
                now_ms.into(),
            ])
            .on_conflict(
                OnConflict::columns(["tenant_id", "period", "kind", "threshold"])
                    .do_nothing()
                    .to_owned(),
            );
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Records the included-quota thresholds the tenant's meter has crossed this month.
pub async fn record_included(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
    now_ms: i64,
) -> Result<(), DbErr> {
    // A tenant or plan that is gone has no quota to alert on; any other error is the
    // database's, and fails the completion's transaction rather than skipping an alert.
    let Some(tenant) = found(crate::tenants::get(db, tenant_id).await)? else {
        return Ok(());
    };
    let Some(plan_id) = tenant.plan_id else {
        return Ok(());
    };
    let Some(plan) = found(crate::plans::get(db, plan_id).await)? else {
        return Ok(());
    };
    let included = plan.included();
    if included <= 0 || included == i64::MAX {
        return Ok(());
    }
    let counted: i64 = super::usage::counted(db, tenant_id, period)
        .await
        .map_err(|e| DbErr::Custom(e.message))?
        .values()
        .sum();
    record(db, tenant_id, period, "included", included, counted, now_ms).await
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> Result<Vec<Alert>, DbErr> {
    let select = Query::select()
        .columns(["kind", "threshold", "limit_value", "used", "created_at"])
        .from("usage_alerts")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("period").eq(period))
        .order_by("created_at", sea_orm::Order::Asc)
        .order_by("threshold", sea_orm::Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| {
            Ok(Alert {
                kind: r.try_get("", "kind")?,
                threshold: r.try_get::<i32>("", "threshold").map(i64::from)?,
                limit: r.try_get("", "limit_value")?,
                used: r.try_get("", "used")?,
                at: rfc3339(r.try_get("", "created_at")?),
            })
        })
        .collect()
}

/// `Ok(None)` for a real not-found; every other error is kept.
fn found<T>(result: crate::error::AppResult<T>) -> Result<Option<T>, DbErr> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == crate::error::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DbErr::Custom(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thresholds_are_crossed_at_eighty_and_one_hundred_percent() {
        assert_eq!(super::crossed(79, 100).count(), 0);
        assert_eq!(super::crossed(80, 100).collect::<Vec<_>>(), [80]);
        assert_eq!(super::crossed(150, 100).collect::<Vec<_>>(), [80, 100]);
        assert_eq!(super::crossed(5, 0).count(), 0, "no quota, no alert");
    }
}
