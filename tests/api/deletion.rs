//! Deleting a person: every stored event, delivery payload and browser observation of
//! that person in the tenant loses their user data — checked in every table and in the
//! bytes of the database files — while the other people's data, the counts, meters and
//! dedup keys stay.

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::browser_support::{beacon, browser_key, observation, run_matcher};
use crate::console::Console;
use crate::db_tests;
use crate::dispatch::world;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Tenant, TestApp, column};
use kickin::ingest::pii::sha256_hex;

db_tests!(
    deleting_a_person_by_raw_email_removes_their_data_from_every_table_and_file,
    a_person_can_be_deleted_by_a_hashed_phone_or_an_external_id,
    a_tenant_sees_and_deletes_only_its_own_people,
    a_deletion_names_the_field_at_fault_and_needs_the_manage_scope,
    an_admin_deletes_for_a_tenant_and_the_audit_log_never_holds_the_identifier,
    the_console_requests_a_deletion_and_lists_it_with_its_status,
    a_deletion_stopped_between_batches_resumes_and_counts_each_event_once,
    a_ga4_user_id_goes_with_the_person_found_by_the_same_external_id,
);

/// One person's identifiers as a shop sends them.
pub(crate) struct Person {
    pub(crate) em: &'static str,
    ph: &'static str,
    external_id: &'static str,
    ip: &'static str,
    fbp: &'static str,
}

pub(crate) const ANNA: Person = Person {
    em: "Anna.Lind@Example.com",
    ph: "+46 70 123 45 67",
    external_id: "CUST-ANNA-1",
    ip: "198.51.100.71",
    fbp: "fb.1.1764590000000.111111",
};
const BO: Person = Person {
    em: "bo.berg@example.com",
    ph: "+46 70 765 43 21",
    external_id: "CUST-BO-2",
    ip: "198.51.100.82",
    fbp: "fb.1.1764590000000.222222",
};

impl Person {
    pub(crate) fn em_hash(&self) -> String {
        sha256_hex(&self.em.to_lowercase())
    }
    fn ph_hash(&self) -> String {
        let digits: String = self.ph.chars().filter(char::is_ascii_digit).collect();
        sha256_hex(&digits)
    }
    fn external_id_hash(&self) -> String {
        sha256_hex(&self.external_id.to_lowercase())
    }
    fn hashes(&self) -> [String; 3] {
        [self.em_hash(), self.ph_hash(), self.external_id_hash()]
    }
}

pub(crate) fn event(app: &TestApp, event_id: &str, p: &Person) -> Value {
    let mut e = app.purchase(event_id);
    e["user_data"] = json!({"em": p.em, "ph": p.ph, "external_id": p.external_id,
        "client_ip_address": p.ip, "client_user_agent": "Mozilla/5.0 test", "fbp": p.fbp});
    e
}

/// Every text column of every row of every table of the app's database.
async fn dump_all(app: &TestApp) -> String {
    let db = &app.state.db.conn;
    let backend = app.state.db.backend();
    let tables: Vec<String> = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            let sql = "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'";
            column(db, sql, vec![], "t").await
        }
        _ => {
            let sql = "SELECT name AS t FROM sqlite_master WHERE type = 'table'";
            column(db, sql, vec![], "t").await
        }
    };
    assert!(tables.iter().any(|t| t == "browser_events"), "{tables:?}");
    let mut text = String::new();
    for table in tables {
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => {
                format!("SELECT CAST(row_to_json(t) AS TEXT) AS j FROM \"{table}\" t")
            }
            _ => format!("SELECT * FROM \"{table}\""),
        };
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap();
        for row in rows {
            for col in row.column_names() {
                if let Ok(v) = row.try_get::<String>("", &col) {
                    text.push_str(&v);
                    text.push('\n');
                }
            }
        }
    }
    text
}

