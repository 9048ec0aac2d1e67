//! Building GA4 Measurement Protocol requests from stored events: Meta standard names
//! become GA4 recommended names, `custom_data.order_id` becomes `transaction_id`,
//! `contents` become `items`.

use serde_json::{Map, Value, json};

use super::names::ga4_name;
use crate::destinations::StoredEvent;

/// GA4 shows events in reports only with an engagement time; 1 ms when none was sent.
const DEFAULT_ENGAGEMENT_MS: i64 = 1;

fn items(custom: &Value) -> Option<Value> {
    if let Some(contents) = custom["contents"].as_array() {
        let items: Vec<Value> = contents
            .iter()
            .map(|c| {
                let mut item = Map::new();
                item.insert("item_id".into(), c["id"].clone());
                if let Some(q) = c.get("quantity").filter(|v| v.is_number()) {
                    item.insert("quantity".into(), q.clone());
                }
                if let Some(p) = c.get("item_price").filter(|v| v.is_number()) {
                    item.insert("price".into(), p.clone());
                }
                Value::Object(item)
            })
            .collect();
        return Some(Value::Array(items));
    }
    let ids = custom["content_ids"].as_array()?;
    Some(Value::Array(
        ids.iter().map(|id| json!({"item_id": id})).collect(),
    ))
}

/// The `transaction_id` GA4 gets for an event (`custom_data.order_id`, never empty).
fn transaction_id(e: &StoredEvent) -> Option<&str> {
    e.payload["custom_data"]["order_id"]
        .as_str()
        .filter(|o| !o.is_empty())
}

/// GA4 deduplicates nothing but a `purchase` carrying a `transaction_id`: any other event
/// sent twice is counted twice.
pub fn deduplicates_resend(e: &StoredEvent) -> bool {
    ga4_name(&e.event_name).as_deref() == Some("purchase") && transaction_id(e).is_some()
}

/// One GA4 event (`{name, params}`) for a stored event.
pub fn event(e: &StoredEvent) -> Value {
    let custom = &e.payload["custom_data"];
    let ga4 = &e.payload["ga4"];
    let mut params = Map::new();
    if let Some(order) = transaction_id(e) {
        params.insert("transaction_id".into(), json!(order));
    }
    if let Some(value) = custom.get("value").filter(|v| v.is_number()) {
        params.insert("value".into(), value.clone());
    }
    if let Some(currency) = custom["currency"].as_str() {
        params.insert("currency".into(), json!(currency.to_ascii_uppercase()));
    }
    if let Some(items) = items(custom) {
        params.insert("items".into(), items);
    }
    if let Some(session) = ga4.get("session_id").filter(|v| !v.is_null()) {
        params.insert("session_id".into(), session.clone());
    }
    let engagement = ga4["engagement_time_msec"]
        .as_i64()
        .unwrap_or(DEFAULT_ENGAGEMENT_MS);
    params.insert("engagement_time_msec".into(), json!(engagement));
    params.insert("event_id".into(), json!(e.event_id));
    let name = ga4_name(&e.event_name).unwrap_or_else(|| e.event_name.clone());
    json!({"name": name, "params": params})
}

/// The request-level hints GA4 takes once per request, as stored with the event.
const HINTS: [&str; 3] = ["user_properties", "user_location", "device"];

/// The visitor's consent as GA4 takes it (`GRANTED`/`DENIED`), when the event has one.
fn consent(e: &StoredEvent) -> Option<Value> {
    let given = e.payload.get("consent")?.as_object()?;
    let upper: Map<String, Value> = given
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), json!(v.as_str()?.to_ascii_uppercase()))))
        .collect();
    (!upper.is_empty()).then_some(Value::Object(upper))
}

/// The hashed user-provided data GA4 takes (Google's normalization, computed at ingest).
fn user_data(e: &StoredEvent) -> Option<Value> {
    let data = e.payload["alt_hashes"].get("ga4_user_data")?;
    data.as_object().filter(|o| !o.is_empty())?;
    Some(data.clone())
}

