//! Mock TikTok Events API 2.0 (spec §6.7): `POST /open_api/v1.3/event/track/`, token in
//! the `Access-Token` header, every answer HTTP 200 with TikTok's envelope unless a
//! fault says otherwise. Copies of (pixel, event, event_id) within 48 hours of the first
//! are accepted and flagged as duplicates, as TikTok deduplicates them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kickin::clock::{Clock, MS_PER_HOUR};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::tiktok_rules::validate;
use super::{Armed, take};

pub const TOKEN: &str = "tt-token";
pub const PIXEL: &str = "CTEST0PIXEL";
const DEDUP_WINDOW_MS: i64 = 48 * MS_PER_HOUR;

#[derive(Debug, Clone)]
pub struct TiktokEvent {
    pub pixel_code: String,
    pub event: String,
    pub event_id: Option<String>,
    pub test_event_code: Option<String>,
    /// A copy TikTok would fold into the first one it received.
    pub duplicate: bool,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TiktokFault {
    /// Code 40100 on HTTP 200, or (`http_429`) a bare HTTP 429 with no envelope.
    RateLimit {
        http_429: bool,
        retry_after_secs: Option<u64>,
    },
    /// 40105: the access token is invalid.
    InvalidToken,
    /// 40102: the access token has expired.
    Expired,
    /// A system error code on HTTP 200 (50000, 50002, …).
    ServerError(i64),
    /// HTTP 502 with a gateway's HTML page.
    BadGateway,
    /// Accept and record the request, answering 20001 PARTIAL_OK.
    PartialOk,
    /// Answer normally, after a delay.
    Latency(Duration),
    /// 40002 naming this event, for every batch that holds it.
    RejectEventId(String),
}

type Faults = Arc<Mutex<Vec<Armed<(String, TiktokFault)>>>>;
/// Called on every request before it is answered (e.g. to move the app's clock).
type Hook = Arc<Mutex<Option<Box<dyn Fn() + Send>>>>;

#[derive(Default)]
struct State {
    /// Token → the pixel codes it may send to.
    tokens: HashMap<String, HashSet<String>>,
    received: Vec<TiktokEvent>,
    first_seen: HashMap<(String, String, String), i64>,
    requests: usize,
    missing_slash: usize,
}

#[derive(Clone)]
struct Responder {
    state: Arc<Mutex<State>>,
    faults: Faults,
    on_request: Hook,
    clock: Arc<Mutex<Clock>>,
}

pub struct TiktokMock {
    server: MockServer,
    responder: Responder,
}

fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

fn envelope(code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"code": code, "message": message, "request_id": request_id(), "data": {}}),
    )
}

fn with_retry_after(response: ResponseTemplate, secs: Option<u64>) -> ResponseTemplate {
    match secs {
        Some(s) => response.insert_header("Retry-After", s.to_string().as_str()),
        None => response,
    }
}

/// The answer of a fault that answers by itself (not `Latency` or `PartialOk`).
fn fault_response(fault: &TiktokFault, ids: &[String]) -> Option<ResponseTemplate> {
    Some(match fault {
        TiktokFault::RateLimit {
            http_429: true,
            retry_after_secs,
        } => with_retry_after(
            ResponseTemplate::new(429).set_body_string("Too Many Requests"),
            *retry_after_secs,
        ),
        TiktokFault::RateLimit {
            retry_after_secs, ..
        } => with_retry_after(
            envelope(40100, "Too many requests. Please retry in some time."),
            *retry_after_secs,
        ),
        TiktokFault::InvalidToken => envelope(40105, "Access token is incorrect or has been revoked."),
        TiktokFault::Expired => envelope(40102, "Access token has expired."),
        TiktokFault::ServerError(code) => envelope(*code, "System error, please try again later."),
        TiktokFault::BadGateway => ResponseTemplate::new(502)
            .insert_header("Content-Type", "text/html")
            .set_body_string("<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"),
        TiktokFault::RejectEventId(id) => {
            let i = ids.iter().position(|x| x == id).unwrap_or(0);
            envelope(40002, &format!("data.{i}.event_id: Invalid value for event_id."))
        }
        TiktokFault::PartialOk | TiktokFault::Latency(_) => return None,
    })
}

/// The first armed fault, if it is for this pixel (`RejectEventId`: only with its id).
fn take_for(faults: &Faults, pixel: &str, ids: &[String]) -> Option<TiktokFault> {
    let applies = faults.lock().unwrap().first().is_some_and(|a| {
        a.fault.0 == pixel
            && match &a.fault.1 {
                TiktokFault::RejectEventId(id) => ids.contains(id),
                _ => true,
            }
    });
    if applies {
        take(faults).map(|(_, f)| f)
    } else {
        None
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(hook) = self.on_request.lock().unwrap().as_ref() {
            hook();
        }
        {
            let mut state = self.state.lock().unwrap();
            state.requests += 1;
            if !request.url.path().ends_with('/') {
                state.missing_slash += 1;
            }
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let pixel = body["event_source_id"].as_str().unwrap_or_default();
        let ids: Vec<String> = body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["event_id"].as_str().map(str::to_string))
            .collect();
        let fault = take_for(&self.faults, pixel, &ids);
        if let Some(response) = fault.as_ref().and_then(|f| fault_response(f, &ids)) {
            return response;
        }
        let token = request
            .headers
            .get("Access-Token")
            .and_then(|v| v.to_str().ok());
        let response = self.answer(token, &body, fault == Some(TiktokFault::PartialOk));
        match fault {
            Some(TiktokFault::Latency(d)) => response.set_delay(d),
            _ => response,
        }
    }
}

