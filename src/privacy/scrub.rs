//! What "loses the person's user data" means for one stored event: its payload keeps
//! everything billing, dedup and the reports read (ids, name, times, custom data,
//! action source) and drops every hashed key, the extra hashes, the GA4 user
//! properties, location and device and the app's device identifiers; the sealed
//! identifiers (IP, user agent, click and browser ids, GA4 ids) go altogether.

use serde_json::{Map, Value};

/// GA4 request members that describe the person.
const GA4_PERSONAL: [&str; 3] = ["user_properties", "user_location", "device"];
/// `app_data` members that identify a device.
const APP_PERSONAL: [&str; 5] = [
    "anon_id",
    "vendor_id",
    "extinfo",
    "windows_attribution_id",
    "install_referrer",
];

/// Whether the payload's `user_data` carries one of `hashes` (as a value or in an array).
pub fn carries(payload: &Value, hashes: &[String]) -> bool {
    let Some(user_data) = payload.get("user_data").and_then(Value::as_object) else {
        return false;
    };
    let is_wanted = |v: &Value| v.as_str().is_some_and(|s| hashes.iter().any(|h| h == s));
    user_data.values().any(|v| match v {
        Value::Array(items) => items.iter().any(is_wanted),
        other => is_wanted(other),
    })
}

/// The payload without the person's data, or `None` when it holds none (already
/// scrubbed, or purged).
pub fn strip(payload: &Value) -> Option<Value> {
    let mut out = payload.as_object()?.clone();
    let mut changed = false;
    if out
        .get("user_data")
        .is_some_and(|u| u.as_object().is_none_or(|m| !m.is_empty()))
    {
        out.insert("user_data".into(), Value::Object(Map::new()));
        changed = true;
    }
    changed |= out.remove("alt_hashes").is_some();
    changed |= remove_members(&mut out, "ga4", &GA4_PERSONAL);
    changed |= remove_members(&mut out, "app_data", &APP_PERSONAL);
    changed.then_some(Value::Object(out))
}

fn remove_members(payload: &mut Map<String, Value>, key: &str, members: &[&str]) -> bool {
    let Some(obj) = payload.get_mut(key).and_then(Value::as_object_mut) else {
        return false;
    };
    let before = obj.len();
    obj.retain(|k, _| !members.contains(&k.as_str()));
    obj.len() != before
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_is_found_by_any_of_its_hashes_in_a_value_or_an_array() {
        let event =
            json!({"user_data": {"em": ["aa", "bb"], "ph": "cc"}, "custom_data": {"x": "dd"}});
        assert!(carries(&event, &["bb".into()]));
        assert!(carries(&event, &["cc".into()]));
        assert!(
            !carries(&event, &["dd".into()]),
            "custom data is no identity"
        );
    }

    #[test]
    fn stripping_keeps_what_billing_and_dedup_read_and_is_idempotent() {
        let event = json!({"action_source": "website", "user_data": {"em": "aa"},
            "alt_hashes": {"ph_e164": "bb"}, "custom_data": {"value": 1},
            "ga4": {"session_id": "1", "user_properties": {"tier": {"value": "gold"}}},
            "app_data": {"extinfo": ["a2"], "advertiser_tracking_enabled": true}});
        let stripped = strip(&event).unwrap();
        assert_eq!(
            stripped,
            json!({"action_source": "website", "user_data": {}, "custom_data": {"value": 1},
                "ga4": {"session_id": "1"}, "app_data": {"advertiser_tracking_enabled": true}})
        );
        assert_eq!(strip(&stripped), None);
        assert_eq!(strip(&json!({})), None, "a purged payload has nothing left");
    }
}