/// The bytes of the database files: SQLite's file and write-ahead log; every table,
/// TOAST table and index file of the PostgreSQL database (after a checkpoint, so the
/// files hold what the server has).
pub(crate) async fn file_bytes(app: &TestApp) -> Vec<u8> {
    let db = &app.state.db.conn;
    match app.state.db.backend() {
        sea_orm::DatabaseBackend::Postgres => {
            db.execute_unprepared("CHECKPOINT").await.unwrap();
            let sql = "SELECT pg_read_binary_file(pg_relation_filepath(c.oid)) AS b \
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 't', 'i') \
                AND pg_relation_filepath(c.oid) IS NOT NULL";
            let files: Vec<Option<Vec<u8>>> = column(db, sql, vec![], "b").await;
            assert!(files.len() > 10, "the relation files were read");
            files.into_iter().flatten().flatten().collect()
        }
        _ => {
            let url = &app.state.config.database_url;
            let path = url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap();
            let mut bytes = std::fs::read(path).expect("database file");
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
    }
}

pub(crate) fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The `sealed` values of the tenant's events with these event ids.
async fn sealed_of(app: &TestApp, tenant: &Tenant, event_ids: &[&str]) -> Vec<String> {
    let id: Uuid = tenant.id.parse().unwrap();
    let mut out = Vec::new();
    for event_id in event_ids {
        let sql = "SELECT sealed FROM events WHERE tenant_id = ? AND event_id = ?";
        let rows: Vec<Option<String>> = column(
            &app.state.db.conn,
            sql,
            vec![id.into(), (*event_id).into()],
            "sealed",
        )
        .await;
        out.extend(rows.into_iter().flatten());
    }
    out
}

async fn browser_sealed(app: &TestApp, tenant: &Tenant) -> Vec<(Option<String>, Option<String>)> {
    let id: Uuid = tenant.id.parse().unwrap();
    let sql = "SELECT event_id, sealed FROM browser_events WHERE tenant_id = ? ORDER BY event_id";
    let ids: Vec<Option<String>> =
        column(&app.state.db.conn, sql, vec![id.into()], "event_id").await;
    let sealed: Vec<Option<String>> =
        column(&app.state.db.conn, sql, vec![id.into()], "sealed").await;
    ids.into_iter().zip(sealed).collect()
}

/// Asks for a deletion with the tenant's key; returns its id.
pub(crate) async fn delete(app: &TestApp, tenant: &Tenant, user_data: Value) -> String {
    let body = json!({ "user_data": user_data });
    let (status, answer) = app
        .post_json("/v1/privacy/deletions", Some(&tenant.key), body)
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "pending", "{answer}");
    answer["id"].as_str().unwrap().to_string()
}

/// Runs deletion passes until the request is done; returns its final view. A pass
/// leaves a deletion pending while some snapshot elsewhere may still see the old rows
/// (other tests' transactions on a shared PostgreSQL server), so this runs one pass
/// after another (each one probe of that condition) until `done`, for up to 30 s.
pub(crate) async fn await_done(app: &TestApp, tenant: &Tenant, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let d = deletion(app, tenant, id).await;
        if d["status"] == "done" {
            return d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deletion {id} did not finish in 30 s: {d}"
        );
        run_pass(app).await;
    }
}

/// The tenant's view of one deletion request.
pub(crate) async fn deletion(app: &TestApp, tenant: &Tenant, id: &str) -> Value {
    let (status, d) = app
        .get(&format!("/v1/privacy/deletions/{id}"), Some(&tenant.key))
        .await;
    assert_eq!(status, 200, "{d}");
    d
}

/// One pass of the deletion job.
pub(crate) async fn run_pass(app: &TestApp) {
    kickin::privacy::job::run_once(&app.state.db, &app.state.keys, app.clock.now_ms())
        .await
        .expect("deletion pass");
}

