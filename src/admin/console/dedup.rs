//! The Dedup doctor of a tenant (`/admin/tenants/{id}/dedup`): the month's match rate
//! per day as a chart, every category with what it means and how to fix it, real
//! example pairs side by side, the browser keys with the snippet for the shop's pages,
//! and the alert threshold and enrichment settings.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::dedup_chart::{self, Chart};
use super::error::ConsoleResult;
use super::forms::{Form, Posted, checkbox, field, record};
use super::session::ConsoleAdmin;
use super::{Layout, html, see_other};
use crate::audit::Change;
use crate::browser::keys::{self, BrowserKeyIn, BrowserKeyOut};
use crate::browser::matching::Category;
use crate::browser::report::{self, DedupReport, Example};
use crate::browser::script;
use crate::clock::{period_of, rfc3339};
use crate::error::AppError;
use crate::page::PageRequest;
use crate::state::AppState;
use crate::tenants::{self, TenantOut, TenantPatch};

/// What a category means for the shop, and the fix when it is a mistake.
pub fn advice(c: Category) -> (&'static str, &'static str) {
    match c {
        Category::Matched => (
            "Pixel and server sent the same event_name and event_id within 48 hours: Meta counts the conversion once.",
            "Nothing to fix.",
        ),
        Category::NameCaseMismatch => (
            "Same event_id, but the names differ in case (Purchase vs purchase): Meta sees two events and counts both.",
            "Use the exact standard name, same case, on both sides: Purchase.",
        ),
        Category::TimingGap => (
            "Same name and id, but more than 48 hours apart: past Meta's window, both are counted.",
            "Send the server event when the conversion happens (not in a nightly batch), and fire the pixel on the confirmation page.",
        ),
        Category::IdMismatch => (
            "The same visitor fired the same event within 10 minutes, but pixel and server used different event_ids: no deduplication.",
            "Use one id on both sides: Kickin.track(…, {orderId}) returns it; the server sends event_id \"order_\" + the order id.",
        ),
        Category::BrowserMissingEventId => (
            "The pixel fired this event without an eventID: Meta cannot match it with the server event.",
            "Pass the id to the pixel — fbq('track', name, params, {eventID: id}) — or fire it through Kickin.track.",
        ),
        Category::ServerOnly => (
            "No pixel event was seen for this server event (ad blockers, consent, or the page does not fire it).",
            "Some is normal; a high share means the pixel is missing on that page or kickin.js is not loaded there.",
        ),
        Category::BrowserOnly => (
            "The pixel fired but no server event claimed it.",
            "Send this conversion from the server too, with the same event_id (page views need not be).",
        ),
    }
}

pub struct CategoryRow {
    pub key: &'static str,
    pub count: i64,
    pub share: String,
    pub meaning: &'static str,
    pub fix: &'static str,
    pub mistake: bool,
}

pub struct ExampleRow {
    pub server_name: String,
    pub server_id: String,
    pub server_time: String,
    pub browser_name: String,
    pub browser_id: String,
    pub browser_time: String,
    pub page: String,
}

pub struct ExampleGroup {
    pub key: &'static str,
    pub fix: &'static str,
    pub rows: Vec<ExampleRow>,
}

#[derive(Template)]
#[template(path = "dedup.html")]
struct DoctorPage {
    layout: Layout,
    tenant_id: Uuid,
    tenant_name: String,
    period: String,
    previous: String,
    next: String,
    report: DedupReport,
    rate: String,
    rows: Vec<CategoryRow>,
    groups: Vec<ExampleGroup>,
    chart: Chart,
    width: f64,
    height: f64,
    keys: Vec<BrowserKeyOut>,
    snippet: String,
    threshold_percent: String,
    enrichment: bool,
    error: Option<String>,
}

fn dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".into())
}

fn example_row(e: &Example) -> ExampleRow {
    let server = e.server_event_id.is_some();
    ExampleRow {
        server_name: if server {
            e.event_name.clone()
        } else {
            "—".into()
        },
        server_id: dash(e.server_event_id.clone()),
        server_time: dash(e.server_event_time.map(|s| rfc3339(s * 1000))),
        browser_name: dash(e.browser_event_name.clone()),
        browser_id: match (&e.browser_event_name, &e.browser_event_id) {
            (None, _) => "—".into(),
            (Some(_), None) => "(no eventID)".into(),
            (Some(_), Some(id)) => id.clone(),
        },
        browser_time: dash(e.browser_ts_ms.map(rfc3339)),
        page: dash(e.page_url.clone()),
    }
}

fn share(n: i64, of: i64) -> String {
    match of {
        0 => "—".into(),
        _ => format!("{:.1} %", n as f64 * 100.0 / of as f64),
    }
}

pub fn rows(r: &DedupReport) -> Vec<CategoryRow> {
    Category::ALL
        .iter()
        .map(|&c| {
            let (meaning, fix) = advice(c);
            let count = r.categories.get(c);
            let of = if c == Category::BrowserOnly {
                r.browser_events
            } else {
                r.server_events
            };
            CategoryRow {
                key: c.as_str(),
                count,
                share: share(count, of),
                meaning,
                fix,
                mistake: !matches!(
                    c,
                    Category::Matched | Category::ServerOnly | Category::BrowserOnly
                ),
            }
        })
        .collect()
}

