//! Tenant users: the customer's own people in the portal, each an owner or a member of
//! exactly one tenant. Admins (or the tenant's owners) invite them; the invite sets the
//! password ([`super::invites`]). Every query here is scoped by the tenant the caller
//! is entitled to, so another tenant's user is "not found", never "forbidden".

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::entities::tenant_users;
use crate::error::{AppError, AppResult};

/// Owners manage the tenant's destinations, keys and people; members read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantRole {
    Owner,
    Member,
}

impl TenantRole {
    pub fn parse(s: &str) -> Option<TenantRole> {
        match s {
            "owner" => Some(TenantRole::Owner),
            "member" => Some(TenantRole::Member),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TenantRole::Owner => "owner",
            TenantRole::Member => "member",
        }
    }
}

/// `POST /admin/api/tenants/{id}/users`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    pub role: TenantRole,
}

/// The answer to an invite: the link is shown this once (only its hash is stored).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InviteOut {
    pub id: Uuid,
    pub invite_url: String,
}

/// A tenant user as shown to admins and owners (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub role: String,
    /// `invited` until the invite has set a password, then `active`.
    pub state: &'static str,
    pub created_at: String,
}

impl From<tenant_users::Model> for UserOut {
    fn from(u: tenant_users::Model) -> Self {
        UserOut {
            state: if u.password_hash.is_some() {
                "active"
            } else {
                "invited"
            },
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email,
            role: u.role,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// An email as stored: trimmed, lowercased, shaped like an address.
pub fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_ascii_lowercase();
    let plausible = email.contains('@')
        && email.len() <= 254
        && !email.contains(char::is_whitespace)
        && !email.contains(char::is_control);
    if plausible {
        Ok(email)
    } else {
        Err(AppError::invalid(
            "email",
            "email must be an address like ops@example.com",
        ))
    }
}

/// Adds a user without a password to a tenant (which must exist); a taken email is
/// refused by the unique constraint (`user_exists`).
pub async fn create(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    input: &UserIn,
    now: i64,
) -> AppResult<tenant_users::Model> {
    let email = normalize_email(&input.email)?;
    crate::tenants::get(db, tenant_id).await?;
    let model = tenant_users::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        email: Set(email),
        role: Set(input.role.as_str().to_string()),
        password_hash: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

/// The tenant's users, oldest first.
pub async fn list(db: &impl ConnectionTrait, tenant_id: Uuid) -> AppResult<Vec<UserOut>> {
    let rows = tenant_users::Entity::find()
        .filter(tenant_users::Column::TenantId.eq(tenant_id))
        .order_by_asc(tenant_users::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(UserOut::from).collect())
}

/// One user of this tenant (another tenant's user is not found).
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<tenant_users::Model> {
    tenant_users::Entity::find_by_id(id)
        .filter(tenant_users::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user"))
}

/// Removes a user of this tenant; their invites and sessions go with them.
pub async fn remove(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> AppResult<UserOut> {
    let user = get(db, tenant_id, id).await?;
    tenant_users::Entity::delete_by_id(id).exec(db).await?;
    Ok(user.into())
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<tenant_users::Model>> {
    Ok(tenant_users::Entity::find()
        .filter(tenant_users::Column::Email.eq(email.trim().to_ascii_lowercase()))
        .one(db)
        .await?)
}

/// Adds a user and issues their invite, in the caller's transaction; returns the user
/// and the invite's token (to be shown once).
pub async fn invite(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    input: &UserIn,
    now: i64,
) -> AppResult<(UserOut, String)> {
    let user = create(db, tenant_id, input, now).await?;
    let token = super::invites::issue(db, user.id, now).await?;
    Ok((user.into(), token))
}

/// The link an invite is accepted at.
pub fn invite_url(base: &str, token: &str) -> String {
    format!("{base}/app/invite/{token}")
}
