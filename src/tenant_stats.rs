//! One tenant's figures for the portal overview: today's and this month's events and
//! stopped duplicates, this month's sends by destination and outcome, the match rate,
//! and events received per day for the last 30 days.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use crate::clock::{MS_PER_DAY, day_of, period_of};
use crate::db::Db;
use crate::error::AppResult;
use crate::metering::usage::period_start_ms;
use crate::stats::counter;

pub const CHART_DAYS: i64 = 30;

pub struct SendRow {
    pub destination: String,
    pub status: String,
    pub count: i64,
}

pub struct Overview {
    pub events_today: i64,
    pub duplicates_today: i64,
    pub events_month: i64,
    pub duplicates_month: i64,
    pub sends: Vec<SendRow>,
    pub match_rate: Option<f64>,
    /// `(YYYY-MM-DD, events received)`, oldest first, `CHART_DAYS` of them.
    pub days: Vec<(String, i64)>,
}

async fn sends(db: &impl ConnectionTrait, tenant: Uuid, since: i64) -> AppResult<Vec<SendRow>> {
    let names: std::collections::HashMap<Uuid, String> =
        crate::destinations::all_for_tenant(db, tenant)
            .await?
            .into_iter()
            .map(|d| (d.id(), d.model.name))
            .collect();
    let query = Query::select()
        .columns(["destination_id", "status"])
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from("deliveries")
        .and_where(Expr::col("tenant_id").eq(tenant))
        .cond_where(crate::deliveries::created::between(since, None))
        .group_by_columns(["destination_id", "status"])
        .to_owned();
    let mut rows = Vec::new();
    for row in db.query_all(&query).await? {
        let id: Uuid = row.try_get("", "destination_id")?;
        rows.push(SendRow {
            destination: names.get(&id).cloned().unwrap_or_else(|| "deleted".into()),
            status: row.try_get("", "status")?,
            count: row.try_get("", "n")?,
        });
    }
    rows.sort_by(|a, b| (&a.destination, &a.status).cmp(&(&b.destination, &b.status)));
    Ok(rows)
}

pub async fn overview(db: &Db, tenant: Uuid, now_ms: i64) -> AppResult<Overview> {
    let conn = &db.conn;
    let (today, month) = (day_of(now_ms), period_of(now_ms));
    let month_like = format!("{month}-%");
    let mut days = Vec::new();
    for back in (0..CHART_DAYS).rev() {
        let day = day_of(now_ms - back * MS_PER_DAY);
        let n = counter(conn, Some(tenant), "received", &day).await?;
        days.push((day, n));
    }
    let period = crate::period::parse_query(&month)?;
    let report = crate::browser::report::report(db, tenant, period, now_ms).await?;
    Ok(Overview {
        events_today: counter(conn, Some(tenant), "received", &today).await?,
        duplicates_today: counter(conn, Some(tenant), "duplicate_event", &today).await?,
        events_month: counter(conn, Some(tenant), "received", &month_like).await?,
        duplicates_month: counter(conn, Some(tenant), "duplicate_event", &month_like).await?,
        sends: sends(conn, tenant, period_start_ms(&month)).await?,
        match_rate: report.match_rate,
        days,
    })
}
