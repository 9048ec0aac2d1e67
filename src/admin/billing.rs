//! `/admin/api/billing/runs` and `/admin/api/invoices` (with the reconciliation CSV).

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use futures_util::TryStreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Admin;
use crate::audit::Change;
use crate::billing::{export, invoices, run};
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunIn {
    /// A month that has ended, `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
}

#[utoipa::path(post, path = "/admin/api/billing/runs", tag = "billing", request_body = RunIn,
    responses((status = 200, body = run::RunReport), (status = 422, description = "period_not_closed")),
    security(("admin_session" = [])))]
pub async fn create_run(
    admin: Admin,
    state: web::Data<AppState>,
    body: Body<RunIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let report = run::run(
        &state.db,
        state.stripe.as_deref(),
        &body.period,
        state.clock.now_ms(),
    )
    .await?;
    let summary =
        serde_json::json!({"invoices": report.invoices.len(), "failed": report.failed.len()});
    // The run commits its own transactions; its audit entry is a write of its own.
    let txn = state.db.begin_write().await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("billing.run", "period", &body.period).after(&summary),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InvoiceQuery {
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: Option<String>,
    pub tenant_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/admin/api/invoices", tag = "billing", params(InvoiceQuery), responses((status = 200)),
    security(("admin_session" = [])))]
pub async fn list_invoices(
    _admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<InvoiceQuery>,
) -> AppResult<HttpResponse> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .parse()?;
    let period = q
        .period
        .as_deref()
        .map(crate::period::parse_query)
        .transpose()?;
    Ok(HttpResponse::Ok().json(invoices::list(&state.db.conn, period, q.tenant_id, page).await?))
}

#[utoipa::path(get, path = "/admin/api/invoices/{id}", tag = "billing", responses((status = 200, body = invoices::InvoiceOut)),
    security(("admin_session" = [])))]
pub async fn get_invoice(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(invoices::get(&state.db.conn, *id).await?))
}

#[utoipa::path(get, path = "/admin/api/invoices/{id}/reconciliation.csv", tag = "billing",
    responses((status = 200, content_type = "text/csv", description = "one row per counted delivery")),
    security(("admin_session" = [])))]
pub async fn reconciliation_csv(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    csv_download(&state, *id).await
}

/// The reconciliation CSV of an invoice as a download (admin API and console), streamed
/// page by page (see `billing::export`).
pub async fn csv_download(state: &AppState, id: Uuid) -> AppResult<HttpResponse> {
    let invoice = invoices::get_model(&state.db.conn, id).await?;
    let disposition = format!(
        "attachment; filename=\"kickin-{}-{}.csv\"",
        invoice.period, invoice.id
    );
    let pieces =
        export::reconciliation_csv(state.db.conn.clone(), invoice, export::CHUNK_ROWS).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", disposition))
        .streaming(pieces.map_ok(web::Bytes::from)))
}
