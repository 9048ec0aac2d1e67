//! Resolving API keys to tenants. `authenticate` reads the key and its tenant for one
//! request; `current` re-reads a set of keys at once, so the ingest group commit can
//! confirm every key of a group inside its transaction (revocation stays immediate even
//! when the request was authenticated from `KeyCache`).

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::context::{Scope, TenantContext};
use crate::crypto::sha256_hex;
use crate::entities::{api_keys, plans, tenants};
use crate::error::{AppError, AppResult};
use crate::id_list::any_of;

/// What a key stands for right now.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyState {
    Active(TenantContext),
    /// Unknown or revoked: 401.
    Revoked,
    /// The tenant is suspended: 403.
    Suspended,
}

impl KeyState {
    fn of(key: &api_keys::Model, tenant: Option<&tenants::Model>) -> KeyState {
        let Some(tenant) = tenant.filter(|_| key.revoked_at.is_none()) else {
            return KeyState::Revoked;
        };
        if tenant.status != "active" {
            return KeyState::Suspended;
        }
        KeyState::Active(TenantContext {
            tenant_id: tenant.id,
            key_id: key.id,
            scopes: key.scopes.split(',').filter_map(Scope::parse).collect(),
            require_event_id: tenant.require_event_id,
            dedup_window_hours: tenant.dedup_window_hours,
            plan_id: tenant.plan_id,
            meta_endpoint_fanout: tenant.meta_endpoint_fanout,
            consent_policy: tenant.consent_policy,
        })
    }

    /// The context, or the 401/403 a request with this key gets.
    pub fn into_result(self) -> AppResult<TenantContext> {
        match self {
            KeyState::Active(ctx) => Ok(ctx),
            KeyState::Revoked => Err(AppError::unauthorized(
                "API key is missing, unknown or revoked",
            )),
            KeyState::Suspended => Err(AppError::forbidden(
                "tenant_suspended",
                "this account is suspended",
            )),
        }
    }
}

/// Resolves a presented key (by its SHA-256) to its tenant. Unknown and revoked keys are
/// 401; a suspended tenant is 403.
pub async fn authenticate(db: &impl ConnectionTrait, key_hash: &str) -> AppResult<TenantContext> {
    let key = api_keys::Entity::find()
        .filter(api_keys::Column::KeyHash.eq(key_hash))
        .one(db)
        .await?;
    let Some(key) = key else {
        return KeyState::Revoked.into_result();
    };
    let tenant = tenants::Entity::find_by_id(key.tenant_id).one(db).await?;
    KeyState::of(&key, tenant.as_ref()).into_result()
}

/// What the ingest commit re-reads for a key: its state and its tenant's plan row.
#[derive(Debug, Clone)]
pub struct Current {
    pub state: KeyState,
    pub plan: Option<plans::Model>,
}

/// The current state of each key id, with its tenant's plan, in ONE statement (ids
/// that no longer exist are absent).
pub async fn current(
    db: &impl ConnectionTrait,
    key_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Current>> {
    let rows = api_keys::Entity::find()
        .filter(any_of(
            db.get_database_backend(),
            (api_keys::Entity, api_keys::Column::Id),
            key_ids.iter().copied(),
        ))
        .find_also_related(tenants::Entity)
        .and_also_related(plans::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(key, tenant, plan)| {
            let state = KeyState::of(&key, tenant.as_ref());
            (key.id, Current { state, plan })
        })
        .collect())
}

/// The SHA-256 under which a presented key is stored and cached.
pub fn key_hash(presented: &str) -> String {
    sha256_hex(presented.as_bytes())
}

/// Recently authenticated keys, by hash. Only ingest reads it, and ingest confirms every
/// cached context against the database inside its commit, so an entry is a shortcut,
/// never an authority. Entries live `ttl`; at most [`MAX_ENTRIES`] are kept, the least
/// recently used leaving first: a key just authenticated is always admitted (moka's
/// default TinyLFU may refuse a newcomer while the cache is full, and that key would then
/// be read from the database on every request).
pub struct KeyCache {
    entries: moka::sync::Cache<String, TenantContext>,
}

const MAX_ENTRIES: u64 = 10_000;

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(MAX_ENTRIES)
            .time_to_live(ttl)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        Self { entries }
    }

    pub fn get(&self, hash: &str) -> Option<TenantContext> {
        self.entries.get(hash)
    }

    pub fn put(&self, hash: String, ctx: TenantContext) {
        self.entries.insert(hash, ctx);
    }

    pub fn remove(&self, hash: &str) {
        self.entries.invalidate(hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TenantContext {
        TenantContext {
            tenant_id: Uuid::now_v7(),
            key_id: Uuid::now_v7(),
            scopes: vec![Scope::Ingest],
            require_event_id: true,
            dedup_window_hours: 48,
            plan_id: None,
            meta_endpoint_fanout: false,
            consent_policy: Default::default(),
        }
    }

    #[test]
    fn an_entry_is_served_until_its_ttl_and_removed_on_demand() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let c = ctx();
        cache.put("h".into(), c.clone());
        assert_eq!(cache.get("h"), Some(c));
        cache.remove("h");
        assert_eq!(cache.get("h"), None);
        let expired = KeyCache::new(Duration::ZERO);
        expired.put("h".into(), ctx());
        assert_eq!(expired.get("h"), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = KeyCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 5 {
            cache.put(format!("h{i}"), ctx());
        }
        cache.entries.run_pending_tasks();
        let len = cache.entries.entry_count();
        assert!(len <= MAX_ENTRIES, "{len}");
        assert!(cache.get(&format!("h{}", MAX_ENTRIES + 4)).is_some());
    }
}
