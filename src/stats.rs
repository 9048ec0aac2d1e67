//! Operator-wide figures for the console dashboard.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::clock::{day_of, period_of, rfc3339};
use crate::entities::{deliveries, destinations, tenants};
use crate::error::AppResult;
use crate::metering::alerts;
use crate::metering::usage::period_start_ms;
use crate::states::{DeliveryStatus, DestinationState};

pub struct AlertRow {
    pub tenant_id: String,
    pub tenant_name: String,
    pub kind: String,
    pub threshold: i64,
    pub used: i64,
    pub limit: i64,
    pub at: String,
}

pub struct Dashboard {
    pub events_today: i64,
    pub duplicates_today: i64,
    pub events_month: i64,
    pub duplicates_month: i64,
    pub queue_depth: u64,
    pub oldest_due: String,
    pub paused_destinations: u64,
    pub dead: u64,
    /// Ended without a resend: an attempt's outcome is unknown (a person may replay).
    pub unconfirmed: u64,
    pub by_status: Vec<(String, i64)>,
    pub alerts: Vec<AlertRow>,
}

/// The sum of a diagnostic counter over days like `day_like`, of one tenant or all.
pub async fn counter(
    db: &impl ConnectionTrait,
    tenant: Option<uuid::Uuid>,
    code: &str,
    day_like: &str,
) -> AppResult<i64> {
    let mut select = Query::select()
        .expr_as(Expr::cust("CAST(COALESCE(SUM(count), 0) AS BIGINT)"), "n")
        .from("diagnostic_counts")
        .and_where(Expr::col("code").eq(code))
        .and_where(Expr::col("day").like(day_like))
        .to_owned();
    if let Some(tenant) = tenant {
        select.and_where(Expr::col("tenant_id").eq(tenant));
    }
    Ok(db
        .query_one(&select)
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

pub async fn dashboard(db: &impl ConnectionTrait, now_ms: i64) -> AppResult<Dashboard> {
    let (today, month) = (day_of(now_ms), period_of(now_ms));
    let month_like = format!("{month}-%");
    let pending =
        deliveries::Entity::find().filter(deliveries::Column::Status.eq(DeliveryStatus::Pending));
    let queue_depth = pending.clone().count(db).await?;
    let oldest = Query::select()
        .expr_as(Expr::cust("MIN(next_attempt_at)"), "oldest")
        .from("deliveries")
        .and_where(Expr::col("status").eq(DeliveryStatus::Pending))
        .to_owned();
    let oldest: Option<i64> = db
        .query_one(&oldest)
        .await?
        .and_then(|r| r.try_get("", "oldest").ok());
    let by_status_query = Query::select()
        .column("status")
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from("deliveries")
        .and_where(Expr::col("created_at").gte(period_start_ms(&month)))
        .group_by_col("status")
        .to_owned();
    let mut by_status = Vec::new();
    for row in db.query_all(&by_status_query).await? {
        by_status.push((row.try_get("", "status")?, row.try_get("", "n")?));
    }
    let mut alert_rows = Vec::new();
    for tenant in tenants::Entity::find().all(db).await? {
        for a in alerts::list(db, tenant.id, &month).await? {
            alert_rows.push(AlertRow {
                tenant_id: tenant.id.to_string(),
                tenant_name: tenant.name.clone(),
                kind: a.kind,
                threshold: a.threshold,
                used: a.used,
                limit: a.limit,
                at: a.at,
            });
        }
    }
    Ok(Dashboard {
        events_today: counter(db, None, "received", &today).await?,
        duplicates_today: counter(db, None, "duplicate_event", &today).await?,
        events_month: counter(db, None, "received", &month_like).await?,
        duplicates_month: counter(db, None, "duplicate_event", &month_like).await?,
        queue_depth,
        oldest_due: oldest.map(rfc3339).unwrap_or_else(|| "—".into()),
        paused_destinations: destinations::Entity::find()
            .filter(destinations::Column::State.eq(DestinationState::Paused))
            .filter(destinations::Column::DeletedAt.is_null())
            .count(db)
            .await?,
        dead: deliveries::Entity::find()
            .filter(deliveries::Column::Status.eq(DeliveryStatus::Dead))
            .count(db)
            .await?,
        unconfirmed: deliveries::Entity::find()
            .filter(deliveries::Column::Status.eq(DeliveryStatus::Unconfirmed))
            .count(db)
            .await?,
        by_status,
        alerts: alert_rows,
    })
}