/// Everything GA4 takes once per request: the hints, `ip_override`, the consent and the
/// user-provided data.
fn request_level(e: &StoredEvent) -> Map<String, Value> {
    let mut out = Map::new();
    for hint in HINTS {
        if let Some(v) = e.payload["ga4"].get(hint) {
            out.insert(hint.into(), v.clone());
        }
    }
    if let Some(ip) = &e.ga4_ip_override {
        out.insert("ip_override".into(), json!(ip));
    }
    if let Some(consent) = consent(e) {
        out.insert("consent".into(), consent);
    }
    if let Some(user_data) = user_data(e) {
        out.insert("user_data".into(), user_data);
    }
    out
}

/// The event's request-level fields as one comparable key: events share a request only
/// when these are the same (so events with different consent never share one).
pub fn hints_key(e: &StoredEvent) -> String {
    Value::Object(request_level(e)).to_string()
}

/// A request for events sharing one id (`client_id` of a web stream or
/// `app_instance_id` of an app stream, named by `id_key`), `user_id`, event time and
/// request-level fields (hints, consent, user-provided data).
pub fn request(id_key: &str, id: &str, user_id: Option<&str>, events: &[&StoredEvent]) -> Value {
    let mut body = Map::new();
    body.insert(id_key.into(), json!(id));
    let first = events.first();
    let micros = first.map(|e| e.event_time_ms * 1000).unwrap_or_default();
    body.insert("timestamp_micros".into(), json!(micros));
    if let Some(user_id) = user_id {
        body.insert("user_id".into(), json!(user_id));
    }
    if let Some(e) = first {
        body.extend(request_level(e));
    }
    body.insert("events".into(), events.iter().map(|e| event(e)).collect());
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(name: &str, custom: Value) -> StoredEvent {
        StoredEvent {
            event_id: "e1".into(),
            event_name: name.into(),
            event_time_ms: 1_700_000_000_000,
            payload: json!({"custom_data": custom, "ga4": {"session_id": "170"}}),
            identifiers: Map::new(),
            ga4_client_id: Some("1.2".into()),
            ga4_user_id: None,
            ga4_app_instance_id: None,
            ga4_ip_override: None,
            trace_context: None,
        }
    }

    #[test]
    fn a_purchase_maps_to_ga4_purchase_with_transaction_and_items() {
        let custom = json!({"value": 129.99, "currency": "usd", "order_id": "12345",
            "contents": [{"id": "sku-1", "quantity": 2, "item_price": 10.5}]});
        let e = event(&stored("Purchase", custom));
        assert_eq!(e["name"], "purchase");
        assert_eq!(e["params"]["transaction_id"], "12345");
        assert_eq!(e["params"]["value"], 129.99);
        assert_eq!(e["params"]["currency"], "USD");
        assert_eq!(
            e["params"]["items"][0],
            json!({"item_id": "sku-1", "quantity": 2, "price": 10.5})
        );
        assert_eq!(e["params"]["session_id"], "170");
        assert_eq!(e["params"]["engagement_time_msec"], 1);
    }

    #[test]
    fn an_empty_order_id_is_never_sent_and_custom_names_pass() {
        let e = event(&stored(
            "SignupStarted",
            json!({"order_id": "", "content_ids": ["a"]}),
        ));
        assert_eq!(e["name"], "SignupStarted");
        assert!(e["params"].get("transaction_id").is_none());
        assert_eq!(e["params"]["items"], json!([{"item_id": "a"}]));
    }

    #[test]
    fn the_request_carries_client_user_and_time_in_microseconds() {
        let s = stored("Lead", Value::Null);
        let body = request("client_id", "1.2", Some("u-7"), &[&s]);
        assert_eq!(body["client_id"], "1.2");
        assert_eq!(body["user_id"], "u-7");
        assert_eq!(body["timestamp_micros"], 1_700_000_000_000_000i64);
        assert_eq!(body["events"][0]["name"], "generate_lead");
    }

    #[test]
    fn only_a_purchase_with_a_transaction_id_is_deduplicated_on_resend() {
        let order = json!({"order_id": "1001"});
        assert!(deduplicates_resend(&stored("Purchase", order.clone())));
        assert!(deduplicates_resend(&stored("purchase", order.clone())));
        assert!(!deduplicates_resend(&stored(
            "Purchase",
            json!({"order_id": ""})
        )));
        assert!(!deduplicates_resend(&stored("Purchase", json!({}))));
        assert!(!deduplicates_resend(&stored("Lead", order.clone())));
        assert!(!deduplicates_resend(&stored("sign_up", order)));
    }
}
