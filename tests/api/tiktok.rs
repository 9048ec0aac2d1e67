//! TikTok Events API as a destination, end to end against the faithful mock: created and
//! validated like the others, each unique event sent once with TikTok's hashing, auth
//! errors pause it, throttling retries, and dedup, the meter, hard limits, reconciliation
//! and invoices treat it exactly as Meta and GA4.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::billing::next_month;
use crate::db_tests;
use crate::limits::{plan_body, tenant_on_plan};
use crate::mocks::tiktok::{PIXEL, TOKEN, TiktokFault, TiktokMock};
use crate::support::{Backend, Tenant, TestApp, spawn_with};
use kickin::clock::MS_PER_HOUR;
use kickin::ingest::pii::sha256_hex;
use kickin::metering::reconcile::reconcile;

db_tests!(
    a_tiktok_destination_is_validated_and_its_token_never_shown,
    each_unique_event_reaches_tiktok_once_hashed_as_tiktok_hashes,
    a_refused_token_pauses_tiktok_until_new_credentials,
    throttling_is_retried_and_the_event_counted_once,
    events_tiktok_cannot_take_are_skipped_with_a_reason,
    limits_reconciliation_and_invoices_count_tiktok_sends_like_any_other,
    a_tiktok_answer_that_times_out_is_resent_inside_48_hours_and_counted_once,
    past_48_hours_an_unknown_tiktok_send_is_unconfirmed_and_not_resent,
);

struct World {
    app: TestApp,
    tiktok: TiktokMock,
}

async fn world(backend: Backend) -> World {
    world_with(backend, &[]).await
}

async fn world_with(backend: Backend, extra: &[(&str, &str)]) -> World {
    let tiktok = TiktokMock::start().await;
    let uri = tiktok.uri();
    let mut vars = vec![
        ("KICKIN_TIKTOK_API_BASE", uri.as_str()),
        ("KICKIN_RETRY_SCHEDULE", "10s,20s"),
    ];
    vars.extend_from_slice(extra);
    let app = spawn_with(backend, &vars).await;
    tiktok.use_clock(&app.clock);
    World { app, tiktok }
}

async fn add_tiktok(app: &TestApp, tenant: &Tenant, extra: Value) -> String {
    let mut body = json!({"kind": "tiktok", "name": "Shop TikTok pixel", "pixel_code": PIXEL,
        "access_token": TOKEN});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, dest) = app
        .post_json("/v1/destinations", Some(&tenant.key), body)
        .await;
    assert_eq!(status, 201, "create tiktok destination: {dest}");
    dest["id"].as_str().unwrap().to_string()
}

async fn a_tiktok_destination_is_validated_and_its_token_never_shown(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    let id = add_tiktok(app, &tenant, json!({"test_event_code": "TEST1"})).await;
    let (status, shown) = app
        .get(&format!("/v1/destinations/{id}"), Some(&tenant.key))
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["kind"], "tiktok");
    assert_eq!(shown["pixel_code"], PIXEL);
    assert_eq!(shown["test_event_code"], "TEST1");
    assert_eq!(shown["access_token_set"], true);
    assert!(shown.get("api_secret_set").is_none(), "{shown}");
    assert!(
        !shown.to_string().contains(TOKEN),
        "the token is write-only"
    );

    let base = json!({"kind": "tiktok", "name": "x", "pixel_code": PIXEL, "access_token": TOKEN});
    for (change, field) in [
        (json!({"pixel_code": null}), "pixel_code"),
        (json!({"pixel_code": "has space"}), "pixel_code"),
        (json!({"access_token": null}), "access_token"),
        (json!({"measurement_id": "G-ABC"}), "measurement_id"),
        (json!({"pixel_id": "123"}), "pixel_id"),
    ] {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, err) = app
            .post_json("/v1/destinations", Some(&tenant.key), body)
            .await;
        assert_eq!(status, 422, "{change}: {err}");
        assert_eq!(err["error"]["field"], field, "{change}: {err}");
    }
}

