//! The dedup report of a tenant and month: category counts and the per-day series come
//! from the per-day counts (a month is at most 31 × 9 small rows, however many events),
//! and up to [`EXAMPLES`] real pairs per category from the newest rows of the index on
//! that category. All reads see one snapshot.

use std::collections::BTreeMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

use super::counts::{self, BROWSER, BROWSER_CLAIMED};
use super::matching::Category;
use crate::clock::{MS_PER_DAY, day_of, rfc3339};
use crate::db::Db;
use crate::entities::{browser_events, dedup_alerts, dedup_matches};
use crate::error::AppResult;
use crate::period::Period;

/// Examples per category.
pub const EXAMPLES: u64 = 20;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Categories {
    pub matched: i64,
    pub server_only: i64,
    pub browser_only: i64,
    pub id_mismatch: i64,
    pub browser_missing_event_id: i64,
    pub name_case_mismatch: i64,
    pub timing_gap: i64,
}

impl Categories {
    pub fn get(&self, c: Category) -> i64 {
        match c {
            Category::Matched => self.matched,
            Category::ServerOnly => self.server_only,
            Category::BrowserOnly => self.browser_only,
            Category::IdMismatch => self.id_mismatch,
            Category::BrowserMissingEventId => self.browser_missing_event_id,
            Category::NameCaseMismatch => self.name_case_mismatch,
            Category::TimingGap => self.timing_gap,
        }
    }

