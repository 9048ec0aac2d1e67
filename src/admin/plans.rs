//! `/admin/api/plans`.

use crate::api::body::Body;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::auth::Admin;
use crate::audit::Change;
use crate::error::AppResult;
use crate::page::PageQuery;
use crate::plans::{self, PlanIn, PlanOut, PlanPatch};
use crate::state::AppState;

#[utoipa::path(get, path = "/admin/api/plans", tag = "admin", params(PageQuery), responses((status = 200)),
    security(("admin_session" = [])))]
pub async fn list_plans(
    _admin: Admin,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(plans::list(&state.db.conn, page.parse()?).await?))
}

#[utoipa::path(post, path = "/admin/api/plans", tag = "admin", request_body = PlanIn,
    responses((status = 201, body = PlanOut), (status = 422)), security(("admin_session" = [])))]
pub async fn create_plan(
    admin: Admin,
    state: web::Data<AppState>,
    body: Body<PlanIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let plan = plans::create(&*txn, body.into_inner(), state.clock.now_ms()).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("plan.create", "plan", plan.model.id).after(&plan.to_out()),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(plan.to_out()))
}

#[utoipa::path(get, path = "/admin/api/plans/{id}", tag = "admin", responses((status = 200, body = PlanOut)),
    security(("admin_session" = [])))]
pub async fn get_plan(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(plans::get(&state.db.conn, *id).await?.to_out()))
}

#[utoipa::path(patch, path = "/admin/api/plans/{id}", tag = "admin", request_body = PlanPatch,
    responses((status = 200, body = PlanOut), (status = 422)), security(("admin_session" = [])))]
pub async fn update_plan(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<PlanPatch>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let before = plans::get(&*txn, *id).await?.to_out();
    let plan = plans::update(&*txn, *id, body.into_inner(), state.clock.now_ms()).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("plan.update", "plan", *id)
                .before(&before)
                .after(&plan.to_out()),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(plan.to_out()))
}
