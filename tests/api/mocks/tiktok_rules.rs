//! The validation of a TikTok Events API body, in the order of spec §6.7 (after the token
//! checks): the first failure rejects the whole request, with HTTP 200 and a code.

use serde_json::{Map, Value};

const EVENT_SOURCES: [&str; 4] = ["web", "app", "offline", "crm"];
/// User keys TikTok takes only as SHA-256 (a string or, for some, a list of them).
const HASHED: [&str; 6] = [
    "email",
    "phone",
    "external_id",
    "first_name",
    "last_name",
    "zip_code",
];
/// ISO 4217 codes on TikTok's fixed currency list (the common ones).
const CURRENCIES: [&str; 62] = [
    "AED", "ARS", "AUD", "BDT", "BGN", "BHD", "BOB", "BRL", "CAD", "CHF", "CLP", "CNY", "COP",
    "CRC", "CZK", "DKK", "DZD", "EGP", "EUR", "GBP", "GTQ", "HKD", "HNL", "HUF", "IDR", "ILS",
    "INR", "ISK", "JPY", "KES", "KRW", "KWD", "KZT", "MAD", "MOP", "MXN", "MYR", "NGN", "NIO",
    "NOK", "NZD", "OMR", "PEN", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RUB", "SAR", "SEK",
    "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VES", "VND", "ZAR", "IQD",
];

/// A refusal: TikTok's code and message.
#[derive(Debug)]
pub struct Rejection {
    pub code: i64,
    pub message: String,
}

fn invalid(message: String) -> Rejection {
    Rejection {
        code: 40002,
        message,
    }
}

fn is_hash(v: &Value) -> bool {
    let ok = |s: &str| {
        s.len() == 64
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    match v {
        Value::String(s) => ok(s),
        Value::Array(items) => {
            !items.is_empty() && items.iter().all(|i| i.as_str().is_some_and(ok))
        }
        _ => false,
    }
}

/// Checks the body from "a JSON object" on; `Ok` holds the events.
pub fn validate(body: &Value) -> Result<&Vec<Value>, Rejection> {
    let body = body
        .as_object()
        .ok_or_else(|| invalid("Invalid value for body: not a JSON object.".into()))?;
    let source = body.get("event_source").and_then(Value::as_str);
    if !source.is_some_and(|s| EVENT_SOURCES.contains(&s)) {
        return Err(invalid(
            "Invalid value for event_source: must be one of web, app, offline, crm.".into(),
        ));
    }
    if !body.get("event_source_id").is_some_and(Value::is_string) {
        return Err(invalid(
            "Invalid value for event_source_id: not a valid string.".into(),
        ));
    }
    let events = match body.get("data") {
        Some(Value::Array(events)) if (1..=1000).contains(&events.len()) => events,
        _ => {
            return Err(invalid(
                "Invalid value for data: must be an array of 1 to 1000 events.".into(),
            ));
        }
    };
    let web = source == Some("web");
    for (i, e) in events.iter().enumerate() {
        validate_event(e, web).map_err(|r| Rejection {
            code: r.code,
            message: format!("data.{i}.{}", r.message),
        })?;
    }
    Ok(events)
}

fn validate_event(e: &Value, web: bool) -> Result<(), Rejection> {
    let e = e
        .as_object()
        .ok_or_else(|| invalid("event: not an object.".into()))?;
    let name = e.get("event").and_then(Value::as_str);
    if name.is_none_or(str::is_empty) {
        return Err(invalid(
            "event: Invalid value for event: required string.".into(),
        ));
    }
    if !e
        .get("event_time")
        .is_some_and(|t| t.is_i64() || t.is_u64())
    {
        return Err(invalid(
            "event_time: Invalid value for event_time: not a valid integer.".into(),
        ));
    }
    if e.get("event_id").is_some_and(|id| !id.is_string()) {
        return Err(invalid(
            "event_id: Invalid value for event_id: not a valid string.".into(),
        ));
    }
    if web
        && !e
            .get("page")
            .and_then(|p| p.get("url"))
            .is_some_and(Value::is_string)
    {
        return Err(invalid("page.url: required for web events.".into()));
    }
    let empty = Map::new();
    let user = e.get("user").and_then(Value::as_object).unwrap_or(&empty);
    if let Some(key) = HASHED
        .iter()
        .find(|k| user.get(**k).is_some_and(|v| !is_hash(v)))
    {
        return Err(Rejection {
            code: 40062,
            message: format!("user.{key}: PII must be SHA-256 hashed."),
        });
    }
    validate_properties(e.get("properties").unwrap_or(&Value::Null))
}

fn validate_properties(p: &Value) -> Result<(), Rejection> {
    if p.get("value").is_some_and(|v| !v.is_number()) {
        return Err(invalid("properties.value: not a valid number.".into()));
    }
    if p.get("currency")
        .is_some_and(|c| !c.as_str().is_some_and(|c| CURRENCIES.contains(&c)))
    {
        return Err(invalid(
            "properties.currency: not a supported currency.".into(),
        ));
    }
    let contents = p.get("contents").and_then(Value::as_array);
    for (j, c) in contents.into_iter().flatten().enumerate() {
        if c.get("content_id").is_some_and(|id| !id.is_string()) {
            return Err(invalid(format!(
                "properties.contents.{j}.content_id: not a valid string."
            )));
        }
    }
    Ok(())
}