async fn usage(app: &TestApp, tenant: &Tenant) -> Value {
    let (status, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    assert_eq!(status, 200, "{usage}");
    usage
}

async fn deleting_a_person_by_raw_email_removes_their_data_from_every_table_and_file(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let (_, key) = browser_key(app, tenant, &["https://shop.example"]).await;
    let pixels = vec![
        observation(app, "Purchase", Some("anna-1"), Some(ANNA.fbp)),
        observation(app, "Purchase", Some("bo-1"), Some(BO.fbp)),
    ];
    assert_eq!(beacon(app, &key, pixels).await.status, 204);
    let mut anna_only_email = app.purchase("anna-2");
    anna_only_email["user_data"] = json!({"em": ANNA.em, "client_ip_address": ANNA.ip,
        "client_user_agent": "Mozilla/5.0 test"});
    let events = vec![
        event(app, "anna-1", &ANNA),
        anna_only_email,
        event(app, "bo-1", &BO),
    ];
    let (status, body) = app.send(tenant, events).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(3)), "{body}");
    assert_eq!(app.drain().await, 3, "every event reaches Meta");
    run_matcher(app).await;
    // One more of Anna's events stays queued: its payload goes too.
    app.send(tenant, vec![event(app, "anna-3", &ANNA)]).await;

    let anna_sealed = sealed_of(app, tenant, &["anna-1", "anna-2", "anna-3"]).await;
    let bo_sealed = sealed_of(app, tenant, &["bo-1"]).await;
    assert_eq!((anna_sealed.len(), bo_sealed.len()), (3, 1));
    let pixel_sealed = browser_sealed(app, tenant).await;
    assert!(
        pixel_sealed.iter().all(|(_, s)| s.is_some()),
        "{pixel_sealed:?}"
    );
    let anna_visitor = app.state.keys.lookup_hash(ANNA.fbp);
    let bo_visitor = app.state.keys.lookup_hash(BO.fbp);
    let (table_before, bytes_before) = (dump_all(app).await, file_bytes(app).await);
    for secret in ANNA
        .hashes()
        .iter()
        .chain(BO.hashes().iter())
        .chain(&anna_sealed)
    {
        assert!(
            table_before.contains(secret.as_str()),
            "stored before: {secret}"
        );
        assert!(
            holds(&bytes_before, secret),
            "in the files before: {secret}"
        );
    }
    assert!(table_before.contains(&anna_visitor) && holds(&bytes_before, &anna_visitor));
    let usage_before = usage(app, tenant).await;
    let meter_before = app.assert_meter_exact(&tenant.id).await;
    let counts_before = (
        app.count_rows("events", &tenant.id).await,
        app.count_rows("deliveries", &tenant.id).await,
    );

    let id = delete(app, tenant, json!({"em": "  anna.lind@EXAMPLE.com "})).await;
    let done = await_done(app, tenant, &id).await;
    assert_eq!(done["events"], 3, "{done}");
    assert_eq!(done["field"], "em", "{done}");

    let (tables, bytes) = (dump_all(app).await, file_bytes(app).await);
    let pixel_anna = pixel_sealed
        .iter()
        .find(|(e, _)| e.as_deref() == Some("anna-1"))
        .unwrap();
    let anna_secrets = ANNA
        .hashes()
        .into_iter()
        .chain(anna_sealed)
        .chain([anna_visitor])
        .chain(pixel_anna.1.clone());
    for secret in anna_secrets {
        assert!(!tables.contains(&secret), "a table still holds {secret}");
        assert!(!holds(&bytes, &secret), "the files still hold {secret}");
    }
    let pixel_bo = pixel_sealed
        .iter()
        .find(|(e, _)| e.as_deref() == Some("bo-1"))
        .unwrap();
    let bo_secrets = BO
        .hashes()
        .into_iter()
        .chain(bo_sealed)
        .chain([bo_visitor])
        .chain(pixel_bo.1.clone());
    for secret in bo_secrets {
        assert!(tables.contains(&secret), "Bo's {secret} is kept");
        assert!(holds(&bytes, &secret), "Bo's {secret} is kept in the files");
    }

    assert_eq!(usage(app, tenant).await, usage_before, "usage is unchanged");
    assert_eq!(app.assert_meter_exact(&tenant.id).await, meter_before);
    let counts = (
        app.count_rows("events", &tenant.id).await,
        app.count_rows("deliveries", &tenant.id).await,
    );
    assert_eq!(counts, counts_before, "event and delivery rows stay");
    let (status, again) = app.send(tenant, vec![event(app, "anna-1", &ANNA)]).await;
    assert_eq!(
        (status, &again["duplicates"]),
        (202, &json!(1)),
        "dedup keys still work: {again}"
    );
    // Anna's queued event goes out without her data: Meta refuses an event with no
    // customer information, so it ends failed and nothing more is counted.
    assert_eq!(app.drain().await, 1, "the queued event is tried once");
    let mut statuses = app.delivery_statuses(tenant).await;
    statuses.sort();
    assert_eq!(statuses, ["failed", "succeeded", "succeeded", "succeeded"]);
    let sent = w
        .meta
        .received()
        .into_iter()
        .map(|e| e.event.to_string())
        .collect::<String>();
    assert!(!sent.contains("anna-3"), "nothing of anna-3 was accepted");
    assert_eq!(app.assert_meter_exact(&tenant.id).await, meter_before);
}

