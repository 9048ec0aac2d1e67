//! Test harness: spawn the app, create tenants/keys/destinations through the admin API.

use std::collections::HashMap;

use kickin::clock::Clock;
use kickin::config::Config;
use kickin::startup::Application;
use kickin::state::AppState;
use serde_json::{Value, json};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "owner@kickin.test";
pub const ADMIN_PASSWORD: &str = "owner-password-123";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL backend when `KICKIN_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("KICKIN_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!("KICKIN_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
                None
            }
        }
    }
}

/// Runs each named scenario `async fn name(backend: Backend)` as `name::sqlite` and
/// `name::postgres` (the latter only when KICKIN_TEST_POSTGRES_URL is set).
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::support::Backend::postgres() {
                    super::$name(backend).await
                }
            }
        }
    )*};
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub state: actix_web::web::Data<AppState>,
    pub admin_token: std::sync::Mutex<String>,
    _dir: tempfile::TempDir,
}

async fn database_url(backend: &Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("kickin.db").display()
        ),
        Backend::Postgres(base) => {
            let name = format!("kickin_test_{}", Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(base.as_str())
                .await
                .expect("connect to PostgreSQL");
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("CREATE DATABASE {name}"),
            )
            .await
            .expect("create test database");
            admin.close().await.ok();
            let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
            format!("{prefix}/{name}")
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, &[]).await
}

/// Starts the app with extra `KICKIN_*` variables.
pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut vars: HashMap<String, String> = HashMap::from([
        (
            "KICKIN_DATABASE_URL".into(),
            database_url(&backend, &dir).await,
        ),
        ("KICKIN_BIND".into(), "127.0.0.1:0".into()),
        (
            "KICKIN_SECRET_KEY".into(),
            "test-secret-key-0123456789abcdef0123456789".into(),
        ),
        ("KICKIN_ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("KICKIN_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
    ]);
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_map(&vars).expect("test configuration");
    let clock = Clock::system();
    let app = Application::build(config, clock.clone())
        .await
        .expect("build app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let test_app = TestApp {
        base,
        client,
        clock,
        state,
        admin_token: Default::default(),
        _dir: dir,
    };
    test_app.login().await;
    test_app
}

/// A tenant with an API key (all scopes) as the tests use them.
pub struct Tenant {
    pub id: String,
    pub key: String,
}

impl TestApp {
    /// Logs the owner in (again, e.g. after moving the clock past the session expiry).
    pub async fn login(&self) {
        let (status, body) = self
            .post_json(
                "/admin/api/session",
                None,
                json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "admin login: {body}");
        *self.admin_token.lock().unwrap() = body["token"].as_str().expect("token").to_string();
    }

    pub fn token(&self) -> String {
        self.admin_token.lock().unwrap().clone()
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, token, None).await
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        {
            let token = self.token();
            self.request(method, &format!("/admin/api{path}"), Some(&token), body)
                .await
        }
    }

    /// Sends raw bytes to `POST /v1/events`.
    pub async fn post_raw(&self, key: &str, body: Vec<u8>) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/events", self.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn create_tenant(&self, settings: Value) -> Tenant {
        let mut body = json!({"name": format!("Tenant {}", Uuid::new_v4().simple())});
        body.as_object_mut()
            .unwrap()
            .extend(settings.as_object().cloned().unwrap_or_default());
        let (status, tenant) = self
            .admin(reqwest::Method::POST, "/tenants", Some(body))
            .await;
        assert_eq!(status, 201, "create tenant: {tenant}");
        let id = tenant["id"].as_str().unwrap().to_string();
        let key = self.issue_key(&id, &["ingest", "read", "manage"]).await;
        Tenant { id, key }
    }

    pub async fn issue_key(&self, tenant_id: &str, scopes: &[&str]) -> String {
        let body = json!({"name": "test", "scopes": scopes});
        let (status, issued) = self
            .admin(
                reqwest::Method::POST,
                &format!("/tenants/{tenant_id}/api-keys"),
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "issue key: {issued}");
        issued["key"].as_str().unwrap().to_string()
    }

    pub async fn add_meta(&self, tenant: &Tenant) -> String {
        let body = json!({"kind": "meta_capi", "name": "Pixel", "pixel_id": "123456", "access_token": "EAAB-secret-token"});
        let (status, dest) = self
            .post_json("/v1/destinations", Some(&tenant.key), body)
            .await;
        assert_eq!(status, 201, "create meta destination: {dest}");
        dest["id"].as_str().unwrap().to_string()
    }

    pub async fn add_ga4(&self, tenant: &Tenant) -> String {
        let body = json!({"kind": "ga4_mp", "name": "Stream", "measurement_id": "G-TEST123", "api_secret": "ga4-secret-value"});
        let (status, dest) = self
            .post_json("/v1/destinations", Some(&tenant.key), body)
            .await;
        assert_eq!(status, 201, "create ga4 destination: {dest}");
        dest["id"].as_str().unwrap().to_string()
    }

    pub async fn send(&self, tenant: &Tenant, events: Vec<Value>) -> (u16, Value) {
        self.post_json("/v1/events", Some(&tenant.key), json!({"events": events}))
            .await
    }

    pub fn now_secs(&self) -> i64 {
        self.clock.now_ms() / 1000
    }

    /// A valid website purchase happening now.
    pub fn purchase(&self, event_id: &str) -> Value {
        json!({
            "event_id": event_id,
            "event_name": "Purchase",
            "event_time": self.now_secs(),
            "action_source": "website",
            "event_source_url": "https://shop.example/thanks",
            "user_data": {"em": "Jane.Doe@Example.com", "ph": "+1 (555) 010-0000",
                          "client_ip_address": "203.0.113.9", "client_user_agent": "Mozilla/5.0 test"},
            "custom_data": {"value": 129.99, "currency": "USD", "order_id": "12345"},
            "ga4": {"client_id": "123456.7654321"}
        })
    }

    /// Counts rows of a table for a tenant straight from the database.
    pub async fn count_rows(&self, table: &str, tenant_id: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.state.db.backend();
        let id = Uuid::parse_str(tenant_id).unwrap();
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => {
                format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = $1")
            }
            _ => format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?"),
        };
        let row = self
            .state
            .db
            .conn
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// Runs `sql` (with `?` placeholders, numbered `$1, $2, …` on PostgreSQL) on `db` and
/// returns `column` of every row.
pub async fn column<T: sea_orm::TryGetable>(
    db: &impl sea_orm::ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
    column: &str,
) -> Vec<T> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            let mut n = 0;
            sql.split('?')
                .enumerate()
                .map(|(i, part)| match i {
                    0 => part.to_string(),
                    _ => {
                        n += 1;
                        format!("${n}{part}")
                    }
                })
                .collect()
        }
        _ => sql.to_string(),
    };
    let stmt = sea_orm::Statement::from_sql_and_values(backend, sql, values);
    let rows = db.query_all_raw(stmt).await.unwrap();
    rows.iter()
        .map(|r| r.try_get("", column).unwrap())
        .collect()
}

pub fn statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

impl TestApp {
    /// Runs dispatch rounds until nothing is due; returns deliveries processed.
    pub async fn drain(&self) -> usize {
        let mut total = 0;
        for _ in 0..100 {
            let n = self
                .state
                .dispatcher
                .run_once()
                .await
                .expect("dispatch round");
            if n == 0 {
                return total;
            }
            total += n;
        }
        panic!("the queue did not drain in 100 rounds");
    }

    /// The exactly-once invariant: for the tenant, meter == succeeded deliveries
    /// (over all months). Returns the count.
    pub async fn assert_meter_exact(&self, tenant_id: &str) -> i64 {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.state.db.backend();
        let id = Uuid::parse_str(tenant_id).unwrap();
        let q = |sql: &str| {
            let sql = match backend {
                sea_orm::DatabaseBackend::Postgres => sql.replace('?', "$1"),
                _ => sql.to_string(),
            };
            Statement::from_sql_and_values(backend, sql, [id.into()])
        };
        let metered = self
            .state
            .db
            .conn
            .query_one_raw(q("SELECT CAST(COALESCE(SUM(counted), 0) AS BIGINT) AS n FROM usage_meter WHERE tenant_id = ?"))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        let succeeded = self
            .state
            .db
            .conn
            .query_one_raw(q(
                "SELECT COUNT(*) AS n FROM deliveries WHERE tenant_id = ? AND status = 'succeeded'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(metered, succeeded, "meter must equal succeeded deliveries");
        metered
    }

    /// Statuses of a tenant's deliveries, as the API reports them.
    pub async fn delivery_statuses(&self, tenant: &Tenant) -> Vec<String> {
        let (_, page) = self
            .get("/v1/deliveries?limit=500", Some(&tenant.key))
            .await;
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["status"].as_str().unwrap().to_string())
            .collect()
    }
}
