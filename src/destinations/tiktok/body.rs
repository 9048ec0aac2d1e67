//! Building a TikTok Events API 2.0 request (§6.2) from Kickin's Meta-shaped stored
//! events. The event name is sent as stored: TikTok's standard names are Meta's for every
//! event Kickin knows, and anything else is a custom event of the same exact case (§6.3).

use serde_json::{Map, Value, json};

use crate::destinations::StoredEvent;

/// Meta hashed keys TikTok takes with the same normalisation, and TikTok's name for them.
/// Hashed city, state and country are not sent: TikTok wants those raw.
const ARRAY_HASHES: [(&str, &str); 2] = [("em", "email"), ("external_id", "external_id")];
const SINGLE_HASHES: [(&str, &str); 3] = [
    ("fn", "first_name"),
    ("ln", "last_name"),
    ("zp", "zip_code"),
];
/// Sealed identifiers TikTok takes raw.
const RAW_IDENTIFIERS: [(&str, &str); 4] = [
    ("client_ip_address", "ip"),
    ("client_user_agent", "user_agent"),
    ("ttp", "ttp"),
    ("ttclid", "ttclid"),
];
const CONTENT_TYPES: [&str; 2] = ["product", "product_group"];

/// A hash (or list of hashes) as TikTok checks it: lowercase hex.
fn lowercase(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.is_empty() => Some(json!(s.to_ascii_lowercase())),
        Value::Array(items) => {
            let items: Vec<Value> = items.iter().filter_map(lowercase).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        _ => None,
    }
}

/// The first hash of a key TikTok documents as a single string.
fn first(v: &Value) -> Option<Value> {
    match lowercase(v)? {
        Value::Array(items) => items.into_iter().next(),
        one => Some(one),
    }
}

/// An id as TikTok wants it: always a string.
fn id_string(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => Some(json!(s)),
        Value::Number(n) => Some(json!(n.to_string())),
        _ => None,
    }
}

/// `user`: Meta's hashes where TikTok's normalisation is the same, the E.164 phone hash
/// computed at ingest (Meta's `ph` lacks the `+` and can never be reused), and the raw
/// identifiers.
pub fn user(event: &StoredEvent) -> Value {
    let hashed = &event.payload["user_data"];
    let mut out = Map::new();
    for (meta, tiktok) in ARRAY_HASHES {
        if let Some(v) = lowercase(&hashed[meta]) {
            out.insert(tiktok.into(), v);
        }
    }
    if let Some(v) = lowercase(&event.payload["alt_hashes"]["ph_e164"]) {
        out.insert("phone".into(), v);
    }
    for (meta, tiktok) in SINGLE_HASHES {
        if let Some(v) = first(&hashed[meta]) {
            out.insert(tiktok.into(), v);
        }
    }
    for (key, tiktok) in RAW_IDENTIFIERS {
        if let Some(v) = event.identifiers.get(key).filter(|v| v.is_string()) {
            out.insert(tiktok.into(), v.clone());
        }
    }
    Value::Object(out)
}

