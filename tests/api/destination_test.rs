//! "Send test event" (`POST /v1/destinations/{id}/test`, its admin twin and the console
//! button): each kind's sample reaches its mock in test mode — Meta and TikTok with a
//! `test_event_code`, GA4 on its validation server only — and the answer comes back as
//! `{ok, status, messages}`: refusals and unreachable destinations are `ok: false`,
//! never a 5xx. Nothing is stored, queued, deduplicated, counted or spent.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console::Console;
use crate::db_tests;
use crate::limits::{plan_body, tenant_on_plan};
use crate::mocks::ga4::Ga4Mock;
use crate::mocks::meta::{MetaFault, MetaMock};
use crate::mocks::tiktok::{PIXEL, TOKEN, TiktokMock};
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Tenant, TestApp, column, spawn_with};
use kickin::clock::{MS_PER_DAY, MS_PER_HOUR};
use kickin::destinations::test_send::{FALLBACK_TEST_CODE, SAMPLE_EMAIL};
use kickin::ingest::pii::sha256_hex;

db_tests!(
    a_meta_test_send_carries_the_destinations_test_event_code,
    a_meta_destination_without_a_code_is_tested_with_kickins_code,
    a_ga4_test_send_reaches_the_validation_server_only,
    a_tiktok_test_send_carries_its_test_event_code,
    refused_credentials_answer_ok_false_with_the_destinations_status_and_message,
    ga4_validation_messages_are_surfaced,
    an_unreachable_destination_is_ok_false_without_a_status_never_a_5xx,
    a_test_send_stores_counts_and_spends_nothing_even_at_the_hard_limit,
    a_paused_destination_can_be_tested_and_stays_paused,
    test_sends_are_limited_per_destination,
    only_the_tenants_manage_keys_may_test_its_destinations,
    the_admin_route_tests_any_destination_and_audits_it_without_secrets,
    the_console_button_shows_the_result_and_needs_the_csrf_token,
);

const META_TOKEN: &str = "EAAB-secret-token";

struct World {
    app: TestApp,
    meta: MetaMock,
    ga4: Ga4Mock,
    tiktok: TiktokMock,
    tenant: Tenant,
}

async fn world(backend: Backend) -> World {
    let meta = MetaMock::start().await;
    meta.add_token(META_TOKEN);
    let (ga4, tiktok) = (Ga4Mock::start().await, TiktokMock::start().await);
    let (m, g, t) = (meta.uri(), ga4.uri(), tiktok.uri());
    let app = spawn_with(
        backend,
        &[
            ("KICKIN_META_API_BASE", m.as_str()),
            ("KICKIN_GA4_API_BASE", g.as_str()),
            ("KICKIN_TIKTOK_API_BASE", t.as_str()),
        ],
    )
    .await;
    let tenant = app.create_tenant(json!({})).await;
    World {
        app,
        meta,
        ga4,
        tiktok,
        tenant,
    }
}

fn meta(extra: Value) -> Value {
    with(
        json!({"kind": "meta_capi", "name": "Shop pixel", "pixel_id": "123456", "access_token": META_TOKEN}),
        extra,
    )
}

fn ga4() -> Value {
    json!({"kind": "ga4_mp", "name": "Web stream", "measurement_id": "G-TEST123", "api_secret": "ga4-secret-value"})
}

fn tiktok(extra: Value) -> Value {
    with(
        json!({"kind": "tiktok", "name": "Shop TikTok pixel", "pixel_code": PIXEL, "access_token": TOKEN}),
        extra,
    )
}

fn with(mut body: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn add(app: &TestApp, tenant: &Tenant, body: Value) -> String {
    let (status, dest) = app
        .post_json("/v1/destinations", Some(&tenant.key), body)
        .await;
    assert_eq!(status, 201, "create destination: {dest}");
    dest["id"].as_str().unwrap().to_string()
}

async fn test_send(app: &TestApp, key: &str, id: &str) -> (u16, Value) {
    let path = format!("/v1/destinations/{id}/test");
    app.request(Method::POST, &path, Some(key), None).await
}

/// A test send that must come back 200 with `ok` as given.
async fn tested(app: &TestApp, tenant: &Tenant, id: &str, ok: bool) -> Value {
    let (status, body) = test_send(app, &tenant.key, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], ok, "{body}");
    body
}

async fn state_of(app: &TestApp, tenant: &Tenant, id: &str) -> Value {
    let (_, shown) = app
        .get(&format!("/v1/destinations/{id}"), Some(&tenant.key))
        .await;
    shown["state"].clone()
}

