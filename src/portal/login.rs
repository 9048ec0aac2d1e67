//! Portal login (the console's lock and password gate, its own lock subjects), logout
//! (the session ends on the server) and accepting an invite (sets the password once).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::access::{self, LOGIN_CSRF_COOKIE, PortalUser};
use crate::accounts::{invites, portal_sessions};
use crate::admin::console::error::{ConsoleError, ConsoleResult};
use crate::admin::console::forms::{Form, field};
use crate::admin::console::login::refused_with;
use crate::admin::console::see_other;
use crate::admin::console::session::check_csrf;
use crate::admin::session::client_address;
use crate::crypto::random_token;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "app/login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "app/invite.html")]
struct InvitePage {
    csrf: String,
    email: String,
    token: String,
    error: Option<String>,
}

/// A page that carries a fresh double-submit CSRF token in a cookie (no session yet).
fn with_login_csrf(
    req: &HttpRequest,
    status: StatusCode,
    csrf: &str,
    body: String,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(access::login_csrf_cookie(req, csrf))
        .body(body)
}

fn login_page(
    req: &HttpRequest,
    status: StatusCode,
    email: &str,
    error: Option<String>,
) -> HttpResponse {
    let csrf = random_token(16);
    let body = LoginPage {
        csrf: csrf.clone(),
        email: email.into(),
        error,
    };
    with_login_csrf(req, status, &csrf, body.render().unwrap_or_default())
}

pub async fn show(req: HttpRequest) -> HttpResponse {
    login_page(&req, StatusCode::OK, "", None)
}

fn check_login_csrf(req: &HttpRequest, form: &Form) -> ConsoleResult<()> {
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    check_csrf(&expected, form)
}

/// Starts a session and sends the browser to the overview with its cookie.
async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
    user_id: uuid::Uuid,
) -> ConsoleResult<HttpResponse> {
    let started =
        portal_sessions::start(&state.db, &state.keys, user_id, state.clock.now_ms()).await?;
    let mut response = see_other("/app");
    response
        .add_cookie(&access::session_cookie(req, &started.token))
        .map_err(|_| ConsoleError::PortalLogin)?;
    response
        .add_removal_cookie(&access::expired_cookie(req, LOGIN_CSRF_COOKIE))
        .ok();
    Ok(response)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    check_login_csrf(&req, &form)?;
    let email = field(&form, "email");
    let attempt = state
        .logins
        .attempt_portal(
            &state.db.conn,
            &state.clock,
            client_address(&req),
            email,
            field(&form, "password"),
        )
        .await;
    match attempt {
        Ok(user) => signed_in(&req, &state, user.id).await,
        Err(e) => refused(&req, email, e),
    }
}

/// The login form again: wrong credentials (401) or a lock (429 with `Retry-After`).
fn refused(req: &HttpRequest, email: &str, e: AppError) -> ConsoleResult<HttpResponse> {
    refused_with(e, |status, message| {
        login_page(req, status, email, Some(message))
    })
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: PortalUser,
    form: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    check_csrf(&user.csrf, &form)?;
    portal_sessions::end(&state.db, user.session_id, state.clock.now_ms()).await?;
    let mut response = see_other("/app/login");
    response
        .add_removal_cookie(&access::expired_cookie(&req, access::SESSION_COOKIE))
        .ok();
    Ok(response)
}

fn invite_page(
    req: &HttpRequest,
    status: StatusCode,
    email: &str,
    token: &str,
    error: Option<String>,
) -> HttpResponse {
    let csrf = random_token(16);
    let body = InvitePage {
        csrf: csrf.clone(),
        email: email.into(),
        token: token.into(),
        error,
    };
    with_login_csrf(req, status, &csrf, body.render().unwrap_or_default())
}

/// The form that sets the password: 404 for an unknown link, 410 for a used or expired one.
pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ConsoleResult<HttpResponse> {
    let (_, user) = invites::open(&state.db.conn, &token, state.clock.now_ms()).await?;
    Ok(invite_page(&req, StatusCode::OK, &user.email, &token, None))
}

pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    check_login_csrf(&req, &form)?;
    let (_, user) = invites::open(&state.db.conn, &token, state.clock.now_ms()).await?;
    let password = field(&form, "password");
    if let Err(e) = invites::check_password(password) {
        return Ok(invite_page(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            &user.email,
            &token,
            Some(e.message),
        ));
    }
    if password != field(&form, "password_again") {
        let message = Some("The two passwords differ.".to_string());
        return Ok(invite_page(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            &user.email,
            &token,
            message,
        ));
    }
    let hash = state.logins.hash(password).await?;
    let user = invites::accept(&state.db, &token, hash, state.clock.now_ms()).await?;
    signed_in(&req, &state, user.id).await
}