async fn each_unique_event_reaches_tiktok_once_hashed_as_tiktok_hashes(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    add_tiktok(app, &tenant, json!({"test_event_code": "TEST1"})).await;
    let mut first = app.purchase("order-1");
    first["user_data"]["ttp"] = json!("ttp-cookie-value");
    first["user_data"]["ttclid"] = json!("E.C.P.click");
    let events = vec![first, app.purchase("order-2"), app.purchase("order-1")];
    let (status, body) = app.send(&tenant, events).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["duplicates"], 1);
    assert_eq!(app.drain().await, 2);
    assert_eq!(app.drain().await, 0, "nothing is sent twice");
    for id in ["order-1", "order-2"] {
        assert_eq!(w.tiktok.count_event(id), 1, "{id} reaches TikTok once");
    }
    let sent = w
        .tiktok
        .received()
        .into_iter()
        .find(|e| e.event_id.as_deref() == Some("order-1"))
        .unwrap();
    assert_eq!(sent.event, "Purchase");
    assert_eq!(sent.test_event_code.as_deref(), Some("TEST1"));
    let user = &sent.data["user"];
    assert_eq!(user["email"], sha256_hex("jane.doe@example.com"));
    // `+1 (555) 010-0000` in E.164 with its `+`, not Meta's digits-only hash.
    assert_eq!(user["phone"], sha256_hex("+15550100000"));
    assert_eq!(user["ttp"], "ttp-cookie-value");
    assert_eq!(user["ttclid"], "E.C.P.click");
    assert_eq!(user["ip"], "203.0.113.9");
    assert_eq!(sent.data["page"]["url"], "https://shop.example/thanks");
    assert_eq!(sent.data["properties"]["value"], 129.99);
    assert_eq!(sent.data["properties"]["order_id"], "12345");

    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    assert_eq!(usage["counted"], 2, "{usage}");
    assert_eq!(usage["by_kind"]["tiktok"], 2, "{usage}");
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 2);
}

async fn a_refused_token_pauses_tiktok_until_new_credentials(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    let id = add_tiktok(app, &tenant, json!({})).await;
    w.tiktok.fail_next(PIXEL, TiktokFault::InvalidToken, 1);
    app.send(&tenant, vec![app.purchase("p-1")]).await;
    app.drain().await;
    let (_, shown) = app
        .get(&format!("/v1/destinations/{id}"), Some(&tenant.key))
        .await;
    assert_eq!(shown["state"], "paused", "{shown}");
    assert!(shown["paused_reason"].is_string(), "{shown}");
    assert_eq!(app.delivery_statuses(&tenant).await, ["paused"]);
    assert_eq!(
        app.drain().await,
        0,
        "a paused destination burns no attempts"
    );

    w.tiktok.add_token("tt-new-token", &[PIXEL]);
    let (status, updated) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{id}"),
            Some(&tenant.key),
            Some(json!({"access_token": "tt-new-token"})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["state"], "active");
    assert_eq!(app.drain().await, 1);
    assert_eq!(w.tiktok.counted("p-1"), 1);
    assert_eq!(app.delivery_statuses(&tenant).await, ["succeeded"]);
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 1);
}

