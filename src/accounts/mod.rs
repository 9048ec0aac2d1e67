//! Operator accounts: admins with roles, Argon2id passwords and signed session tokens.

pub mod passwords;
pub mod sessions;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

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
    if find_by_email(db, &email).await?.is_some() {
        return Err(
            AppError::conflict("admin_exists", "an admin with this email already exists")
                .with_field("email"),
        );
    }
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

/// Checks an email and password; the same work is done whether or not the email exists,
/// so response times do not reveal which admins exist.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
) -> AppResult<admins::Model> {
    let admin = find_by_email(db, email)
        .await?
        .filter(|a| a.disabled_at.is_none());
    let hash = admin
        .as_ref()
        .map(|a| a.password_hash.as_str())
        .unwrap_or(passwords::DUMMY_HASH.as_str());
    let password = password.to_string();
    let hash_owned = hash.to_string();
    let ok = tokio::task::spawn_blocking(move || passwords::verify(&password, &hash_owned))
        .await
        .unwrap_or(false);
    match admin {
        Some(admin) if ok => Ok(admin),
        _ => Err(AppError::unauthorized("email or password is wrong")),
    }
}
