//! Loading what is to be sent: the stored events behind claimed deliveries, with their
//! sealed identifiers opened (in memory only, for the request).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::browser::enrich;
use crate::crypto::Keys;
use crate::destinations::StoredEvent;
use crate::entities::events;
use crate::error::AppResult;
use crate::id_list::any_of;

/// Loads events by row id for one tenant. A row that cannot be read (purged or
/// undecryptable) is missing from the map; the caller fails its delivery.
pub async fn load(
    db: &impl ConnectionTrait,
    keys: &Keys,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, StoredEvent>> {
    let rows = events::Entity::find()
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(any_of(
            db.get_database_backend(),
            events::Column::Id,
            ids.iter().copied(),
        ))
        .all(db)
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        if row.purged_at.is_some() {
            continue;
        }
        let sealed = match &row.sealed {
            Some(s) => match keys.open_json(s) {
                Ok(v) => v,
                Err(_) => continue,
            },
            None => Value::Null,
        };
        out.insert(
            row.id,
            StoredEvent {
                event_id: row.event_id,
                event_name: row.event_name,
                event_time_ms: row.event_time,
                payload: serde_json::from_str(&row.payload)?,
                identifiers: sealed["user_data"].as_object().cloned().unwrap_or_default(),
                ga4_client_id: sealed["ga4_client_id"].as_str().map(str::to_string),
                ga4_user_id: sealed["ga4_user_id"].as_str().map(str::to_string),
                ga4_app_instance_id: sealed["ga4_app_instance_id"].as_str().map(str::to_string),
                ga4_ip_override: sealed["ga4_ip_override"].as_str().map(str::to_string),
                trace_context: row.trace_context,
            },
        );
    }
    Ok(out)
}

/// Loads the events and, when the tenant turned on browser enrichment, gives each one
/// sent without `fbp`/`fbc` the values of its matched browser observation.
pub async fn load_enriched(
    db: &impl ConnectionTrait,
    keys: &Keys,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, StoredEvent>> {
    let mut events = load(db, keys, tenant_id, ids).await?;
    let lacking: Vec<Uuid> = (events.iter())
        .filter(|(_, e)| !e.identifiers.contains_key("fbp") || !e.identifiers.contains_key("fbc"))
        .map(|(id, _)| *id)
        .collect();
    let found = enrich::identifiers_for(db, keys, tenant_id, &lacking).await?;
    for (id, ids) in found {
        if let Some(event) = events.get_mut(&id) {
            enrich::fill_missing(&mut event.identifiers, &ids);
        }
    }
    Ok(events)
}