async fn a_person_can_be_deleted_by_a_hashed_phone_or_an_external_id(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let mut anna_by_phone = app.purchase("anna-ph");
    anna_by_phone["user_data"] = json!({"ph": ANNA.ph, "client_user_agent": "Mozilla/5.0 test"});
    let mut bo_by_id = app.purchase("bo-id");
    bo_by_id["user_data"] = json!({"external_id": BO.external_id, "em": BO.em,
        "client_user_agent": "Mozilla/5.0 test"});
    let (status, body) = app.send(tenant, vec![anna_by_phone, bo_by_id]).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(2)), "{body}");
    let before = dump_all(app).await;
    assert!(before.contains(&ANNA.ph_hash()) && before.contains(&BO.em_hash()));

    let id = delete(app, tenant, json!({"ph": ANNA.ph_hash().to_uppercase()})).await;
    assert_eq!(await_done(app, tenant, &id).await["events"], 1);
    let after = dump_all(app).await;
    assert!(
        !after.contains(&ANNA.ph_hash()),
        "the hashed phone found Anna"
    );
    assert!(after.contains(&BO.em_hash()), "Bo is kept");

    let id = delete(app, tenant, json!({"external_id": BO.external_id})).await;
    assert_eq!(await_done(app, tenant, &id).await["events"], 1);
    let after = dump_all(app).await;
    assert!(!after.contains(&BO.external_id_hash()) && !after.contains(&BO.em_hash()));

    let id = delete(app, tenant, json!({"em": "nobody@example.com"})).await;
    assert_eq!(
        await_done(app, tenant, &id).await["events"],
        0,
        "nothing matches"
    );
}

async fn a_tenant_sees_and_deletes_only_its_own_people(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let other = app.create_tenant(json!({})).await;
    app.add_meta(&other).await;
    for t in [&w.tenant, &other] {
        let (status, _) = app.send(t, vec![event(app, "anna-1", &ANNA)]).await;
        assert_eq!(status, 202);
    }
    let id = delete(app, &w.tenant, json!({"em": ANNA.em})).await;
    let (status, body) = app
        .get(&format!("/v1/privacy/deletions/{id}"), Some(&other.key))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
    assert_eq!(await_done(app, &w.tenant, &id).await["events"], 1);
    let other_id: Uuid = other.id.parse().unwrap();
    let sql = "SELECT payload FROM events WHERE tenant_id = ?";
    let kept: Vec<String> = column(&app.state.db.conn, sql, vec![other_id.into()], "payload").await;
    assert!(
        kept[0].contains(&ANNA.em_hash()),
        "the other tenant's event is untouched"
    );
    assert_eq!(sealed_of(app, &other, &["anna-1"]).await.len(), 1);
}

async fn a_deletion_names_the_field_at_fault_and_needs_the_manage_scope(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let cases = [
        (json!({}), "user_data", 400),
        (json!({"user_data": {}}), "user_data", 400),
        (
            json!({"user_data": {"em": ANNA.em, "ph": ANNA.ph}}),
            "user_data",
            400,
        ),
        (
            json!({"user_data": {"em": ANNA.em, "ph": null}}),
            "user_data",
            400,
        ),
        (json!({"user_data": {"fn": "anna"}}), "user_data.fn", 400),
        (
            json!({"user_data": {"external_id": ""}}),
            "user_data.external_id",
            400,
        ),
        (
            json!({"user_data": {"em": "anna-at-example"}}),
            "user_data.em",
            422,
        ),
        (json!({"user_data": {"ph": "12"}}), "user_data.ph", 422),
    ];
    for (body, field, expected) in cases {
        let (status, answer) = app
            .post_json("/v1/privacy/deletions", Some(&tenant.key), body.clone())
            .await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(!answer.to_string().contains("anna-at-example"), "{answer}");
    }
    let reader = app.issue_key(&tenant.id, &["ingest", "read"]).await;
    let body = json!({"user_data": {"em": ANNA.em}});
    let (status, _) = app
        .post_json("/v1/privacy/deletions", Some(&reader), body)
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .get(
            &format!("/v1/privacy/deletions/{}", Uuid::now_v7()),
            Some(&tenant.key),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.count_rows("privacy_deletions", &tenant.id).await, 0);
}