fn content(c: &Value) -> Value {
    let mut out = Map::new();
    if let Some(id) = id_string(&c["id"]) {
        out.insert("content_id".into(), id);
    }
    let renames = [
        ("quantity", "quantity"),
        ("item_price", "price"),
        ("title", "content_name"),
        ("category", "content_category"),
        ("brand", "brand"),
    ];
    for (meta, tiktok) in renames {
        if let Some(v) = c.get(meta).filter(|v| !v.is_null()) {
            out.insert(tiktok.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// `properties` from Meta's custom data; the currency upper-cased as on TikTok's list.
pub fn properties(custom: &Value) -> Value {
    let mut out = Map::new();
    if let Some(v) = custom.get("value").filter(|v| v.is_number()) {
        out.insert("value".into(), v.clone());
    }
    if let Some(c) = custom["currency"].as_str() {
        out.insert("currency".into(), json!(c.to_ascii_uppercase()));
    }
    let contents = custom["contents"].as_array().filter(|c| !c.is_empty());
    if let Some(items) = contents {
        out.insert("contents".into(), items.iter().map(content).collect());
    } else if let Some(name) = custom["content_name"].as_str() {
        out.insert("description".into(), json!(name));
    }
    if let Some(ids) = custom["content_ids"].as_array() {
        let ids: Vec<Value> = ids.iter().filter_map(id_string).collect();
        out.insert("content_ids".into(), Value::Array(ids));
    }
    if let Some(t) = custom["content_type"]
        .as_str()
        .filter(|t| CONTENT_TYPES.contains(t))
    {
        out.insert("content_type".into(), json!(t));
    }
    for key in ["num_items", "search_string"] {
        if let Some(v) = custom.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(order) = id_string(&custom["order_id"]) {
        out.insert("order_id".into(), order);
    }
    Value::Object(out)
}

fn page(payload: &Value) -> Option<Value> {
    let mut page = Map::new();
    if let Some(url) = payload["event_source_url"].as_str() {
        page.insert("url".into(), json!(url));
    }
    if let Some(referrer) = payload["referrer_url"].as_str() {
        page.insert("referrer".into(), json!(referrer));
    }
    (!page.is_empty()).then_some(Value::Object(page))
}

fn limited_data_use(payload: &Value) -> bool {
    payload["data_processing_options"]
        .as_array()
        .is_some_and(|o| o.iter().any(|v| v == "LDU"))
}

/// One element of `data`; an `event_time` ahead of the clock is sent as now.
pub fn event(e: &StoredEvent, now_ms: i64) -> Value {
    let mut out = Map::new();
    out.insert("event".into(), json!(e.event_name));
    out.insert(
        "event_time".into(),
        json!(e.event_time_ms.min(now_ms) / 1000),
    );
    out.insert("event_id".into(), json!(e.event_id));
    if let Some(page) = page(&e.payload) {
        out.insert("page".into(), page);
    }
    if limited_data_use(&e.payload) {
        out.insert("limited_data_use".into(), json!(true));
    }
    out.insert("user".into(), user(e));
    out.insert("properties".into(), properties(&e.payload["custom_data"]));
    Value::Object(out)
}

/// The request body for a batch of web events of one pixel.
pub fn request(
    events: &[&StoredEvent],
    pixel_code: &str,
    test_event_code: Option<&str>,
    now_ms: i64,
) -> Value {
    let data: Vec<Value> = events.iter().map(|e| event(e, now_ms)).collect();
    let mut body = json!({"event_source": "web", "event_source_id": pixel_code, "data": data});
    if let Some(code) = test_event_code {
        body["test_event_code"] = json!(code);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of `+12133734253`, `alice_abc@gmail.com` and `user_123` (spec §6.2).
    const PHONE: &str = "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd";
    const EMAIL: &str = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f";
    const EXTERNAL: &str = "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b";
    /// A Meta phone hash (`16505551212`: digits only, no `+`).
    const META_PHONE: &str = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176";

    fn stored() -> StoredEvent {
        let hash = |c: char| c.to_string().repeat(64);
        StoredEvent {
            event_id: "order-1".into(),
            event_name: "Purchase".into(),
            event_time_ms: 1_700_000_000_500,
            payload: json!({
                "action_source": "website",
                "event_source_url": "https://shop.test/thanks",
                "referrer_url": "https://shop.test/cart",
                "data_processing_options": ["LDU"],
                "user_data": {"em": EMAIL, "ph": META_PHONE, "external_id": [EXTERNAL],
                    "fn": hash('a'), "ln": hash('b'), "zp": hash('c'),
                    "ct": hash('d'), "st": hash('e'), "country": hash('f'), "ge": hash('1')},
                "alt_hashes": {"ph_e164": PHONE},
                "custom_data": {"value": 42.5, "currency": "usd", "order_id": "1001",
                    "content_type": "product", "content_ids": ["sku-1"], "num_items": 2,
                    "contents": [{"id": "sku-1", "quantity": 2, "item_price": 21.25,
                        "title": "Mug", "category": "Kitchen", "brand": "Acme"}]}
            }),
            identifiers: json!({"client_ip_address": "203.0.113.7", "client_user_agent": "UA",
                "fbp": "fb.1.2.3", "ttp": "ttp-cookie", "ttclid": "click-1"})
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
    fn a_request_names_the_web_pixel_and_carries_the_test_code() {
        let body = request(&[&stored()], "CPIXEL", Some("TEST1"), 1_800_000_000_000);
        assert_eq!(body["event_source"], "web");
        assert_eq!(body["event_source_id"], "CPIXEL");
        assert_eq!(body["test_event_code"], "TEST1");
        let live = request(&[&stored()], "CPIXEL", None, 1_800_000_000_000);
        assert!(live.get("test_event_code").is_none());
    }

    #[test]
    fn an_event_keeps_its_name_id_as_a_string_and_time_in_seconds() {
        let mut e = stored();
        e.event_name = "signup_Done".into();
        let body = event(&e, 1_800_000_000_000);
        assert_eq!(body["event"], "signup_Done");
        assert_eq!(body["event_time"], 1_700_000_000);
        assert_eq!(body["event_id"], json!("order-1"));
        assert_eq!(
            body["page"],
            json!({"url": "https://shop.test/thanks",
            "referrer": "https://shop.test/cart"})
        );
        assert_eq!(body["limited_data_use"], true);
        assert_eq!(event(&e, 1_600_000_000_000)["event_time"], 1_600_000_000);
    }

    #[test]
    fn the_user_takes_the_e164_phone_hash_never_metas_and_no_hashed_places() {
        let user = user(&stored());
        assert_eq!(user["phone"], PHONE);
        assert_eq!(user["email"], EMAIL);
        assert_eq!(user["external_id"], json!([EXTERNAL]));
        assert_eq!(user["first_name"], "a".repeat(64));
        assert_eq!(user["zip_code"], "c".repeat(64));
        assert_eq!(user["ip"], "203.0.113.7");
        assert_eq!(user["user_agent"], "UA");
        assert_eq!(user["ttp"], "ttp-cookie");
        assert_eq!(user["ttclid"], "click-1");
        for absent in ["city", "state", "country", "ph", "fbp", "gender"] {
            assert!(user.get(absent).is_none(), "{absent} is not sent");
        }
        let mut without = stored();
        without.payload["alt_hashes"] = Value::Null;
        assert!(super::user(&without).get("phone").is_none());
    }

    #[test]
    fn properties_map_contents_and_keep_only_tiktoks_content_types() {
        let props = properties(&stored().payload["custom_data"]);
        assert_eq!(props["value"], 42.5);
        assert_eq!(props["currency"], "USD");
        assert_eq!(props["order_id"], "1001");
        assert_eq!(props["content_ids"], json!(["sku-1"]));
        assert_eq!(props["content_type"], "product");
        assert_eq!(props["num_items"], 2);
        assert_eq!(
            props["contents"],
            json!([{"content_id": "sku-1", "quantity": 2, "price": 21.25,
                "content_name": "Mug", "content_category": "Kitchen", "brand": "Acme"}])
        );
        let other = properties(&json!({"content_type": "hotel", "content_name": "Rooms",
            "contents": [{"id": 7}], "search_string": "mug"}));
        assert!(other.get("content_type").is_none());
        assert_eq!(other["contents"][0]["content_id"], "7");
        assert_eq!(other["search_string"], "mug");
        assert!(other.get("description").is_none());
        let plain = properties(&json!({"content_name": "Spring sale"}));
        assert_eq!(plain["description"], "Spring sale");
    }

    #[test]
    fn an_event_without_page_or_ldu_sends_neither() {
        let mut e = stored();
        e.payload = json!({"user_data": {}, "data_processing_options": []});
        let body = event(&e, 1_800_000_000_000);
        assert!(body.get("page").is_none());
        assert!(body.get("limited_data_use").is_none());
        assert_eq!(body["properties"], json!({}));
    }
}