async fn a_meta_test_send_carries_the_destinations_test_event_code(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    // The sample's time is the application's clock, not the wall clock.
    app.clock.advance_ms(-2 * MS_PER_HOUR);
    let id = add(app, &w.tenant, meta(json!({"test_event_code": "TEST123"}))).await;
    let body = tested(app, &w.tenant, &id, true).await;
    assert_eq!(body["status"], 200, "{body}");
    assert!(body["messages"][0]["trace_id"].is_string(), "{body}");

    let received = w.meta.received();
    assert_eq!(received.len(), 1, "one sample event");
    let sent = &received[0];
    assert_eq!(sent.test_event_code.as_deref(), Some("TEST123"));
    assert_eq!(sent.event_name, "Purchase");
    assert!(
        sent.event_id
            .as_deref()
            .unwrap()
            .starts_with("kickin_test_")
    );
    assert_eq!(sent.event["custom_data"]["currency"], "USD");
    assert!(sent.event["custom_data"]["value"].as_f64().unwrap() > 0.0);
    assert_eq!(sent.event["user_data"]["em"][0], sha256_hex(SAMPLE_EMAIL));
    let event_time = sent.event["event_time"].as_i64().unwrap();
    assert!((event_time - app.now_secs()).abs() <= 5, "{event_time}");
}

async fn a_meta_destination_without_a_code_is_tested_with_kickins_code(backend: Backend) {
    let w = world(backend).await;
    let id = add(&w.app, &w.tenant, meta(json!({}))).await;
    let body = tested(&w.app, &w.tenant, &id, true).await;
    let codes: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["code"].as_str())
        .collect();
    assert!(codes.contains(&"no_test_event_code"), "{body}");
    tested(&w.app, &w.tenant, &id, true).await;
    let received = w.meta.received();
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|e| e.test_event_code.as_deref() == Some(FALLBACK_TEST_CODE))
    );
    assert_ne!(
        received[0].event_id, received[1].event_id,
        "every test send is a fresh event"
    );
}

async fn a_ga4_test_send_reaches_the_validation_server_only(backend: Backend) {
    let w = world(backend).await;
    let id = add(&w.app, &w.tenant, ga4()).await;
    let body = tested(&w.app, &w.tenant, &id, true).await;
    assert_eq!(body["status"], 200, "{body}");
    assert_eq!(body["messages"], json!([]), "{body}");
    assert!(w.ga4.requests().is_empty(), "never sent to /mp/collect");
    let debug = w.ga4.debug_requests();
    assert_eq!(debug.len(), 1);
    assert_eq!(debug[0].measurement_id, "G-TEST123");
    assert_eq!(debug[0].api_secret, "ga4-secret-value");
    let event = &debug[0].body["events"][0];
    assert_eq!(event["name"], "purchase");
    assert_eq!(event["params"]["currency"], "USD");
    let transaction = event["params"]["transaction_id"].as_str().unwrap();
    assert!(transaction.starts_with("kickin_test_"), "{event}");
    assert!(debug[0].body["client_id"].is_string());
}

async fn a_tiktok_test_send_carries_its_test_event_code(backend: Backend) {
    let w = world(backend).await;
    let id = add(
        &w.app,
        &w.tenant,
        tiktok(json!({"test_event_code": "TEST1"})),
    )
    .await;
    let body = tested(&w.app, &w.tenant, &id, true).await;
    assert_eq!(body["status"], 200, "{body}");
    assert_eq!(body["messages"][0]["code"], "0", "{body}");
    assert!(body["messages"][0]["trace_id"].is_string(), "{body}");
    let received = w.tiktok.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].test_event_code.as_deref(), Some("TEST1"));
    assert_eq!(received[0].event, "Purchase");
    assert!(
        received[0]
            .event_id
            .as_deref()
            .unwrap()
            .starts_with("kickin_test_")
    );
    assert_eq!(received[0].data["properties"]["currency"], "USD");
}

async fn refused_credentials_answer_ok_false_with_the_destinations_status_and_message(
    backend: Backend,
) {
    let w = world(backend).await;
    let (app, tenant) = (&w.app, &w.tenant);
    let meta_id = add(app, tenant, meta(json!({"access_token": "EAAB-wrong"}))).await;
    let body = tested(app, tenant, &meta_id, false).await;
    assert_eq!(body["status"], 400, "Meta's own status: {body}");
    let m = &body["messages"][0];
    assert!(m["code"].as_str().unwrap().starts_with("190"), "{body}");
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .contains("Invalid OAuth access token")
    );
    assert!(m["trace_id"].is_string(), "{body}");

    let tiktok_id = add(app, tenant, tiktok(json!({"access_token": "tt-wrong"}))).await;
    let body = tested(app, tenant, &tiktok_id, false).await;
    assert_eq!(body["status"], 200, "TikTok refuses on HTTP 200: {body}");
    assert_eq!(body["messages"][0]["code"], "40105", "{body}");
    assert!(w.meta.received().is_empty() && w.tiktok.received().is_empty());
    for id in [meta_id, tiktok_id] {
        assert_eq!(
            state_of(app, tenant, &id).await,
            "active",
            "a test never pauses"
        );
    }
}