async fn an_admin_deletes_for_a_tenant_and_the_audit_log_never_holds_the_identifier(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    app.send(tenant, vec![event(app, "anna-1", &ANNA)]).await;
    let path = format!("/tenants/{}/privacy/deletions", tenant.id);
    let body = json!({"user_data": {"external_id": ANNA.external_id}});
    let (status, created) = app.admin(Method::POST, &path, Some(body)).await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(await_done(app, tenant, id).await["events"], 1);
    let (status, seen) = app
        .admin(Method::GET, &format!("/privacy/deletions/{id}"), None)
        .await;
    assert_eq!((status, &seen["status"]), (200, &json!("done")), "{seen}");
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/privacy/deletions", Uuid::now_v7()),
            Some(json!({"user_data": {"em": ANNA.em}})),
        )
        .await;
    assert_eq!(status, 404, "an unknown tenant");
    let audit = dump_all(app).await;
    assert!(
        audit.contains("privacy.deletion.create"),
        "the request is audited"
    );
    for secret in [
        ANNA.external_id.to_string(),
        ANNA.external_id.to_lowercase(),
        ANNA.external_id_hash(),
    ] {
        assert!(!audit.contains(&secret), "{secret} is stored somewhere");
    }
}

/// The rows of the tenant page's deletion list: (id, field, status, events).
fn deletion_rows(page: &str) -> Vec<(String, String, String, String)> {
    let cell = |row: &str, class: &str| {
        let open = format!(r#"<td class="{class}">"#);
        let start = row.find(&open).unwrap() + open.len();
        row[start..start + row[start..].find("</td>").unwrap()].to_string()
    };
    page.split(r#"<tr class="deletion" data-id=""#)
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            let id = row[..row.find('"').unwrap()].to_string();
            (
                id,
                cell(row, "field"),
                cell(row, "status"),
                cell(row, "events"),
            )
        })
        .collect()
}

