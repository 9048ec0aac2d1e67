//! How an accepted event is stored: the payload holds hashed user data only; the
//! identifiers that cannot be hashed (IP, user agent, click ids, GA4 ids) are sealed.

use serde_json::{Map, Value, json};

use super::event::ValidatedEvent;
use crate::crypto::Keys;

/// The event as stored in `events.payload`: no raw PII.
pub fn payload(event: &ValidatedEvent) -> Value {
    let mut payload = Map::new();
    payload.insert("action_source".into(), json!(event.action_source));
    if let Some(url) = &event.event_source_url {
        payload.insert("event_source_url".into(), json!(url));
    }
    payload.insert("user_data".into(), json!(event.user_data.hashed));
    if !event.user_data.alt_hashed.is_empty() {
        payload.insert("alt_hashes".into(), json!(event.user_data.alt_hashed));
    }
    if let Some(custom) = &event.custom_data {
        payload.insert("custom_data".into(), Value::Object(custom.clone()));
    }
    let mut ga4 = Map::new();
    if let Some(session) = &event.ga4.session_id {
        ga4.insert("session_id".into(), json!(session));
    }
    if let Some(ms) = event.ga4.engagement_time_msec {
        ga4.insert("engagement_time_msec".into(), json!(ms));
    }
    ga4.extend(event.ga4.request.clone());
    if !ga4.is_empty() {
        payload.insert("ga4".into(), Value::Object(ga4));
    }
    if !event.consent.is_empty() {
        payload.insert("consent".into(), event.consent.to_json());
    }
    for (key, value) in &event.extra {
        payload.insert(key.clone(), value.clone());
    }
    Value::Object(payload)
}

/// The sealed part (`events.sealed`), or `None` when there is nothing to seal.
pub fn sealed(event: &ValidatedEvent, keys: &Keys) -> Option<String> {
    let mut secret = Map::new();
    if !event.user_data.identifiers.is_empty() {
        secret.insert("user_data".into(), json!(event.user_data.identifiers));
    }
    if let Some(client_id) = &event.ga4.client_id {
        secret.insert("ga4_client_id".into(), json!(client_id));
    }
    if let Some(user_id) = &event.ga4.user_id {
        secret.insert("ga4_user_id".into(), json!(user_id));
    }
    if let Some(id) = &event.ga4.app_instance_id {
        secret.insert("ga4_app_instance_id".into(), json!(id));
    }
    if let Some(ip) = &event.ga4.ip_override {
        secret.insert("ga4_ip_override".into(), json!(ip));
    }
    (!secret.is_empty()).then(|| keys.seal_json(&Value::Object(secret)))
}