pub fn groups(r: &DedupReport) -> Vec<ExampleGroup> {
    Category::ALL
        .iter()
        .filter_map(|&c| {
            let examples = r.examples.get(c.as_str()).filter(|e| !e.is_empty())?;
            Some(ExampleGroup {
                key: c.as_str(),
                fix: advice(c).1,
                rows: examples.iter().map(example_row).collect(),
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
}

impl PeriodQuery {
    pub fn period(&self) -> Option<&str> {
        self.period.as_deref()
    }
}

pub fn days_in(period: crate::period::Period) -> usize {
    ((period.end_ms() - period.start_ms()) / crate::clock::MS_PER_DAY) as usize
}

async fn page(
    admin: &ConsoleAdmin,
    state: &AppState,
    req: &HttpRequest,
    id: Uuid,
    period: Option<&str>,
    error: Option<String>,
) -> ConsoleResult<DoctorPage> {
    let now = state.clock.now_ms();
    let tenant = tenants::get(&state.db.conn, id).await?;
    let period = crate::period::parse_query(period.unwrap_or(&period_of(now)))?;
    let r = report::report(&state.db, id, period, now).await?;
    let all = PageRequest {
        limit: 500,
        before: None,
    };
    let keys = keys::list(&state.db.conn, id, all).await?.data;
    let live = keys.iter().find(|k| k.revoked_at.is_none());
    let threshold = f64::from(tenant.dedup_alert_threshold_bp) / 10_000.0;
    Ok(DoctorPage {
        layout: Layout::of(admin),
        tenant_id: id,
        tenant_name: tenant.name,
        period: period.to_string(),
        previous: period.previous().to_string(),
        next: period.next().to_string(),
        rate: r
            .match_rate
            .map_or("—".into(), |m| format!("{:.1} %", m * 100.0)),
        rows: rows(&r),
        groups: groups(&r),
        chart: dedup_chart::layout(&r.by_day, days_in(period), threshold),
        width: dedup_chart::WIDTH,
        height: dedup_chart::HEIGHT,
        snippet: script::snippet(
            &crate::admin::users::base_url(req),
            live.map_or("pk_…", |k| k.key.as_str()),
        ),
        keys,
        report: r,
        threshold_percent: format!("{}", f64::from(tenant.dedup_alert_threshold_bp) / 100.0),
        enrichment: tenant.browser_enrichment,
        error,
    })
}

pub async fn show(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
) -> ConsoleResult<HttpResponse> {
    let doctor = page(&admin, &state, &req, *id, query.period.as_deref(), None).await?;
    Ok(html(actix_web::http::StatusCode::OK, &doctor))
}

async fn failed(
    admin: &ConsoleAdmin,
    state: &AppState,
    req: &HttpRequest,
    id: Uuid,
    e: AppError,
) -> ConsoleResult<HttpResponse> {
    let message = super::forms::form_error(&e);
    let doctor = page(admin, state, req, id, None, Some(message)).await?;
    Ok(html(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        &doctor,
    ))
}

pub async fn create_key(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let tenant = tenants::get(&state.db.conn, *id).await?;
    let allowed_origins = field(&post, "origins")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    let txn = state.db.begin_write().await?;
    match keys::create(
        &*txn,
        tenant.id,
        BrowserKeyIn { allowed_origins },
        state.clock.now_ms(),
    )
    .await
    {
        Ok(created) => {
            let change =
                Change::new("browser_key.create", "browser_key", created.id).after(&created);
            record(&txn, &state, &admin, change).await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/tenants/{id}/dedup")))
        }
        Err(e) => {
            drop(txn);
            failed(&admin, &state, &req, *id, e).await
        }
    }
}

pub async fn revoke_key(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let txn = state.db.begin_write().await?;
    let current = keys::find(&*txn, *id).await?;
    let tenant_id = current.tenant_id;
    let revoked = keys::revoke(&*txn, current, state.clock.now_ms()).await?;
    let change = Change::new("browser_key.revoke", "browser_key", *id).after(&revoked);
    record(&txn, &state, &admin, change).await?;
    txn.commit().await?;
    state.browser_keys.forget(&revoked.key);
    Ok(see_other(&format!("/admin/tenants/{tenant_id}/dedup")))
}

/// The settings form: the threshold in percent, the enrichment checkbox.
#[derive(Deserialize)]
pub struct SettingsPost {
    threshold_percent: Option<String>,
    #[serde(default)]
    browser_enrichment: Vec<String>,
}

impl SettingsPost {
    fn patch(&self) -> Result<TenantPatch, AppError> {
        let threshold = match self.threshold_percent.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(v.parse::<f64>().map(|p| p / 100.0).map_err(|_| {
                AppError::invalid(
                    "dedup_alert_threshold",
                    "the threshold is a percentage, 0 to 100",
                )
            })?),
        };
        Ok(TenantPatch {
            dedup_alert_threshold: threshold,
            browser_enrichment: checkbox("browser_enrichment", &self.browser_enrichment)?,
            ..TenantPatch::default()
        })
    }
}

pub async fn update_settings(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    post: Posted<SettingsPost>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(post.csrf())?;
    let before = TenantOut::from(tenants::get(&state.db.conn, *id).await?);
    let patch = match post.form.patch() {
        Ok(patch) => patch,
        Err(e) => return failed(&admin, &state, &req, *id, e).await,
    };
    let txn = state.db.begin_write().await?;
    match tenants::update(&txn, *id, patch, state.clock.now_ms()).await {
        Ok(t) => {
            let change = Change::new("tenant.update", "tenant", *id)
                .before(&before)
                .after(&TenantOut::from(t));
            record(&txn, &state, &admin, change).await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/tenants/{id}/dedup")))
        }
        Err(e) => {
            drop(txn);
            failed(&admin, &state, &req, *id, e).await
        }
    }
}
