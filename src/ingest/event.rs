//! `ValidatedEvent::parse`: one raw JSON event in, a checked event with hashed user data
//! out, or a rejection naming the field at fault. Pure: no I/O.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use uuid::Uuid;

pub use super::consent::Consent;
pub use super::ga4_fields::Ga4Fields;
use super::user_data::{self, UserData};
use crate::clock::{MS_PER_HOUR, rfc3339};

/// Meta's server-event `action_source` values.
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
const KNOWN_FIELDS: [&str; 20] = [
    "event_id",
    "event_name",
    "event_time",
    "action_source",
    "event_source_url",
    "user_data",
    "custom_data",
    "ga4",
    "destinations",
    "opt_out",
    "referrer_url",
    "data_processing_options",
    "data_processing_options_country",
    "data_processing_options_state",
    "original_event_data",
    "customer_segmentation",
    "app_data",
    "messaging_channel",
    "test_event_code",
    "consent",
];
/// Events further ahead than this are rejected (clock skew allowance).
pub const MAX_FUTURE_MS: i64 = 10 * 60 * 1000;
/// Meta deduplicates pixel and server copies only within 48 hours.
pub const LATE_AFTER_MS: i64 = 48 * MS_PER_HOUR;

/// Why an event was refused; `field` is the full path, e.g. `events[3].event_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedEvent {
    pub event_id: String,
    pub event_name: String,
    /// Unix seconds, as sent.
    pub event_time: i64,
    pub action_source: String,
    pub event_source_url: Option<String>,
    pub user_data: UserData,
    pub custom_data: Option<Map<String, Value>>,
    pub ga4: Ga4Fields,
    pub destinations: Option<Vec<Uuid>>,
    /// The visitor's consent, as given.
    pub consent: Consent,
    /// Other Meta server-event fields passed through as sent.
    pub extra: BTreeMap<String, Value>,
    pub warnings: Vec<Warning>,
}

/// What parsing needs to know besides the event.
pub struct ParseContext {
    pub now_ms: i64,
    pub require_event_id: bool,
}

/// A small cursor over one JSON object that builds field paths for errors.
pub(super) struct Fields<'a> {
    pub obj: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Fields<'a> {
    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
    pub fn reject(&self, key: &str, code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
            field: self.path(key),
        }
    }
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> Rejection {
        self.reject(key, "invalid_field", message)
    }
    /// A string member (absent, null and "" are `None`), at most `max` bytes.
    pub fn string(&self, key: &str, max: usize) -> Result<Option<&'a str>, Rejection> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s.len() > max || s.chars().any(char::is_control) => Err(self
                .invalid(
                    key,
                    format!("{key} must be at most {max} bytes of printable text"),
                )),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(key, format!("{key} must be a string"))),
        }
    }
    pub fn integer(&self, key: &str) -> Result<Option<i64>, Rejection> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => crate::whole::whole(v)
                .map(Some)
                .ok_or_else(|| self.invalid(key, format!("{key} must be a whole number"))),
        }
    }
    pub fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, Rejection> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(self.invalid(key, format!("{key} must be an object"))),
        }
    }
    pub fn nested(&self, key: &str, obj: &'a Map<String, Value>) -> Fields<'a> {
        Fields {
            obj,
            path: self.path(key),
        }
    }
}

