//! Log in (refused while the address or account is locked) and log out (the session
//! ends on the server, not only in the browser).

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Form, field};
use super::see_other;
use super::session::{self, ConsoleAdmin, LOGIN_CSRF_COOKIE, check_csrf};
use crate::accounts::sessions;
use crate::admin::session::sign_in;
use crate::crypto::random_token;
use crate::error::{AppError, ErrorKind};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

fn page(req: &HttpRequest, status: StatusCode, email: &str, error: Option<String>) -> HttpResponse {
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
    page(&req, StatusCode::OK, "", None)
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
    let started = match sign_in(&state, &req, email, field(&form, "password")).await {
        Ok(started) => started,
        Err(e) => return refused(&req, email, e),
    };
    let mut response = see_other("/admin");
    response
        .add_cookie(&session::session_cookie(&req, &started.token))
        .map_err(|_| ConsoleError::Login)?;
    response
        .add_removal_cookie(&session::expired_cookie(&req, LOGIN_CSRF_COOKIE))
        .ok();
    Ok(response)
}

/// The login form again, saying why: wrong credentials (401) or a lock (429 with
/// `Retry-After`). Other errors (the database) are not a wrong password.
fn refused(req: &HttpRequest, email: &str, e: AppError) -> ConsoleResult<HttpResponse> {
    refused_with(e, |status, message| page(req, status, email, Some(message)))
}

/// Why a login was refused, as a login form `render`ed with a status and message (the
/// console's and the portal's alike).
pub fn refused_with(
    e: AppError,
    render: impl FnOnce(StatusCode, String) -> HttpResponse,
) -> ConsoleResult<HttpResponse> {
    match (e.kind, e.retry_after) {
        (ErrorKind::Unauthorized, _) => Ok(render(
            StatusCode::UNAUTHORIZED,
            "Email or password is wrong.".into(),
        )),
        (ErrorKind::TooManyRequests, Some(seconds)) => {
            let wait = match seconds.div_ceil(60) {
                1 => "a minute".to_string(),
                minutes => format!("{minutes} minutes"),
            };
            let message = format!("Too many login attempts; try again in {wait}.");
            let mut response = render(StatusCode::TOO_MANY_REQUESTS, message);
            response.headers_mut().insert(
                RETRY_AFTER,
                HeaderValue::from_str(&seconds.to_string()).expect("digits are a header value"),
            );
            Ok(response)
        }
        _ => Err(ConsoleError::App(e)),
    }
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    form: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    check_csrf(&admin.csrf, &form)?;
    sessions::end(&state.db, admin.session_id, state.clock.now_ms()).await?;
    let mut response = see_other("/admin/login");
    response
        .add_removal_cookie(&session::expired_cookie(&req, session::SESSION_COOKIE))
        .ok();
    Ok(response)
}