    fn slot(&mut self, c: Category) -> &mut i64 {
        match c {
            Category::Matched => &mut self.matched,
            Category::ServerOnly => &mut self.server_only,
            Category::BrowserOnly => &mut self.browser_only,
            Category::IdMismatch => &mut self.id_mismatch,
            Category::BrowserMissingEventId => &mut self.browser_missing_event_id,
            Category::NameCaseMismatch => &mut self.name_case_mismatch,
            Category::TimingGap => &mut self.timing_gap,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub server: i64,
    pub browser: i64,
    pub matched: i64,
}

/// One real case: the server event and the observation paired with it (either side
/// absent for `server_only` / `browser_only`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Example {
    pub event_name: String,
    pub server_event_id: Option<String>,
    pub browser_event_id: Option<String>,
    /// Unix seconds, as the server sent it.
    pub server_event_time: Option<i64>,
    pub browser_ts_ms: Option<i64>,
    /// The pixel's event name (it differs in case for `name_case_mismatch`).
    pub browser_event_name: Option<String>,
    /// Origin and path of the page that fired the pixel.
    pub page_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub date: String,
    pub match_rate: f64,
    pub server_events: i64,
    pub matched: i64,
    pub threshold: f64,
    pub created_at: String,
}

impl From<dedup_alerts::Model> for Alert {
    fn from(m: dedup_alerts::Model) -> Self {
        Alert {
            match_rate: rate(m.matched, m.server_events).unwrap_or(0.0),
            date: m.day,
            server_events: m.server_events,
            matched: m.matched,
            threshold: f64::from(m.threshold_bp) / 10_000.0,
            created_at: rfc3339(m.created_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DedupReport {
    pub period: String,
    pub server_events: i64,
    pub browser_events: i64,
    /// matched / server_events; null without server events.
    pub match_rate: Option<f64>,
    pub categories: Categories,
    pub by_day: Vec<Day>,
    /// Every category, newest first, up to 20 each.
    pub examples: BTreeMap<String, Vec<Example>>,
    /// Days on which the last-24-hour match rate fell under the tenant's threshold.
    pub alerts: Vec<Alert>,
}

pub fn rate(matched: i64, server: i64) -> Option<f64> {
    (server > 0).then(|| matched as f64 / server as f64)
}

/// The report of `tenant_id` for `period` (days up to `now_ms`).
pub async fn report(
    db: &Db,
    tenant_id: Uuid,
    period: Period,
    now_ms: i64,
) -> AppResult<DedupReport> {
    let txn = db.begin_snapshot().await?;
    let (start, end) = (period.start_ms(), period.end_ms());
    let days = counts::read(&txn, tenant_id, &day_of(start), &day_of(end)).await?;
    let mut categories = Categories::default();
    let (mut server_events, mut browser_events, mut claimed) = (0, 0, 0);
    let mut by_day = Vec::new();
    let mut at = start;
    while at < end && at <= now_ms {
        let date = day_of(at);
        let get = |m: &str| days.get(&date).and_then(|d| d.get(m)).copied().unwrap_or(0);
        let server: i64 = Category::SERVER.iter().map(|c| get(c.as_str())).sum();
        for c in Category::SERVER {
            *categories.slot(c) += get(c.as_str());
        }
        server_events += server;
        browser_events += get(BROWSER);
        claimed += get(BROWSER_CLAIMED);
        let (matched, browser) = (get(Category::Matched.as_str()), get(BROWSER));
        by_day.push(Day {
            date,
            server,
            browser,
            matched,
        });
        at += MS_PER_DAY;
    }
    categories.browser_only = browser_events - claimed;
    let mut examples = BTreeMap::new();
    for c in Category::ALL {
        examples.insert(
            c.as_str().to_string(),
            examples_of(&txn, tenant_id, c, start, end).await?,
        );
    }
    let alerts = alerts_between(&txn, tenant_id, &day_of(start), &day_of(end)).await?;
    txn.commit().await?;
    Ok(DedupReport {
        period: period.to_string(),
        match_rate: rate(categories.matched, server_events),
        server_events,
        browser_events,
        categories,
        by_day,
        examples,
        alerts,
    })
}

async fn examples_of(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    category: Category,
    start: i64,
    end: i64,
) -> Result<Vec<Example>, DbErr> {
    if category == Category::BrowserOnly {
        use browser_events::Column as C;
        let rows = browser_events::Entity::find()
            .filter(C::TenantId.eq(tenant_id))
            .filter(C::ClaimedBy.is_null())
            .filter(C::ReceivedAt.gte(start))
            .filter(C::ReceivedAt.lt(end))
            .filter(C::ProcessedAt.is_not_null())
            .order_by_desc(C::ReceivedAt)
            .limit(EXAMPLES)
            .all(db)
            .await?;
        return Ok(rows.into_iter().map(|b| example(None, Some(b))).collect());
    }
    use dedup_matches::Column as C;
    let rows = dedup_matches::Entity::find()
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::Category.eq(category.as_str()))
        .filter(C::ReceivedAt.gte(start))
        .filter(C::ReceivedAt.lt(end))
        .order_by_desc(C::ReceivedAt)
        .limit(EXAMPLES)
        .all(db)
        .await?;
    let partners: Vec<Uuid> = rows.iter().filter_map(|r| r.browser_row_id).collect();
    let mut browsers: BTreeMap<Uuid, browser_events::Model> = BTreeMap::new();
    if !partners.is_empty() {
        let found = browser_events::Entity::find()
            .filter(browser_events::Column::TenantId.eq(tenant_id))
            .filter(browser_events::Column::Id.is_in(partners))
            .all(db)
            .await?;
        browsers.extend(found.into_iter().map(|b| (b.id, b)));
    }
    Ok(rows
        .into_iter()
        .map(|s| {
            let b = s.browser_row_id.and_then(|id| browsers.remove(&id));
            example(Some(s), b)
        })
        .collect())
}

fn example(s: Option<dedup_matches::Model>, b: Option<browser_events::Model>) -> Example {
    let name = s
        .as_ref()
        .map(|s| s.event_name.clone())
        .or_else(|| b.as_ref().map(|b| b.event_name.clone()))
        .unwrap_or_default();
    Example {
        event_name: name,
        server_event_time: s.as_ref().map(|s| s.event_time.div_euclid(1000)),
        server_event_id: s.map(|s| s.event_id),
        browser_event_id: b.as_ref().and_then(|b| b.event_id.clone()),
        browser_ts_ms: b.as_ref().map(|b| b.ts_ms),
        browser_event_name: b.as_ref().map(|b| b.event_name.clone()),
        page_url: b.map(|b| b.page_url),
    }
}

/// Alerts recorded on days in `[from, to)`, newest first.
pub async fn alerts_between(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    from: &str,
    to: &str,
) -> Result<Vec<Alert>, DbErr> {
    use dedup_alerts::Column as C;
    let rows = dedup_alerts::Entity::find()
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::Day.gte(from))
        .filter(C::Day.lt(to))
        .order_by_desc(C::Day)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Alert::from).collect())
}
