//! Dispatch against faithful Meta and GA4 mocks: each unique event is sent once,
//! retries and pauses behave, and the meter always equals the succeeded deliveries.

use reqwest::Method;
use serde_json::json;

use crate::db_tests;
use crate::mocks::ga4::Ga4Mock;
use crate::mocks::meta::{MetaFault, MetaMock};
use crate::support::{Backend, Tenant, TestApp, spawn_with};
use kickin::ingest::pii::sha256_hex;

pub struct World {
    pub app: TestApp,
    pub meta: MetaMock,
    pub ga4: Ga4Mock,
    pub tenant: Tenant,
    pub meta_id: String,
}

pub async fn world(backend: Backend, schedule: &str) -> World {
    world_with(backend, schedule, &[]).await
}

/// `world` with more configuration (later entries win).
pub async fn world_with(backend: Backend, schedule: &str, extra: &[(&str, &str)]) -> World {
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-secret-token");
    let ga4 = Ga4Mock::start().await;
    let (meta_uri, ga4_uri) = (meta.uri(), ga4.uri());
    let mut vars = vec![
        ("KICKIN_META_API_BASE", meta_uri.as_str()),
        ("KICKIN_GA4_API_BASE", ga4_uri.as_str()),
        ("KICKIN_RETRY_SCHEDULE", schedule),
    ];
    vars.extend_from_slice(extra);
    let app = spawn_with(backend, &vars).await;
    let tenant = app.create_tenant(json!({})).await;
    let meta_id = app.add_meta(&tenant).await;
    World {
        app,
        meta,
        ga4,
        tenant,
        meta_id,
    }
}

db_tests!(
    each_unique_event_reaches_meta_and_ga4_exactly_once,
    transient_failures_then_success_count_once,
    a_permanent_failure_is_tried_once_and_never_counted,
    one_bad_event_in_a_batch_does_not_hold_back_the_others,
    an_invalid_token_pauses_the_destination_until_its_credentials_change,
    retries_run_out_into_dead_and_a_replay_sends_again,
    an_event_too_old_to_send_dies_as_expired_without_a_request,
    meta_throttling_holds_the_whole_pixel,
);

async fn each_unique_event_reaches_meta_and_ga4_exactly_once(backend: Backend) {
    let w = world(backend, "10s,20s").await;
    let app = &w.app;
    app.add_ga4(&w.tenant).await;
    let mut second = app.purchase("order-2");
    second["custom_data"]["contents"] = json!([{"id": "sku-1", "quantity": 2, "item_price": 10.5}]);
    let (status, _) = app
        .send(
            &w.tenant,
            vec![app.purchase("order-1"), second, app.purchase("order-1")],
        )
        .await;
    assert_eq!(status, 202);
    app.send(&w.tenant, vec![app.purchase("order-2")]).await;
    assert_eq!(app.drain().await, 4);
    assert_eq!(app.drain().await, 0, "nothing is sent twice");

    for id in ["order-1", "order-2"] {
        assert_eq!(w.meta.count_event(id), 1, "{id} reaches Meta once");
    }
    let sent = &w.meta.received()[0].event;
    assert_eq!(sent["user_data"]["em"], sha256_hex("jane.doe@example.com"));
    assert_eq!(sent["user_data"]["ph"], sha256_hex("15550100000"));
    assert_eq!(sent["user_data"]["client_ip_address"], "203.0.113.9");
    assert_eq!(sent["event_id"], "order-1");

    let ga4_events = w.ga4.events();
    assert_eq!(ga4_events.len(), 2);
    assert!(
        w.ga4.requests().iter().all(|r| r.valid),
        "GA4 would keep every event: {:?}",
        w.ga4.requests()
    );
    let purchase = ga4_events
        .iter()
        .find(|e| e["params"]["items"].is_array())
        .unwrap();
    assert_eq!(purchase["name"], "purchase");
    assert_eq!(purchase["params"]["transaction_id"], "12345");
    assert_eq!(purchase["params"]["currency"], "USD");
    assert_eq!(purchase["params"]["items"][0]["item_id"], "sku-1");
    assert_eq!(purchase["client_id"], "123456.7654321");

    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 4);
    let (_, usage) = app.get("/v1/usage", Some(&w.tenant.key)).await;
    assert_eq!(usage["counted"], 4);
    assert_eq!(usage["by_kind"]["meta_capi"], 2);
    assert_eq!(usage["by_kind"]["ga4_mp"], 2);
    assert_eq!(usage["pending"], 0);
}

