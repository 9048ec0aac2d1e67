//! The dedup report at scale: one tenant's month of `server` server events and
//! `observations` browser observations written straight to KICKIN_DATABASE_URL (the
//! rows ingest and the beacon intake write), paired by the matcher (timed), then
//! `GET /v1/dedup/report` timed against the service started in this process.
//!
//! The mix per server event: 60 % matched, 5 % name case mismatch, 3 % timing gap,
//! 7 % id mismatch, 5 % pixel without id, 20 % server only; the remaining
//! observations are page views nothing claims (browser only).

use std::time::Instant;

use kickin::browser::beacon::Observation;
use kickin::browser::intake::Rows;
use kickin::browser::keys::BrowserKey;
use kickin::bulk::{Bulk, Col};
use kickin::clock::{Clock, MS_PER_DAY};
use kickin::config::Config;
use kickin::crypto::Keys;
use kickin::db::Db;
use kickin::period::Period;
use serde_json::json;
use uuid::Uuid;

use crate::report::percentile;

const CHUNK: u64 = 10_000;

pub struct Options {
    pub observations: u64,
    pub server: u64,
    pub requests: usize,
}

/// What a server event `i` pairs with: (browser name, browser id, fired offset ms).
fn partner(i: u64) -> Option<(&'static str, Option<String>, i64)> {
    let id = format!("order_{i}");
    match i % 100 {
        0..60 => Some(("Purchase", Some(id), -2_000)),
        60..65 => Some(("purchase", Some(id), -2_000)),
        65..68 => Some(("Purchase", Some(id), -3 * MS_PER_DAY)),
        68..75 => Some(("Purchase", Some(format!("pixel_{i}")), -60_000)),
        75..80 => Some(("Purchase", None, -60_000)),
        _ => None,
    }
}

fn visitor(i: u64) -> String {
    format!("fb.1.1764590000000.{i}")
}

async fn tenant(db: &Db, now: i64) -> anyhow::Result<Uuid> {
    let txn = db.begin_write().await?;
    let input = kickin::tenants::TenantIn {
        name: format!("dedup scale {}", Uuid::new_v4().simple()),
        plan_id: None,
        status: None,
        require_event_id: None,
        dedup_window_hours: None,
        dedup_alert_threshold: None,
        browser_enrichment: None,
        meta_endpoint_fanout: None,
        consent_policy: None,
    };
    let t = kickin::tenants::create(&txn, input, now)
        .await
        .map_err(anyhow::Error::msg)?;
    txn.commit().await?;
    Ok(t.id)
}

