//! Read-only reports of the tenant: the Dedup doctor (the console's report and its
//! template partial), usage against the plan, and issued invoices with the
//! reconciliation CSV.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::PortalUser;
use super::view::{Layout, page};
use crate::admin::console::dedup::{self, CategoryRow, ExampleGroup, PeriodQuery};
use crate::admin::console::dedup_chart::{self, Chart};
use crate::admin::console::error::ConsoleResult;
use crate::billing::invoices::{self, InvoiceOut};
use crate::browser::report::{self, DedupReport};
use crate::clock::period_of;
use crate::dedup::diagnostics::{self, DiagnosticsReport};
use crate::error::AppError;
use crate::metering::usage::{self, Usage};
use crate::page::PageQuery;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "app/dedup.html")]
struct DoctorPage {
    layout: Layout,
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
}

pub async fn dedup(
    user: PortalUser,
    state: web::Data<AppState>,
    q: web::Query<PeriodQuery>,
) -> ConsoleResult<HttpResponse> {
    let now = state.clock.now_ms();
    let tenant = crate::tenants::get(&state.db.conn, user.tenant_id).await?;
    let period = crate::period::parse_query(q.period().unwrap_or(&period_of(now)))?;
    let r = report::report(&state.db, tenant.id, period, now).await?;
    let threshold = f64::from(tenant.dedup_alert_threshold_bp) / 10_000.0;
    let doctor = DoctorPage {
        layout: Layout::of(&state, &user).await?,
        period: period.to_string(),
        previous: period.previous().to_string(),
        next: period.next().to_string(),
        rate: r
            .match_rate
            .map_or("—".into(), |m| format!("{:.1} %", m * 100.0)),
        rows: dedup::rows(&r),
        groups: dedup::groups(&r),
        chart: dedup_chart::layout(&r.by_day, dedup::days_in(period), threshold),
        width: dedup_chart::WIDTH,
        height: dedup_chart::HEIGHT,
        report: r,
    };
    Ok(page(StatusCode::OK, &doctor))
}

#[derive(Template)]
#[template(path = "app/usage.html")]
struct UsagePage {
    layout: Layout,
    usage: Usage,
    diagnostics: DiagnosticsReport,
    /// Counted as a share of the included quota, in whole percent.
    used_percent: Option<i64>,
}

pub async fn usage(user: PortalUser, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    let tenant = crate::tenants::get(&state.db.conn, user.tenant_id).await?;
    let period = period_of(state.clock.now_ms());
    let usage = usage::usage(&state.db, tenant.id, tenant.plan_id, &period).await?;
    let used_percent = usage
        .plan
        .as_ref()
        .filter(|p| p.included > 0)
        .map(|p| usage.counted * 100 / p.included);
    let usage_page = UsagePage {
        layout: Layout::of(&state, &user).await?,
        diagnostics: diagnostics::report(&state.db.conn, tenant.id, &period).await?,
        usage,
        used_percent,
    };
    Ok(page(StatusCode::OK, &usage_page))
}

#[derive(Template)]
#[template(path = "app/invoices.html")]
struct InvoicesPage {
    layout: Layout,
    invoices: Vec<InvoiceOut>,
    next_cursor: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

pub async fn invoices(
    user: PortalUser,
    state: web::Data<AppState>,
    q: web::Query<CursorQuery>,
) -> ConsoleResult<HttpResponse> {
    let request = PageQuery {
        limit: Some(24),
        cursor: q.cursor.clone(),
    }
    .parse()?;
    let found = invoices::list(&state.db.conn, None, Some(user.tenant_id), request).await?;
    let invoices_page = InvoicesPage {
        layout: Layout::of(&state, &user).await?,
        invoices: found.data,
        next_cursor: found.next_cursor,
    };
    Ok(page(StatusCode::OK, &invoices_page))
}

/// The reconciliation CSV of one of this tenant's invoices (another tenant's: 404).
pub async fn csv(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let invoice = invoices::get_model(&state.db.conn, *id).await?;
    if invoice.tenant_id != user.tenant_id {
        return Err(AppError::not_found("invoice").into());
    }
    Ok(crate::admin::billing::csv_download(&state, *id).await?)
}
