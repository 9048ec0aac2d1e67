//! Operations, driving the real binary: OTLP traces in which the dispatch span links to
//! the ingest span, `/metrics` after a known scenario, and `api` + `worker` processes on
//! one database delivering and counting every event once, across a SIGTERM mid-send.

#[path = "api/mocks/mod.rs"]
#[allow(dead_code)]
mod mocks;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use mocks::ga4::{Ga4Fault, Ga4Mock};
use mocks::meta::{MetaFault, MetaMock};

const SECRET: &str = "ops-test-secret-key-0123456789abcdef0123";
const EMAIL: &str = "ops@kickin.test";
const PASSWORD: &str = "ops-password-123";

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn kickin(db_url: &str, role: &str, port: u16, extra: &[(&str, &str)]) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kickin"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KICKIN_DATABASE_URL", db_url)
        .env("KICKIN_SECRET_KEY", SECRET)
        .env("KICKIN_ADMIN_EMAIL", EMAIL)
        .env("KICKIN_ADMIN_PASSWORD", PASSWORD)
        .env("KICKIN_ROLE", role)
        .env("KICKIN_BIND", format!("127.0.0.1:{port}"))
        .env("KICKIN_RETRY_SCHEDULE", "1s,1s,1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Process(cmd.spawn().unwrap())
}

/// Waits (without sleeping) until `check` holds, or fails after `secs`.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn ready(port: u16) -> Api {
        let api = Api {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let url = format!("{}/readyz", api.base);
        let http = api.http.clone();
        eventually(60, "the API to be ready", || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        api
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Logs in, creates a tenant with a key and a Meta destination; returns the key.
    async fn tenant_with_meta(&self) -> String {
        let (_, session) = self
            .call(
                reqwest::Method::POST,
                "/admin/api/session",
                "",
                Some(json!({"email": EMAIL, "password": PASSWORD})),
            )
            .await;
        let admin = session["token"].as_str().unwrap().to_string();
        let (_, tenant) = self
            .call(
                reqwest::Method::POST,
                "/admin/api/tenants",
                &admin,
                Some(json!({"name": "Ops"})),
            )
            .await;
        let path = format!(
            "/admin/api/tenants/{}/api-keys",
            tenant["id"].as_str().unwrap()
        );
        let (_, key) = self
            .call(
                reqwest::Method::POST,
                &path,
                &admin,
                Some(json!({"name": "k", "scopes": ["ingest", "read", "manage"]})),
            )
            .await;
        let key = key["key"].as_str().unwrap().to_string();
        let body = json!({"kind": "meta_capi", "name": "Pixel", "pixel_id": "123456", "access_token": "EAAB-ops"});
        let (status, _) = self
            .call(reqwest::Method::POST, "/v1/destinations", &key, Some(body))
            .await;
        assert_eq!(status, 201);
        key
    }

    async fn usage(&self, key: &str) -> Value {
        self.call(reqwest::Method::GET, "/v1/usage", key, None)
            .await
            .1
    }
}

fn purchase(id: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"event_id": id, "event_name": "Purchase", "event_time": now, "action_source": "website",
        "event_source_url": "https://shop.example/", "user_data": {"em": "a@b.co", "client_user_agent": "UA"}})
}

/// `kickin reconcile` finds the meter equal to the succeeded deliveries.
fn assert_reconciles(db: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_kickin"))
        .arg("reconcile")
        .env("KICKIN_DATABASE_URL", db)
        .env("KICKIN_SECRET_KEY", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn sigterm(p: &Process) {
    Command::new("kill")
        .args(["-TERM", &p.0.id().to_string()])
        .status()
        .unwrap();
}

/// Sum of the samples of `name` whose labels include every `label="value"`.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// All spans a test OTLP/HTTP JSON receiver got.
async fn spans(receiver: &MockServer) -> Vec<Value> {
    let mut out = Vec::new();
    for req in receiver.received_requests().await.unwrap_or_default() {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            continue;
        };
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                out.extend(ss["spans"].as_array().cloned().unwrap_or_default());
            }
        }
    }
    out
}