async fn seed_server(
    db: &Db,
    keys: &Keys,
    tenant: Uuid,
    o: &Options,
    month: Period,
) -> anyhow::Result<()> {
    let spread = month.end_ms() - month.start_ms() - 4 * MS_PER_DAY;
    for start in (0..o.server).step_by(CHUNK as usize) {
        let range = start..(start + CHUNK).min(o.server);
        let at = |i: u64| month.start_ms() + 4 * MS_PER_DAY + (i as i64 * spread) / o.server as i64;
        let n = range.clone().count();
        let sealed = |i: u64| Some(keys.seal_json(&json!({"user_data": {"fbp": visitor(i)}})));
        let bulk = Bulk {
            table: "events",
            columns: vec![
                ("tenant_id", Col::Uuid(vec![tenant; n])),
                (
                    "id",
                    Col::Uuid(range.clone().map(|_| Uuid::now_v7()).collect()),
                ),
                (
                    "event_id",
                    Col::Text(range.clone().map(|i| format!("order_{i}")).collect()),
                ),
                ("event_name", Col::Text(vec!["Purchase".into(); n])),
                ("event_time", Col::BigInt(range.clone().map(at).collect())),
                ("received_at", Col::BigInt(range.clone().map(at).collect())),
                ("payload", Col::Text(vec!["{}".into(); n])),
                ("sealed", Col::OptText(range.clone().map(sealed).collect())),
                ("warnings", Col::Text(vec!["[]".into(); n])),
                ("trace_context", Col::OptText(vec![None; n])),
            ],
            suffix: String::new(),
        };
        let txn = db.begin_write().await?;
        bulk.execute(&*txn).await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn seed_browser(
    db: &Db,
    keys: &Keys,
    tenant: Uuid,
    o: &Options,
    month: Period,
) -> anyhow::Result<u64> {
    let key = BrowserKey {
        tenant_id: tenant,
        key_id: Uuid::now_v7(),
        allowed_origins: vec![],
    };
    let spread = month.end_ms() - month.start_ms() - 4 * MS_PER_DAY;
    let at =
        |i: u64| month.start_ms() + 4 * MS_PER_DAY + (i as i64 * spread) / o.server.max(1) as i64;
    let observation = |name: &str, id: Option<String>, fbp: String, ts_ms: i64| Observation {
        event_name: name.into(),
        event_id: id,
        fbp: Some(fbp),
        fbc: None,
        page_url: "https://shop.example/thanks".into(),
        ts_ms,
    };
    let (mut rows, mut written) = (Rows::default(), 0u64);
    let mut i = 0u64;
    while written + (rows.len() as u64) < o.observations {
        let paired = if i < o.server { partner(i) } else { None };
        let (name, id, ts) = match paired {
            Some((name, id, offset)) => (name, id, at(i) + offset),
            None if i < o.server => {
                i += 1;
                continue;
            }
            None => ("PageView", None, at(i % o.server.max(1))),
        };
        rows.push(keys, &key, vec![observation(name, id, visitor(i), ts)], ts);
        i += 1;
        if rows.len() as u64 == CHUNK {
            written += CHUNK;
            std::mem::take(&mut rows).insert(db).await?;
        }
    }
    written += rows.len() as u64;
    rows.insert(db).await?;
    Ok(written)
}

pub async fn run(o: Options) -> anyhow::Result<String> {
    let mut config = Config::from_env()?;
    config.bind = "127.0.0.1:0".parse()?;
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let keys = Keys::derive(&kickin::bootstrap::resolve_secret_key(&config)?);
    let now = chrono::Utc::now().timestamp_millis();
    let month = Period::of(now).previous();
    let tenant = tenant(&db, now).await?;
    let seeding = Instant::now();
    seed_server(&db, &keys, tenant, &o, month).await?;
    let observations = seed_browser(&db, &keys, tenant, &o, month).await?;
    let seeded = seeding.elapsed();
    let matching = Instant::now();
    let matched = kickin::browser::matcher::run_tenant(&db, &keys, tenant, now).await?;
    let matched_in = matching.elapsed();

    let app = kickin::startup::Application::build(config, Clock::system()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let issued = kickin::tenants::api_keys::issue(
        &state.db.conn,
        tenant,
        kickin::tenants::api_keys::ApiKeyIn {
            name: "report".into(),
            scopes: vec!["read".into()],
        },
        now,
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/dedup/report?period={month}");
    let mut latencies = Vec::new();
    let mut body = serde_json::Value::Null;
    for round in 0..o.requests + 5 {
        let started = Instant::now();
        let resp = http.get(&url).bearer_auth(&issued.key).send().await?;
        anyhow::ensure!(resp.status().is_success(), "report: {}", resp.status());
        body = resp.json().await?;
        if round >= 5 {
            latencies.push(started.elapsed().as_micros() as u64);
        }
    }
    latencies.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    let backend = state.db.backend();
    Ok(format!(
        "Dedup report at scale ({backend:?}): {} server events, {} observations in {month}\n  seeded in         {:>8.1} s\n  matcher           {:>8.1} s for {} rows ({:.0} rows/s)\n  report latency    p50 {:.2} ms / p99 {:.2} ms / max {:.2} ms over {} requests\n  categories        {}\n",
        o.server,
        observations,
        seeded.as_secs_f64(),
        matched_in.as_secs_f64(),
        matched,
        matched as f64 / matched_in.as_secs_f64().max(1e-9),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap_or(&0)),
        latencies.len(),
        body["categories"],
    ))
}
