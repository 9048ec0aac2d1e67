//! Match-rate alerts: when a tenant's match rate over the last 24 hours falls under its
//! `dedup_alert_threshold` (with at least [`MIN_EVENTS`] server events, so three events
//! of a quiet night do not alarm anyone), one alert is recorded for the day. The report,
//! the console and `/metrics` (counts only, no tenant label) show them.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};
use uuid::Uuid;

use super::matching::Category;
use crate::clock::{MS_PER_DAY, day_of};
use crate::db::Db;
use crate::entities::tenants;

/// Fewer server events than this in the window say nothing about the match rate.
pub const MIN_EVENTS: i64 = 50;
/// The window ends this long ago, leaving the side that arrives second time to come
/// (a server event's pixel usually fires within seconds, a webhook may lag minutes).
pub const GRACE_MS: i64 = 10 * 60_000;

/// The window's server events and matched ones.
async fn window(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    now_ms: i64,
) -> Result<(i64, i64), DbErr> {
    let hi = now_ms - GRACE_MS;
    let select = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .expr_as(
            Expr::cust(format!(
                "COALESCE(SUM(CASE WHEN category = '{}' THEN 1 ELSE 0 END), 0)",
                Category::Matched.as_str()
            )),
            "matched",
        )
        .from("dedup_matches")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("received_at").gte(hi - MS_PER_DAY))
        .and_where(Expr::col("received_at").lt(hi))
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok((0, 0));
    };
    let n: i64 = row.try_get("", "n")?;
    let matched: i64 = row.try_get("", "matched")?;
    Ok((n, matched))
}

/// True when `matched / server` is under `threshold_bp` (basis points) with enough events.
pub fn below(server: i64, matched: i64, threshold_bp: i32) -> bool {
    server >= MIN_EVENTS && matched * 10_000 < i64::from(threshold_bp) * server
}

/// Checks every tenant; records today's alert where it falls under. Returns the alerts
/// recorded by this pass.
pub async fn check(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let tenants: Vec<(Uuid, i32)> = tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .column(tenants::Column::DedupAlertThresholdBp)
        .into_tuple()
        .all(&db.conn)
        .await?;
    let (mut recorded, mut under) = (0, 0);
    for (tenant_id, threshold_bp) in tenants {
        let (server, matched) = window(&db.conn, tenant_id, now_ms).await?;
        if !below(server, matched, threshold_bp) {
            continue;
        }
        under += 1;
        let insert = Query::insert()
            .into_table("dedup_alerts")
            .columns([
                "tenant_id",
                "day",
                "server_events",
                "matched",
                "threshold_bp",
                "created_at",
            ])
            .values_panic([
                tenant_id.into(),
                day_of(now_ms).into(),
                server.into(),
                matched.into(),
                threshold_bp.into(),
                now_ms.into(),
            ])
            .on_conflict(
                OnConflict::columns(["tenant_id", "day"])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let txn = db.begin_write().await?;
        recorded += txn.execute(&insert).await?.rows_affected();
        txn.commit().await?;
    }
    crate::metrics::metrics().dedup_check(recorded, under);
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_needs_enough_events_and_a_rate_strictly_under_the_threshold() {
        assert!(below(100, 79, 8000));
        assert!(!below(100, 80, 8000), "exactly at the threshold");
        assert!(!below(MIN_EVENTS - 1, 0, 8000), "too few events");
        assert!(below(MIN_EVENTS, 0, 8000));
        assert!(!below(1000, 0, 0), "a zero threshold never alerts");
    }
}
