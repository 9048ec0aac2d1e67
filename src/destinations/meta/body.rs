//! Building Meta CAPI server events from stored events.

use serde_json::{Map, Value, json};

use crate::destinations::StoredEvent;

const PASS_THROUGH: [&str; 10] = [
    "action_source",
    "event_source_url",
    "custom_data",
    "opt_out",
    "referrer_url",
    "data_processing_options",
    "original_event_data",
    "customer_segmentation",
    "app_data",
    "messaging_channel",
];

/// Identifiers other destinations take, which Meta does not know.
pub const NOT_META: [&str; 2] = ["ttp", "ttclid"];

/// One element of `data`: hashed user data joined with the sealed identifiers; an
/// `event_time` slightly ahead of the clock is sent as now.
pub fn server_event(event: &StoredEvent, now_ms: i64) -> Value {
    let mut out = Map::new();
    out.insert("event_name".into(), json!(event.event_name));
    out.insert(
        "event_time".into(),
        json!(event.event_time_ms.min(now_ms) / 1000),
    );
    out.insert("event_id".into(), json!(event.event_id));
    for key in PASS_THROUGH {
        if let Some(v) = event.payload.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for key in [
        "data_processing_options_country",
        "data_processing_options_state",
    ] {
        if let Some(v) = event.payload.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut user_data = event.payload["user_data"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    user_data.extend(
        event
            .identifiers
            .iter()
            .filter(|(key, _)| !NOT_META.contains(&key.as_str()))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out.insert("user_data".into(), Value::Object(user_data));
    Value::Object(out)
}

/// The request body for a batch of events of one pixel.
pub fn request(events: &[&StoredEvent], test_event_code: Option<&str>, now_ms: i64) -> Value {
    let data: Vec<Value> = events.iter().map(|e| server_event(e, now_ms)).collect();
    let mut body = json!({ "data": data });
    if let Some(code) = test_event_code {
        body["test_event_code"] = json!(code);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> StoredEvent {
        StoredEvent {
            event_id: "e1".into(),
            event_name: "Purchase".into(),
            event_time_ms: 2_000_000,
            payload: json!({"action_source": "website", "event_source_url": "https://x.test/",
                "user_data": {"em": "a".repeat(64)}, "custom_data": {"value": 1.5, "currency": "USD"}}),
            identifiers: json!({"client_user_agent": "UA", "fbp": "fb.1.2.3"})
                .as_object()
                .cloned()
                .unwrap(),
            ga4_client_id: None,
            ga4_user_id: None,
            ga4_app_instance_id: None,
            ga4_ip_override: None,
            trace_context: None,
        }
    }

    #[test]
    fn a_server_event_joins_hashed_and_sealed_user_data() {
        let event = server_event(&stored(), 5_000_000);
        assert_eq!(event["event_time"], 2_000);
        assert_eq!(event["event_id"], "e1");
        assert_eq!(event["user_data"]["em"].as_str().unwrap().len(), 64);
        assert_eq!(event["user_data"]["client_user_agent"], "UA");
        assert_eq!(event["custom_data"]["currency"], "USD");
    }

    #[test]
    fn a_future_event_time_is_sent_as_now_and_the_test_code_is_included() {
        let body = request(&[&stored()], Some("TEST1"), 1_000_000);
        assert_eq!(body["data"][0]["event_time"], 1_000);
        assert_eq!(body["test_event_code"], "TEST1");
    }

    #[test]
    fn tiktoks_identifiers_never_reach_meta() {
        let mut event = stored();
        event.identifiers.insert("ttp".into(), json!("ttp-cookie"));
        event.identifiers.insert("ttclid".into(), json!("E.C.P.x"));
        event.payload["alt_hashes"] = json!({"ph_e164": "b".repeat(64)});
        let sent = server_event(&event, 5_000_000);
        let user_data = sent["user_data"].as_object().unwrap();
        assert!(!user_data.contains_key("ttp") && !user_data.contains_key("ttclid"));
        assert_eq!(user_data["fbp"], "fb.1.2.3");
        assert!(
            sent.get("alt_hashes").is_none(),
            "only Meta's own hashes go to Meta"
        );
    }
}