async fn ga4_validation_messages_are_surfaced(backend: Backend) {
    let w = world(backend).await;
    let id = add(&w.app, &w.tenant, ga4()).await;
    // A server clock two days ahead: GA4 refuses the timestamp it sends.
    w.app.clock.advance_ms(2 * MS_PER_DAY);
    let body = tested(&w.app, &w.tenant, &id, false).await;
    assert_eq!(body["status"], 200, "{body}");
    let m = &body["messages"][0];
    assert_eq!(m["code"], "VALUE_INVALID", "{body}");
    assert_eq!(m["field"], "timestamp_micros", "{body}");
    assert!(m["message"].as_str().unwrap().contains("future"), "{body}");
    assert_eq!(w.ga4.debug_requests().len(), 1);
    assert!(w.ga4.requests().is_empty());
}

/// The address of a port nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn an_unreachable_destination_is_ok_false_without_a_status_never_a_5xx(backend: Backend) {
    let nowhere = closed_port();
    let app = spawn_with(
        backend,
        &[
            ("KICKIN_META_API_BASE", nowhere.as_str()),
            ("KICKIN_GA4_API_BASE", nowhere.as_str()),
            ("KICKIN_TIKTOK_API_BASE", nowhere.as_str()),
        ],
    )
    .await;
    let tenant = app.create_tenant(json!({})).await;
    for body in [meta(json!({})), ga4(), tiktok(json!({}))] {
        let kind = body["kind"].clone();
        let id = add(&app, &tenant, body).await;
        let result = tested(&app, &tenant, &id, false).await;
        assert_eq!(result["status"], Value::Null, "{kind}: {result}");
        let m = &result["messages"][0];
        assert_eq!(m["code"], "connect", "{kind}: {result}");
        assert!(m["message"].as_str().unwrap().contains("could not connect"));
    }
}

/// Rows and counters a test send must leave alone.
async fn footprint(app: &TestApp, tenant: &Tenant) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["events", "deliveries", "delivery_attempts", "dedup_keys"] {
        out.push(app.count_rows(table, &tenant.id).await);
    }
    let id = uuid::Uuid::parse_str(&tenant.id).unwrap();
    let used: Vec<i64> = column(
        &app.state.db.conn,
        "SELECT used FROM quota_usage WHERE tenant_id = ?",
        vec![id.into()],
        "used",
    )
    .await;
    out.push(used.iter().sum());
    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    out.push(usage["counted"].as_i64().unwrap());
    out.push(usage["pending"].as_i64().unwrap());
    out
}

async fn a_test_send_stores_counts_and_spends_nothing_even_at_the_hard_limit(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let plan = plan_body("hard1", json!({"limit_mode": "hard", "hard_limit": 1}));
    let tenant = tenant_on_plan(app, plan).await;
    let meta_id = add(app, &tenant, meta(json!({"test_event_code": "TEST123"}))).await;
    let (status, body) = app.send(&tenant, vec![app.purchase("real-1")]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(app.drain().await, 1);
    let (status, body) = app.send(&tenant, vec![app.purchase("real-2")]).await;
    assert_eq!(status, 429, "the tenant is at its hard limit: {body}");
    let ga4_id = add(app, &tenant, ga4()).await;
    let tiktok_id = add(app, &tenant, tiktok(json!({}))).await;

    let before = footprint(app, &tenant).await;
    for id in [&meta_id, &ga4_id, &tiktok_id] {
        tested(app, &tenant, id, true).await;
    }
    assert_eq!(footprint(app, &tenant).await, before);
    assert_eq!(app.drain().await, 0, "nothing was queued");
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 1);
    assert_eq!(w.meta.received().len(), 2, "the real event and the sample");
    assert_eq!(w.ga4.debug_requests().len(), 1);
    assert_eq!(w.tiktok.received().len(), 1);
}

async fn a_paused_destination_can_be_tested_and_stays_paused(backend: Backend) {
    let w = world(backend).await;
    let (app, tenant) = (&w.app, &w.tenant);
    let id = add(app, tenant, meta(json!({}))).await;
    w.meta.fail_next("123456", MetaFault::InvalidToken, 1);
    app.send(tenant, vec![app.purchase("p-1")]).await;
    app.drain().await;
    assert_eq!(state_of(app, tenant, &id).await, "paused");

    let body = tested(app, tenant, &id, true).await;
    assert_eq!(body["status"], 200, "{body}");
    assert_eq!(
        state_of(app, tenant, &id).await,
        "paused",
        "left to the user"
    );
    assert_eq!(app.delivery_statuses(tenant).await, ["paused"]);
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 0);
}

