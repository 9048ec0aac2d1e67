//! Fault suite: PostgreSQL restarted under load. While it is down Kickin answers 503
//! (`database_unavailable`) and stays up; it recovers by itself when PostgreSQL is back;
//! every event it acknowledged is still there.
//!
//! It stops and starts the local PostgreSQL cluster, so it runs only when asked:
//! `KICKIN_TEST_PG_RESTART=1` with `KICKIN_TEST_POSTGRES_URL` (`.ci/run` does, after the
//! other suites).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET: &str = "restart-test-secret-key-0123456789abcdef01";

fn cluster(action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            version.to_str().unwrap(),
            "main",
            action,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctlcluster {action}");
}

struct Kickin(std::process::Child);

impl Drop for Kickin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_answers_503_recovers_and_loses_nothing() {
    let (Ok("1"), Ok(base)) = (
        std::env::var("KICKIN_TEST_PG_RESTART").as_deref(),
        std::env::var("KICKIN_TEST_POSTGRES_URL"),
    ) else {
        eprintln!(
            "set KICKIN_TEST_PG_RESTART=1 and KICKIN_TEST_POSTGRES_URL to run the PostgreSQL restart suite"
        );
        return;
    };
    let name = format!("kickin_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base.as_str()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.ok();
    let db = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _kickin = Kickin(
        Command::new(env!("CARGO_BIN_EXE_kickin"))
            .arg("serve")
            .env("KICKIN_DATABASE_URL", &db)
            .env("KICKIN_SECRET_KEY", SECRET)
            .env("KICKIN_ADMIN_EMAIL", "pg@kickin.test")
            .env("KICKIN_ADMIN_PASSWORD", "pg-restart-password")
            .env("KICKIN_ROLE", "api")
            .env("KICKIN_API_RATE_LIMIT", "0")
            .env("KICKIN_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{base_url}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "Kickin did not become ready");
        tokio::task::yield_now().await;
    }
    let post = |path: &str, token: &str, body: Value| {
        http.post(format!("{base_url}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let session: Value = post(
        "/admin/api/session",
        "",
        json!({"email": "pg@kickin.test", "password": "pg-restart-password"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let tenant: Value = post("/admin/api/tenants", &token, json!({"name": "restart"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "/admin/api/tenants/{}/api-keys",
        tenant["id"].as_str().unwrap()
    );
    let key: Value = post(
        &path,
        &token,
        json!({"name": "k", "scopes": ["ingest", "read"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let path = format!(
        "/admin/api/tenants/{}/destinations",
        tenant["id"].as_str().unwrap()
    );
    let destination =
        json!({"kind": "meta_capi", "name": "p", "pixel_id": "123", "access_token": "t"});
    assert!(
        post(&path, &token, destination)
            .await
            .unwrap()
            .status()
            .is_success()
    );

    let mut acknowledged = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut n = 0;
    let mut send = async |acknowledged: &mut Vec<String>,
                          statuses: &mut std::collections::BTreeMap<u16, u32>| {
        n += 1;
        let id = format!("r-{n}");
        let event = json!({"event_id": id, "event_name": "Lead", "event_time": chrono::Utc::now().timestamp(),
            "action_source": "other", "user_data": {"external_id": "c-1"}});
        let resp = post("/v1/events", &key, json!({"events": [event]}))
            .await
            .unwrap();
        let status = resp.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 202 && body["results"][0]["status"] == "accepted" {
            acknowledged.push(id);
        }
        (status, body)
    };
    for _ in 0..30 {
        assert_eq!(send(&mut acknowledged, &mut statuses).await.0, 202);
    }
    cluster("stop");
    let (status, body) = send(&mut acknowledged, &mut statuses).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "database_unavailable");
    assert!(
        http.get(format!("{base_url}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success(),
        "the process stays up"
    );
    assert_eq!(
        http.get(format!("{base_url}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        503
    );
    cluster("start");
    let deadline = Instant::now() + Duration::from_secs(60);
    while send(&mut acknowledged, &mut statuses).await.0 != 202 {
        assert!(
            Instant::now() < deadline,
            "Kickin did not recover by itself: {statuses:?}"
        );
    }
    for _ in 0..30 {
        assert_eq!(send(&mut acknowledged, &mut statuses).await.0, 202);
    }
    assert!(
        !statuses.contains_key(&500),
        "no 500 while PostgreSQL was away: {statuses:?}"
    );
    for id in &acknowledged {
        let resp = http
            .get(format!("{base_url}/v1/events/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            200,
            "acknowledged event {id} was lost"
        );
    }
    assert!(acknowledged.len() >= 61);
}
