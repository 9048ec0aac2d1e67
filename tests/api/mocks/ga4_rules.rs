//! GA4's request-level rules (spec §2.2–2.3): a web stream's `client_id` or an app
//! stream's `app_instance_id`, user properties within their limits, and the shapes of
//! `user_location`, `device`, `ip_override` and `consent`.

use serde_json::{Value, json};

const LOCATION_KEYS: [&str; 5] = [
    "city",
    "region_id",
    "country_id",
    "subcontinent_id",
    "continent_id",
];
const DEVICE_KEYS: [&str; 9] = [
    "category",
    "language",
    "screen_resolution",
    "operating_system",
    "operating_system_version",
    "model",
    "brand",
    "browser",
    "browser_version",
];
const TOP_LEVEL: [&str; 13] = [
    "client_id",
    "app_instance_id",
    "user_id",
    "timestamp_micros",
    "user_properties",
    "user_data",
    "consent",
    "non_personalized_ads",
    "user_location",
    "ip_override",
    "device",
    "validation_behavior",
    "events",
];

fn message(field: &str, code: &str, description: String) -> Value {
    json!({"fieldPath": field, "validationCode": code, "description": description})
}

/// The stream's id rule: web streams (`measurement_id`) need `client_id`, app streams
/// (`firebase_app_id`) `app_instance_id`.
pub fn stream_ids(body: &Value, app_stream: bool) -> Vec<Value> {
    let (key, other) = if app_stream {
        ("app_instance_id", "client_id")
    } else {
        ("client_id", "app_instance_id")
    };
    let mut out = Vec::new();
    if body[key].as_str().is_none_or(str::is_empty) {
        out.push(message(key, "VALUE_REQUIRED", format!("{key} is required")));
    }
    if body.get(other).is_some() {
        let text = format!("{other} does not belong to this stream type");
        out.push(message(other, "VALUE_INVALID", text));
    }
    if app_stream
        && !body["app_instance_id"]
            .as_str()
            .is_none_or(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
    {
        let text = "app_instance_id must be 32 hexadecimal digits".to_string();
        out.push(message("app_instance_id", "VALUE_INVALID", text));
    }
    out
}

/// Unknown top-level keys, user properties and the optional hints.
pub fn request_fields(body: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for key in body.as_object().into_iter().flat_map(|o| o.keys()) {
        if !TOP_LEVEL.contains(&key.as_str()) {
            out.push(message(
                key,
                "NAME_INVALID",
                format!("unknown field [{key}]"),
            ));
        }
    }
    out.extend(user_properties(&body["user_properties"]));
    for (key, allowed) in [
        ("user_location", &LOCATION_KEYS[..]),
        ("device", &DEVICE_KEYS[..]),
    ] {
        if let Some(obj) = body.get(key) {
            let known = obj.as_object().is_some_and(|o| {
                o.iter()
                    .all(|(k, v)| allowed.contains(&k.as_str()) && v.is_string())
            });
            if !known {
                out.push(message(
                    key,
                    "VALUE_INVALID",
                    format!("{key} has unknown or non-text fields"),
                ));
            }
        }
    }
    if let Some(ip) = body.get("ip_override")
        && ip
            .as_str()
            .is_none_or(|s| s.parse::<std::net::IpAddr>().is_err())
    {
        out.push(message(
            "ip_override",
            "VALUE_INVALID",
            "ip_override must be an IP address".into(),
        ));
    }
    out
}

fn user_properties(props: &Value) -> Vec<Value> {
    let Some(props) = props.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if props.len() > 25 {
        out.push(message(
            "user_properties",
            "EXCEEDED_MAX_ENTITIES",
            "at most 25 user properties".into(),
        ));
    }
    for (name, prop) in props {
        if name.len() > 24 {
            out.push(message(
                "user_properties",
                "NAME_INVALID",
                format!("user property name [{name}] is longer than 24"),
            ));
        }
        let value = &prop["value"];
        let fits = match value {
            Value::String(s) => s.chars().count() <= 36,
            Value::Number(_) | Value::Null => true,
            _ => false,
        };
        if prop.as_object().is_none_or(|o| !o.contains_key("value")) || !fits {
            out.push(message(
                "user_properties",
                "VALUE_INVALID",
                format!("user property [{name}] needs a value of at most 36 characters"),
            ));
        }
    }
    out
}
