//! The invariant check: for every tenant and month, meter == deliveries that succeeded
//! in that month. `kickin reconcile` prints the table and fails on any difference.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::usage::{period_end_ms, period_start_ms};
use crate::states::DeliveryStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub tenant_id: Uuid,
    pub metered: i64,
    pub succeeded: i64,
}

impl Row {
    pub fn matches(&self) -> bool {
        self.metered == self.succeeded
    }
}

/// One row per tenant with a meter entry or a success in `period`.
pub async fn reconcile(db: &impl ConnectionTrait, period: &str) -> Result<Vec<Row>, DbErr> {
    let meter = Query::select()
        .column("tenant_id")
        .expr_as(Expr::cust("CAST(SUM(counted) AS BIGINT)"), "n")
        .from("usage_meter")
        .and_where(Expr::col("period").eq(period))
        .group_by_col("tenant_id")
        .to_owned();
    let succeeded = Query::select()
        .column("tenant_id")
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from("deliveries")
        .and_where(Expr::col("status").eq(DeliveryStatus::Succeeded))
        .and_where(Expr::col("succeeded_at").gte(period_start_ms(period)))
        .and_where(Expr::col("succeeded_at").lt(period_end_ms(period)))
        .group_by_col("tenant_id")
        .to_owned();
    let mut rows: BTreeMap<Uuid, Row> = BTreeMap::new();
    for r in db.query_all(&meter).await? {
        let tenant_id: Uuid = r.try_get("", "tenant_id")?;
        rows.entry(tenant_id)
            .or_insert(Row {
                tenant_id,
                metered: 0,
                succeeded: 0,
            })
            .metered = r.try_get("", "n")?;
    }
    for r in db.query_all(&succeeded).await? {
        let tenant_id: Uuid = r.try_get("", "tenant_id")?;
        rows.entry(tenant_id)
            .or_insert(Row {
                tenant_id,
                metered: 0,
                succeeded: 0,
            })
            .succeeded = r.try_get("", "n")?;
    }
    Ok(rows.into_values().collect())
}

/// The report `kickin reconcile` prints.
pub fn render(period: &str, rows: &[Row]) -> String {
    let mut out = format!(
        "reconcile {period}\n{:<38} {:>10} {:>10} {:>8}\n",
        "tenant", "metered", "succeeded", "status"
    );
    for r in rows {
        let status = if r.matches() { "ok" } else { "MISMATCH" };
        out.push_str(&format!(
            "{:<38} {:>10} {:>10} {:>8}\n",
            r.tenant_id, r.metered, r.succeeded, status
        ));
    }
    let bad = rows.iter().filter(|r| !r.matches()).count();
    out.push_str(&format!(
        "{} tenants, {bad} with a difference\n",
        rows.len()
    ));
    out
}