fn id(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_link_dispatch_to_ingest_and_metrics_count_a_known_scenario() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/metrics"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-ops");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
    let port = free_port();
    let (otlp, meta_uri) = (receiver.uri(), meta.uri());
    let _kickin = kickin(
        &db,
        "all",
        port,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("KICKIN_META_API_BASE", &meta_uri),
        ],
    );
    let api = Api::ready(port).await;
    let key = api.tenant_with_meta().await;
    let mut no_id = purchase("x");
    no_id.as_object_mut().unwrap().remove("event_id");
    let events = json!({"events": [purchase("t-1"), purchase("t-1"), purchase("t-2"), no_id]});
    let (status, _) = api
        .call(reqwest::Method::POST, "/v1/events", &key, Some(events))
        .await;
    assert_eq!(status, 202);
    eventually(30, "both sends to succeed", || async {
        api.usage(&key).await["counted"] == 2
    })
    .await;

    // The dispatch span links to the ingest span of the request that accepted the event.
    let mut linked = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !linked {
        let all = spans(&receiver).await;
        let ingest: Vec<&Value> = all.iter().filter(|s| s["name"] == "ingest").collect();
        linked = all
            .iter()
            .filter(|s| s["name"] == "dispatch.attempt")
            .any(|d| {
                d["links"].as_array().into_iter().flatten().any(|l| {
                    ingest.iter().any(|i| {
                        id(&i["traceId"]) == id(&l["traceId"])
                            && id(&i["spanId"]) == id(&l["spanId"])
                    })
                })
            });
        assert!(
            Instant::now() < deadline,
            "no dispatch span linked to an ingest span: {all:#?}"
        );
        tokio::task::yield_now().await;
    }
    let names: Vec<String> = spans(&receiver)
        .await
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "dedup.claim"), "{names:?}");
    let text = spans(&receiver)
        .await
        .iter()
        .map(|s| s.to_string())
        .collect::<String>();
    assert!(
        !text.contains("a@b.co") && !text.contains("EAAB-ops"),
        "no PII or secrets in span attributes"
    );

    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&metrics, "kickin_events_total", &[("outcome", "accepted")]),
        2.0,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "kickin_events_total", &[("outcome", "duplicate")]),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            "kickin_events_total",
            &[("outcome", "rejected"), ("reason", "missing_event_id")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            "kickin_dispatch_sends_total",
            &[("kind", "meta_capi"), ("outcome", "succeeded")]
        ),
        2.0
    );
    assert!(
        metric(
            &metrics,
            "kickin_dispatch_attempt_duration_seconds_count",
            &[("kind", "meta_capi")]
        ) >= 1.0,
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "kickin_queue_depth", &[]), 0.0);
    assert!(metrics.contains("kickin_destinations_paused"));
    assert!(
        !metrics.contains("tenant_id"),
        "tenant ids are never metric labels"
    );
}

async fn database(pg: Option<&str>, dir: &std::path::Path) -> String {
    match pg {
        None => format!("sqlite://{}?mode=rwc", dir.join("shared.db").display()),
        Some(base) => {
            let name = format!("kickin_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(base).await.unwrap();
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("CREATE DATABASE {name}"),
            )
            .await
            .unwrap();
            admin.close().await.ok();
            format!("{}/{name}", base.rsplit_once('/').unwrap().0)
        }
    }
}

/// An `api` process on a fresh database with a tenant whose 20 events wait in the queue
/// (no worker yet); Meta's first answer takes `first_answer` to arrive.
struct Shop {
    meta: MetaMock,
    _dir: tempfile::TempDir,
    db: String,
    _api_process: Process,
    api: Api,
    key: String,
}

impl Shop {
    async fn with_queued_events(pg: Option<&str>, first_answer: Duration, prefix: &str) -> Shop {
        let meta = MetaMock::start().await;
        meta.add_token("EAAB-ops");
        meta.fail_next("123456", MetaFault::Latency(first_answer), 1);
        let dir = tempfile::tempdir().unwrap();
        let db = database(pg, dir.path()).await;
        let api_port = free_port();
        let api_process = kickin(
            &db,
            "api",
            api_port,
            &[("KICKIN_META_API_BASE", &meta.uri())],
        );
        let api = Api::ready(api_port).await;
        let key = api.tenant_with_meta().await;
        let events: Vec<Value> = (0..20)
            .map(|i| purchase(&format!("{prefix}-{i}")))
            .collect();
        let (status, _) = api
            .call(
                reqwest::Method::POST,
                "/v1/events",
                &key,
                Some(json!({"events": events})),
            )
            .await;
        assert_eq!(status, 202);
        Shop {
            meta,
            _dir: dir,
            db,
            _api_process: api_process,
            api,
            key,
        }
    }
}

