//! `/v1/browser-keys` (scope `manage`): a tenant's public browser keys; and
//! `GET /v1/dedup/report` (scope `read`).

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::ApiKey;
use super::diagnostics::PeriodQuery;
use crate::browser::keys::{self, BrowserKeyIn, BrowserKeyOut};
use crate::browser::report::{self, DedupReport};
use crate::clock::period_of;
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::state::AppState;
use crate::tenants::Scope;

#[utoipa::path(get, path = "/v1/browser-keys", tag = "browser", params(PageQuery),
    responses((status = 200, description = "{data: [BrowserKey], next_cursor}")), security(("api_key" = [])))]
pub async fn list_browser_keys(
    key: ApiKey,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    Ok(HttpResponse::Ok().json(keys::list(&state.db.conn, ctx.tenant_id, page.parse()?).await?))
}

#[utoipa::path(post, path = "/v1/browser-keys", tag = "browser", request_body = BrowserKeyIn,
    responses((status = 201, body = BrowserKeyOut), (status = 422)), security(("api_key" = [])))]
pub async fn create_browser_key(
    key: ApiKey,
    state: web::Data<AppState>,
    body: Body<BrowserKeyIn>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let txn = state.db.begin_write().await?;
    let created = keys::create(
        &*txn,
        ctx.tenant_id,
        body.into_inner(),
        state.clock.now_ms(),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(delete, path = "/v1/browser-keys/{id}", tag = "browser",
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
pub async fn revoke_browser_key(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let txn = state.db.begin_write().await?;
    let current = keys::get(&*txn, ctx.tenant_id, *id).await?;
    let revoked = keys::revoke(&*txn, current, state.clock.now_ms()).await?;
    txn.commit().await?;
    state.browser_keys.forget(&revoked.key);
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v1/dedup/report", tag = "browser", params(PeriodQuery),
    responses((status = 200, body = DedupReport)), security(("api_key" = [])))]
pub async fn get_dedup_report(
    key: ApiKey,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Read)?;
    let now = state.clock.now_ms();
    let period = crate::period::parse_query(query.period.as_deref().unwrap_or(&period_of(now)))?;
    Ok(HttpResponse::Ok().json(report::report(&state.db, ctx.tenant_id, period, now).await?))
}
