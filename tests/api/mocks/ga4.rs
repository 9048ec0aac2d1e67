//! Mock GA4 Measurement Protocol: `/mp/collect` answers 204 to anything (like GA4) but
//! records whether GA4 would have kept it; `/debug/mp/collect` (the validation server)
//! runs the same validation and answers 200 `{"validationMessages": [...]}`, recording
//! its requests apart: its events never count.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kickin::clock::{Clock, MS_PER_HOUR};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{Armed, take};

const RESERVED: [&str; 12] = [
    "ad_click",
    "ad_exposure",
    "ad_impression",
    "app_remove",
    "error",
    "first_open",
    "first_visit",
    "in_app_purchase",
    "page_view",
    "session_start",
    "user_engagement",
    "notification_receive",
];
const RESERVED_PREFIXES: [&str; 4] = ["_", "firebase_", "ga_", "google_"];
/// GA4 takes events backdated up to 72 hours.
const MAX_AGE_MICROS: i64 = 72 * MS_PER_HOUR * 1000;
/// Clock skew tolerated before a `timestamp_micros` counts as in the future.
const MAX_SKEW_MICROS: i64 = 60_000_000;

#[derive(Debug, Clone)]
pub struct Ga4Request {
    pub measurement_id: String,
    pub firebase_app_id: String,
    pub api_secret: String,
    pub body: Value,
    pub valid: bool,
    pub messages: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ga4Fault {
    ServerError,
    TooManyRequests { retry_after_secs: Option<u64> },
    Latency(Duration),
    Unauthorized,
}

#[derive(Clone, Default)]
struct Responder {
    requests: Arc<Mutex<Vec<Ga4Request>>>,
    faults: Arc<Mutex<Vec<Armed<Ga4Fault>>>>,
    debug: bool,
}

pub struct Ga4Mock {
    server: MockServer,
    responder: Responder,
    debug: Responder,
}

fn message(field: &str, code: &str, description: String) -> Value {
    json!({"fieldPath": field, "validationCode": code, "description": description})
}

fn valid_name(name: &str) -> bool {
    name.len() <= 40
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `timestamp_micros` older than GA4's 72 hours or ahead of the clock (spec §4.2).
fn out_of_range(body: &Value, now_ms: i64) -> Option<Value> {
    let t = body["timestamp_micros"].as_i64()?;
    let now = now_ms * 1000;
    let why = if t > now + MAX_SKEW_MICROS {
        "is in the future"
    } else if t < now - MAX_AGE_MICROS {
        "is older than 72 hours"
    } else {
        return None;
    };
    Some(message(
        "timestamp_micros",
        "VALUE_INVALID",
        format!("Measurement timestamp_micros [{t}] {why}."),
    ))
}

/// The validation of spec §4.2.
pub fn validate(body: &Value, app_stream: bool, now_ms: i64) -> Vec<Value> {
    let mut out = super::ga4_rules::stream_ids(body, app_stream);
    out.extend(super::ga4_rules::request_fields(body));
    let events = body["events"].as_array().cloned().unwrap_or_default();
    if events.is_empty() {
        out.push(message(
            "events",
            "VALUE_REQUIRED",
            "events are required".into(),
        ));
    }
    if events.len() > 25 {
        out.push(message(
            "events",
            "EXCEEDED_MAX_ENTITIES",
            "at most 25 events".into(),
        ));
    }
    if body.get("timestamp_micros").is_some_and(|t| !t.is_i64()) {
        out.push(message(
            "timestamp_micros",
            "VALUE_INVALID",
            "timestamp_micros must be an integer".into(),
        ));
    }
    for (i, e) in events.iter().enumerate() {
        let name = e["name"].as_str().unwrap_or_default();
        if !valid_name(name) {
            out.push(message(
                "events",
                "NAME_INVALID",
                format!("Event at index: [{i}] has invalid name [{name}]."),
            ));
        } else if RESERVED.contains(&name) || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            out.push(message(
                "events",
                "NAME_RESERVED",
                format!("Event at index: [{i}] has reserved name [{name}]."),
            ));
        }
        let params = e["params"].as_object().cloned().unwrap_or_default();
        if params.len() > 25 {
            out.push(message(
                &format!("events[{i}].params"),
                "EXCEEDED_MAX_ENTITIES",
                "at most 25 params".into(),
            ));
        }
        for key in params.keys() {
            if !valid_name(key) || (RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))) {
                out.push(message(
                    &format!("events[{i}].params"),
                    "NAME_INVALID",
                    format!("invalid param name [{key}]"),
                ));
            }
        }
    }
    out.extend(out_of_range(body, now_ms));
    out
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let query = |k: &str| {
            request
                .url
                .query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let app_stream = !query("firebase_app_id").is_empty();
        let messages = validate(&body, app_stream, Clock::system().now_ms());
        let recorded = Ga4Request {
            measurement_id: query("measurement_id"),
            firebase_app_id: query("firebase_app_id"),
            api_secret: query("api_secret"),
            valid: messages.is_empty(),
            messages: messages.clone(),
            body,
        };
        if self.debug {
            // The validation server checks the request, not the API secret.
            self.requests.lock().unwrap().push(recorded);
            return ResponseTemplate::new(200)
                .set_body_json(json!({"validationMessages": messages}));
        }
        let mut delay = None;
        match take(&self.faults) {
            Some(Ga4Fault::ServerError) => return ResponseTemplate::new(500),
            Some(Ga4Fault::Unauthorized) => return ResponseTemplate::new(401),
            Some(Ga4Fault::TooManyRequests { retry_after_secs }) => {
                let response = ResponseTemplate::new(429);
                return match retry_after_secs {
                    Some(s) => response.insert_header("Retry-After", s.to_string()),
                    None => response,
                };
            }
            Some(Ga4Fault::Latency(d)) => delay = Some(d),
            None => {}
        }
        self.requests.lock().unwrap().push(recorded);
        let response = ResponseTemplate::new(204);
        match delay {
            Some(d) => response.set_delay(d),
            None => response,
        }
    }
}

