//! The event's `ga4` object: the ids GA4 needs (a web stream's `client_id`, an app
//! stream's `app_instance_id`, `user_id`), session and engagement, and the request-level
//! hints GA4 takes (`user_properties`, `user_location`, `device`, `ip_override`),
//! checked against GA4's limits (spec §2.2–2.3).

use serde_json::{Map, Value};

use super::event::{Fields, Rejection};

const KNOWN: [&str; 9] = [
    "client_id",
    "user_id",
    "session_id",
    "engagement_time_msec",
    "app_instance_id",
    "user_properties",
    "user_location",
    "device",
    "ip_override",
];
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
const MAX_USER_PROPERTIES: usize = 25;
const MAX_PROPERTY_NAME: usize = 24;
const MAX_PROPERTY_VALUE: usize = 36;
const RESERVED_PREFIXES: [&str; 4] = ["_", "firebase_", "ga_", "google_"];

/// GA4-specific fields of an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ga4Fields {
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub engagement_time_msec: Option<i64>,
    /// An app stream's id of the app install (sealed, like `client_id`).
    pub app_instance_id: Option<String>,
    /// The visitor's IP for GA4's geolocation (sealed).
    pub ip_override: Option<String>,
    /// `user_properties`, `user_location` and `device`, as GA4 takes them.
    pub request: Map<String, Value>,
}

pub(super) fn parse(f: &Fields) -> Result<Ga4Fields, Rejection> {
    if let Some(unknown) = f.obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        let message = format!("{unknown} is not a ga4 field");
        return Err(f.reject(unknown, "unknown_field", message));
    }
    let session_id = match f.obj.get("session_id") {
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        _ => f.string("session_id", 100)?.map(str::to_string),
    };
    let engagement = f.integer("engagement_time_msec")?;
    if engagement.is_some_and(|e| e < 0) {
        let message = "engagement_time_msec must be zero or more";
        return Err(f.invalid("engagement_time_msec", message));
    }
    let mut request = Map::new();
    if let Some(props) = f.object("user_properties")? {
        let props = user_properties(&f.nested("user_properties", props))?;
        request.insert("user_properties".into(), props);
    }
    for (key, allowed) in [
        ("user_location", &LOCATION_KEYS[..]),
        ("device", &DEVICE_KEYS[..]),
    ] {
        if let Some(obj) = f.object(key)? {
            request.insert(key.into(), text_members(&f.nested(key, obj), allowed)?);
        }
    }
    Ok(Ga4Fields {
        client_id: f.string("client_id", 100)?.map(str::to_string),
        user_id: f.string("user_id", 256)?.map(str::to_string),
        session_id,
        engagement_time_msec: engagement,
        app_instance_id: app_instance_id(f)?,
        ip_override: ip_override(f)?,
        request,
    })
}

fn app_instance_id(f: &Fields) -> Result<Option<String>, Rejection> {
    let id = f.string("app_instance_id", 32)?;
    if id.is_some_and(|id| id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit())) {
        let message = "app_instance_id must be the 32 hexadecimal digits Firebase gives the app";
        return Err(f.invalid("app_instance_id", message));
    }
    Ok(id.map(str::to_string))
}

fn ip_override(f: &Fields) -> Result<Option<String>, Rejection> {
    let ip = f.string("ip_override", 64)?;
    if ip.is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err()) {
        return Err(f.invalid("ip_override", "ip_override must be an IPv4 or IPv6 address"));
    }
    Ok(ip.map(str::to_string))
}

/// `{"name": {"value": v}}` (or the shorthand `{"name": v}`), within GA4's limits.
fn user_properties(f: &Fields) -> Result<Value, Rejection> {
    if f.obj.len() > MAX_USER_PROPERTIES {
        let message = format!("send at most {MAX_USER_PROPERTIES} user properties");
        return Err(Rejection {
            code: "invalid_field",
            message,
            field: f.path.clone(),
        });
    }
    let mut out = Map::new();
    for (name, raw) in f.obj {
        let named = name.len() <= MAX_PROPERTY_NAME
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !RESERVED_PREFIXES.iter().any(|p| name.starts_with(p));
        if !named {
            let message = format!(
                "{name} must be a GA4 user property name: letters, digits and _, at most {MAX_PROPERTY_NAME}, starting with a letter"
            );
            return Err(f.invalid(name, message));
        }
        let value = match raw {
            Value::Object(o) if o.keys().all(|k| k == "value") => {
                o.get("value").cloned().unwrap_or(Value::Null)
            }
            other => other.clone(),
        };
        let fits = match &value {
            Value::String(s) => s.chars().count() <= MAX_PROPERTY_VALUE,
            Value::Number(_) | Value::Bool(_) | Value::Null => true,
            _ => false,
        };
        if !fits {
            let message =
                format!("{name} must be a number or at most {MAX_PROPERTY_VALUE} characters");
            return Err(f.invalid(name, message));
        }
        out.insert(name.clone(), serde_json::json!({ "value": value }));
    }
    Ok(Value::Object(out))
}

/// An object of short text members among `allowed`.
fn text_members(f: &Fields, allowed: &[&str]) -> Result<Value, Rejection> {
    let mut out = Map::new();
    for key in f.obj.keys() {
        if !allowed.contains(&key.as_str()) {
            let message = format!("{key} is not one of {}", allowed.join(", "));
            return Err(f.reject(key, "unknown_field", message));
        }
        if let Some(v) = f.string(key, 100)? {
            out.insert(key.clone(), Value::String(v.into()));
        }
    }
    Ok(Value::Object(out))
}