async fn api_and_worker_processes_deliver_and_count_once_across_a_sigterm(pg: Option<&str>) {
    let shop = Shop::with_queued_events(pg, Duration::from_secs(2), "p").await;
    let (meta, db, api, key, meta_uri) =
        (&shop.meta, &shop.db, &shop.api, &shop.key, shop.meta.uri());
    assert_eq!(
        api.usage(key).await["pending"],
        20,
        "the api role does not send"
    );

    let mut worker = kickin(
        db,
        "worker",
        free_port(),
        &[("KICKIN_META_API_BASE", &meta_uri)],
    );
    eventually(60, "the worker's first send to be in flight", || async {
        meta.request_count() > 0
    })
    .await;
    sigterm(&worker);
    let status = worker.0.wait().unwrap();
    assert!(
        status.success(),
        "the worker exits cleanly after finishing its send: {status:?}"
    );
    let usage = api.usage(key).await;
    assert_eq!(
        usage["counted"].as_i64().unwrap() + usage["pending"].as_i64().unwrap(),
        20,
        "nothing lost: {usage}"
    );
    assert_eq!(
        usage["counted"],
        meta.received().len(),
        "what Meta took is what was counted"
    );

    let _worker2 = kickin(
        db,
        "worker",
        free_port(),
        &[("KICKIN_META_API_BASE", &meta_uri)],
    );
    eventually(60, "every event to be delivered", || async {
        api.usage(key).await["counted"] == 20
    })
    .await;
    for i in 0..20 {
        assert_eq!(meta.count_event(&format!("p-{i}")), 1, "p-{i} sent once");
    }
    assert_reconciles(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_worker_processes_on_sqlite() {
    api_and_worker_processes_deliver_and_count_once_across_a_sigterm(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_worker_processes_on_postgres() {
    match std::env::var("KICKIN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            api_and_worker_processes_deliver_and_count_once_across_a_sigterm(Some(&url)).await
        }
        _ => eprintln!("KICKIN_TEST_POSTGRES_URL is not set: PostgreSQL variant not run"),
    }
}

async fn a_worker_killed_with_sigkill_mid_send_is_counted_once_after_restart(pg: Option<&str>) {
    let shop = Shop::with_queued_events(pg, Duration::from_secs(30), "k").await;
    let (meta, db, api, key, meta_uri) =
        (&shop.meta, &shop.db, &shop.api, &shop.key, shop.meta.uri());
    let lease = [
        ("KICKIN_META_API_BASE", meta_uri.as_str()),
        ("KICKIN_LEASE_SECONDS", "2"),
    ];
    let mut worker = kickin(db, "worker", free_port(), &lease);
    eventually(60, "the worker's send to be in flight", || async {
        meta.request_count() > 0
    })
    .await;
    worker.0.kill().unwrap(); // SIGKILL: no chance to record anything
    worker.0.wait().unwrap();
    assert_eq!(
        api.usage(key).await["counted"],
        0,
        "nothing was recorded by the killed worker"
    );
    let _worker2 = kickin(db, "worker", free_port(), &lease);
    eventually(
        60,
        "the new worker to take over after the lease",
        || async { api.usage(key).await["counted"] == 20 },
    )
    .await;
    assert_eq!(api.usage(key).await["pending"], 0);
    for i in 0..20 {
        // At least once on the wire (Meta deduplicates the resend by event_id)...
        assert!(meta.count_event(&format!("k-{i}")) >= 1);
    }
    // ...and exactly once in the meter.
    assert_reconciles(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_send_on_sqlite() {
    a_worker_killed_with_sigkill_mid_send_is_counted_once_after_restart(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_send_on_postgres() {
    match std::env::var("KICKIN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            a_worker_killed_with_sigkill_mid_send_is_counted_once_after_restart(Some(&url)).await
        }
        _ => eprintln!("KICKIN_TEST_POSTGRES_URL is not set: PostgreSQL variant not run"),
    }
}

/// The process's resident memory, in kB.
#[cfg(target_os = "linux")]
fn resident_kb(p: &Process) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.0.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Each login verifies an Argon2 hash with a 19 MiB working block; the process must give
/// it back (it used to keep ~19.5 MB per login).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_admin_logins_do_not_grow_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(None, dir.path()).await;
    let port = free_port();
    let process = kickin(&db, "api", port, &[]);
    let api = Api::ready(port).await;
    let login = || async {
        let body = json!({"email": EMAIL, "password": PASSWORD});
        let (status, _) = api
            .call(reqwest::Method::POST, "/admin/api/session", "", Some(body))
            .await;
        assert_eq!(status, 200);
    };
    login().await;
    let before = resident_kb(&process);
    for _ in 0..5 {
        login().await;
    }
    let grown = resident_kb(&process).saturating_sub(before);
    assert!(
        grown < 15_000,
        "five logins grew the process by {grown} kB (one Argon2 block is 19,456 kB)"
    );
}

/// GA4 counts a lead each time it arrives: five leads whose request was in flight when
/// the worker was SIGKILLed end `unconfirmed` once another worker takes them over —
/// never sent a second time, never counted.
async fn ga4_leads_in_flight_at_a_sigkill_are_unconfirmed_and_never_resent(pg: Option<&str>) {
    let ga4 = Ga4Mock::start().await;
    ga4.fail_next(Ga4Fault::Latency(Duration::from_secs(30)), 1);
    let dir = tempfile::tempdir().unwrap();
    let db = database(pg, dir.path()).await;
    let ga4_uri = ga4.uri();
    let vars = [
        ("KICKIN_GA4_API_BASE", ga4_uri.as_str()),
        ("KICKIN_LEASE_SECONDS", "2"),
    ];
    let api_port = free_port();
    let _api_process = kickin(&db, "api", api_port, &vars);
    let api = Api::ready(api_port).await;
    let key = api.tenant_with_meta().await;
    let (_, meta) = api
        .call(reqwest::Method::GET, "/v1/destinations", &key, None)
        .await;
    let meta_id = meta["data"][0]["id"].as_str().unwrap().to_string();
    let off = json!({"state": "disabled"});
    let path = format!("/v1/destinations/{meta_id}");
    api.call(reqwest::Method::PATCH, &path, &key, Some(off))
        .await;
    let stream = json!({"kind": "ga4_mp", "name": "Stream", "measurement_id": "G-TEST123", "api_secret": "ga4-secret-value"});
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/v1/destinations",
            &key,
            Some(stream),
        )
        .await;
    assert_eq!(status, 201);
    let leads: Vec<Value> = (0..5)
        .map(|i| {
            let mut e = purchase(&format!("lead-{i}"));
            e["event_name"] = json!("Lead");
            e["ga4"] = json!({"client_id": "555.777"});
            e
        })
        .collect();
    let body = json!({"events": leads});
    let (status, _) = api
        .call(reqwest::Method::POST, "/v1/events", &key, Some(body))
        .await;
    assert_eq!(status, 202);

    let mut worker = kickin(&db, "worker", free_port(), &vars);
    eventually(60, "the GA4 request to be in flight", || async {
        !ga4.requests().is_empty()
    })
    .await;
    worker.0.kill().unwrap();
    worker.0.wait().unwrap();
    let _worker2 = kickin(&db, "worker", free_port(), &vars);
    let unconfirmed = || async {
        let (_, page) = api
            .call(
                reqwest::Method::GET,
                "/v1/deliveries?status=unconfirmed",
                &key,
                None,
            )
            .await;
        page["data"].as_array().map_or(0, Vec::len)
    };
    eventually(60, "the taken-over leads to end unconfirmed", || async {
        unconfirmed().await == 5
    })
    .await;
    assert_eq!(ga4.requests().len(), 1, "no lead was sent a second time");
    for i in 0..5 {
        let id = format!("lead-{i}");
        let seen = ga4
            .events()
            .iter()
            .filter(|e| e["params"]["event_id"] == id.as_str())
            .count();
        assert_eq!(seen, 1, "{id} reached GA4 once");
    }
    assert_eq!(api.usage(&key).await["counted"], 0);
    assert_reconciles(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ga4_sigkill_mid_send_on_sqlite() {
    ga4_leads_in_flight_at_a_sigkill_are_unconfirmed_and_never_resent(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ga4_sigkill_mid_send_on_postgres() {
    match std::env::var("KICKIN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            ga4_leads_in_flight_at_a_sigkill_are_unconfirmed_and_never_resent(Some(&url)).await
        }
        _ => eprintln!("KICKIN_TEST_POSTGRES_URL is not set: PostgreSQL variant not run"),
    }
}
