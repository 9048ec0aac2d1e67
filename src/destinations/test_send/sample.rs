//! The sample event of a test send: a realistic website Purchase happening now, with a
//! fresh `kickin_test_…` event id (so no destination folds it into an earlier one), a
//! value and currency, one product, a hashed sample email and a user agent — everything
//! Meta, GA4 and TikTok need to accept a web purchase.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::destinations::StoredEvent;

/// The sample customer's email; only its SHA-256 is sent.
pub const SAMPLE_EMAIL: &str = "test.buyer@example.com";
pub const SAMPLE_USER_AGENT: &str = "Mozilla/5.0 (compatible; Kickin test event)";
const SAMPLE_URL: &str = "https://example.com/checkout/thank-you";
const SAMPLE_VALUE: f64 = 49.99;

/// The sample Purchase at `now_ms` (the application's clock).
pub fn sample_event(now_ms: i64) -> StoredEvent {
    let event_id = format!("kickin_test_{}", Uuid::new_v4().simple());
    let email = crate::crypto::sha256_hex(SAMPLE_EMAIL.as_bytes());
    let payload = json!({
        "action_source": "website",
        "event_source_url": SAMPLE_URL,
        "user_data": {"em": [email]},
        "custom_data": {
            "value": SAMPLE_VALUE,
            "currency": "USD",
            "order_id": event_id,
            "content_type": "product",
            "contents": [{"id": "KICKIN-TEST-SKU", "quantity": 1, "item_price": SAMPLE_VALUE}],
        },
        "ga4": {"session_id": (now_ms / 1000).to_string(), "engagement_time_msec": 100},
    });
    let identifiers: Map<String, Value> =
        Map::from_iter([("client_user_agent".to_string(), json!(SAMPLE_USER_AGENT))]);
    StoredEvent {
        ga4_client_id: Some(format!("{}.{}", rand::random::<u32>(), now_ms / 1000)),
        event_id,
        event_name: "Purchase".into(),
        event_time_ms: now_ms,
        payload,
        identifiers,
        ga4_user_id: None,
        ga4_app_instance_id: Some(format!("{:032x}", rand::random::<u128>())),
        ga4_ip_override: None,
        trace_context: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_a_fresh_purchase_at_the_given_time() {
        let (a, b) = (
            sample_event(1_764_590_000_000),
            sample_event(1_764_590_000_000),
        );
        assert!(a.event_id.starts_with("kickin_test_"));
        assert_ne!(a.event_id, b.event_id);
        assert_eq!(a.event_time_ms, 1_764_590_000_000);
        assert_eq!(a.event_name, "Purchase");
        assert_eq!(a.payload["custom_data"]["currency"], "USD");
        assert_eq!(a.payload["custom_data"]["value"], SAMPLE_VALUE);
        let em = a.payload["user_data"]["em"][0].as_str().unwrap();
        assert_eq!(em, crate::crypto::sha256_hex(SAMPLE_EMAIL.as_bytes()));
        assert!(a.ga4_client_id.is_some());
    }
}
