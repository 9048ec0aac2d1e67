//! The admin extractor: `Authorization: Bearer <session token>` → the admin and role.
//! The session row and the admin row are re-read per request, so a logout, a disabled
//! admin or a password or role change locks the token out at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use uuid::Uuid;

use crate::accounts::{self, Role};
use crate::api::auth::bearer;
use crate::db::WriteTxn;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub struct Admin {
    pub id: Uuid,
    /// The session this request came with (what logging out ends).
    pub session_id: Uuid,
    pub email: String,
    pub role: Role,
}

impl Admin {
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            id: self.id,
            email: self.email.clone(),
        }
    }

    /// Records an action of this admin in the audit log, within the action's transaction.
    pub async fn audit(
        &self,
        txn: &WriteTxn,
        state: &AppState,
        change: crate::audit::Change,
    ) -> AppResult<()> {
        crate::audit::record(txn, &self.actor(), change, state.clock.now_ms()).await
    }

    /// 403 for read-only admins.
    pub fn require_write(&self) -> AppResult<()> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "forbidden_role",
                "viewers can read but not change anything",
            ))
        }
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                AppError::unauthorized("send the session token as Authorization: Bearer <token>")
            })?;
            let signed_in =
                accounts::session_admin(&state.db.conn, &state.keys, &token, state.clock.now_ms())
                    .await?;
            Ok(Admin {
                id: signed_in.admin.id,
                session_id: signed_in.session_id,
                email: signed_in.admin.email,
                role: signed_in.role,
            })
        })
    }
}
