//! Admin routes for deliveries and usage across tenants.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::Admin;
use crate::api::diagnostics::PeriodQuery;
use crate::audit::Change;
use crate::deliveries::{self, DeliveryFilter};
use crate::error::AppResult;
use crate::metering::usage;
use crate::state::AppState;
use crate::tenants;

#[utoipa::path(get, path = "/admin/api/deliveries", tag = "admin", params(DeliveryFilter), responses((status = 200)),
    security(("admin_session" = [])))]
pub async fn list_deliveries(
    _admin: Admin,
    state: web::Data<AppState>,
    filter: web::Query<DeliveryFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(deliveries::list(&state.db.conn, None, &filter).await?))
}

#[utoipa::path(get, path = "/admin/api/deliveries/{id}", tag = "admin", responses((status = 200)),
    security(("admin_session" = [])))]
pub async fn get_delivery(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(deliveries::get(&state.db.conn, None, *id).await?))
}

#[utoipa::path(post, path = "/admin/api/deliveries/{id}/replay", tag = "admin",
    responses((status = 202), (status = 409)), security(("admin_session" = [])))]
pub async fn replay_delivery(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let delivery = deliveries::replay(&*txn, None, *id, state.clock.now_ms()).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("delivery.replay", "delivery", *id).after(&delivery),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Accepted().json(delivery))
}

#[utoipa::path(get, path = "/admin/api/tenants/{id}/usage", tag = "admin", params(PeriodQuery),
    responses((status = 200, body = usage::Usage)), security(("admin_session" = [])))]
pub async fn get_usage(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let tenant = tenants::get(&state.db.conn, *id).await?;
    let period = query.resolve(state.clock.now_ms())?;
    Ok(HttpResponse::Ok().json(usage::usage(&state.db, tenant.id, tenant.plan_id, &period).await?))
}
