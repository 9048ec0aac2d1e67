//! `POST /admin/api/session`: email + password → session token (refused while the
//! address or account is locked); `DELETE /admin/api/session`: ends the session.

use crate::api::body::Body;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::Admin;
use crate::accounts::sessions;
use crate::clock::rfc3339;
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SessionIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionOut {
    pub token: String,
    pub expires_at: String,
}

/// The client's address as the login lock counts it: the TCP peer, which a client cannot
/// choose (forwarded headers can be forged, so they are not trusted here).
pub fn client_address(req: &HttpRequest) -> std::net::IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
}

/// One login for the admin API and the console alike: the lock, the password (behind the
/// hashing gate) and, when both pass, a new server-side session.
pub async fn sign_in(
    state: &AppState,
    req: &HttpRequest,
    email: &str,
    password: &str,
) -> AppResult<sessions::Started> {
    let admin = state
        .logins
        .attempt(
            &state.db.conn,
            &state.clock,
            client_address(req),
            email,
            password,
        )
        .await?;
    sessions::start(
        &state.db,
        &state.keys,
        admin.id,
        &admin.role,
        state.clock.now_ms(),
    )
    .await
}

#[utoipa::path(post, path = "/admin/api/session", tag = "admin", request_body = SessionIn,
    responses((status = 200, body = SessionOut), (status = 401),
        (status = 429, description = "too_many_logins: the address or account is locked after repeated failures; every attempt, the right password included, is refused until Retry-After")))]
pub async fn create_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Body<SessionIn>,
) -> AppResult<HttpResponse> {
    let started = sign_in(&state, &req, &body.email, &body.password).await?;
    Ok(HttpResponse::Ok().json(SessionOut {
        token: started.token,
        expires_at: rfc3339(started.expires_at),
    }))
}

#[utoipa::path(delete, path = "/admin/api/session", tag = "admin",
    responses((status = 204, description = "the session has ended: its token is refused from now on"), (status = 401)),
    security(("admin_session" = [])))]
pub async fn delete_session(admin: Admin, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    sessions::end(&state.db, admin.session_id, state.clock.now_ms()).await?;
    Ok(HttpResponse::NoContent().finish())
}