async fn throttling_is_retried_and_the_event_counted_once(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    add_tiktok(app, &tenant, json!({})).await;
    let throttled = TiktokFault::RateLimit {
        http_429: false,
        retry_after_secs: None,
    };
    w.tiktok.fail_next(PIXEL, throttled, 1);
    app.send(&tenant, vec![app.purchase("t-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["pending"]);
    assert_eq!(
        app.assert_meter_exact(&tenant.id).await,
        0,
        "not counted yet"
    );
    app.clock.advance_ms(60_000);
    assert_eq!(app.drain().await, 1);
    assert_eq!(w.tiktok.counted("t-1"), 1);
    assert_eq!(app.delivery_statuses(&tenant).await, ["succeeded"]);
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 1);
}

async fn events_tiktok_cannot_take_are_skipped_with_a_reason(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    add_tiktok(app, &tenant, json!({})).await;
    let mut app_event = app.purchase("a-1");
    app_event["action_source"] = json!("app");
    app_event
        .as_object_mut()
        .unwrap()
        .remove("event_source_url");
    let mut reserved = app.purchase("a-2");
    reserved["event_name"] = json!("Checkout");
    let (status, body) = app.send(&tenant, vec![app_event, reserved]).await;
    assert_eq!(status, 202, "{body}");
    let reasons: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["deliveries"][0]["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        reasons,
        ["not_a_web_event", "reserved_tiktok_event_name"],
        "{body}"
    );
    assert_eq!(app.drain().await, 0);
    assert_eq!(w.tiktok.request_count(), 0);
}

async fn limits_reconciliation_and_invoices_count_tiktok_sends_like_any_other(backend: Backend) {
    let w = world(backend).await;
    let app = &w.app;
    let plan = plan_body("tt3", json!({"limit_mode": "hard", "hard_limit": 3}));
    let tenant = tenant_on_plan(app, plan).await;
    add_tiktok(app, &tenant, json!({})).await;
    let events = (0..3).map(|i| app.purchase(&format!("l-{i}"))).collect();
    let (status, _) = app.send(&tenant, events).await;
    assert_eq!(status, 202);
    let (status, refused) = app.send(&tenant, vec![app.purchase("l-over")]).await;
    assert_eq!(status, 429, "the hard limit holds for TikTok: {refused}");
    assert_eq!(refused["error"]["code"], "plan_limit_reached");
    assert_eq!(app.drain().await, 3);
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 3);

    let period = next_month(app).await;
    for row in reconcile(&app.state.db.conn, &period).await.unwrap() {
        assert!(row.matches(), "{row:?}");
    }
    let (status, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let (_, invoices) = app
        .admin(Method::GET, &format!("/invoices?period={period}"), None)
        .await;
    let invoice = invoices["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tenant_id"] == tenant.id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(invoice["units"], 3, "{invoice}");
}

/// Destination requests give up after 300 ms, so a slow answer is a timeout quickly.
const FAST: [(&str, &str); 1] = [("KICKIN_SEND_TIMEOUT", "300ms")];

async fn a_tiktok_answer_that_times_out_is_resent_inside_48_hours_and_counted_once(
    backend: Backend,
) {
    let w = world_with(backend, &FAST).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    add_tiktok(app, &tenant, json!({})).await;
    w.tiktok
        .fail_next(PIXEL, TiktokFault::Latency(Duration::from_secs(3)), 1);
    app.send(&tenant, vec![app.purchase("slow-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["pending"]);
    app.clock.advance_ms(13_000); // past the 10 s retry, jitter included
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["succeeded"]);
    assert_eq!(
        w.tiktok.count_event("slow-1"),
        2,
        "resent with the same event_id"
    );
    assert_eq!(w.tiktok.counted("slow-1"), 1, "TikTok drops the copy");
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 1);
}

async fn past_48_hours_an_unknown_tiktok_send_is_unconfirmed_and_not_resent(backend: Backend) {
    let w = world_with(backend, &FAST).await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    add_tiktok(app, &tenant, json!({})).await;
    w.tiktok
        .fail_next(PIXEL, TiktokFault::Latency(Duration::from_secs(3)), 1);
    app.send(&tenant, vec![app.purchase("late-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["pending"]);
    // The retry comes due only after the 48 h window less its 1 h margin has closed.
    app.clock.advance_ms(47 * MS_PER_HOUR);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["unconfirmed"]);
    assert_eq!(
        w.tiktok.count_event("late-1"),
        1,
        "never sent a second time"
    );
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 0);
}
