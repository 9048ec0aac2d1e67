//! `GET /v1/deliveries`, `GET /v1/deliveries/{id}`, `POST /v1/deliveries/{id}/replay`,
//! and `GET /v1/usage`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::ApiKey;
use super::diagnostics::PeriodQuery;
use crate::deliveries::{self, DeliveryDetail, DeliveryFilter};
use crate::error::AppResult;
use crate::metering::usage::{self, Usage};
use crate::state::AppState;
use crate::tenants::Scope;

#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", params(DeliveryFilter),
    responses((status = 200, description = "{data: [Delivery], next_cursor}")), security(("api_key" = [])))]
pub async fn list_deliveries(
    key: ApiKey,
    state: web::Data<AppState>,
    filter: web::Query<DeliveryFilter>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Read)?;
    Ok(HttpResponse::Ok()
        .json(deliveries::list(&state.db.conn, Some(ctx.tenant_id), &filter).await?))
}

#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries",
    responses((status = 200, body = DeliveryDetail), (status = 404)), security(("api_key" = [])))]
pub async fn get_delivery(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Read)?;
    Ok(HttpResponse::Ok().json(deliveries::get(&state.db.conn, Some(ctx.tenant_id), *id).await?))
}

#[utoipa::path(post, path = "/v1/deliveries/{id}/replay", tag = "deliveries",
    responses((status = 202), (status = 404), (status = 409, description = "`already_succeeded`, `already_queued`, `destination_deleted` or `payload_purged` (the payload is past retention; no headroom is taken)"), (status = 429, description = "`plan_limit_reached`: a replay takes hard-limit headroom again")),
    security(("api_key" = [])))]
pub async fn replay_delivery(
    key: ApiKey,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Ingest)?;
    let txn = state.db.begin_write().await?;
    let delivery =
        deliveries::replay(&*txn, Some(ctx.tenant_id), *id, state.clock.now_ms()).await?;
    txn.commit().await?;
    Ok(HttpResponse::Accepted().json(delivery))
}

#[utoipa::path(get, path = "/v1/usage", tag = "usage", params(PeriodQuery),
    responses((status = 200, body = Usage)), security(("api_key" = [])))]
pub async fn get_usage(
    key: ApiKey,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Read)?;
    let period = query.resolve(state.clock.now_ms())?;
    Ok(
        HttpResponse::Ok()
            .json(usage::usage(&state.db, ctx.tenant_id, ctx.plan_id, &period).await?),
    )
}
