//! The event as `POST /v1/events` and the Meta-compatible endpoint take it: every field
//! ingest accepts, with the constraints ingest checks (src/ingest/event.rs and its
//! neighbours). An event that fails a rule JSON Schema cannot express (an
//! `event_source_url` for website events, the 48-hour and 10-minute windows) is rejected
//! in its result, not by the request.

use serde_json::{Value, json};

use super::bodies::{components, text};
use crate::ingest::MAX_EVENTS_PER_REQUEST;
use crate::ingest::pii::HashedKey;
use crate::ingest::user_data::PLAIN_KEYS;

/// Adds `Event` and its parts to the components and points `POST /v1/events` at
/// `EventsRequest`.
pub fn complete(doc: &mut Value) {
    let schemas = components(doc);
    schemas.insert("Event".into(), event());
    schemas.insert("UserData".into(), user_data());
    schemas.insert("CustomData".into(), custom_data());
    schemas.insert("Ga4Fields".into(), ga4());
    schemas.insert("AppData".into(), app_data());
    schemas.insert("Consent".into(), consent());
    schemas.insert("EventsRequest".into(), events_request());
    if let Some(op) = doc.pointer_mut("/paths/~1v1~1events/post") {
        op["requestBody"] = json!({"required": true, "description":
            "1 to 1,000 events; each is accepted, deduplicated, skipped or rejected on its own",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventsRequest"}}}});
    }
}

fn events_request() -> Value {
    json!({"type": "object", "required": ["events"], "additionalProperties": false,
        "properties": {
            "events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS_PER_REQUEST,
                       "items": {"$ref": "#/components/schemas/Event"}},
            "test_event_code": test_event_code("Meta/TikTok test code for every event of this request (a destination's own code wins)")}})
}

fn event() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["event_name", "event_time"],
        "description": "Meta's server event. event_source_url is required when action_source is website; event_id is required unless the tenant turned require_event_id off.",
        "properties": {
            "event_id": text(256, "the id the pixel used for the same conversion: the dedup key with event_name"),
            "event_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "event_time": {"type": "integer", "minimum": 1, "maximum": 99_999_999_999_i64,
                           "description": "Unix seconds; at most 10 minutes ahead"},
            "action_source": {"type": "string", "enum": ["website", "app", "email", "phone_call", "chat",
                "physical_store", "system_generated", "business_messaging", "other"]},
            "event_source_url": {"type": "string", "maxLength": 2048, "pattern": "^https?://\\S*$"},
            "referrer_url": text(2048, "the page before event_source_url"),
            "opt_out": {"type": "boolean"},
            "user_data": {"$ref": "#/components/schemas/UserData"},
            "custom_data": {"$ref": "#/components/schemas/CustomData"},
            "ga4": {"$ref": "#/components/schemas/Ga4Fields"},
            "consent": {"$ref": "#/components/schemas/Consent"},
            "destinations": {"type": "array", "items": {"type": "string", "format": "uuid"},
                             "description": "only these of the tenant's destinations (default: every enabled one)"},
            "data_processing_options": {"type": "array", "maxItems": 1, "items": {"enum": ["LDU"]}},
            "data_processing_options_country": {"type": "integer", "enum": [0, 1]},
            "data_processing_options_state": {"type": "integer", "enum": [0, 1000]},
            "original_event_data": {"type": "object", "additionalProperties": false, "required": ["event_name"],
                "properties": {"event_name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "event_time": {"type": "integer", "minimum": 1}, "order_id": text(256, ""), "event_id": text(256, "")}},
            "customer_segmentation": {"type": ["string", "null"], "maxLength": 64, "pattern": "^[a-z_]*$"},
            "app_data": {"$ref": "#/components/schemas/AppData"},
            "messaging_channel": {"type": "string", "enum": ["whatsapp", "messenger", "instagram"]},
            "test_event_code": test_event_code("Meta/TikTok test code for this event only")}})
}