impl ValidatedEvent {
    /// Parses event number `index` of a request.
    pub fn parse(
        index: usize,
        raw: &Value,
        ctx: &ParseContext,
    ) -> Result<ValidatedEvent, Rejection> {
        let path = format!("events[{index}]");
        let obj = raw.as_object().ok_or_else(|| Rejection {
            code: "invalid_event",
            message: "each event must be a JSON object".into(),
            field: path.clone(),
        })?;
        let f = Fields { obj, path };
        if let Some(unknown) = obj.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
            return Err(f.reject(
                unknown,
                "unknown_field",
                format!("{unknown} is not an event field"),
            ));
        }
        let event_name = f
            .string("event_name", 100)?
            .ok_or_else(|| f.reject("event_name", "missing_field", "event_name is required"))?
            .to_string();
        let event_time = parse_event_time(&f, ctx.now_ms)?;
        let event_id = match f.string("event_id", 256)? {
            Some(id) => id.to_string(),
            None if ctx.require_event_id => {
                return Err(f.reject(
                    "event_id",
                    "missing_event_id",
                    "event_id is required: without it the event cannot be deduplicated against the pixel",
                ));
            }
            None => format!("kickin-{}", Uuid::now_v7()),
        };
        let action_source = parse_action_source(&f)?;
        let event_source_url = parse_url(&f, &action_source)?;
        let user_data = match f.object("user_data")? {
            Some(obj) => user_data::parse(&f.nested("user_data", obj))?,
            None => UserData::default(),
        };
        let custom_data = match f.object("custom_data")? {
            Some(obj) => Some(super::custom_data::parse(&f.nested("custom_data", obj))?),
            None => None,
        };
        let ga4 = match f.object("ga4")? {
            Some(obj) => super::ga4_fields::parse(&f.nested("ga4", obj))?,
            None => Ga4Fields::default(),
        };
        let destinations = parse_destinations(&f)?;
        let consent = match f.object("consent")? {
            Some(obj) => super::consent::parse(&f.nested("consent", obj))?,
            None => Consent::default(),
        };
        let extra = super::meta_fields::parse(&f)?;
        let warnings = warnings_for(&event_name, event_time, ctx.now_ms);
        Ok(ValidatedEvent {
            event_id,
            event_name,
            event_time,
            action_source,
            event_source_url,
            user_data,
            custom_data,
            ga4,
            destinations,
            consent,
            extra,
            warnings,
        })
    }

    pub fn event_time_ms(&self) -> i64 {
        self.event_time.saturating_mul(1000)
    }
}

fn parse_event_time(f: &Fields, now_ms: i64) -> Result<i64, Rejection> {
    let seconds = match f.obj.get("event_time") {
        None | Some(Value::Null) => {
            return Err(f.reject("event_time", "missing_field", "event_time is required"));
        }
        Some(v) => crate::whole::whole(v),
    };
    let seconds = seconds
        .filter(|s| *s > 0 && *s < 100_000_000_000)
        .ok_or_else(|| {
            f.invalid(
                "event_time",
                "event_time must be a Unix time in whole seconds",
            )
        })?;
    if seconds * 1000 > now_ms + MAX_FUTURE_MS {
        return Err(f.reject(
            "event_time",
            "future_event",
            format!(
                "event_time is more than 10 minutes in the future (server time {})",
                rfc3339(now_ms)
            ),
        ));
    }
    Ok(seconds)
}

fn parse_action_source(f: &Fields) -> Result<String, Rejection> {
    match f.string("action_source", 32)? {
        None => Ok("other".into()),
        Some(s) if ACTION_SOURCES.contains(&s) => Ok(s.to_string()),
        Some(_) => Err(f.invalid(
            "action_source",
            format!("action_source must be one of {}", ACTION_SOURCES.join(", ")),
        )),
    }
}

fn parse_url(f: &Fields, action_source: &str) -> Result<Option<String>, Rejection> {
    let url = f.string("event_source_url", 2048)?;
    if let Some(u) = url {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && !u.contains(char::is_whitespace);
        if !ok {
            return Err(f.invalid(
                "event_source_url",
                "event_source_url must be an http(s) URL",
            ));
        }
    } else if action_source == "website" {
        return Err(f.reject(
            "event_source_url",
            "missing_field",
            "event_source_url is required when action_source is website",
        ));
    }
    Ok(url.map(str::to_string))
}

fn parse_destinations(f: &Fields) -> Result<Option<Vec<Uuid>>, Rejection> {
    let list = match f.obj.get("destinations") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(f.invalid(
                "destinations",
                "destinations must be an array of destination ids",
            ));
        }
    };
    let mut ids = Vec::with_capacity(list.len());
    for (j, item) in list.iter().enumerate() {
        let id = item
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| {
                f.invalid(
                    &format!("destinations[{j}]"),
                    "each destination must be a destination id",
                )
            })?;
        ids.push(id);
    }
    Ok(Some(ids))
}

fn warnings_for(event_name: &str, event_time: i64, now_ms: i64) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if let Some(standard) = crate::destinations::case_mismatch(event_name) {
        warnings.push(Warning {
            code: "event_name_case".into(),
            message: format!(
                "{event_name} differs from Meta's standard event {standard} only by case: Meta treats it as a custom event and will not match it with the pixel's {standard}"
            ),
        });
    }
    if event_time * 1000 < now_ms - LATE_AFTER_MS {
        warnings.push(Warning {
            code: "late_event".into(),
            message: "event_time is more than 48 hours before receipt: Meta will not deduplicate it against the browser pixel".into(),
        });
    }
    warnings
}
