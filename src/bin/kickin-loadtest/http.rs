//! The HTTP load generator: `concurrency` connections each sending batches of `batch`
//! unique events for `duration`, then (optionally) waiting for the queue to drain.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::report::{Report, cpu_us, peak_rss_kb, postgres_cpu_us};

pub struct Options {
    pub url: String,
    pub admin_email: String,
    pub admin_password: String,
    pub concurrency: usize,
    pub batch: usize,
    pub duration: Duration,
    /// Stop once this many events are accepted.
    pub max_events: Option<u64>,
    /// Requests per second across all connections (open loop); as fast as answered when
    /// `None`.
    pub rate: Option<f64>,
    pub drain: bool,
    pub server_pid: Option<u32>,
    /// Where to leave the API key and accepted count for `kickin-loadtest drain`.
    pub state_file: Option<std::path::PathBuf>,
}

/// What `kickin-loadtest drain` needs from a finished load.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct State {
    pub key: String,
    pub accepted: u64,
}

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

/// A fresh tenant with an ingest+read key and one Meta destination (send it to the
/// server's sandbox by running it with `serve --demo`).
async fn setup(http: &reqwest::Client, o: &Options) -> anyhow::Result<String> {
    let session = call(
        http,
        &format!("{}/admin/api/session", o.url),
        "",
        json!({"email": o.admin_email, "password": o.admin_password}),
    )
    .await?;
    let admin = session["token"].as_str().unwrap_or_default().to_string();
    let name = format!("loadtest {}", uuid::Uuid::new_v4().simple());
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
        &format!("{}/admin/api/tenants/{id}/api-keys", o.url),
        &admin,
        json!({"name": "loadtest", "scopes": ["ingest", "read"]}),
    )
    .await?;
    let body = json!({"kind": kickin::destinations::Kind::MetaCapi.as_str(), "name": "loadtest pixel", "pixel_id": "1234567890", "access_token": "loadtest-token"});
    call(
        http,
        &format!("{}/admin/api/tenants/{id}/destinations", o.url),
        &admin,
        body,
    )
    .await?;
    Ok(key["key"].as_str().unwrap_or_default().to_string())
}

/// One connection's schedule: `rate` requests/s spread evenly over the connections, their
/// starts staggered; late ticks fire at once (and count their wait as latency).
fn pacing(rate: f64, concurrency: usize, worker: usize, started: Instant) -> tokio::time::Interval {
    let period = Duration::from_secs_f64(concurrency as f64 / rate.max(1e-3));
    let offset = period.mul_f64(worker as f64 / concurrency as f64);
    tokio::time::interval_at((started + offset).into(), period)
}

/// The one field of a 202 answer the generator reads.
#[derive(serde::Deserialize)]
struct Accepted {
    accepted: u64,
}

pub async fn run(o: Options) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .build()?;
    let key = Arc::new(setup(&http, &o).await?);
    let url = Arc::new(format!("{}/v1/events", o.url));
    let template = Arc::new(crate::body::BodyTemplate::default());
    let accepted = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Mutex::new((
        Vec::<u64>::new(),
        std::collections::BTreeMap::<String, u64>::new(),
    )));
    let cpu_before = (o.server_pid.and_then(cpu_us), postgres_cpu_us());
    let started = Instant::now();
    let deadline = started + o.duration;
    let mut tasks = Vec::new();
    for worker in 0..o.concurrency {
        let (http, key, url, accepted, requests, shared) = (
            http.clone(),
            key.clone(),
            url.clone(),
            accepted.clone(),
            requests.clone(),
            shared.clone(),
        );
        let (batch, max_events) = (o.batch, o.max_events.unwrap_or(u64::MAX));
        let template = template.clone();
        let mut pace = o
            .rate
            .map(|rate| pacing(rate, o.concurrency, worker, started));
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), std::collections::BTreeMap::new());
            let mut n = 0u64;
            while Instant::now() < deadline && accepted.load(Ordering::Relaxed) < max_events {
                let now = chrono::Utc::now().timestamp();
                let ids: Vec<String> = (0..batch).map(|i| format!("w{worker}-r{n}-e{i}")).collect();
                let body = template.request_body(ids.iter().map(String::as_str), now);
                n += 1;
                // Paced: latency runs from when the request was due, so a slow answer that
                // delays the next request shows in the figures (no coordinated omission).
                let sent = match pace.as_mut() {
                    Some(interval) => interval.tick().await.into_std(),
                    None => Instant::now(),
                };
                if sent >= deadline {
                    break;
                }
                let result = http
                    .post(url.as_str())
                    .bearer_auth(key.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await;
                lat.push(sent.elapsed().as_micros() as u64);
                requests.fetch_add(1, Ordering::Relaxed);
                match result {
                    Ok(resp) if resp.status().as_u16() == 202 => {
                        let n = resp.json::<Accepted>().await.map_or(0, |a| a.accepted);
                        accepted.fetch_add(n, Ordering::Relaxed);
                    }
                    Ok(resp) => {
                        *errors
                            .entry(resp.status().as_u16().to_string())
                            .or_insert(0) += 1
                    }
                    Err(e) => {
                        *errors
                            .entry(if e.is_timeout() {
                                "timeout".into()
                            } else {
                                "network".into()
                            })
                            .or_insert(0) += 1
                    }
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
    let mut report = Report {
        label: format!(
            "HTTP load: {} connections × {} events per request for {:?}{}",
            o.concurrency,
            o.batch,
            o.duration,
            o.rate
                .map(|r| format!(", paced at {r:.0} requests/s"))
                .unwrap_or_default()
        ),
        duration,
        requests: requests.load(Ordering::Relaxed),
        events_accepted: accepted.load(Ordering::Relaxed),
        latencies_us,
        errors,
        ..Report::default()
    };
    if let Some(path) = &o.state_file {
        let state = State {
            key: key.to_string(),
            accepted: report.events_accepted,
        };
        std::fs::write(path, serde_json::to_vec(&state)?)?;
    }
    if o.drain {
        let usage_url = format!("{}/v1/usage", o.url);
        report.sends = crate::drain::until_drained(&http, &usage_url, &key, None)
            .await?
            .last
            .0;
        // Sends/s over the whole run: from the first request until the queue is empty.
        report.drain = Some(started.elapsed());
    }
    report.peak_rss_kb = o.server_pid.and_then(peak_rss_kb);
    let server_after = o.server_pid.and_then(cpu_us);
    report.server_cpu_us = cpu_before
        .0
        .zip(server_after)
        .map(|(a, b)| b.saturating_sub(a));
    report.db_cpu_us = Some(postgres_cpu_us().saturating_sub(cpu_before.1));
    Ok(report)
}