impl Responder {
    fn answer(&self, token: Option<&str>, body: &Value, partial: bool) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return envelope(40104, "Access token is empty.");
        };
        let Some(pixels) = state.tokens.get(token) else {
            return envelope(40105, "Access token is incorrect or has been revoked.");
        };
        if let Some(pixel) = body["event_source_id"].as_str()
            && !pixels.contains(pixel)
        {
            return envelope(40001, "No permission to operate this pixel code.");
        }
        let events = match validate(body) {
            Ok(events) => events,
            Err(r) => return envelope(r.code, &r.message),
        };
        let now = self.clock.lock().unwrap().now_ms();
        let pixel = body["event_source_id"].as_str().unwrap_or_default();
        let test_event_code = body["test_event_code"].as_str().map(str::to_string);
        for e in events {
            let event = e["event"].as_str().unwrap_or_default().to_string();
            let event_id = e["event_id"].as_str().map(str::to_string);
            let duplicate = event_id.as_ref().is_some_and(|id| {
                let key = (pixel.to_string(), event.clone(), id.clone());
                match state.first_seen.get(&key) {
                    Some(first) if now - first < DEDUP_WINDOW_MS => true,
                    _ => {
                        state.first_seen.insert(key, now);
                        false
                    }
                }
            });
            state.received.push(TiktokEvent {
                pixel_code: pixel.to_string(),
                event,
                event_id,
                test_event_code: test_event_code.clone(),
                duplicate,
                data: e.clone(),
            });
        }
        match partial {
            true => envelope(20001, "Partial success."),
            false => envelope(0, "OK"),
        }
    }
}

impl TiktokMock {
    /// A mock with the token `TOKEN` linked to the pixel `PIXEL`, on the system clock.
    pub async fn start() -> TiktokMock {
        let server = MockServer::start().await;
        let mut state = State::default();
        state
            .tokens
            .insert(TOKEN.into(), HashSet::from([PIXEL.to_string()]));
        let responder = Responder {
            state: Arc::new(Mutex::new(state)),
            faults: Arc::default(),
            on_request: Arc::default(),
            clock: Arc::new(Mutex::new(Clock::system())),
        };
        Mock::given(method("POST"))
            .and(path_regex(r"^/open_api/v1\.3/event/track/?$"))
            .respond_with(responder.clone())
            .mount(&server)
            .await;
        TiktokMock { server, responder }
    }
    pub fn uri(&self) -> String {
        self.server.uri()
    }
    /// Judges the 48-hour dedup window on `clock` (the app's, so tests can move it).
    pub fn use_clock(&self, clock: &Clock) {
        *self.responder.clock.lock().unwrap() = clock.clone();
    }
    /// Runs `hook` on every request, before answering it.
    pub fn on_request(&self, hook: impl Fn() + Send + 'static) {
        *self.responder.on_request.lock().unwrap() = Some(Box::new(hook));
    }
    /// Adds a token allowed to send to `pixels` (or more pixels to a known token).
    pub fn add_token(&self, token: &str, pixels: &[&str]) {
        let mut state = self.responder.state.lock().unwrap();
        let linked = state.tokens.entry(token.into()).or_default();
        linked.extend(pixels.iter().map(|p| p.to_string()));
    }
    /// Arms `fault` for the next `times` requests to `pixel` (`u32::MAX`: for good).
    pub fn fail_next(&self, pixel: &str, fault: TiktokFault, times: u32) {
        self.responder.faults.lock().unwrap().push(Armed {
            fault: (pixel.to_string(), fault),
            remaining: times,
        });
    }
    pub fn received(&self) -> Vec<TiktokEvent> {
        self.responder.state.lock().unwrap().received.clone()
    }
    pub fn request_count(&self) -> usize {
        self.responder.state.lock().unwrap().requests
    }
    /// Requests whose path lacked TikTok's trailing slash.
    pub fn missing_slash_count(&self) -> usize {
        self.responder.state.lock().unwrap().missing_slash
    }
    /// Copies of `event_id` received, duplicates included.
    pub fn count_event(&self, event_id: &str) -> usize {
        self.received()
            .iter()
            .filter(|e| e.event_id.as_deref() == Some(event_id))
            .count()
    }
    /// How many times TikTok would count `event_id`: its copies that are not duplicates.
    pub fn counted(&self, event_id: &str) -> usize {
        self.received()
            .iter()
            .filter(|e| e.event_id.as_deref() == Some(event_id) && !e.duplicate)
            .count()
    }
}
