//! The signed-in tenant user of a portal request: the session JWT in an HttpOnly,
//! SameSite=Strict cookie scoped to `/app`, resumed against its stored session; the CSRF
//! token derived from it as in the console. Anonymous → 303 to `/app/login`.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use uuid::Uuid;

use crate::accounts::portal_sessions;
use crate::accounts::sessions::SESSION_TTL_MS;
use crate::accounts::tenant_users::TenantRole;
use crate::admin::console::error::ConsoleError;
use crate::admin::console::session::{check_csrf, csrf_for, strict_cookie};
use crate::audit::{self, Actor, Change};
use crate::db::WriteTxn;
use crate::error::{AppResult, ErrorKind};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "kickin_portal_session";
pub const LOGIN_CSRF_COOKIE: &str = "kickin_portal_login_csrf";
const PATH: &str = "/app";

pub struct PortalUser {
    pub id: Uuid,
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub role: TenantRole,
    pub csrf: String,
}

impl PortalUser {
    pub fn is_owner(&self) -> bool {
        self.role == TenantRole::Owner
    }

    /// A form that changes something: the CSRF token must match and the user must be an
    /// owner (members read only: 403).
    pub fn check_manage(&self, form: &[(String, String)]) -> Result<(), ConsoleError> {
        check_csrf(&self.csrf, form)?;
        if self.is_owner() {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "members can read but not change anything; ask an owner".into(),
            ))
        }
    }

    /// Records an owner's action in the audit log, within the action's transaction.
    pub async fn record(&self, txn: &WriteTxn, state: &AppState, change: Change) -> AppResult<()> {
        let actor = Actor {
            id: self.id,
            email: format!("portal:{}", self.email),
        };
        audit::record(txn, &actor, change, state.clock.now_ms()).await
    }
}

pub fn session_cookie(req: &HttpRequest, token: &str) -> Cookie<'static> {
    let mut cookie = strict_cookie(req, SESSION_COOKIE, token, PATH);
    cookie.set_max_age(CookieDuration::milliseconds(SESSION_TTL_MS));
    cookie
}

pub fn login_csrf_cookie(req: &HttpRequest, token: &str) -> Cookie<'static> {
    strict_cookie(req, LOGIN_CSRF_COOKIE, token, PATH)
}

pub fn expired_cookie(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut cookie = strict_cookie(req, name, "", PATH);
    cookie.make_removal();
    cookie
}

impl FromRequest for PortalUser {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        Box::pin(async move {
            let state = state.ok_or(ConsoleError::PortalLogin)?;
            let token = token.ok_or(ConsoleError::PortalLogin)?;
            let now = state.clock.now_ms();
            let signed_in = portal_sessions::resume(&state.db.conn, &state.keys, &token, now)
                .await
                .map_err(|e| match e.kind {
                    ErrorKind::Unauthorized => ConsoleError::PortalLogin,
                    _ => ConsoleError::App(e),
                })?;
            Ok(PortalUser {
                id: signed_in.user.id,
                session_id: signed_in.session_id,
                tenant_id: signed_in.user.tenant_id,
                email: signed_in.user.email,
                role: signed_in.role,
                csrf: csrf_for(&state.keys, &token),
            })
        })
    }
}