fn user_data() -> Value {
    let mut properties = serde_json::Map::new();
    let hashed = json!({"oneOf": [
        {"type": "string", "minLength": 1, "maxLength": 256},
        {"type": "array", "maxItems": 10, "items": {"type": "string", "minLength": 1, "maxLength": 256}}],
        "description": "raw (normalized and SHA-256 hashed at ingest, per Meta's rules) or a 64-hex hash"});
    for key in HashedKey::ALL {
        properties.insert(key.name().into(), hashed.clone());
    }
    for key in PLAIN_KEYS {
        properties.insert(key.into(), text(1024, "sent unhashed; sealed at rest"));
    }
    json!({"type": "object", "additionalProperties": false, "properties": properties})
}

fn custom_data() -> Value {
    json!({"type": "object", "maxProperties": 100,
        "description": "Meta's custom data; other members pass through as given",
        "properties": {
            "value": {"type": "number", "minimum": 0},
            "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
            "order_id": text(256, "also GA4's transaction_id"),
            "content_type": text(32, ""),
            "num_items": {"type": "integer", "minimum": 0},
            "content_ids": {"type": "array", "maxItems": 200, "items": {"type": "string"}},
            "contents": {"type": "array", "maxItems": 200, "items": {"type": "object", "required": ["id"],
                "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 256},
                    "quantity": {"type": "integer", "minimum": 0}, "item_price": {"type": "number"}}}}}})
}

fn ga4() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "client_id": text(100, "needed for a GA4 web stream; without it GA4 is skipped missing_client_id"),
        "app_instance_id": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$", "description": "for GA4 app streams"},
        "user_id": text(256, ""),
        "session_id": text(100, ""),
        "engagement_time_msec": {"type": "integer", "minimum": 0},
        "user_properties": {"type": "object", "maxProperties": 25,
            "description": "name (at most 24 characters, not starting with _, firebase_, ga_ or google_) → {\"value\": v} or v"},
        "user_location": {"type": "object", "additionalProperties": false, "properties": {
            "city": text(100, ""), "region_id": text(100, ""), "country_id": text(100, ""),
            "subcontinent_id": text(100, ""), "continent_id": text(100, "")}},
        "device": {"type": "object", "additionalProperties": false, "properties": {
            "category": text(100, ""), "language": text(100, ""), "screen_resolution": text(100, ""),
            "operating_system": text(100, ""), "operating_system_version": text(100, ""),
            "model": text(100, ""), "brand": text(100, ""), "browser": text(100, ""),
            "browser_version": text(100, "")}},
        "ip_override": {"type": "string", "maxLength": 64, "description": "an IPv4 or IPv6 address; sealed at rest"}}})
}

fn app_data() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "advertiser_tracking_enabled": {"type": "boolean"},
        "application_tracking_enabled": {"type": "boolean"},
        "extinfo": {"type": "array", "minItems": 16, "maxItems": 16, "items": {"type": "string"},
                    "description": "Meta's 16-element extinfo; the first element is a2 (Android) or i2 (iOS)"},
        "url_schemes": {"type": "array", "maxItems": 100, "items": {"type": "string"}},
        "campaign_ids": text(1024, ""), "install_referrer": text(1024, ""),
        "installer_package": text(1024, ""), "vendor_id": text(1024, ""),
        "windows_attribution_id": text(1024, ""), "anon_id": text(1024, "")}})
}

fn consent() -> Value {
    let choice = json!({"type": "string", "enum": ["granted", "denied"]});
    json!({"type": "object", "additionalProperties": false,
        "description": "The visitor's choice; GA4 receives it as GRANTED/DENIED. Under consent_policy enforce, ad_user_data other than granted skips Meta and TikTok (consent_denied).",
        "properties": {"ad_user_data": choice, "ad_personalization": choice}})
}

/// Letters and digits, 1 to 64 of them, as Meta's Test Events tool shows them.
pub fn test_event_code(description: &str) -> Value {
    json!({"type": ["string", "null"], "pattern": "^[A-Za-z0-9]{1,64}$", "description": description})
}
