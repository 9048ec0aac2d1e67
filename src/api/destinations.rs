//! `/v1/destinations` (scope `manage`): a tenant manages its own destinations.

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::ApiKey;
use crate::destinations::test_send::TestResult;
use crate::destinations::{self, DestinationIn, DestinationOut, DestinationPatch};
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::state::AppState;
use crate::tenants::Scope;

#[utoipa::path(get, path = "/v1/destinations", tag = "destinations", params(PageQuery),
    responses((status = 200, description = "{data: [Destination], next_cursor}")), security(("api_key" = [])))]
pub async fn list_destinations(
    key: ApiKey,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    Ok(HttpResponse::Ok()
        .json(destinations::list(&state.db.conn, ctx.tenant_id, page.parse()?).await?))
}

#[utoipa::path(post, path = "/v1/destinations", tag = "destinations", request_body = DestinationIn,
    responses((status = 201, body = DestinationOut), (status = 422)), security(("api_key" = [])))]
pub async fn create_destination(
    key: ApiKey,
    state: web::Data<AppState>,
    body: Body<DestinationIn>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let now = state.clock.now_ms();
    let txn = state.db.begin_write().await?;
    let created =
        destinations::create(&*txn, &state.keys, ctx.tenant_id, body.into_inner(), now).await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created.to_out()))
}

#[utoipa::path(get, path = "/v1/destinations/{id}", tag = "destinations",
    responses((status = 200, body = DestinationOut), (status = 404)), security(("api_key" = [])))]
pub async fn get_destination(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    Ok(HttpResponse::Ok().json(
        destinations::get(&state.db.conn, ctx.tenant_id, *id)
            .await?
            .to_out(),
    ))
}

#[utoipa::path(patch, path = "/v1/destinations/{id}", tag = "destinations", request_body = DestinationPatch,
    responses((status = 200, body = DestinationOut), (status = 404), (status = 422)), security(("api_key" = [])))]
pub async fn update_destination(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<DestinationPatch>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let current = destinations::get(&state.db.conn, ctx.tenant_id, *id).await?;
    let now = state.clock.now_ms();
    let txn = state.db.begin_write().await?;
    let updated = crate::dispatch::destination_state::update(
        &*txn,
        &state.keys,
        current,
        body.into_inner(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(updated.to_out()))
}

#[utoipa::path(delete, path = "/v1/destinations/{id}", tag = "destinations",
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
pub async fn delete_destination(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let current = destinations::get(&state.db.conn, ctx.tenant_id, *id).await?;
    let txn = state.db.begin_write().await?;
    crate::dispatch::destination_state::delete(&*txn, current, state.clock.now_ms()).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends one sample Purchase in the destination's test mode and answers what the
/// destination said; nothing is stored, deduplicated, counted or held against a limit.
#[utoipa::path(post, path = "/v1/destinations/{id}/test", tag = "destinations",
    params(("id" = Uuid, Path, description = "The destination")),
    responses(
        (status = 200, body = TestResult, description = "The destination's answer: `ok`, its HTTP `status` (`null` when it could not be reached) and its messages; a refusal is `ok: false`, never an error"),
        (status = 401, description = "missing, unknown or revoked API key"),
        (status = 403, description = "the key lacks the manage scope"),
        (status = 404, description = "no such destination in this tenant"),
        (status = 429, description = "`rate_limited`: the key's rate limit, or 10 test events per minute per destination")),
    security(("api_key" = [])))]
pub async fn test_destination(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Manage)?;
    let destination = destinations::get(&state.db.conn, ctx.tenant_id, *id).await?;
    let result = state
        .test_sends
        .run(&state.keys, &state.clock, &destination)
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
