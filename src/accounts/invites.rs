//! Invites of tenant users: a random token handed out once as a link, stored only as its
//! SHA-256; it expires after `INVITE_TTL_MS` and sets a password once. A used or expired
//! invite is gone (410), an unknown one not found.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::clock::MS_PER_DAY;
use crate::crypto::{random_token, sha256_hex};
use crate::db::Db;
use crate::entities::{tenant_invites, tenant_users};
use crate::error::{AppError, AppResult};

pub const INVITE_TTL_MS: i64 = 7 * MS_PER_DAY;

/// Where an invite stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    Open,
    Used,
    Expired,
}

pub fn state_of(row: &tenant_invites::Model, now_ms: i64) -> InviteState {
    if row.used_at.is_some() {
        InviteState::Used
    } else if row.expires_at <= now_ms {
        InviteState::Expired
    } else {
        InviteState::Open
    }
}

/// Issues an invite for a user; returns the token (the link's secret), never stored.
pub async fn issue(db: &impl ConnectionTrait, user_id: Uuid, now: i64) -> AppResult<String> {
    let token = random_token(32);
    tenant_invites::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        token_hash: Set(sha256_hex(token.as_bytes())),
        created_at: Set(now),
        expires_at: Set(now + INVITE_TTL_MS),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

fn gone() -> AppError {
    AppError::gone(
        "invite_gone",
        "this invite has been used or has expired; ask for a new one",
    )
}

/// The open invite behind a token and its user: 404 when unknown, 410 when used or
/// expired.
pub async fn open(
    db: &impl ConnectionTrait,
    token: &str,
    now: i64,
) -> AppResult<(tenant_invites::Model, tenant_users::Model)> {
    let invite = tenant_invites::Entity::find()
        .filter(tenant_invites::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("invite"))?;
    if state_of(&invite, now) != InviteState::Open {
        return Err(gone());
    }
    let user = tenant_users::Entity::find_by_id(invite.user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("invite"))?;
    Ok((invite, user))
}

/// Spends an invite and sets the user's password hash (hashed by the caller, behind the
/// password gate). Marking the invite used is conditional, so of two racing accepts only
/// one sets a password; the other is gone.
pub async fn accept(
    db: &Db,
    token: &str,
    password_hash: String,
    now: i64,
) -> AppResult<tenant_users::Model> {
    let txn = db.begin_write().await?;
    let (invite, user) = open(&*txn, token, now).await?;
    let spent = tenant_invites::Entity::update_many()
        .col_expr(tenant_invites::Column::UsedAt, Expr::value(now))
        .filter(tenant_invites::Column::Id.eq(invite.id))
        .filter(tenant_invites::Column::UsedAt.is_null())
        .exec(&*txn)
        .await?;
    if spent.rows_affected != 1 {
        return Err(gone());
    }
    let mut row: tenant_users::ActiveModel = user.into();
    row.password_hash = Set(Some(password_hash));
    row.updated_at = Set(now);
    let user = row.update(&*txn).await?;
    super::portal_sessions::end_all_of(&*txn, user.id, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// The password rule of the invite form, checked before any hashing.
pub fn check_password(password: &str) -> AppResult<()> {
    if password.len() < super::MIN_PASSWORD {
        return Err(AppError::invalid(
            "password",
            format!(
                "password must be at least {} characters",
                super::MIN_PASSWORD
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invite_is_open_until_used_or_expired() {
        let row = tenant_invites::Model {
            id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            token_hash: sha256_hex(b"t"),
            created_at: 0,
            expires_at: INVITE_TTL_MS,
            used_at: None,
        };
        assert_eq!(state_of(&row, INVITE_TTL_MS - 1), InviteState::Open);
        assert_eq!(state_of(&row, INVITE_TTL_MS), InviteState::Expired);
        let used = tenant_invites::Model {
            used_at: Some(5),
            ..row
        };
        assert_eq!(state_of(&used, 6), InviteState::Used);
    }

    #[test]
    fn short_passwords_are_refused_before_any_hashing() {
        assert_eq!(
            check_password("short").unwrap_err().field.as_deref(),
            Some("password")
        );
        assert!(check_password("long-enough").is_ok());
    }
}