async fn the_console_requests_a_deletion_and_lists_it_with_its_status(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let (status, body) = app
        .send(
            tenant,
            vec![event(app, "anna-1", &ANNA), event(app, "bo-1", &BO)],
        )
        .await;
    assert_eq!((status, &body["accepted"]), (202, &json!(2)), "{body}");
    let mut c = Console::new(app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page_path = format!("/admin/tenants/{}", tenant.id);
    let form_path = format!("{page_path}/privacy/deletions");
    let (_, page, _) = c.get(&page_path).await;
    assert!(page.contains(r#"id="deletions-none""#), "{page}");
    assert!(page.contains(&format!(r#"action="{form_path}""#)), "{page}");

    let anna = [("field", "em"), ("value", ANNA.em)];
    let without_csrf = [anna[0], anna[1], ("csrf_token", "")];
    let (status, _, _) = c.post(&form_path, &without_csrf).await;
    assert_eq!(status, 403, "a post without the CSRF token is refused");
    let (status, page, _) = c
        .post(&form_path, &[("field", "em"), ("value", "not-an-email")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("user_data.em"), "the field is named: {page}");
    let (status, page, _) = c
        .post(&form_path, &[("field", "fn"), ("value", "anna")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("user_data.fn"), "{page}");
    let (_, page, _) = c.get(&page_path).await;
    assert!(
        deletion_rows(&page).is_empty(),
        "nothing was stored: {page}"
    );

    let (status, _, location) = c.post(&form_path, &anna).await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("{page_path}#deletions").as_str())
    );
    let (_, page, _) = c.get(&page_path).await;
    let rows = deletion_rows(&page);
    assert_eq!(rows.len(), 1, "{page}");
    let (id, field, status, events) = rows[0].clone();
    assert_eq!(
        (field.as_str(), status.as_str(), events.as_str()),
        ("em", "pending", "0")
    );
    assert!(
        !page.contains(ANNA.em) && !page.contains(&ANNA.em_hash()),
        "{page}"
    );

    let done = await_done(app, tenant, &id).await;
    assert_eq!(done["events"], 1, "{done}");
    let (_, page, _) = c.get(&page_path).await;
    assert_eq!(
        deletion_rows(&page),
        [(id, "em".into(), "done".into(), "1".into())]
    );
    let tables = dump_all(app).await;
    assert!(!tables.contains(&ANNA.em_hash()), "Anna's data is gone");
    assert!(tables.contains(&BO.em_hash()), "Bo's stays");
    assert!(!tables.contains(ANNA.em), "the raw value was never stored");
}

/// How many stored event payloads hold `hash`.
async fn payloads_holding(app: &TestApp, hash: &str) -> usize {
    let payloads: Vec<String> = column(
        &app.state.db.conn,
        "SELECT payload AS p FROM events",
        vec![],
        "p",
    )
    .await;
    payloads.iter().filter(|p| p.contains(hash)).count()
}

async fn a_deletion_stopped_between_batches_resumes_and_counts_each_event_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let mut events: Vec<Value> = (1..=5)
        .map(|i| {
            let mut e = app.purchase(&format!("anna-{i}"));
            e["user_data"] = json!({"em": ANNA.em, "client_ip_address": ANNA.ip,
                "client_user_agent": "Mozilla/5.0 test"});
            e
        })
        .collect();
    events.push(event(app, "bo-1", &BO));
    let (status, body) = app.send(tenant, events).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(6)), "{body}");
    assert_eq!(payloads_holding(app, &ANNA.em_hash()).await, 5);
    let usage_before = usage(app, tenant).await;

    let id = delete(app, tenant, json!({"em": ANNA.em})).await;
    let (tenant_id, request_id) = (
        Uuid::parse_str(&tenant.id).unwrap(),
        Uuid::parse_str(&id).unwrap(),
    );
    // One batch of two events commits, then the process stops before the next one.
    let (db, keys, now) = (&app.state.db, &app.state.keys, app.clock.now_ms());
    let finished = kickin::privacy::job::step(db, keys, tenant_id, request_id, now, 2)
        .await
        .expect("one batch");
    assert!(!finished, "batches are left");
    let (_, partial) = app
        .get(&format!("/v1/privacy/deletions/{id}"), Some(&tenant.key))
        .await;
    assert_eq!(
        (&partial["status"], &partial["events"]),
        (&json!("pending"), &json!(2)),
        "{partial}"
    );
    assert_eq!(
        payloads_holding(app, &ANNA.em_hash()).await,
        3,
        "the batch committed"
    );

    // A new process picks the request up from its stored cursor.
    let done = await_done(app, tenant, &id).await;
    assert_eq!(done["events"], 5, "each event counted once: {done}");
    assert_eq!(payloads_holding(app, &ANNA.em_hash()).await, 0);
    assert_eq!(
        payloads_holding(app, &BO.em_hash()).await,
        1,
        "Bo's data stays"
    );
    kickin::privacy::job::run_once(db, keys, app.clock.now_ms())
        .await
        .expect("another pass");
    let (_, after) = app
        .get(&format!("/v1/privacy/deletions/{id}"), Some(&tenant.key))
        .await;
    assert_eq!(
        (&after["status"], &after["events"]),
        (&json!("done"), &json!(5)),
        "{after}"
    );
    assert_eq!(usage(app, tenant).await, usage_before, "usage is unchanged");
}

async fn a_ga4_user_id_goes_with_the_person_found_by_the_same_external_id(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let mut e = app.purchase("anna-ga4");
    e["user_data"] = json!({"external_id": "U-ANNA-77", "client_ip_address": ANNA.ip,
        "client_user_agent": "Mozilla/5.0 test"});
    e["ga4"] = json!({"client_id": "123456.7654321", "user_id": "U-ANNA-77"});
    let (status, body) = app.send(tenant, vec![e, event(app, "bo-1", &BO)]).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(2)), "{body}");
    let sealed = sealed_of(app, tenant, &["anna-ga4"]).await;
    let opened = app.state.keys.open_json(&sealed[0]).unwrap();
    assert_eq!(opened["ga4_user_id"], "U-ANNA-77", "stored sealed");
    let (status, refused) = app
        .post_json(
            "/v1/privacy/deletions",
            Some(&tenant.key),
            json!({"user_data": {"user_id": "U-ANNA-77"}}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (400, &json!("user_data.user_id"))
    );

    let id = delete(app, tenant, json!({"external_id": "U-ANNA-77"})).await;
    assert_eq!(await_done(app, tenant, &id).await["events"], 1);
    assert!(
        sealed_of(app, tenant, &["anna-ga4"]).await.is_empty(),
        "user_id is gone"
    );
    assert_eq!(
        sealed_of(app, tenant, &["bo-1"]).await.len(),
        1,
        "Bo's stays"
    );
}
