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
    out.extend(consent(body.get("consent")));
    out.extend(user_data(body.get("user_data")));
    out
}

/// `consent` as Google's reference has it: only `ad_user_data` and
/// `ad_personalization`, each `GRANTED` or `DENIED` (spec §4.2, §6.8).
pub fn consent(consent: Option<&Value>) -> Vec<Value> {
    let Some(consent) = consent else {
        return Vec::new();
    };
    let Some(members) = consent.as_object() else {
        return vec![message(
            "consent",
            "VALUE_INVALID",
            "consent must be an object".into(),
        )];
    };
    let mut out = Vec::new();
    for (key, value) in members {
        let path = format!("consent.{key}");
        if !["ad_user_data", "ad_personalization"].contains(&key.as_str()) {
            out.push(message(
                &path,
                "NAME_INVALID",
                format!("unknown field [{key}]"),
            ));
        } else if !matches!(value.as_str(), Some("GRANTED" | "DENIED")) {
            let text = format!("{key} must be GRANTED or DENIED, not {value}");
            out.push(message(&path, "VALUE_INVALID", text));
        }
    }
    out
}

const ADDRESS_HASHED: [&str; 3] = ["sha256_first_name", "sha256_last_name", "sha256_street"];
const ADDRESS_PLAIN: [&str; 4] = ["city", "region", "postal_code", "country"];

fn is_hash(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `user_data` (Google's user-provided data): hashed email and phone lists, and
/// addresses of hashed names and street with plain city, region, postal code and
/// country. Hashes must be 64 hex characters [rec: the real reaction is not documented].
pub fn user_data(data: Option<&Value>) -> Vec<Value> {
    let Some(data) = data else {
        return Vec::new();
    };
    let bad = |path: &str, text: &str| message(path, "VALUE_INVALID", text.into());
    let Some(members) = data.as_object() else {
        return vec![bad("user_data", "user_data must be an object")];
    };
    let mut out = Vec::new();
    for (key, value) in members {
        let path = format!("user_data.{key}");
        let list = value.as_array();
        let ok = match key.as_str() {
            "sha256_email_address" | "sha256_phone_number" => {
                list.is_some_and(|l| l.iter().all(is_hash))
            }
            "address" => list.is_some_and(|l| l.iter().all(address_ok)),
            _ => {
                out.push(message(
                    &path,
                    "NAME_INVALID",
                    format!("unknown field [{key}]"),
                ));
                continue;
            }
        };
        if !ok {
            out.push(bad(
                &path,
                "must be a list of SHA-256 hex hashes (or addresses)",
            ));
        }
    }
    out
}

fn address_ok(a: &Value) -> bool {
    a.as_object().is_some_and(|o| {
        o.iter().all(|(k, v)| {
            (ADDRESS_HASHED.contains(&k.as_str()) && is_hash(v))
                || (ADDRESS_PLAIN.contains(&k.as_str()) && v.is_string())
        })
    })
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