async fn test_sends_are_limited_per_destination(backend: Backend) {
    let w = world(backend).await;
    let (app, tenant) = (&w.app, &w.tenant);
    let id = add(app, tenant, meta(json!({}))).await;
    let limit = kickin::destinations::test_send::PER_DESTINATION_PER_MINUTE;
    for _ in 0..limit {
        tested(app, tenant, &id, true).await;
    }
    let over = app
        .client
        .post(format!("{}/v1/destinations/{id}/test", app.base))
        .bearer_auth(&tenant.key)
        .send()
        .await
        .unwrap();
    assert_eq!(over.status().as_u16(), 429);
    assert!(over.headers().get("retry-after").is_some());
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(
        w.meta.received().len(),
        limit as usize,
        "the refused one was not sent"
    );

    let other = add(app, tenant, meta(json!({"name": "Second pixel"}))).await;
    tested(app, tenant, &other, true).await;
}

async fn only_the_tenants_manage_keys_may_test_its_destinations(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let id = add(app, &w.tenant, meta(json!({}))).await;
    let other = app.create_tenant(json!({})).await;
    let (status, body) = test_send(app, &other.key, &id).await;
    assert_eq!(status, 404, "another tenant's destination: {body}");
    assert_eq!(body["error"]["code"], "not_found");
    let ingest_only = app.issue_key(&w.tenant.id, &["ingest", "read"]).await;
    let (status, body) = test_send(app, &ingest_only, &id).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let path = format!("/v1/destinations/{id}/test");
    let (status, _) = app.request(Method::POST, &path, None, None).await;
    assert_eq!(status, 401);
    let (status, _) = test_send(app, &w.tenant.key, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(status, 404);
    assert_eq!(w.meta.request_count(), 0, "nothing reached Meta");
}

async fn audit_entries(app: &TestApp, id: &str) -> Vec<String> {
    column(
        &app.state.db.conn,
        "SELECT after FROM audit_log WHERE action = 'destination.test' AND target_id = ?",
        vec![id.into()],
        "after",
    )
    .await
}

async fn the_admin_route_tests_any_destination_and_audits_it_without_secrets(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let id = add(app, &w.tenant, tiktok(json!({"test_event_code": "TEST1"}))).await;
    let path = format!("/destinations/{id}/test");
    let (status, body) = app.admin(Method::POST, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(w.tiktok.received().len(), 1);
    let entries = audit_entries(app, &id).await;
    assert_eq!(entries.len(), 1);
    let after: Value = serde_json::from_str(&entries[0]).unwrap();
    assert_eq!(after["ok"], true);
    assert_eq!(after["kind"], "tiktok");
    assert!(!entries[0].contains(TOKEN), "no secret in the audit log");

    kickin::accounts::create(
        &app.state.db.conn,
        "viewer@kickin.test",
        "viewer-password-1",
        kickin::accounts::Role::Viewer,
        0,
    )
    .await
    .unwrap();
    let (_, session) = app
        .post_json(
            "/admin/api/session",
            None,
            json!({"email": "viewer@kickin.test", "password": "viewer-password-1"}),
        )
        .await;
    let viewer = session["token"].as_str().unwrap();
    let path = format!("/admin/api/destinations/{id}/test");
    let (status, _) = app.request(Method::POST, &path, Some(viewer), None).await;
    assert_eq!(status, 403, "viewers cannot send");
    let missing = format!("/destinations/{}/test", uuid::Uuid::now_v7());
    assert_eq!(app.admin(Method::POST, &missing, None).await.0, 404);
    assert_eq!(w.tiktok.received().len(), 1);
}

async fn the_console_button_shows_the_result_and_needs_the_csrf_token(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let id = add(app, &w.tenant, meta(json!({"test_event_code": "TEST123"}))).await;
    let mut c = Console::new(app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, page, _) = c.get(&format!("/admin/tenants/{}", w.tenant.id)).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("action=\"/admin/destinations/{id}/test\"")));
    assert!(page.contains("Send test event"));

    let path = format!("/admin/destinations/{id}/test");
    let (status, _, _) = c.post(&path, &[("csrf_token", "")]).await;
    assert_eq!(status, 403, "no CSRF token, no test");
    assert!(w.meta.received().is_empty());

    let (status, page, _) = c.post(&path, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"test-result\""), "{page}");
    assert!(page.contains("id=\"test-ok\">ok<"), "{page}");
    assert!(page.contains("HTTP 200"), "{page}");
    assert_eq!(w.meta.received().len(), 1);
    assert_eq!(audit_entries(app, &id).await.len(), 1);
}
