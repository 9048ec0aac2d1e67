//! Accounts: operator admins with roles, Argon2id passwords, server-side sessions behind
//! signed tokens, and the login lock; and the tenants' own portal users with their
//! invites and sessions, behind the same lock, gate and token signing.

pub mod gate;
pub mod invites;
pub mod login;
pub mod passwords;
pub mod portal_sessions;
pub mod sessions;
pub mod tenant_users;
pub mod throttle;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::db::Db;
use crate::entities::admins;
use crate::error::{AppError, AppResult};

/// What an admin may do: `owner` manages admins, `admin` runs the business, `viewer` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
    pub fn can_write(self) -> bool {
        !matches!(self, Role::Viewer)
    }
}

pub async fn count(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(admins::Entity::find().count(db).await?)
}

/// Shortest password an admin may choose (the bootstrap admin from the environment may
/// be shorter: it is logged as a weakness instead).
pub const MIN_PASSWORD: usize = 8;

/// Creates an admin; the email is stored lowercased and must be unique.
pub async fn create(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
    role: Role,
    now: i64,
) -> AppResult<admins::Model> {
    if password.len() < MIN_PASSWORD {
        return Err(AppError::invalid(
            "password",
            format!("password must be at least {MIN_PASSWORD} characters"),
        ));
    }
    create_bootstrap(db, email, password, role, now).await
}

/// Creates an admin without the password-length rule: for admins the operator creates
/// from the environment or the command line (a short password is reported as weak).
pub async fn create_bootstrap(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
    role: Role,
    now: i64,
) -> AppResult<admins::Model> {
    let email = email.trim().to_ascii_lowercase();
    if !email.contains('@')
        || email.len() > 254
        || email.contains(char::is_whitespace)
        || email.contains(char::is_control)
    {
        return Err(AppError::invalid(
            "email",
            "email must be an address like ops@example.com",
        ));
    }
    if password.is_empty() {
        return Err(AppError::invalid("password", "password must not be empty"));
    }
    // A taken email is refused by the unique constraint (`admin_exists`, see `error::db`).
    let model = admins::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(passwords::hash(password)),
        role: Set(role.as_str().to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        disabled_at: Set(None),
    };
    Ok(model.insert(db).await?)
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<admins::Model>> {
    let email = email.trim().to_ascii_lowercase();
    Ok(admins::Entity::find()
        .filter(admins::Column::Email.eq(email))
        .one(db)
        .await?)
}

pub async fn find_active(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<admins::Model>> {
    let admin = admins::Entity::find_by_id(id).one(db).await?;
    Ok(admin.filter(|a| a.disabled_at.is_none()))
}

/// The admin behind a session token: the token verifies, its session is active, and the
/// admin is neither disabled nor of an unknown role. Anything else is 401.
pub async fn session_admin(
    db: &impl ConnectionTrait,
    keys: &crate::crypto::Keys,
    token: &str,
    now_ms: i64,
) -> AppResult<SessionAdmin> {
    let claims = sessions::resume(db, keys, token, now_ms).await?;
    let admin = find_active(db, claims.sub)
        .await?
        .ok_or_else(|| AppError::unauthorized("session is not valid"))?;
    let role =
        Role::parse(&admin.role).ok_or_else(|| AppError::unauthorized("session is not valid"))?;
    Ok(SessionAdmin {
        session_id: claims.jti,
        admin,
        role,
    })
}

pub struct SessionAdmin {
    pub session_id: Uuid,
    pub admin: admins::Model,
    pub role: Role,
}

/// Sets an admin's password and ends all their sessions in the same transaction: whoever
/// held the old password is signed out with it.
pub async fn change_password(db: &Db, id: Uuid, password: &str, now: i64) -> AppResult<()> {
    if password.len() < MIN_PASSWORD {
        return Err(AppError::invalid(
            "password",
            format!("password must be at least {MIN_PASSWORD} characters"),
        ));
    }
    let hash = passwords::hash(password);
    update_and_end_sessions(db, id, now, |row| row.password_hash = Set(hash)).await
}

/// Changes an admin's role and ends all their sessions, so no session keeps the old role.
pub async fn change_role(db: &Db, id: Uuid, role: Role, now: i64) -> AppResult<()> {
    update_and_end_sessions(db, id, now, |row| row.role = Set(role.as_str().to_string())).await
}

async fn update_and_end_sessions(
    db: &Db,
    id: Uuid,
    now: i64,
    change: impl FnOnce(&mut admins::ActiveModel),
) -> AppResult<()> {
    let txn = db.begin_write().await?;
    let admin = admins::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::not_found("admin"))?;
    let mut row: admins::ActiveModel = admin.into();
    change(&mut row);
    row.updated_at = Set(now);
    row.update(&*txn).await?;
    sessions::end_all_of(&*txn, id, now).await?;
    txn.commit().await?;
    Ok(())
}