impl Ga4Mock {
    pub async fn start() -> Ga4Mock {
        let server = MockServer::start().await;
        let responder = Responder::default();
        Mock::given(method("POST"))
            .and(path("/mp/collect"))
            .respond_with(responder.clone())
            .mount(&server)
            .await;
        let debug = Responder {
            debug: true,
            ..Responder::default()
        };
        Mock::given(method("POST"))
            .and(path("/debug/mp/collect"))
            .respond_with(debug.clone())
            .mount(&server)
            .await;
        Ga4Mock {
            server,
            responder,
            debug,
        }
    }
    /// Requests to the validation server, `/debug/mp/collect`.
    pub fn debug_requests(&self) -> Vec<Ga4Request> {
        self.debug.requests.lock().unwrap().clone()
    }
    pub fn uri(&self) -> String {
        self.server.uri()
    }
    pub fn fail_next(&self, fault: Ga4Fault, times: u32) {
        self.responder.faults.lock().unwrap().push(Armed {
            fault,
            remaining: times,
        });
    }
    pub fn requests(&self) -> Vec<Ga4Request> {
        self.responder.requests.lock().unwrap().clone()
    }
    /// Events of requests with the right credentials, each with its request's ids copied in.
    pub fn events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for r in self
            .requests()
            .into_iter()
            .filter(|r| r.measurement_id == "G-TEST123" && r.api_secret == "ga4-secret-value")
        {
            for mut e in r.body["events"].as_array().cloned().unwrap_or_default() {
                e["client_id"] = r.body["client_id"].clone();
                e["user_id"] = r.body["user_id"].clone();
                out.push(e);
            }
        }
        out
    }
}
