//! The validation of a Meta CAPI request, in the order of spec §4.1: the first failure
//! rejects the whole request with HTTP 400 and code 100.

use serde_json::Value;

const ACTION_SOURCES: [&str; 9] = [
    "website",
    "app",
    "email",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
];
const HASHED: [&str; 11] = [
    "em",
    "ph",
    "fn",
    "ln",
    "ge",
    "db",
    "ct",
    "st",
    "zp",
    "country",
    "external_id",
];
/// Every server-event parameter Meta defines; anything else is refused.
const EVENT_FIELDS: [&str; 16] = [
    "event_name",
    "event_time",
    "event_id",
    "user_data",
    "custom_data",
    "action_source",
    "event_source_url",
    "opt_out",
    "referrer_url",
    "data_processing_options",
    "data_processing_options_country",
    "data_processing_options_state",
    "original_event_data",
    "customer_segmentation",
    "app_data",
    "messaging_channel",
];
/// The customer-information parameters Meta takes unhashed.
const PLAIN: [&str; 15] = [
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "page_id",
    "page_scoped_user_id",
    "ctwa_clid",
    "ig_account_id",
    "ig_sid",
    "anon_id",
    "madid",
    "whatsapp_business_account_id",
];
/// Per messaging channel, the ids a business-messaging event needs.
const CHANNEL_IDS: [(&str, [&str; 2]); 3] = [
    ("whatsapp", ["whatsapp_business_account_id", "ctwa_clid"]),
    ("messenger", ["page_id", "page_scoped_user_id"]),
    ("instagram", ["ig_account_id", "ig_sid"]),
];
const FORBIDDEN_ONLY: [&[&str]; 4] = [
    &["ct", "country", "st", "zp", "ge", "client_user_agent"],
    &["db", "client_user_agent"],
    &["fn", "ge"],
    &["ln", "ge"],
];

fn is_hash(v: &Value) -> bool {
    let ok = |s: &str| {
        s.len() == 64
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    match v {
        Value::String(s) => ok(s),
        Value::Array(items) => items.iter().all(|i| i.as_str().is_some_and(ok)),
        _ => false,
    }
}

/// `Err(message)` names the event index and field that failed.
pub fn validate_data(data: &Value, now_secs: i64) -> Result<usize, String> {
    let events = data.as_array().ok_or("data must be an array")?;
    if events.is_empty() || events.len() > 1000 {
        return Err(format!(
            "data must hold 1 to 1000 events, got {}",
            events.len()
        ));
    }
    for (i, e) in events.iter().enumerate() {
        validate_event(e, now_secs).map_err(|m| format!("event {i}: {m}"))?;
    }
    Ok(events.len())
}

fn validate_event(e: &Value, now_secs: i64) -> Result<(), String> {
    let obj = e.as_object().ok_or("each event must be an object")?;
    if let Some(unknown) = obj.keys().find(|k| !EVENT_FIELDS.contains(&k.as_str())) {
        return Err(format!("{unknown} is not a server event parameter"));
    }
    for key in ["event_name", "event_time", "user_data", "action_source"] {
        if e.get(key).is_none_or(Value::is_null) {
            return Err(format!("{key} is required"));
        }
    }
    let source = e["action_source"].as_str().unwrap_or_default();
    if !ACTION_SOURCES.contains(&source) {
        return Err("action_source is not valid".into());
    }
    let time = e["event_time"]
        .as_i64()
        .ok_or("event_time must be an integer")?;
    if time < now_secs - 7 * 86_400 {
        return Err("event_time is older than 7 days".into());
    }
    if time > now_secs + 300 {
        return Err("event_time is in the future".into());
    }
    let user = e["user_data"]
        .as_object()
        .ok_or("user_data must be an object")?;
    if source == "website"
        && (e.get("event_source_url").is_none() || !user.contains_key("client_user_agent"))
    {
        return Err("website events need event_source_url and client_user_agent".into());
    }
    if let Some(unknown) =
        (user.keys()).find(|k| !HASHED.contains(&k.as_str()) && !PLAIN.contains(&k.as_str()))
    {
        return Err(format!(
            "user_data.{unknown} is not a customer information parameter"
        ));
    }
    validate_source_needs(e, source, user)?;
    if let Some(bad) = HASHED
        .iter()
        .find(|k| user.get(**k).is_some_and(|v| !is_hash(v)))
    {
        return Err(format!("user_data.{bad} must be SHA-256 hashed"));
    }
    let keys: Vec<&str> = user.keys().map(String::as_str).collect();
    if keys.is_empty()
        || FORBIDDEN_ONLY
            .iter()
            .any(|set| keys.iter().all(|k| set.contains(k)))
    {
        return Err("customer information is insufficient to match".into());
    }
    Ok(())
}

/// App events need `app_data` with both tracking flags and a 16-element `extinfo`;
/// business-messaging events their channel and its ids.
fn validate_source_needs(
    e: &Value,
    source: &str,
    user: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    if source == "app" {
        let app = &e["app_data"];
        for flag in [
            "advertiser_tracking_enabled",
            "application_tracking_enabled",
        ] {
            if !app[flag].is_boolean() {
                return Err(format!("app_data.{flag} is required for app events"));
            }
        }
        let extinfo = app["extinfo"]
            .as_array()
            .ok_or("app_data.extinfo is required for app events")?;
        let version = extinfo.first().and_then(Value::as_str);
        if extinfo.len() != 16 || !matches!(version, Some("a2" | "i2")) {
            return Err("app_data.extinfo must hold 16 values starting with a2 or i2".into());
        }
    }
    if source == "business_messaging" {
        let channel = e["messaging_channel"].as_str();
        let (_, ids) = CHANNEL_IDS
            .iter()
            .find(|(c, _)| Some(*c) == channel)
            .ok_or("messaging_channel is required for business_messaging events")?;
        if let Some(missing) = ids.iter().find(|k| !user.contains_key(**k)) {
            return Err(format!(
                "user_data.{missing} is required for {} events",
                channel.unwrap_or_default()
            ));
        }
    }
    Ok(())
}
