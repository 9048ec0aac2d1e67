//! Admin routes for destinations (`/admin/api/tenants/{id}/destinations`,
//! `/admin/api/destinations/{id}`, `…/{id}/test`): the same domain services as the
//! customer API.

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::Admin;
use crate::audit::Change;
use crate::destinations::test_send::{self, TestResult};
use crate::destinations::{self, DestinationIn, DestinationOut, DestinationPatch};
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::state::AppState;
use crate::tenants;

#[utoipa::path(get, path = "/admin/api/tenants/{id}/destinations", tag = "admin", params(PageQuery),
    responses((status = 200)), security(("admin_session" = [])))]
pub async fn list_destinations(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let tenant = tenants::get(&state.db.conn, *id).await?;
    Ok(
        HttpResponse::Ok()
            .json(destinations::list(&state.db.conn, tenant.id, page.parse()?).await?),
    )
}

#[utoipa::path(post, path = "/admin/api/tenants/{id}/destinations", tag = "admin", request_body = DestinationIn,
    responses((status = 201, body = DestinationOut)), security(("admin_session" = [])))]
pub async fn create_destination(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<DestinationIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let tenant = tenants::get(&*txn, *id).await?;
    let now = state.clock.now_ms();
    let created =
        destinations::create(&*txn, &state.keys, tenant.id, body.into_inner(), now).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("destination.create", "destination", created.id()).after(&created.to_out()),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(created.to_out()))
}

#[utoipa::path(get, path = "/admin/api/destinations/{id}", tag = "admin", responses((status = 200, body = DestinationOut)),
    security(("admin_session" = [])))]
pub async fn get_destination(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(destinations::get_any(&state.db.conn, *id).await?.to_out()))
}

#[utoipa::path(patch, path = "/admin/api/destinations/{id}", tag = "admin", request_body = DestinationPatch,
    responses((status = 200, body = DestinationOut)), security(("admin_session" = [])))]
pub async fn update_destination(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<DestinationPatch>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let current = destinations::get_any(&state.db.conn, *id).await?;
    let before = current.to_out();
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
    admin
        .audit(
            &txn,
            &state,
            Change::new("destination.update", "destination", *id)
                .before(&before)
                .after(&updated.to_out()),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(updated.to_out()))
}

#[utoipa::path(delete, path = "/admin/api/destinations/{id}", tag = "admin", responses((status = 204)),
    security(("admin_session" = [])))]
pub async fn delete_destination(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let current = destinations::get_any(&state.db.conn, *id).await?;
    let before = current.to_out();
    let txn = state.db.begin_write().await?;
    crate::dispatch::destination_state::delete(&*txn, current, state.clock.now_ms()).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("destination.delete", "destination", *id).before(&before),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends one sample event in the destination's test mode (as `POST
/// /v1/destinations/{id}/test`), recorded in the audit log with its result.
#[utoipa::path(post, path = "/admin/api/destinations/{id}/test", tag = "admin",
    params(("id" = Uuid, Path, description = "The destination")),
    responses(
        (status = 200, body = TestResult, description = "The destination's answer; a refusal or an unreachable destination is `ok: false`"),
        (status = 401, description = "no valid admin session"),
        (status = 403, description = "viewers cannot send test events"),
        (status = 404, description = "no such destination"),
        (status = 429, description = "`rate_limited`: 10 test events per minute per destination")),
    security(("admin_session" = [])))]
pub async fn test_destination(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let destination = destinations::get_any(&state.db.conn, *id).await?;
    let result = state
        .test_sends
        .run(&state.keys, &state.clock, &destination)
        .await?;
    let txn = state.db.begin_write().await?;
    admin
        .audit(&txn, &state, test_send::audit_change(&destination, &result))
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(result))
}
