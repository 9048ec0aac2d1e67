//! The beacon load: `concurrency` connections each posting beacons of `batch`
//! observations (as `navigator.sendBeacon` sends them: `text/plain`, with an `Origin`)
//! to a running Kickin for `duration`, under one fresh tenant's browser key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::report::{Report, peak_rss_kb};

pub struct Options {
    pub url: String,
    pub admin_email: String,
    pub admin_password: String,
    pub concurrency: usize,
    pub batch: usize,
    pub duration: Duration,
    pub server_pid: Option<u32>,
}

const ORIGIN: &str = "https://loadtest.example";

async fn call(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let resp = http.post(url).bearer_auth(token).json(&body).send().await?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{url}: {status} {body}");
    Ok(body)
}

/// A fresh tenant and a browser key for [`ORIGIN`].
async fn setup(http: &reqwest::Client, o: &Options) -> anyhow::Result<String> {
    let session = call(
        http,
        &format!("{}/admin/api/session", o.url),
        "",
        json!({"email": o.admin_email, "password": o.admin_password}),
    )
    .await?;
    let admin = session["token"].as_str().unwrap_or_default().to_string();
    let name = format!("beacon load {}", uuid::Uuid::new_v4().simple());
    let tenant = call(
        http,
        &format!("{}/admin/api/tenants", o.url),
        &admin,
        json!({"name": name}),
    )
    .await?;
    let id = tenant["id"].as_str().unwrap_or_default();
    let key = call(
        http,
        &format!("{}/admin/api/tenants/{id}/browser-keys", o.url),
        &admin,
        json!({"allowed_origins": [ORIGIN]}),
    )
    .await?;
    Ok(key["key"].as_str().unwrap_or_default().to_string())
}

/// A beacon body: page views and purchases of one visitor, as the script batches them.
fn body(worker: usize, n: u64, batch: usize) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    let events: Vec<Value> = (0..batch)
        .map(|i| {
            let purchase = i % 5 == 4;
            json!({
                "event_name": if purchase { "Purchase" } else { "PageView" },
                "event_id": purchase.then(|| format!("order_{worker}_{n}_{i}")),
                "fbp": format!("fb.1.1764590000000.{worker}{n:08}"),
                "fbc": null,
                "page_url": format!("{ORIGIN}/products/{i}"),
                "ts_ms": now,
            })
        })
        .collect();
    json!({ "events": events }).to_string()
}

pub async fn run(o: Options) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .build()?;
    let key = setup(&http, &o).await?;
    let url = Arc::new(format!("{}/v1/browser/events?key={key}", o.url));
    let (stored, requests) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let shared = Arc::new(Mutex::new((
        Vec::<u64>::new(),
        std::collections::BTreeMap::<String, u64>::new(),
    )));
    let started = Instant::now();
    let deadline = started + o.duration;
    let mut tasks = Vec::new();
    for worker in 0..o.concurrency {
        let (http, url, stored, requests, shared) = (
            http.clone(),
            url.clone(),
            stored.clone(),
            requests.clone(),
            shared.clone(),
        );
        let batch = o.batch;
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), std::collections::BTreeMap::new());
            let mut n = 0u64;
            while Instant::now() < deadline {
                let payload = body(worker, n, batch);
                n += 1;
                let sent = Instant::now();
                let result = http
                    .post(url.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                    .header(reqwest::header::ORIGIN, ORIGIN)
                    .body(payload)
                    .send()
                    .await;
                lat.push(sent.elapsed().as_micros() as u64);
                requests.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(resp) if resp.status().as_u16() == 204 => {
                        stored.fetch_add(batch as u64, Ordering::Relaxed);
                    }
                    Ok(resp) => {
                        *errors
                            .entry(resp.status().as_u16().to_string())
                            .or_insert(0) += 1
                    }
                    Err(_) => *errors.entry("network".to_string()).or_insert(0) += 1,
                }
            }
            let mut s = shared.lock().await;
            s.0.extend(lat);
            for (k, v) in errors {
                *s.1.entry(k).or_insert(0) += v;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let duration = started.elapsed();
    let (latencies_us, errors) = std::mem::take(&mut *shared.lock().await);
    Ok(Report {
        label: format!(
            "Beacon load: {} connections × {} observations per beacon for {:?} (\"accepted events\" = stored observations)",
            o.concurrency, o.batch, o.duration
        ),
        duration,
        requests: requests.load(Ordering::Relaxed),
        events_accepted: stored.load(Ordering::Relaxed),
        latencies_us,
        errors,
        peak_rss_kb: o.server_pid.and_then(peak_rss_kb),
        ..Report::default()
    })
}
