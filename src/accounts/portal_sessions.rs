//! Portal sessions of tenant users: the same signed tokens as admin sessions (role claim
//! `portal`), each backed by a `tenant_user_sessions` row, so logging out or setting a
//! new password ends a session on the server. An admin token has no row here and is
//! refused, and a portal token has none among admin sessions.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::sessions::{self, SESSION_TTL_MS, SessionState, Started};
use super::tenant_users::TenantRole;
use crate::crypto::Keys;
use crate::db::Db;
use crate::entities::{tenant_user_sessions, tenant_users};
use crate::error::{AppError, AppResult};

const PORTAL_ROLE: &str = "portal";

pub async fn start(db: &Db, keys: &Keys, user_id: Uuid, now_ms: i64) -> AppResult<Started> {
    let id = Uuid::now_v7();
    let expires_at = now_ms + SESSION_TTL_MS;
    let token = sessions::sign(keys, id, user_id, PORTAL_ROLE, now_ms, expires_at)?;
    let txn = db.begin_write().await?;
    tenant_user_sessions::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now_ms),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(Started { token, expires_at })
}

/// The user of a signed-in portal session.
pub struct SessionUser {
    pub session_id: Uuid,
    pub user: tenant_users::Model,
    pub role: TenantRole,
}

fn ended() -> AppError {
    AppError::unauthorized("session has ended, log in again")
}

/// The user behind a token: it verifies, its stored session is active, the user still
/// exists with a password and a known role. Anything else is 401.
pub async fn resume(
    db: &impl ConnectionTrait,
    keys: &Keys,
    token: &str,
    now_ms: i64,
) -> AppResult<SessionUser> {
    let claims = sessions::verify(keys, token, now_ms)?;
    if claims.role != PORTAL_ROLE {
        return Err(ended());
    }
    let row = tenant_user_sessions::Entity::find_by_id(claims.jti)
        .one(db)
        .await?
        .filter(|r| r.user_id == claims.sub)
        .ok_or_else(ended)?;
    if sessions::state_at(row.revoked_at, row.expires_at, now_ms) != SessionState::Active {
        return Err(ended());
    }
    let user = tenant_users::Entity::find_by_id(claims.sub)
        .one(db)
        .await?
        .filter(|u| u.password_hash.is_some())
        .ok_or_else(ended)?;
    let role = TenantRole::parse(&user.role).ok_or_else(ended)?;
    Ok(SessionUser {
        session_id: row.id,
        user,
        role,
    })
}

/// Ends one session (logout).
pub async fn end(db: &Db, session_id: Uuid, now_ms: i64) -> AppResult<()> {
    let txn = db.begin_write().await?;
    revoke(
        &*txn,
        tenant_user_sessions::Column::Id.eq(session_id),
        now_ms,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of a user, inside the caller's transaction.
pub async fn end_all_of(db: &impl ConnectionTrait, user_id: Uuid, now_ms: i64) -> AppResult<u64> {
    revoke(db, tenant_user_sessions::Column::UserId.eq(user_id), now_ms).await
}

async fn revoke(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
    now_ms: i64,
) -> AppResult<u64> {
    let revoked_at = tenant_user_sessions::Column::RevokedAt;
    sessions::revoke::<tenant_user_sessions::Entity>(db, revoked_at, which, now_ms).await
}

/// Deletes the rows of portal sessions that have expired (their tokens are refused by
/// their expiry anyway), with the admin sessions' purge. Returns how many were deleted.
pub async fn purge_expired(db: &Db, now_ms: i64) -> AppResult<u64> {
    let expires_at = tenant_user_sessions::Column::ExpiresAt;
    sessions::purge::<tenant_user_sessions::Entity>(db, expires_at, now_ms).await
}
