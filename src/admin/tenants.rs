//! `/admin/api/tenants`, their API keys and diagnostics.

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Admin;
use crate::api::diagnostics::PeriodQuery;
use crate::audit::Change;
use crate::dedup::diagnostics;
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::state::AppState;
use crate::tenants::{self, TenantIn, TenantOut, TenantPatch, api_keys};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TenantListQuery {
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// Part of the tenant name.
    pub search: Option<String>,
}

#[utoipa::path(get, path = "/admin/api/tenants", tag = "admin", params(TenantListQuery), responses((status = 200)),
    security(("admin_session" = [])))]
pub async fn list_tenants(
    _admin: Admin,
    state: web::Data<AppState>,
    q: web::Query<TenantListQuery>,
) -> AppResult<HttpResponse> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .parse()?;
    Ok(HttpResponse::Ok().json(tenants::list(&state.db.conn, page, q.search.as_deref()).await?))
}

#[utoipa::path(post, path = "/admin/api/tenants", tag = "admin", request_body = TenantIn,
    responses((status = 201, body = TenantOut), (status = 422)), security(("admin_session" = [])))]
pub async fn create_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    body: Body<TenantIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let tenant =
        TenantOut::from(tenants::create(&txn, body.into_inner(), state.clock.now_ms()).await?);
    admin
        .audit(
            &txn,
            &state,
            Change::new("tenant.create", "tenant", tenant.id).after(&tenant),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(tenant))
}

#[utoipa::path(get, path = "/admin/api/tenants/{id}", tag = "admin", responses((status = 200, body = TenantOut)),
    security(("admin_session" = [])))]
pub async fn get_tenant(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(TenantOut::from(tenants::get(&state.db.conn, *id).await?)))
}

#[utoipa::path(patch, path = "/admin/api/tenants/{id}", tag = "admin", request_body = TenantPatch,
    responses((status = 200, body = TenantOut), (status = 422)), security(("admin_session" = [])))]
pub async fn update_tenant(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<TenantPatch>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let before = TenantOut::from(tenants::get(&*txn, *id).await?);
    let tenant =
        TenantOut::from(tenants::update(&txn, *id, body.into_inner(), state.clock.now_ms()).await?);
    admin
        .audit(
            &txn,
            &state,
            Change::new("tenant.update", "tenant", *id)
                .before(&before)
                .after(&tenant),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(tenant))
}

#[utoipa::path(get, path = "/admin/api/tenants/{id}/api-keys", tag = "admin", params(PageQuery),
    responses((status = 200)), security(("admin_session" = [])))]
pub async fn list_api_keys(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let tenant = tenants::get(&state.db.conn, *id).await?;
    Ok(HttpResponse::Ok().json(api_keys::list(&state.db.conn, tenant.id, page.parse()?).await?))
}

#[utoipa::path(post, path = "/admin/api/tenants/{id}/api-keys", tag = "admin", request_body = api_keys::ApiKeyIn,
    responses((status = 201, body = api_keys::IssuedKey, description = "the key is shown this once")),
    security(("admin_session" = [])))]
pub async fn issue_api_key(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<api_keys::ApiKeyIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let tenant = tenants::get(&*txn, *id).await?;
    let issued = api_keys::issue(&*txn, tenant.id, body.into_inner(), state.clock.now_ms()).await?;
    let view = serde_json::json!({"tenant_id": tenant.id, "prefix": issued.prefix, "name": issued.name, "scopes": issued.scopes});
    admin
        .audit(
            &txn,
            &state,
            Change::new("api_key.issue", "api_key", issued.id).after(&view),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(issued))
}

#[utoipa::path(delete, path = "/admin/api/api-keys/{id}", tag = "admin", responses((status = 200, body = api_keys::ApiKeyOut)),
    security(("admin_session" = [])))]
pub async fn revoke_api_key(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let revoked = api_keys::revoke(&*txn, *id, state.clock.now_ms()).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("api_key.revoke", "api_key", *id).after(&revoked),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(revoked))
}

#[utoipa::path(get, path = "/admin/api/tenants/{id}/diagnostics", tag = "admin", params(PeriodQuery),
    responses((status = 200, body = diagnostics::DiagnosticsReport)), security(("admin_session" = [])))]
pub async fn get_diagnostics(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let tenant = tenants::get(&state.db.conn, *id).await?;
    let period = query.resolve(state.clock.now_ms())?;
    Ok(HttpResponse::Ok().json(diagnostics::report(&state.db.conn, tenant.id, &period).await?))
}
