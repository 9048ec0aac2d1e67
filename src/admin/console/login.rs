//! Log in (rate limited per address) and log out.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Form, field};
use super::see_other;
use super::session::{self, ConsoleAdmin, LOGIN_CSRF_COOKIE, check_csrf};
use crate::accounts::{self, sessions};
use crate::crypto::random_token;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

fn page(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    email: &str,
    error: Option<String>,
) -> HttpResponse {
    let csrf = random_token(16);
    let body = LoginPage {
        csrf: csrf.clone(),
        email: email.to_string(),
        error,
    }
    .render()
    .unwrap_or_default();
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(session::login_csrf_cookie(req, &csrf))
        .body(body)
}

pub async fn show(req: HttpRequest) -> HttpResponse {
    page(&req, actix_web::http::StatusCode::OK, "", None)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    check_csrf(&expected, &form)?;
    let email = field(&form, "email");
    match accounts::authenticate(&state.db.conn, email, field(&form, "password")).await {
        Ok(admin) => {
            let (token, _) =
                sessions::issue(&state.keys, admin.id, &admin.role, state.clock.now_ms())?;
            let mut response = see_other("/admin");
            response
                .add_cookie(&session::session_cookie(&req, &token))
                .map_err(|_| ConsoleError::Login)?;
            response
                .add_removal_cookie(&session::expired_cookie(&req, LOGIN_CSRF_COOKIE))
                .ok();
            Ok(response)
        }
        Err(_) => {
            // Failed attempts are limited per address; correct logins are never held back.
            let ip = req
                .peer_addr()
                .map(|a| a.ip())
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
            if state.login_limiter.check_key(&ip).is_err() {
                let error =
                    Some("Too many failed logins; wait a minute and try again.".to_string());
                return Ok(page(
                    &req,
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    email,
                    error,
                ));
            }
            Ok(page(
                &req,
                actix_web::http::StatusCode::UNAUTHORIZED,
                email,
                Some("Email or password is wrong.".into()),
            ))
        }
    }
}

pub async fn logout(
    req: HttpRequest,
    admin: ConsoleAdmin,
    form: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    check_csrf(&admin.csrf, &form)?;
    let mut response = see_other("/admin/login");
    response
        .add_removal_cookie(&session::expired_cookie(&req, session::SESSION_COOKIE))
        .ok();
    Ok(response)
}
