//! Helpers for the browser side: browser keys, beacons, server events with an `fbp`,
//! the matcher and the dedup report.

use serde_json::{Value, json};

use crate::support::{Tenant, TestApp};

pub const SHOP: &str = "https://shop.example";
pub const VISITOR: &str = "fb.1.1764590000000.1234567890";

/// A browser key of the tenant for `origins`; returns (id, key).
pub async fn browser_key(app: &TestApp, tenant: &Tenant, origins: &[&str]) -> (String, String) {
    let (status, body) = app
        .post_json(
            "/v1/browser-keys",
            Some(&tenant.key),
            json!({ "allowed_origins": origins }),
        )
        .await;
    assert_eq!(status, 201, "create browser key: {body}");
    let key = body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("pk_"), "{key}");
    (body["id"].as_str().unwrap().to_string(), key)
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// Posts a beacon body as `navigator.sendBeacon` does (text/plain).
pub async fn beacon_raw(app: &TestApp, key: &str, origin: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = app
        .client
        .post(format!("{}/v1/browser/events?key={key}", app.base))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    let resp = req.send().await.expect("beacon");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

pub async fn beacon(app: &TestApp, key: &str, events: Vec<Value>) -> Answer {
    let body = json!({ "events": events }).to_string().into_bytes();
    beacon_raw(app, key, Some(SHOP), body).await
}

/// What the script sends for a pixel call made now.
pub fn observation(app: &TestApp, name: &str, event_id: Option<&str>, fbp: Option<&str>) -> Value {
    json!({"event_name": name, "event_id": event_id, "fbp": fbp, "fbc": null,
           "page_url": "https://shop.example/thanks?order=1", "ts_ms": app.clock.now_ms()})
}

/// A server event happening now, from the visitor `fbp` (if any).
pub fn server_event(app: &TestApp, name: &str, event_id: &str, fbp: Option<&str>) -> Value {
    let mut event = app.purchase(event_id);
    event["event_name"] = json!(name);
    if let Some(fbp) = fbp {
        event["user_data"]["fbp"] = json!(fbp);
    }
    event
}

/// Sends server events and checks every one was accepted.
pub async fn send_server(app: &TestApp, tenant: &Tenant, events: Vec<Value>) {
    let n = events.len();
    let (status, body) = app.send(tenant, events).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], n, "{body}");
}

/// Runs the matcher until nothing new is left.
pub async fn run_matcher(app: &TestApp) -> u64 {
    kickin::browser::matcher::run_once(&app.state.db, &app.state.keys, app.clock.now_ms())
        .await
        .expect("matcher")
}

pub async fn report(app: &TestApp, tenant: &Tenant, period: Option<&str>) -> Value {
    let path = match period {
        Some(p) => format!("/v1/dedup/report?period={p}"),
        None => "/v1/dedup/report".to_string(),
    };
    let (status, body) = app.get(&path, Some(&tenant.key)).await;
    assert_eq!(status, 200, "report: {body}");
    body
}

/// The report's category counts as (name, n), for readable assertions.
pub fn categories(report: &Value) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = report["categories"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .filter(|(_, n)| *n != 0)
        .collect();
    out.sort();
    out
}

pub fn counts(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    out.sort();
    out
}

/// Moves the app clock forward to `ms` (the admin session is renewed).
pub async fn move_to(app: &TestApp, ms: i64) {
    let now = app.clock.now_ms();
    assert!(ms >= now, "the clock only moves forward");
    app.clock.advance_ms(ms - now);
    app.login().await;
}

/// The start of next month plus `offset_ms`: a point far from month ends.
pub fn next_month(app: &TestApp, offset_ms: i64) -> i64 {
    kickin::period::Period::of(app.clock.now_ms())
        .next()
        .start_ms()
        + offset_ms
}
