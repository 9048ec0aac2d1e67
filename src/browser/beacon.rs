//! The beacon body, parsed: `{"events": [Observation, …]}` with 1 to 100 observations of
//! exactly the fields the script sends. Anything else is a 400 naming the field, so no
//! other data (a customer's email, say) can ride along into storage.

use serde_json::{Map, Value};

use crate::error::{AppError, AppResult};

pub const MAX_OBSERVATIONS: usize = 100;
/// 100 observations of the largest allowed fields stay well under this.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_NAME: usize = 100;
const MAX_ID: usize = 256;
const MAX_COOKIE: usize = 256;
const MAX_URL: usize = 2048;
/// Timestamps after this (the year 5138) are not milliseconds.
const MAX_TS_MS: i64 = 100_000_000_000_000;

const FIELDS: [&str; 6] = ["event_name", "event_id", "fbp", "fbc", "page_url", "ts_ms"];

/// One pixel event as the browser saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub event_name: String,
    /// `None` when the pixel was called without an `eventID`.
    pub event_id: Option<String>,
    pub fbp: Option<String>,
    pub fbc: Option<String>,
    /// The page's origin and path (query and fragment dropped).
    pub page_url: String,
    pub ts_ms: i64,
}

fn bad(field: String, message: impl Into<String>) -> AppError {
    AppError::bad_request("invalid_beacon", message).with_field(field)
}

/// Parses a beacon body (JSON, sent as `application/json` or `text/plain`).
pub fn parse(body: &[u8]) -> AppResult<Vec<Observation>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        AppError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    let events = value
        .get("events")
        .and_then(Value::as_array)
        .filter(|e| (1..=MAX_OBSERVATIONS).contains(&e.len()))
        .ok_or_else(|| {
            bad(
                "events".into(),
                format!("events must be an array of 1 to {MAX_OBSERVATIONS} observations"),
            )
        })?;
    if let Some(key) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "events"))
    {
        return Err(bad(key.clone(), format!("{key} is not a beacon field")));
    }
    events
        .iter()
        .enumerate()
        .map(|(i, e)| observation(i, e))
        .collect()
}

fn observation(i: usize, value: &Value) -> AppResult<Observation> {
    let at = |name: &str| format!("events[{i}].{name}");
    let obj = value
        .as_object()
        .ok_or_else(|| bad(format!("events[{i}]"), "an observation is an object"))?;
    if let Some(key) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(at(key), format!("{key} is not an observation field")));
    }
    let event_name = text(obj, "event_name", MAX_NAME, &at)?
        .ok_or_else(|| bad(at("event_name"), "event_name is required"))?;
    let event_id = text(obj, "event_id", MAX_ID, &at)?;
    let fbp = cookie(obj, "fbp", &at)?;
    let fbc = cookie(obj, "fbc", &at)?;
    let page_url = text(obj, "page_url", MAX_URL, &at)?
        .ok_or_else(|| bad(at("page_url"), "page_url is required"))?;
    if !(page_url.starts_with("https://") || page_url.starts_with("http://")) {
        return Err(bad(at("page_url"), "page_url must be an http(s) URL"));
    }
    let ts_ms = obj
        .get("ts_ms")
        .and_then(crate::whole::whole)
        .filter(|ts| (1..MAX_TS_MS).contains(ts))
        .ok_or_else(|| bad(at("ts_ms"), "ts_ms must be the time in milliseconds"))?;
    Ok(Observation {
        event_name,
        event_id,
        fbp,
        fbc,
        page_url: strip_query(&page_url),
        ts_ms,
    })
}

/// A string member up to `max` characters, without control characters; null, absent or
/// `""` is `None`.
fn text(
    obj: &Map<String, Value>,
    name: &str,
    max: usize,
    at: &dyn Fn(&str) -> String,
) -> AppResult<Option<String>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(bad(
            at(name),
            format!("{name} must be a string of at most {max} characters"),
        )),
    }
}

/// `_fbp` / `_fbc` as Meta writes them: `fb.<subdomain index>.<time>.<value>`.
fn cookie(
    obj: &Map<String, Value>,
    name: &str,
    at: &dyn Fn(&str) -> String,
) -> AppResult<Option<String>> {
    let value = text(obj, name, MAX_COOKIE, at)?;
    if let Some(v) = &value {
        let parts: Vec<&str> = v.splitn(4, '.').collect();
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let ok = parts.len() == 4
            && parts[0] == "fb"
            && digits(parts[1])
            && digits(parts[2])
            && !parts[3].is_empty()
            && v.is_ascii();
        if !ok {
            return Err(bad(
                at(name),
                format!("{name} must look like fb.1.1707499000.AbCd (the _{name} cookie)"),
            ));
        }
    }
    Ok(value)
}

fn strip_query(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(events: Value) -> Vec<u8> {
        json!({ "events": events }).to_string().into_bytes()
    }

    fn good() -> Value {
        json!({"event_name": "Purchase", "event_id": "order_1001", "fbp": "fb.1.1764590000000.123",
               "fbc": null, "page_url": "https://shop.example/thanks?email=a@b.example#x", "ts_ms": 1764590000000i64})
    }

    #[test]
    fn a_beacon_is_read_with_its_page_reduced_to_origin_and_path() {
        let parsed = parse(&body(json!([good()]))).unwrap();
        assert_eq!(
            parsed,
            vec![Observation {
                event_name: "Purchase".into(),
                event_id: Some("order_1001".into()),
                fbp: Some("fb.1.1764590000000.123".into()),
                fbc: None,
                page_url: "https://shop.example/thanks".into(),
                ts_ms: 1_764_590_000_000,
            }]
        );
    }

    #[test]
    fn a_missing_or_empty_event_id_is_none() {
        let mut e = good();
        e["event_id"] = json!("");
        let mut f = good();
        f.as_object_mut().unwrap().remove("event_id");
        let parsed = parse(&body(json!([e, f]))).unwrap();
        assert!(parsed.iter().all(|o| o.event_id.is_none()));
    }

    #[test]
    fn bad_bodies_are_400_naming_the_field() {
        let with = |field: &str, value: Value| {
            let mut e = good();
            e[field] = value;
            body(json!([good(), e]))
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{not json".to_vec(), ""),
            (body(json!([])), "events"),
            (body(json!(vec![good(); 101])), "events"),
            (
                json!({"events": [good()], "em": "x"})
                    .to_string()
                    .into_bytes(),
                "em",
            ),
            (with("event_name", json!(null)), "events[1].event_name"),
            (
                with("event_name", json!("x".repeat(101))),
                "events[1].event_name",
            ),
            (with("event_id", json!(12)), "events[1].event_id"),
            (with("fbp", json!("123")), "events[1].fbp"),
            (with("fbc", json!("fb.1.x.y")), "events[1].fbc"),
            (
                with("page_url", json!("javascript:alert(1)")),
                "events[1].page_url",
            ),
            (with("ts_ms", json!("now")), "events[1].ts_ms"),
            (with("ts_ms", json!(1.5)), "events[1].ts_ms"),
            (with("em", json!("jane@example.com")), "events[1].em"),
            (body(json!([good(), 5])), "events[1]"),
        ];
        for (raw, field) in cases {
            let e = parse(&raw).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::BadRequest, "{field}");
            assert_eq!(e.field.as_deref().unwrap_or(""), field);
        }
    }
}
