//! Billing: start a run for a closed month, invoices with lines and Stripe sync status,
//! the reconciliation CSV.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::Layout;
use super::error::ConsoleResult;
use super::forms::{Form, field, record};
use super::session::ConsoleAdmin;
use crate::audit::Change;
use crate::billing::invoices::{self, InvoiceOut};
use crate::billing::run::{self, RunReport};
use crate::page::PageRequest;
use crate::period::Period;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "billing.html")]
struct Page {
    layout: Layout,
    period: String,
    last_month: String,
    invoices: Vec<InvoiceOut>,
    report: Option<RunReport>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Query {
    period: Option<String>,
}

async fn page(
    admin: &ConsoleAdmin,
    state: &AppState,
    period: &str,
    report: Option<RunReport>,
    error: Option<String>,
) -> ConsoleResult<Page> {
    let last_month = Period::of(state.clock.now_ms()).previous().to_string();
    let filter = Some(period)
        .filter(|p| !p.is_empty())
        .map(crate::period::parse_query)
        .transpose()?;
    let invoices = invoices::list(
        &state.db.conn,
        filter,
        None,
        PageRequest {
            limit: 200,
            before: None,
        },
    )
    .await?
    .data;
    Ok(Page {
        layout: Layout::of(admin),
        period: period.to_string(),
        last_month,
        invoices,
        report,
        error,
    })
}

pub async fn show(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> ConsoleResult<HttpResponse> {
    let period = q.period.clone().unwrap_or_default();
    Ok(super::html(
        actix_web::http::StatusCode::OK,
        &page(&admin, &state, &period, None, None).await?,
    ))
}

pub async fn run(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let period = field(&post, "period").to_string();
    match run::run(
        &state.db,
        state.stripe.as_deref(),
        &period,
        state.clock.now_ms(),
    )
    .await
    {
        Ok(report) => {
            let summary = serde_json::json!({"invoices": report.invoices.len(), "failed": report.failed.len()});
            // The run commits its own transactions; its audit entry is a write of its own.
            let txn = state.db.begin_write().await?;
            record(
                &txn,
                &state,
                &admin,
                Change::new("billing.run", "period", &period).after(&summary),
            )
            .await?;
            txn.commit().await?;
            Ok(super::html(
                actix_web::http::StatusCode::OK,
                &page(&admin, &state, &period, Some(report), None).await?,
            ))
        }
        Err(e) => Ok(super::html(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &page(&admin, &state, "", None, Some(e.message)).await?,
        )),
    }
}

pub async fn csv(
    _admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    Ok(crate::admin::billing::csv_download(&state, *id).await?)
}