async fn transient_failures_then_success_count_once(backend: Backend) {
    let w = world(backend, "10s,20s,30s").await;
    let app = &w.app;
    w.meta.fail_next("123456", MetaFault::ServerError, 2);
    app.send(&w.tenant, vec![app.purchase("t-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["pending"]);
    app.clock.advance_ms(13_000);
    app.drain().await;
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
    app.clock.advance_ms(25_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["succeeded"]);
    assert_eq!(w.meta.count_event("t-1"), 1);
    assert_eq!(w.meta.request_count(), 3);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 1);
    let (_, list) = app.get("/v1/deliveries", Some(&w.tenant.key)).await;
    let id = list["data"][0]["id"].as_str().unwrap();
    let (_, detail) = app
        .get(&format!("/v1/deliveries/{id}"), Some(&w.tenant.key))
        .await;
    let log = detail["attempts_log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["http_status"], 500);
    assert_eq!(log[0]["outcome"], "retry");
    assert_eq!(log[2]["outcome"], "delivered");
    assert!(
        log[2]["destination_trace_id"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(detail["attempts"], 3);
}

async fn a_permanent_failure_is_tried_once_and_never_counted(backend: Backend) {
    let w = world(backend, "10s,20s").await;
    let app = &w.app;
    w.meta
        .fail_next("123456", MetaFault::RejectEventId("bad-1".into()), u32::MAX);
    app.send(&w.tenant, vec![app.purchase("bad-1")]).await;
    app.drain().await;
    app.clock.advance_ms(60_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["failed"]);
    assert_eq!(w.meta.request_count(), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
    let (_, event) = app.get("/v1/events/bad-1", Some(&w.tenant.key)).await;
    assert!(
        event["deliveries"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 400"),
        "{event}"
    );
}

async fn one_bad_event_in_a_batch_does_not_hold_back_the_others(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    w.meta
        .fail_next("123456", MetaFault::RejectEventId("b-3".into()), u32::MAX);
    let events = (1..=5).map(|i| app.purchase(&format!("b-{i}"))).collect();
    app.send(&w.tenant, events).await;
    app.drain().await;
    for i in [1, 2, 4, 5] {
        assert_eq!(w.meta.count_event(&format!("b-{i}")), 1);
    }
    assert_eq!(w.meta.count_event("b-3"), 0);
    let mut statuses = app.delivery_statuses(&w.tenant).await;
    statuses.sort();
    assert_eq!(
        statuses,
        ["failed", "succeeded", "succeeded", "succeeded", "succeeded"]
    );
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 4);
}

async fn an_invalid_token_pauses_the_destination_until_its_credentials_change(backend: Backend) {
    let w = world(backend, "10s,20s").await;
    let app = &w.app;
    w.meta.fail_next("123456", MetaFault::InvalidToken, 1);
    app.send(&w.tenant, vec![app.purchase("p-1"), app.purchase("p-2")])
        .await;
    app.drain().await;
    let (_, dest) = app
        .get(
            &format!("/v1/destinations/{}", w.meta_id),
            Some(&w.tenant.key),
        )
        .await;
    assert_eq!(dest["state"], "paused");
    assert!(
        dest["paused_reason"].as_str().unwrap().contains("190"),
        "{dest}"
    );
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["paused", "paused"]);
    let requests = w.meta.request_count();
    app.send(&w.tenant, vec![app.purchase("p-3")]).await;
    app.clock.advance_ms(60_000);
    app.drain().await;
    assert_eq!(
        w.meta.request_count(),
        requests,
        "a paused destination burns no retries"
    );
    let (_, list) = app
        .get("/v1/deliveries?status=paused", Some(&w.tenant.key))
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["attempts"] == 0)
    );

    w.meta.add_token("EAAB-new-token");
    let (status, dest) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{}", w.meta_id),
            Some(&w.tenant.key),
            Some(json!({"access_token": "EAAB-new-token"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(dest["state"], "active");
    app.drain().await;
    for id in ["p-1", "p-2", "p-3"] {
        assert_eq!(
            w.meta.count_event(id),
            1,
            "{id} delivered once after resuming"
        );
    }
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 3);
}

async fn retries_run_out_into_dead_and_a_replay_sends_again(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    w.meta.fail_next("123456", MetaFault::ServerError, 2);
    app.send(&w.tenant, vec![app.purchase("d-1")]).await;
    app.drain().await;
    app.clock.advance_ms(15_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["dead"]);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
    let (_, list) = app
        .get("/v1/deliveries?status=dead", Some(&w.tenant.key))
        .await;
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .post_json(
            &format!("/v1/deliveries/{id}/replay"),
            Some(&w.tenant.key),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["succeeded"]);
    let (status, body) = app
        .post_json(
            &format!("/v1/deliveries/{id}/replay"),
            Some(&w.tenant.key),
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "already_succeeded");
    app.drain().await;
    assert_eq!(w.meta.count_event("d-1"), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 1);
    let other = app.create_tenant(json!({})).await;
    let (status, _) = app
        .post_json(
            &format!("/v1/deliveries/{id}/replay"),
            Some(&other.key),
            json!({}),
        )
        .await;
    assert_eq!(status, 404, "another tenant cannot replay it");
}

async fn an_event_too_old_to_send_dies_as_expired_without_a_request(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let mut old = app.purchase("old-1");
    // Accepted with 90 minutes to spare, then not sent before the worker's 1 h margin passes.
    old["event_time"] = json!(app.now_secs() - 7 * 86_400 + 5_400);
    let (_, body) = app.send(&w.tenant, vec![old]).await;
    assert_eq!(body["results"][0]["deliveries"][0]["status"], "queued");
    app.clock.advance_ms(31 * 60_000);
    app.drain().await;
    assert_eq!(w.meta.request_count(), 0);
    let (_, event) = app.get("/v1/events/old-1", Some(&w.tenant.key)).await;
    assert_eq!(event["deliveries"][0]["status"], "dead");
    assert!(
        event["deliveries"][0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("expired")
    );
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
}

async fn meta_throttling_holds_the_whole_pixel(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    w.meta.fail_next(
        "123456",
        MetaFault::RateLimit {
            code: 80004,
            regain_minutes: 2,
        },
        1,
    );
    app.send(&w.tenant, vec![app.purchase("r-1")]).await;
    app.drain().await;
    app.send(&w.tenant, vec![app.purchase("r-2")]).await;
    app.clock.advance_ms(60_000);
    app.drain().await;
    assert_eq!(
        w.meta.request_count(),
        1,
        "nothing goes to a throttled pixel before Meta's regain time"
    );
    app.clock.advance_ms(70_000);
    app.drain().await;
    assert_eq!(w.meta.count_event("r-1"), 1);
    assert_eq!(w.meta.count_event("r-2"), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}
