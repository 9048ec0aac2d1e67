//! Mock Meta CAPI: `POST /{version}/{pixel_id}/events`, token in the query string.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::meta_rules::validate_data;
use super::{Armed, take, trace_id};

#[derive(Debug, Clone)]
pub struct MetaEvent {
    pub pixel_id: String,
    pub event_id: Option<String>,
    pub event_name: String,
    pub test_event_code: Option<String>,
    pub event: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetaFault {
    ServerError,
    RateLimit {
        code: i64,
        regain_minutes: i64,
    },
    InvalidToken,
    /// Answer normally, after a delay.
    Latency(Duration),
    /// 200 with one event fewer received than sent.
    Anomaly,
    /// Reject every batch containing this event id (400, code 100).
    RejectEventId(String),
}

/// Faults armed per pixel id.
type Faults = Arc<Mutex<Vec<Armed<(String, MetaFault)>>>>;

#[derive(Default)]
struct State {
    tokens: HashSet<String>,
    pixels: HashSet<String>,
    received: Vec<MetaEvent>,
    requests: usize,
    /// Meta's "now" for event times: the system's unless the world's clock is shared.
    clock: Option<kickin::clock::Clock>,
}

/// Called on every request before it is answered (e.g. to move the app's clock, so a
/// slow destination is simulated without waiting).
type Hook = Arc<Mutex<Option<Box<dyn Fn() + Send>>>>;

#[derive(Clone)]
struct Responder {
    state: Arc<Mutex<State>>,
    faults: Faults,
    on_request: Hook,
}

pub struct MetaMock {
    server: MockServer,
    responder: Responder,
}

fn error(status: u16, kind: &str, code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "message": message, "type": kind, "code": code, "error_subcode": 2804000,
        "is_transient": false, "error_user_title": "Invalid request", "error_user_msg": message,
        "fbtrace_id": trace_id()}}))
}

fn fault_response(fault: &MetaFault, pixel: &str) -> Option<ResponseTemplate> {
    Some(match fault {
        MetaFault::ServerError => ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException", "code": 2, "is_transient": true, "fbtrace_id": trace_id()}})),
        MetaFault::RateLimit { code, regain_minutes } => error(400, "OAuthException", *code, "User request limit reached")
            .insert_header(
                "X-Business-Use-Case-Usage",
                json!({pixel: [{"type": "ads_management", "call_count": 100, "total_cputime": 10, "total_time": 10,
                    "estimated_time_to_regain_access": regain_minutes}]})
                .to_string(),
            )
            .insert_header("X-App-Usage", r#"{"call_count":100,"total_cputime":10,"total_time":10}"#),
        MetaFault::InvalidToken => error(400, "OAuthException", 190, "Invalid OAuth access token."),
        _ => return None,
    })
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let segments: Vec<String> = request
            .url
            .path_segments()
            .map(|s| s.map(str::to_string).collect())
            .unwrap_or_default();
        let pixel = segments.get(1).cloned().unwrap_or_default();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Some(hook) = self.on_request.lock().unwrap().as_ref() {
            hook();
        }
        let token = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.to_string())
            .or_else(|| body["access_token"].as_str().map(str::to_string));
        self.state.lock().unwrap().requests += 1;
        let ids: Vec<String> = body["data"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|e| e["event_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut delay = None;
        if let Some((_, fault)) = take_for(&self.faults, &pixel, &ids) {
            match &fault {
                MetaFault::Latency(d) => delay = Some(*d),
                MetaFault::RejectEventId(id) => {
                    let index = ids.iter().position(|i| i == id).unwrap_or(0);
                    return error(
                        400,
                        "OAuthException",
                        100,
                        &format!("event {index}: invalid parameter"),
                    );
                }
                MetaFault::Anomaly => {
                    let n = body["data"].as_array().map_or(0, Vec::len);
                    return ResponseTemplate::new(200).set_body_json(json!({"events_received": n.saturating_sub(1), "messages": [], "fbtrace_id": trace_id()}));
                }
                other => return fault_response(other, &pixel).expect("a fault with a response"),
            }
        }
        let response = self.validate(&pixel, token.as_deref(), &body);
        match delay {
            Some(d) => response.set_delay(d),
            None => response,
        }
    }
}

/// Faults for this pixel; `RejectEventId` only fires for batches holding the id.
fn take_for(faults: &Faults, pixel: &str, ids: &[String]) -> Option<(String, MetaFault)> {
    let applies = {
        let list = faults.lock().unwrap();
        list.first().is_some_and(|a| {
            a.fault.0 == pixel
                && match &a.fault.1 {
                    MetaFault::RejectEventId(id) => ids.contains(id),
                    _ => true,
                }
        })
    };
    if applies { take(faults) } else { None }
}

impl Responder {
    fn validate(&self, pixel: &str, token: Option<&str>, body: &Value) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        if !token.is_some_and(|t| state.tokens.contains(t)) {
            return error(400, "OAuthException", 190, "Invalid OAuth access token.");
        }
        if !state.pixels.contains(pixel) {
            return error(
                400,
                "GraphMethodException",
                100,
                "Unsupported post request: unknown pixel",
            );
        }
        let now = match &state.clock {
            Some(clock) => clock.now_ms() / 1000,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        };
        match validate_data(&body["data"], now) {
            Err(message) => error(400, "OAuthException", 100, &message),
            Ok(n) => {
                let code = body["test_event_code"].as_str().map(str::to_string);
                for e in body["data"].as_array().unwrap() {
                    state.received.push(MetaEvent {
                        pixel_id: pixel.to_string(),
                        event_id: e["event_id"].as_str().map(str::to_string),
                        event_name: e["event_name"].as_str().unwrap_or_default().to_string(),
                        test_event_code: code.clone(),
                        event: e.clone(),
                    });
                }
                ResponseTemplate::new(200).set_body_json(
                    json!({"events_received": n, "messages": [], "fbtrace_id": trace_id()}),
                )
            }
        }
    }
}

