//! `POST /admin/api/session`: email + password → session token.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, sessions};
use crate::clock::rfc3339;
use crate::error::AppResult;
use crate::startup::AppState;

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

#[utoipa::path(post, path = "/admin/api/session", tag = "admin", request_body = SessionIn,
    responses((status = 200, body = SessionOut), (status = 401)))]
pub async fn create_session(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SessionIn>,
) -> AppResult<HttpResponse> {
    let admin = match accounts::authenticate(&state.db.conn, &body.email, &body.password).await {
        Ok(admin) => admin,
        // Failed attempts are limited per address (the console's login form shares the limit).
        Err(e) => {
            let ip = req
                .peer_addr()
                .map(|a| a.ip())
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
            if state.login_limiter.check_key(&ip).is_err() {
                let mut limited = crate::error::AppError::new(
                    crate::error::ErrorKind::TooManyRequests,
                    "rate_limited",
                    "too many failed logins from this address; wait a minute",
                );
                limited.retry_after = Some(60);
                return Err(limited);
            }
            return Err(e);
        }
    };
    let (token, expires_at) =
        sessions::issue(&state.keys, admin.id, &admin.role, state.clock.now_ms())?;
    Ok(HttpResponse::Ok().json(SessionOut {
        token,
        expires_at: rfc3339(expires_at),
    }))
}
