//! Meta's server-event fields beyond the common ones, checked as Meta checks them:
//! `app_data` (app events), `messaging_channel` (business-messaging events),
//! `original_event_data`, `customer_segmentation`, `opt_out`, `referrer_url` and Limited
//! Data Use. Each is kept as sent (in the event's `extra`) for Meta; what a Meta
//! destination needs but an event lacks is decided later as a skip, not a rejection,
//! because the event may still go to other destinations.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::event::{Fields, Rejection};
use crate::destinations::meta::MESSAGING_CHANNELS;

/// `app_data` members: booleans, strings and the string arrays.
const APP_BOOLEANS: [&str; 2] = [
    "advertiser_tracking_enabled",
    "application_tracking_enabled",
];
const APP_STRINGS: [&str; 6] = [
    "campaign_ids",
    "install_referrer",
    "installer_package",
    "vendor_id",
    "windows_attribution_id",
    "anon_id",
];
const APP_ARRAYS: [&str; 2] = ["extinfo", "url_schemes"];
/// `extinfo` is a 16-element array whose first element is its version: `a2` (Android)
/// or `i2` (iOS).
pub const EXTINFO_LEN: usize = 16;
const EXTINFO_VERSIONS: [&str; 2] = ["a2", "i2"];
const ORIGINAL_KEYS: [&str; 4] = ["event_name", "event_time", "order_id", "event_id"];

/// The fields, validated, keyed as Meta names them.
pub(super) fn parse(f: &Fields) -> Result<BTreeMap<String, Value>, Rejection> {
    let mut extra = BTreeMap::new();
    if let Some(v) = f.obj.get("opt_out").filter(|v| !v.is_null()) {
        if !v.is_boolean() {
            return Err(f.invalid("opt_out", "opt_out must be true or false"));
        }
        extra.insert("opt_out".to_string(), v.clone());
    }
    if let Some(url) = f.string("referrer_url", 2048)? {
        extra.insert("referrer_url".to_string(), Value::String(url.to_string()));
    }
    extra.extend(limited_data_use(f)?);
    if let Some(o) = f.object("original_event_data")? {
        let original = original_event_data(&f.nested("original_event_data", o))?;
        extra.insert("original_event_data".into(), original);
    }
    if let Some(o) = f.object("app_data")? {
        extra.insert("app_data".into(), app_data(&f.nested("app_data", o))?);
    }
    if let Some(channel) = f.string("messaging_channel", 32)? {
        if !MESSAGING_CHANNELS.iter().any(|(c, _)| *c == channel) {
            return Err(f.invalid(
                "messaging_channel",
                "messaging_channel must be whatsapp, messenger or instagram",
            ));
        }
        extra.insert("messaging_channel".into(), Value::String(channel.into()));
    }
    if let Some(code) = f.string("test_event_code", 64)? {
        if !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(f.invalid(
                "test_event_code",
                "test_event_code must be letters and digits",
            ));
        }
        extra.insert("test_event_code".into(), Value::String(code.into()));
    }
    if let Some(segment) = f.string("customer_segmentation", 64)? {
        let word = segment.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !word {
            return Err(f.invalid(
                "customer_segmentation",
                "customer_segmentation must be one of Meta's values, such as new_customer_to_business",
            ));
        }
        extra.insert(
            "customer_segmentation".into(),
            Value::String(segment.into()),
        );
    }
    Ok(extra)
}

/// `data_processing_options` (`[]` or `["LDU"]`) with its country and state codes.
fn limited_data_use(f: &Fields) -> Result<BTreeMap<String, Value>, Rejection> {
    let mut out = BTreeMap::new();
    let key = "data_processing_options";
    if let Some(v) = f.obj.get(key).filter(|v| !v.is_null()) {
        let ok = v
            .as_array()
            .is_some_and(|a| a.iter().all(|o| o.as_str() == Some("LDU")) && a.len() <= 1);
        if !ok {
            return Err(f.invalid(key, "data_processing_options must be [] or [\"LDU\"]"));
        }
        out.insert(key.to_string(), v.clone());
    }
    for (key, allowed) in [
        ("data_processing_options_country", &[0, 1][..]),
        ("data_processing_options_state", &[0, 1000][..]),
    ] {
        if let Some(code) = f.integer(key)? {
            if !allowed.contains(&code) {
                let list = allowed.iter().map(i64::to_string).collect::<Vec<_>>();
                return Err(f.invalid(key, format!("{key} must be {}", list.join(" or "))));
            }
            out.insert(key.to_string(), Value::from(code));
        }
    }
    Ok(out)
}

fn original_event_data(f: &Fields) -> Result<Value, Rejection> {
    if let Some(unknown) = f.obj.keys().find(|k| !ORIGINAL_KEYS.contains(&k.as_str())) {
        return Err(f.reject(
            unknown,
            "unknown_field",
            format!("{unknown} is not an original_event_data field"),
        ));
    }
    let mut out = Map::new();
    for key in ["event_name", "order_id", "event_id"] {
        if let Some(s) = f.string(key, 256)? {
            out.insert(key.into(), Value::String(s.into()));
        }
    }
    if let Some(t) = f.integer("event_time")? {
        if t <= 0 {
            return Err(f.invalid("event_time", "event_time must be a Unix time in seconds"));
        }
        out.insert("event_time".into(), Value::from(t));
    }
    if !out.contains_key("event_name") {
        return Err(f.reject(
            "event_name",
            "missing_field",
            "original_event_data needs the event_name of the event it follows",
        ));
    }
    Ok(Value::Object(out))
}

fn app_data(f: &Fields) -> Result<Value, Rejection> {
    let known =
        |k: &str| APP_BOOLEANS.contains(&k) || APP_STRINGS.contains(&k) || APP_ARRAYS.contains(&k);
    if let Some(unknown) = f.obj.keys().find(|k| !known(k)) {
        return Err(f.reject(
            unknown,
            "unknown_field",
            format!("{unknown} is not an app_data field"),
        ));
    }
    let mut out = Map::new();
    for key in APP_BOOLEANS {
        match f.obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => {
                out.insert(key.into(), Value::Bool(*b));
            }
            Some(_) => return Err(f.invalid(key, format!("{key} must be true or false"))),
        }
    }
    for key in APP_STRINGS {
        if let Some(s) = f.string(key, 1024)? {
            out.insert(key.into(), Value::String(s.into()));
        }
    }
    if let Some(list) = string_array(f, "url_schemes", 100)? {
        out.insert("url_schemes".into(), list);
    }
    if let Some(extinfo) = string_array(f, "extinfo", EXTINFO_LEN)? {
        let items = extinfo.as_array().map(Vec::len).unwrap_or_default();
        let version_ok = EXTINFO_VERSIONS.contains(&extinfo[0].as_str().unwrap_or_default());
        if items != EXTINFO_LEN || !version_ok {
            return Err(f.invalid(
                "extinfo",
                "extinfo must be the 16-element array whose first element is a2 (Android) or i2 (iOS)",
            ));
        }
        out.insert("extinfo".into(), extinfo);
    }
    Ok(Value::Object(out))
}

/// An array of at most `max` strings (numbers are not strings: `extinfo` is all text).
fn string_array(f: &Fields, key: &str, max: usize) -> Result<Option<Value>, Rejection> {
    match f.obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= max && items.iter().all(Value::is_string) => {
            Ok(Some(Value::Array(items.clone())))
        }
        Some(_) => Err(f.invalid(
            key,
            format!("{key} must be an array of at most {max} strings"),
        )),
    }
}
