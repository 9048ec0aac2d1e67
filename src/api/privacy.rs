//! `/v1/privacy/deletions` (scope `manage`): delete a person's data, and follow it.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use uuid::Uuid;

use super::auth::ApiKey;
use crate::error::AppResult;
use crate::privacy::{self, DeletionOut, identify};
use crate::state::AppState;
use crate::tenants::Scope;

#[utoipa::path(post, path = "/v1/privacy/deletions", tag = "privacy",
    request_body(content = Object, description = r#"{"user_data": {"em"|"ph"|"external_id": "raw or SHA-256 hex"}}"#),
    responses((status = 202, body = DeletionOut), (status = 400, description = "not exactly one of em, ph, external_id, or an invalid value")),
    security(("api_key" = [])))]
pub async fn create_deletion(
    key: ApiKey,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let person = identify::parse(&body)?;
    let txn = state.db.begin_write().await?;
    let created = privacy::request(&*txn, ctx.tenant_id, &person, state.clock.now_ms()).await?;
    txn.commit().await?;
    tracing::info!(deletion = %created.id, tenant = %ctx.tenant_id, field = %created.field, "privacy deletion requested");
    Ok(HttpResponse::Accepted().json(created))
}

#[utoipa::path(get, path = "/v1/privacy/deletions/{id}", tag = "privacy",
    responses((status = 200, body = DeletionOut), (status = 404)), security(("api_key" = [])))]
pub async fn get_deletion(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    Ok(HttpResponse::Ok().json(privacy::get(&state.db.conn, ctx.tenant_id, *id).await?))
}
