//! Console sessions: the signed session JWT travels in an HttpOnly, SameSite=Strict
//! cookie (Secure over TLS); every form carries a CSRF token derived from the session
//! (the login form uses a double-submit cookie). The cookie is only worth its stored
//! session: after logout (or a password or role change) the same cookie is refused.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use uuid::Uuid;

use super::error::ConsoleError;
use crate::accounts::{self, Role, sessions};
use crate::crypto::{Keys, sha256_hex};
use crate::error::ErrorKind;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "kickin_session";
pub const LOGIN_CSRF_COOKIE: &str = "kickin_login_csrf";
pub const CSRF_FIELD: &str = "csrf_token";

/// The signed-in admin of a console request.
pub struct ConsoleAdmin {
    pub id: Uuid,
    /// The stored session behind the cookie (what logging out ends).
    pub session_id: Uuid,
    pub email: String,
    pub role: Role,
    pub csrf: String,
}

impl ConsoleAdmin {
    pub fn can_write(&self) -> bool {
        self.role.can_write()
    }

    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            id: self.id,
            email: self.email.clone(),
        }
    }

    /// A form post: the CSRF token must match, and viewers cannot change anything.
    pub fn check_write(&self, form: &[(String, String)]) -> Result<(), ConsoleError> {
        check_csrf(&self.csrf, form)?;
        if self.can_write() {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "viewers can read but not change anything".into(),
            ))
        }
    }
}

/// The CSRF token of a session: a digest of the session token under the session key.
pub fn csrf_for(keys: &Keys, session_token: &str) -> String {
    let mut material = keys.session_key().to_vec();
    material.extend_from_slice(b"/csrf/");
    material.extend_from_slice(session_token.as_bytes());
    sha256_hex(&material)[..32].to_string()
}

pub fn check_csrf(expected: &str, form: &[(String, String)]) -> Result<(), ConsoleError> {
    let sent = form
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let same = sent.len() == expected.len()
        && sent
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same && !sent.is_empty() {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "the form's CSRF token is missing or wrong; reload the page".into(),
        ))
    }
}

fn secure(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// An HttpOnly, SameSite=Strict cookie for the pages under `path` (Secure over TLS).
pub fn strict_cookie(
    req: &HttpRequest,
    name: &'static str,
    value: &str,
    path: &'static str,
) -> Cookie<'static> {
    Cookie::build(name, value.to_string())
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(req))
        .finish()
}

/// The session cookie for a freshly signed-in admin.
pub fn session_cookie(req: &HttpRequest, token: &str) -> Cookie<'static> {
    let mut cookie = strict_cookie(req, SESSION_COOKIE, token, "/admin");
    cookie.set_max_age(CookieDuration::milliseconds(sessions::SESSION_TTL_MS));
    cookie
}

pub fn expired_cookie(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut cookie = strict_cookie(req, name, "", "/admin");
    cookie.make_removal();
    cookie
}

pub fn login_csrf_cookie(req: &HttpRequest, token: &str) -> Cookie<'static> {
    strict_cookie(req, LOGIN_CSRF_COOKIE, token, "/admin")
}

impl FromRequest for ConsoleAdmin {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        Box::pin(async move {
            let state = state.ok_or(ConsoleError::Login)?;
            let token = token.ok_or(ConsoleError::Login)?;
            let signed_in =
                accounts::session_admin(&state.db.conn, &state.keys, &token, state.clock.now_ms())
                    .await
                    .map_err(|e| match e.kind {
                        ErrorKind::Unauthorized => ConsoleError::Login,
                        _ => ConsoleError::App(e),
                    })?;
            Ok(ConsoleAdmin {
                id: signed_in.admin.id,
                session_id: signed_in.session_id,
                email: signed_in.admin.email,
                role: signed_in.role,
                csrf: csrf_for(&state.keys, &token),
            })
        })
    }
}
