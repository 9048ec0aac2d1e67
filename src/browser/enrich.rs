//! Optional enrichment (tenant setting `browser_enrichment`, off by default): a server
//! event sent without `fbp`/`fbc` takes them from its matched browser observation
//! before dispatch. `fbp` and `fbc` are among the keys Meta matches a conversion to a
//! person with (`fbc` ties it to the ad click), so enrichment raises the event's match
//! quality; it never changes deduplication (event_name + event_id) and never replaces
//! a value the server sent.
//!
//! The observation is the one the matcher paired as `matched`, or — when the matcher
//! has not seen the server event yet — the one it would pair: same event_name and
//! event_id, fired within 48 h of the event's arrival, not claimed by another event.
//! An event dispatched before its pixel fired is sent as the server gave it.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::matching::{Category, PIXEL_WINDOW_MS};
use crate::crypto::Keys;
use crate::entities::{browser_events, dedup_matches, events, tenants};
use crate::error::AppResult;

const KEYS: [&str; 2] = ["fbp", "fbc"];

/// For each of the tenant's `events` rows that has a matched observation, the
/// observation's `fbp`/`fbc` (only those it has). Empty when the tenant has not turned
/// enrichment on.
pub async fn identifiers_for(
    db: &impl ConnectionTrait,
    keys: &Keys,
    tenant_id: Uuid,
    event_row_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Map<String, Value>>> {
    if event_row_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let enabled = tenants::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .is_some_and(|t| t.browser_enrichment);
    if !enabled {
        return Ok(HashMap::new());
    }
    let mut partners = paired(db, tenant_id, event_row_ids).await?;
    let unseen: Vec<Uuid> = (event_row_ids.iter())
        .filter(|id| !partners.contains_key(id))
        .copied()
        .collect();
    partners.extend(pairable(db, tenant_id, &unseen).await?);
    let observations = browser_events::Entity::find()
        .filter(browser_events::Column::TenantId.eq(tenant_id))
        .filter(browser_events::Column::Id.is_in(partners.values().copied()))
        .all(db)
        .await?;
    let opened: HashMap<Uuid, Map<String, Value>> = observations
        .into_iter()
        .filter_map(|o| {
            let sealed = keys.open_json(o.sealed.as_deref()?).ok()?;
            let ids: Map<String, Value> = (sealed.as_object()?.iter())
                .filter(|(k, v)| KEYS.contains(&k.as_str()) && v.is_string())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (!ids.is_empty()).then_some((o.id, ids))
        })
        .collect();
    Ok(partners
        .into_iter()
        .filter_map(|(event, obs)| opened.get(&obs).map(|ids| (event, ids.clone())))
        .collect())
}

/// Adds to a server event's identifiers the ones it lacks.
pub fn fill_missing(identifiers: &mut Map<String, Value>, found: &Map<String, Value>) {
    for (key, value) in found {
        let missing = identifiers
            .get(key)
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
        if missing {
            identifiers.insert(key.clone(), value.clone());
        }
    }
}

/// Events the matcher already paired as `matched`, with their observation.
async fn paired(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Uuid>> {
    let rows = dedup_matches::Entity::find()
        .filter(dedup_matches::Column::TenantId.eq(tenant_id))
        .filter(dedup_matches::Column::EventRowId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|m| m.category == Category::Matched.as_str())
        .filter_map(|m| Some((m.event_row_id, m.browser_row_id?)))
        .collect())
}

/// For events the matcher has not seen, the closest observation it would match them to.
async fn pairable(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Uuid>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let seen: Vec<Uuid> = dedup_matches::Entity::find()
        .filter(dedup_matches::Column::TenantId.eq(tenant_id))
        .filter(dedup_matches::Column::EventRowId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.event_row_id)
        .collect();
    let servers = events::Entity::find()
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(events::Column::Id.is_in(ids.iter().filter(|id| !seen.contains(id)).copied()))
        .all(db)
        .await?;
    if servers.is_empty() {
        return Ok(HashMap::new());
    }
    let candidates = browser_events::Entity::find()
        .filter(browser_events::Column::TenantId.eq(tenant_id))
        .filter(browser_events::Column::EventId.is_in(servers.iter().map(|s| s.event_id.clone())))
        .filter(browser_events::Column::ClaimedBy.is_null())
        .all(db)
        .await?;
    let mut out = HashMap::new();
    for s in servers {
        let best = (candidates.iter())
            .filter(|b| b.event_id.as_deref() == Some(s.event_id.as_str()))
            .filter(|b| b.event_name == s.event_name)
            .map(|b| ((b.fired_at - s.received_at).abs(), b.id))
            .filter(|(gap, _)| *gap <= PIXEL_WINDOW_MS)
            .min();
        if let Some((_, b)) = best {
            out.insert(s.id, b);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enrichment_fills_only_what_the_server_event_lacks() {
        let mut ids =
            json!({"fbp": "fb.1.1.server", "fbc": "", "client_ip_address": "203.0.113.9"})
                .as_object()
                .cloned()
                .unwrap();
        let found = json!({"fbp": "fb.1.1.browser", "fbc": "fb.1.1.click"})
            .as_object()
            .cloned()
            .unwrap();
        fill_missing(&mut ids, &found);
        assert_eq!(ids["fbp"], "fb.1.1.server", "the server's value stays");
        assert_eq!(ids["fbc"], "fb.1.1.click");
        assert_eq!(ids["client_ip_address"], "203.0.113.9");
    }
}
