//! `/admin/api/tenants/{id}/privacy/deletions` and `/admin/api/privacy/deletions/{id}`:
//! the operator deletes a person's data for a tenant. The audit entry names the tenant,
//! the request and which identifier was given, never the identifier.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use uuid::Uuid;

use super::auth::Admin;
use crate::audit::Change;
use crate::error::AppResult;
use crate::privacy::{self, DeletionOut, identify};
use crate::state::AppState;
use crate::tenants;

#[utoipa::path(post, path = "/admin/api/tenants/{id}/privacy/deletions", tag = "admin",
    request_body(content = Object, description = r#"{"user_data": {"em"|"ph"|"external_id": "raw or SHA-256 hex"}}"#),
    responses((status = 202, body = DeletionOut), (status = 400), (status = 404)),
    security(("admin_session" = [])))]
pub async fn create_deletion(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let person = identify::parse(&body)?;
    let created = request(&admin, &state, *id, &person).await?;
    Ok(HttpResponse::Accepted().json(created))
}

/// Stores the request and its audit entry together (the console uses this too).
pub async fn request(
    admin: &Admin,
    state: &AppState,
    tenant_id: Uuid,
    person: &privacy::Person,
) -> AppResult<DeletionOut> {
    let txn = state.db.begin_write().await?;
    let tenant = tenants::get(&*txn, tenant_id).await?;
    let created = privacy::request(&*txn, tenant.id, person, state.clock.now_ms()).await?;
    let change =
        Change::new("privacy.deletion.create", "privacy_deletion", created.id).after(&created);
    admin.audit(&txn, state, change).await?;
    txn.commit().await?;
    Ok(created)
}

#[utoipa::path(get, path = "/admin/api/privacy/deletions/{id}", tag = "admin",
    responses((status = 200, body = DeletionOut), (status = 404)), security(("admin_session" = [])))]
pub async fn get_deletion(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(privacy::find(&state.db.conn, *id).await?))
}
