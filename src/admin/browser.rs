//! `/admin/api/tenants/{id}/browser-keys`, `/admin/api/browser-keys/{id}` and
//! `/admin/api/tenants/{id}/dedup/report`: the operator's view of a tenant's browser side.

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::Admin;
use crate::api::diagnostics::PeriodQuery;
use crate::audit::Change;
use crate::browser::keys::{self, BrowserKeyIn, BrowserKeyOut};
use crate::browser::report::{self, DedupReport};
use crate::clock::period_of;
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::state::AppState;
use crate::tenants;

#[utoipa::path(get, path = "/admin/api/tenants/{id}/browser-keys", tag = "admin", params(PageQuery),
    responses((status = 200)), security(("admin_session" = [])))]
pub async fn list_browser_keys(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let tenant = tenants::get(&state.db.conn, *id).await?;
    Ok(HttpResponse::Ok().json(keys::list(&state.db.conn, tenant.id, page.parse()?).await?))
}

#[utoipa::path(post, path = "/admin/api/tenants/{id}/browser-keys", tag = "admin", request_body = BrowserKeyIn,
    responses((status = 201, body = BrowserKeyOut), (status = 422)), security(("admin_session" = [])))]
pub async fn create_browser_key(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<BrowserKeyIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let tenant = tenants::get(&*txn, *id).await?;
    let created = keys::create(&*txn, tenant.id, body.into_inner(), state.clock.now_ms()).await?;
    let change = Change::new("browser_key.create", "browser_key", created.id).after(&created);
    admin.audit(&txn, &state, change).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(delete, path = "/admin/api/browser-keys/{id}", tag = "admin",
    responses((status = 204), (status = 404)), security(("admin_session" = [])))]
pub async fn revoke_browser_key(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let current = keys::find(&*txn, *id).await?;
    let revoked = keys::revoke(&*txn, current, state.clock.now_ms()).await?;
    let change = Change::new("browser_key.revoke", "browser_key", *id).after(&revoked);
    admin.audit(&txn, &state, change).await?;
    txn.commit().await?;
    state.browser_keys.forget(&revoked.key);
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/admin/api/tenants/{id}/dedup/report", tag = "admin", params(PeriodQuery),
    responses((status = 200, body = DedupReport)), security(("admin_session" = [])))]
pub async fn get_dedup_report(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let tenant = tenants::get(&state.db.conn, *id).await?;
    let now = state.clock.now_ms();
    let period = crate::period::parse_query(query.period.as_deref().unwrap_or(&period_of(now)))?;
    Ok(HttpResponse::Ok().json(report::report(&state.db, tenant.id, period, now).await?))
}
