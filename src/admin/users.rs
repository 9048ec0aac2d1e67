//! `POST /admin/api/tenants/{id}/users`: invite a tenant user to the customer portal.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::auth::Admin;
use crate::accounts::tenant_users::{self, InviteOut, UserIn};
use crate::api::body::Body;
use crate::audit::Change;
use crate::error::AppResult;
use crate::state::AppState;

/// Where links to this server start, as the request reached it.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

#[utoipa::path(post, path = "/admin/api/tenants/{id}/users", tag = "admin", request_body = UserIn,
    responses((status = 201, body = InviteOut), (status = 404), (status = 409), (status = 422)),
    security(("admin_session" = [])))]
pub async fn create_user(
    admin: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: Body<UserIn>,
) -> AppResult<HttpResponse> {
    admin.require_write()?;
    let txn = state.db.begin_write().await?;
    let (user, token) =
        tenant_users::invite(&*txn, *id, &body.into_inner(), state.clock.now_ms()).await?;
    admin
        .audit(
            &txn,
            &state,
            Change::new("tenant_user.invite", "tenant_user", user.id).after(&user),
        )
        .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(InviteOut {
        id: user.id,
        invite_url: tenant_users::invite_url(&base_url(&req), &token),
    }))
}
