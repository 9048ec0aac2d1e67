//! Browser keys (`pk_…`): public keys that sit in a tenant's pages and open only the
//! companion script and the beacon, from the origins the tenant allowed. They are not
//! API keys: `api_keys` never holds them, so every other route answers them 401.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::origins;
use crate::clock::rfc3339;
use crate::entities::{browser_keys, tenants};
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowserKeyIn {
    /// Where the pages that load `kickin.js` live, e.g. `["https://shop.example"]`.
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BrowserKeyOut {
    pub id: Uuid,
    /// Public: shown in full, every time.
    pub key: String,
    pub allowed_origins: Vec<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<browser_keys::Model> for BrowserKeyOut {
    fn from(m: browser_keys::Model) -> Self {
        BrowserKeyOut {
            id: m.id,
            allowed_origins: serde_json::from_str(&m.allowed_origins).unwrap_or_default(),
            key: m.key,
            created_at: rfc3339(m.created_at),
            revoked_at: m.revoked_at.map(rfc3339),
        }
    }
}

/// A new key: `pk_` + base64url of 24 random bytes.
fn generate() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("pk_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates a key for the tenant.
pub async fn create(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    input: BrowserKeyIn,
    now: i64,
) -> AppResult<BrowserKeyOut> {
    let allowed = origins::parse_allowed(&input.allowed_origins)?;
    let model = browser_keys::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        key: Set(generate()),
        allowed_origins: Set(serde_json::to_string(&allowed)?),
        created_at: Set(now),
        revoked_at: Set(None),
    };
    Ok(model.insert(db).await?.into())
}

/// The tenant's keys, newest first (revoked ones too, with their revocation time).
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<BrowserKeyOut>> {
    let mut query = browser_keys::Entity::find()
        .filter(browser_keys::Column::TenantId.eq(tenant_id))
        .order_by_desc(browser_keys::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.before {
        query = query.filter(browser_keys::Column::Id.lt(before));
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(rows, page, |k| k.id, BrowserKeyOut::from))
}

/// One key of the tenant (404 when it belongs to another).
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<browser_keys::Model> {
    browser_keys::Entity::find_by_id((tenant_id, id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("browser key"))
}

/// A key by id whatever its tenant (the admin API addresses keys by id alone).
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<browser_keys::Model> {
    browser_keys::Entity::find()
        .filter(browser_keys::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("browser key"))
}

/// Revokes a key (revoking it again changes nothing). Returns it as it is now.
pub async fn revoke(
    db: &impl ConnectionTrait,
    key: browser_keys::Model,
    now: i64,
) -> AppResult<BrowserKeyOut> {
    if key.revoked_at.is_some() {
        return Ok(key.into());
    }
    let mut active: browser_keys::ActiveModel = key.into();
    active.revoked_at = Set(Some(now));
    Ok(active.update(db).await?.into())
}

/// What a presented browser key stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserKey {
    pub tenant_id: Uuid,
    pub key_id: Uuid,
    pub allowed_origins: Vec<String>,
}

/// Resolves a presented `pk_…` key: 401 when unknown or revoked (an API key is unknown
/// here), 403 when its tenant is suspended.
pub async fn authenticate(db: &impl ConnectionTrait, presented: &str) -> AppResult<BrowserKey> {
    let unknown = || AppError::unauthorized("the browser key is missing, unknown or revoked");
    if !presented.starts_with("pk_") {
        return Err(unknown());
    }
    let key = browser_keys::Entity::find()
        .filter(browser_keys::Column::Key.eq(presented))
        .one(db)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(unknown)?;
    let tenant = tenants::Entity::find_by_id(key.tenant_id)
        .one(db)
        .await?
        .ok_or_else(unknown)?;
    if tenant.status != "active" {
        return Err(AppError::forbidden(
            "tenant_suspended",
            "this account is suspended",
        ));
    }
    Ok(BrowserKey {
        tenant_id: key.tenant_id,
        key_id: key.id,
        allowed_origins: serde_json::from_str(&key.allowed_origins).unwrap_or_default(),
    })
}

/// Recently resolved browser keys. A beacon comes with every page view, so its key is
/// not read from the database each time; a revocation reaches this process at once
/// (`forget`) and other processes within [`KEY_CACHE_TTL`].
pub struct KeyCache {
    entries: moka::sync::Cache<String, BrowserKey>,
}

pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

impl Default for KeyCache {
    fn default() -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(KEY_CACHE_TTL)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        Self { entries }
    }
}

impl KeyCache {
    /// The key, from the cache or the database.
    pub async fn resolve(
        &self,
        db: &impl ConnectionTrait,
        presented: &str,
    ) -> AppResult<BrowserKey> {
        if let Some(key) = self.entries.get(presented) {
            return Ok(key);
        }
        let key = authenticate(db, presented).await?;
        self.entries.insert(presented.to_string(), key.clone());
        Ok(key)
    }

    pub fn forget(&self, presented: &str) {
        self.entries.invalidate(presented);
    }
}
