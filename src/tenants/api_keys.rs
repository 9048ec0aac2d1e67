//! API keys: 32 random bytes shown once, stored only as SHA-256, with a visible prefix
//! and scopes. Revocation is immediate: reads re-read the key, ingest re-checks it in its commit.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::context::Scope;
use crate::clock::rfc3339;
use crate::crypto::{generate_api_key, sha256_hex};
use crate::entities::api_keys;
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    pub name: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["ingest".into(), "read".into()]
}

/// The answer to issuing a key: the only time `key` is ever shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    pub id: Uuid,
    pub key: String,
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<api_keys::Model> for ApiKeyOut {
    fn from(m: api_keys::Model) -> Self {
        ApiKeyOut {
            id: m.id,
            tenant_id: m.tenant_id,
            name: m.name,
            prefix: m.prefix,
            scopes: m.scopes.split(',').map(str::to_string).collect(),
            created_at: rfc3339(m.created_at),
            revoked_at: m.revoked_at.map(rfc3339),
        }
    }
}

fn parse_scopes(scopes: &[String]) -> AppResult<Vec<Scope>> {
    if scopes.is_empty() {
        return Err(AppError::invalid(
            "scopes",
            "give at least one scope: ingest, read, manage",
        ));
    }
    let mut parsed = Vec::new();
    for (i, s) in scopes.iter().enumerate() {
        let scope = Scope::parse(s).ok_or_else(|| {
            AppError::invalid(
                format!("scopes[{i}]"),
                "scope must be ingest, read or manage",
            )
        })?;
        if !parsed.contains(&scope) {
            parsed.push(scope);
        }
    }
    Ok(parsed)
}

/// Issues a key for a tenant. The plain key is returned once and never stored.
pub async fn issue(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    input: ApiKeyIn,
    now: i64,
) -> AppResult<IssuedKey> {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "name must be 1-100 characters"));
    }
    let scopes = parse_scopes(&input.scopes)?;
    let plan = crate::plans::for_tenant(db, tenant_id).await?;
    if let Some(max) = plan.and_then(|p| p.model.max_api_keys)
        && count_active(db, tenant_id).await? >= max as u64
    {
        return Err(AppError::unprocessable(
            "api_key_limit_reached",
            format!("the plan allows {max} active API keys; revoke one or change plan"),
        ));
    }
    let scope_names: Vec<String> = scopes.iter().map(|s| s.as_str().to_string()).collect();
    let (key, prefix) = generate_api_key();
    let model = api_keys::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        name: Set(name.clone()),
        prefix: Set(prefix.clone()),
        key_hash: Set(sha256_hex(key.as_bytes())),
        scopes: Set(scope_names.join(",")),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(IssuedKey {
        id: model.id,
        key,
        prefix,
        name,
        scopes: scope_names,
    })
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<ApiKeyOut>> {
    let mut query = api_keys::Entity::find()
        .filter(api_keys::Column::TenantId.eq(tenant_id))
        .order_by_desc(api_keys::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.before {
        query = query.filter(api_keys::Column::Id.lt(before));
    }
    Ok(Page::from_rows(
        query.all(db).await?,
        page,
        |k| k.id,
        ApiKeyOut::from,
    ))
}

pub async fn count_active(db: &impl ConnectionTrait, tenant_id: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::TenantId.eq(tenant_id))
        .filter(api_keys::Column::RevokedAt.is_null())
        .count(db)
        .await?)
}

/// Revokes a key (admin action, by id). Revoking twice is harmless.
pub async fn revoke(db: &impl ConnectionTrait, key_id: Uuid, now: i64) -> AppResult<ApiKeyOut> {
    let key = api_keys::Entity::find()
        .filter(api_keys::Column::Id.eq(key_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Ok(key.into());
    }
    let mut active: api_keys::ActiveModel = key.into();
    active.revoked_at = Set(Some(now));
    Ok(active.update(db).await?.into())
}

/// Revokes a key of this tenant; another tenant's key is not found.
pub async fn revoke_for(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    key_id: Uuid,
    now: i64,
) -> AppResult<ApiKeyOut> {
    let owned = api_keys::Entity::find()
        .filter(api_keys::Column::Id.eq(key_id))
        .filter(api_keys::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?;
    match owned {
        Some(_) => revoke(db, key_id, now).await,
        None => Err(AppError::not_found("API key")),
    }
}