impl MetaMock {
    /// A mock with the token `test-token` and the pixel `123456`.
    pub async fn start() -> MetaMock {
        let server = MockServer::start().await;
        let state = State {
            tokens: HashSet::from(["test-token".to_string()]),
            pixels: HashSet::from(["123456".to_string()]),
            ..State::default()
        };
        let responder = Responder {
            state: Arc::new(Mutex::new(state)),
            faults: Arc::default(),
            on_request: Arc::default(),
        };
        Mock::given(method("POST"))
            .and(path_regex(r"^/v\d+\.\d+/[^/]+/events$"))
            .respond_with(responder.clone())
            .mount(&server)
            .await;
        MetaMock { server, responder }
    }
    pub fn uri(&self) -> String {
        self.server.uri()
    }
    /// Runs `hook` on every request, before answering it.
    pub fn on_request(&self, hook: impl Fn() + Send + 'static) {
        *self.responder.on_request.lock().unwrap() = Some(Box::new(hook));
    }

    pub fn add_token(&self, token: &str) {
        self.responder
            .state
            .lock()
            .unwrap()
            .tokens
            .insert(token.into());
    }
    pub fn fail_next(&self, pixel_id: &str, fault: MetaFault, times: u32) {
        self.responder.faults.lock().unwrap().push(Armed {
            fault: (pixel_id.to_string(), fault),
            remaining: times,
        });
    }
    /// Judges event times by `clock` (the app's, when a test moves it) instead of the
    /// system's, as Meta would in a world where that time is now.
    #[allow(dead_code, reason = "the browser suite's portal walk")]
    pub fn use_clock(&self, clock: kickin::clock::Clock) {
        self.responder.state.lock().unwrap().clock = Some(clock);
    }
    /// Meta takes everything again: the faults still armed are dropped.
    #[allow(dead_code, reason = "the browser suite's portal walk")]
    pub fn clear_faults(&self) {
        self.responder.faults.lock().unwrap().clear();
    }
    pub fn received(&self) -> Vec<MetaEvent> {
        self.responder.state.lock().unwrap().received.clone()
    }
    pub fn request_count(&self) -> usize {
        self.responder.state.lock().unwrap().requests
    }
    pub fn count_event(&self, event_id: &str) -> usize {
        self.received()
            .iter()
            .filter(|e| e.event_id.as_deref() == Some(event_id))
            .count()
    }
}
