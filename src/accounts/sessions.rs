//! Admin sessions: HS256 JWTs signed with a key derived from `KICKIN_SECRET_KEY`, valid
//! for `SESSION_TTL_MS`, each backed by an `admin_sessions` row (the token's `jti`). The
//! row is what makes a session end on the server: logging out, a password change or a
//! role change marks it revoked, and a valid signature alone no longer gets in.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::MS_PER_HOUR;
use crate::crypto::Keys;
use crate::db::Db;
use crate::entities::admin_sessions;
use crate::error::{AppError, AppResult};

pub const SESSION_TTL_MS: i64 = 12 * MS_PER_HOUR;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    /// The session row; tokens without one (issued before sessions were stored) are refused.
    pub jti: Uuid,
    pub role: String,
    /// Seconds since the epoch, as JWT requires.
    pub iat: i64,
    pub exp: i64,
}

/// Where a stored session stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    Revoked,
    Expired,
}

pub fn state_of(row: &admin_sessions::Model, now_ms: i64) -> SessionState {
    state_at(row.revoked_at, row.expires_at, now_ms)
}

/// The state of any stored session (an admin's or a tenant user's) from its times.
pub fn state_at(revoked_at: Option<i64>, expires_at: i64, now_ms: i64) -> SessionState {
    if revoked_at.is_some() {
        SessionState::Revoked
    } else if expires_at <= now_ms {
        SessionState::Expired
    } else {
        SessionState::Active
    }
}

/// A started session: the token to hand out and when it expires (ms).
pub struct Started {
    pub token: String,
    pub expires_at: i64,
}

/// Starts a session for an admin: stores its row, then signs its token.
pub async fn start(
    db: &Db,
    keys: &Keys,
    admin_id: Uuid,
    role: &str,
    now_ms: i64,
) -> AppResult<Started> {
    let id = Uuid::now_v7();
    let expires_at = now_ms + SESSION_TTL_MS;
    let token = sign(keys, id, admin_id, role, now_ms, expires_at)?;
    let txn = db.begin_write().await?;
    admin_sessions::ActiveModel {
        id: Set(id),
        admin_id: Set(admin_id),
        created_at: Set(now_ms),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(Started { token, expires_at })
}

pub(crate) fn sign(
    keys: &Keys,
    id: Uuid,
    admin_id: Uuid,
    role: &str,
    now_ms: i64,
    expires_at: i64,
) -> AppResult<String> {
    let claims = Claims {
        sub: admin_id,
        jti: id,
        role: role.to_string(),
        iat: now_ms / 1000,
        exp: expires_at / 1000,
    };
    let key = EncodingKey::from_secret(keys.session_key())
        .map_err(|_| AppError::internal("session key unusable"))?;
    encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|_| AppError::internal("could not sign the session"))
}

/// Verifies signature and expiry against the application clock (not the stored row).
pub fn verify(keys: &Keys, token: &str, now_ms: i64) -> AppResult<Claims> {
    let key = DecodingKey::from_secret(keys.session_key())
        .map_err(|_| AppError::internal("session key unusable"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false; // checked below against the injectable clock
    validation.required_spec_claims = ["exp".to_string()].into_iter().collect();
    let data = decode::<Claims>(token, &key, &validation)
        .map_err(|_| AppError::unauthorized("session is not valid"))?;
    if data.claims.exp * 1000 <= now_ms {
        return Err(AppError::unauthorized("session has expired, log in again"));
    }
    Ok(data.claims)
}

/// Verifies a token and that its stored session is still active.
pub async fn resume(
    db: &impl ConnectionTrait,
    keys: &Keys,
    token: &str,
    now_ms: i64,
) -> AppResult<Claims> {
    let claims = verify(keys, token, now_ms)?;
    let row = admin_sessions::Entity::find_by_id(claims.jti)
        .one(db)
        .await?;
    match row {
        Some(row)
            if row.admin_id == claims.sub && state_of(&row, now_ms) == SessionState::Active =>
        {
            Ok(claims)
        }
        _ => Err(AppError::unauthorized("session has ended, log in again")),
    }
}

/// Ends one session (logout).
pub async fn end(db: &Db, session_id: Uuid, now_ms: i64) -> AppResult<()> {
    let txn = db.begin_write().await?;
    revoke::<admin_sessions::Entity>(
        &*txn,
        admin_sessions::Column::RevokedAt,
        admin_sessions::Column::Id.eq(session_id),
        now_ms,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of an admin, inside the caller's write transaction (so the change
/// that calls for it and the revocation commit together).
pub async fn end_all_of(db: &impl ConnectionTrait, admin_id: Uuid, now_ms: i64) -> AppResult<u64> {
    revoke::<admin_sessions::Entity>(
        db,
        admin_sessions::Column::RevokedAt,
        admin_sessions::Column::AdminId.eq(admin_id),
        now_ms,
    )
    .await
}

/// Sets `revoked_at` on the live sessions `which` selects, in the table of `E` (admin or
/// portal sessions). Returns how many were ended.
pub(super) async fn revoke<E: EntityTrait>(
    db: &impl ConnectionTrait,
    revoked_at: E::Column,
    which: sea_orm::sea_query::SimpleExpr,
    now_ms: i64,
) -> AppResult<u64> {
    let result = E::update_many()
        .col_expr(revoked_at, Expr::value(now_ms))
        .filter(which)
        .filter(revoked_at.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deletes the rows of `E`'s sessions whose `expires_at` has passed.
pub(super) async fn purge<E: EntityTrait>(
    db: &Db,
    expires_at: E::Column,
    now_ms: i64,
) -> AppResult<u64> {
    let txn = db.begin_write().await?;
    let result = E::delete_many()
        .filter(expires_at.lte(now_ms))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(result.rows_affected)
}

/// Deletes the rows of sessions that have expired (revoked or not): their tokens are
/// refused by their expiry anyway. Returns how many were deleted.
pub async fn purge_expired(db: &Db, now_ms: i64) -> AppResult<u64> {
    purge::<admin_sessions::Entity>(db, admin_sessions::Column::ExpiresAt, now_ms).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive("0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let (id, admin) = (Uuid::now_v7(), Uuid::now_v7());
        let token = sign(
            &keys(),
            id,
            admin,
            "admin",
            1_000_000,
            1_000_000 + SESSION_TTL_MS,
        )
        .unwrap();
        let claims = verify(&keys(), &token, 1_000_000).unwrap();
        assert_eq!((claims.sub, claims.jti), (admin, id));
        assert!(verify(&keys(), &token, 1_000_000 + SESSION_TTL_MS).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let token = sign(
            &keys(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            "admin",
            0,
            SESSION_TTL_MS,
        )
        .unwrap();
        assert!(verify(&Keys::derive("fedcba9876543210fedcba9876543210"), &token, 0).is_err());
    }

    #[test]
    fn a_revoked_session_stays_revoked_and_an_old_one_expires() {
        let row = admin_sessions::Model {
            id: Uuid::now_v7(),
            admin_id: Uuid::now_v7(),
            created_at: 0,
            expires_at: 100,
            revoked_at: None,
        };
        assert_eq!(state_of(&row, 99), SessionState::Active);
        assert_eq!(state_of(&row, 100), SessionState::Expired);
        let revoked = admin_sessions::Model {
            revoked_at: Some(50),
            ..row
        };
        assert_eq!(state_of(&revoked, 60), SessionState::Revoked);
    }
}
