//! Plan limits, usage, alerts, reconcile and housekeeping.

use reqwest::Method;
use serde_json::{Value, json};

use crate::db_tests;
use crate::dispatch::world;
use crate::mocks::meta::MetaFault;
use crate::support::{Backend, Tenant, TestApp, spawn_with};
use kickin::plans::Tier;
use kickin::plans::pricing::{TierMode, price};

db_tests!(
    a_hard_limit_of_n_accepts_exactly_n_across_two_app_instances,
    failed_deliveries_give_their_headroom_back,
    a_soft_plan_over_quota_accepts_and_alerts_once,
    the_projected_amount_is_the_tier_price_of_the_usage,
    plans_cap_destinations_and_api_keys,
    reconcile_passes_on_a_clean_database_and_fails_after_tampering,
    housekeeping_purges_keys_and_payloads_and_repairs_reservations,
);

pub fn plan_body(code: &str, extra: Value) -> Value {
    let mut plan = json!({"code": code, "name": code, "currency": "usd", "monthly_fee": 1000,
        "tier_mode": "graduated",
        "tiers": [{"up_to": 5, "price_per_1000": 0}, {"up_to": null, "price_per_1000": 2000}],
        "limit_mode": "soft", "hard_limit": null, "max_destinations": null, "max_api_keys": null, "retention_days": 30});
    for (k, v) in extra.as_object().unwrap() {
        plan[k] = v.clone();
    }
    plan
}

pub async fn tenant_on_plan(app: &TestApp, plan: Value) -> Tenant {
    let (status, plan) = app.admin(Method::POST, "/plans", Some(plan)).await;
    assert_eq!(status, 201, "{plan}");
    app.create_tenant(json!({"plan_id": plan["id"]})).await
}

async fn a_hard_limit_of_n_accepts_exactly_n_across_two_app_instances(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body("hard10", json!({"limit_mode": "hard", "hard_limit": 10})),
    )
    .await;
    app.add_meta(&tenant).await;
    let url = app.state.config.database_url.clone();
    let meta_uri = w.meta.uri();
    let other = spawn_with(
        Backend::Sqlite,
        &[
            ("KICKIN_DATABASE_URL", &url),
            ("KICKIN_META_API_BASE", &meta_uri),
        ],
    )
    .await;
    let sends = (0..30).map(|i| {
        let target = if i % 2 == 0 { app } else { &other };
        let tenant = &tenant;
        async move {
            target
                .send(tenant, vec![target.purchase(&format!("h-{i}"))])
                .await
        }
    });
    let answers = futures_util::future::join_all(sends).await;
    let accepted = answers
        .iter()
        .filter(|(s, b)| *s == 202 && b["accepted"] == 1)
        .count();
    assert_eq!(accepted, 10, "exactly the hard limit is accepted");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*status, 429, "{body}");
        assert_eq!(body["error"]["code"], "plan_limit_reached");
        assert_eq!(body["error"]["limit"], 10);
        assert_eq!(body["error"]["used"], 10);
        assert!(body["error"]["resets_at"].as_str().unwrap().ends_with('Z'));
    }
    let (status, _) = app.send(&tenant, vec![app.purchase("h-next")]).await;
    assert_eq!(status, 429);
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 10);
    app.drain().await;
    assert_eq!(
        w.meta.received().len(),
        10,
        "nothing past the limit is sent"
    );
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 10);
    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    let alerts: Vec<(String, i64)> = usage["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["threshold"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        alerts.contains(&("hard_limit".into(), 80)) && alerts.contains(&("hard_limit".into(), 100)),
        "{usage}"
    );
    // A refused event took no dedup key: it is accepted once there is room again.
    let (_, body) = app.send(&tenant, vec![app.purchase("h-next")]).await;
    assert_ne!(body["results"][0]["status"], "duplicate");
}

async fn failed_deliveries_give_their_headroom_back(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body("hard2", json!({"limit_mode": "hard", "hard_limit": 2})),
    )
    .await;
    app.add_meta(&tenant).await;
    w.meta
        .fail_next("123456", MetaFault::RejectEventId("f-1".into()), u32::MAX);
    let (status, _) = app
        .send(&tenant, vec![app.purchase("f-1"), app.purchase("f-2")])
        .await;
    assert_eq!(status, 202);
    let (status, _) = app.send(&tenant, vec![app.purchase("f-3")]).await;
    assert_eq!(
        status, 429,
        "the limit is held by the two pending deliveries"
    );
    app.drain().await;
    let (status, body) = app.send(&tenant, vec![app.purchase("f-3")]).await;
    assert_eq!(
        status, 202,
        "the failed delivery gave its headroom back: {body}"
    );
    let (status, _) = app.send(&tenant, vec![app.purchase("f-4")]).await;
    assert_eq!(status, 429);
    app.drain().await;
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 2);
}

async fn a_soft_plan_over_quota_accepts_and_alerts_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(app, plan_body("soft5", json!({}))).await;
    app.add_meta(&tenant).await;
    for batch in 0..3 {
        let events = (0..3)
            .map(|i| app.purchase(&format!("s-{batch}-{i}")))
            .collect();
        let (status, body) = app.send(&tenant, events).await;
        assert_eq!(status, 202);
        assert_eq!(body["accepted"], 3, "a soft plan accepts beyond its quota");
        app.drain().await;
    }
    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    assert_eq!(usage["counted"], 9, "{usage}");
    let alerts = usage["alerts"].as_array().unwrap();
    assert_eq!(
        alerts.len(),
        2,
        "80 % and 100 % of the included quota, once each: {usage}"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["kind"] == "included" && a["limit"] == 5)
    );
    let (_, admin_usage) = app
        .admin(Method::GET, &format!("/tenants/{}/usage", tenant.id), None)
        .await;
    assert_eq!(
        admin_usage["alerts"].as_array().map(Vec::len),
        Some(2),
        "{admin_usage}"
    );
    assert_eq!(admin_usage["plan"]["included"], 5);
}

async fn the_projected_amount_is_the_tier_price_of_the_usage(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tiers = vec![
        Tier {
            up_to: Some(2),
            price_per_1000: 0,
        },
        Tier {
            up_to: Some(5),
            price_per_1000: 1500,
        },
        Tier {
            up_to: None,
            price_per_1000: 500,
        },
    ];
    for (mode, name) in [
        (TierMode::Graduated, "graduated"),
        (TierMode::Volume, "volume"),
    ] {
        let plan = plan_body(
            &format!("p-{name}"),
            json!({"tier_mode": name, "tiers": tiers}),
        );
        let tenant = tenant_on_plan(app, plan).await;
        app.add_meta(&tenant).await;
        for n in [1usize, 4, 7] {
            let events = (0..n)
                .map(|i| app.purchase(&format!("{name}-{n}-{i}")))
                .collect();
            app.send(&tenant, events).await;
            app.drain().await;
            let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
            let units = usage["counted"].as_i64().unwrap();
            let expected = price("usd", 1000, mode, &tiers, units);
            assert_eq!(
                usage["projected"]["total"], expected.total,
                "{name} at {units}: {usage}"
            );
            assert_eq!(
                usage["projected"]["lines"].as_array().unwrap().len(),
                expected.lines.len()
            );
        }
    }
}

async fn plans_cap_destinations_and_api_keys(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body("small", json!({"max_destinations": 1, "max_api_keys": 1})),
    )
    .await;
    app.add_meta(&tenant).await;
    let body = json!({"kind": "ga4_mp", "name": "Stream", "measurement_id": "G-TEST123", "api_secret": "x-secret"});
    let (status, answer) = app
        .post_json("/v1/destinations", Some(&tenant.key), body)
        .await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"]["code"], "destination_limit_reached");
    let (status, answer) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/api-keys", tenant.id),
            Some(json!({"name": "2nd", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"]["code"], "api_key_limit_reached");
}

async fn reconcile_passes_on_a_clean_database_and_fails_after_tampering(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    app.send(&w.tenant, vec![app.purchase("rc-1"), app.purchase("rc-2")])
        .await;
    app.drain().await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kickin"))
            .args(["reconcile"])
            .env("KICKIN_DATABASE_URL", &app.state.config.database_url)
            .env(
                "KICKIN_SECRET_KEY",
                "test-secret-key-0123456789abcdef0123456789",
            )
            .output()
            .unwrap()
    };
    let clean = run();
    let text = String::from_utf8_lossy(&clean.stdout).to_string();
    assert_eq!(clean.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&w.tenant.id) && text.contains("0 with a difference"),
        "{text}"
    );
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .conn
        .execute_unprepared("UPDATE usage_meter SET counted = counted + 1")
        .await
        .unwrap();
    let tampered = run();
    let text = String::from_utf8_lossy(&tampered.stdout).to_string();
    assert_eq!(tampered.status.code(), Some(1), "{text}");
    assert!(text.contains("MISMATCH"), "{text}");
}

async fn housekeeping_purges_keys_and_payloads_and_repairs_reservations(backend: Backend) {
    use kickin::housekeeping::{purge_dedup_keys, purge_payloads, release_stale_reservations};
    use sea_orm::ConnectionTrait;
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body(
            "short",
            json!({"retention_days": 1, "limit_mode": "hard", "hard_limit": 100}),
        ),
    )
    .await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("hk-1")]).await;
    app.drain().await;
    let db = &app.state.db;
    app.state
        .db
        .conn
        .execute_unprepared("UPDATE quota_usage SET used = 50")
        .await
        .unwrap();
    assert!(
        release_stale_reservations(db, app.clock.now_ms())
            .await
            .unwrap()
            >= 1
    );
    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    assert_eq!(usage["counted"], 1);
    assert_eq!(
        purge_payloads(db, app.clock.now_ms()).await.unwrap(),
        0,
        "inside retention"
    );
    app.clock.advance_ms(8 * 86_400_000);
    assert!(purge_dedup_keys(db, app.clock.now_ms()).await.unwrap() >= 1);
    assert_eq!(app.count_rows("dedup_keys", &tenant.id).await, 0);
    assert_eq!(purge_payloads(db, app.clock.now_ms()).await.unwrap(), 1);
    let (_, event) = app.get("/v1/events/hk-1", Some(&tenant.key)).await;
    assert_eq!(event["payload"], json!({}), "no PII is kept past retention");
    assert_eq!(
        event["event_name"], "Purchase",
        "the identity stays for billing and audit"
    );
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 1);
}

db_tests!(deleting_a_destination_gives_its_waiting_headroom_back);

async fn deleting_a_destination_gives_its_waiting_headroom_back(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body("hard2b", json!({"limit_mode": "hard", "hard_limit": 2})),
    )
    .await;
    let first = app.add_meta(&tenant).await;
    let (status, _) = app
        .send(&tenant, vec![app.purchase("w-1"), app.purchase("w-2")])
        .await;
    assert_eq!(status, 202);
    assert_eq!(app.send(&tenant, vec![app.purchase("w-3")]).await.0, 429);
    let (status, _) = app
        .request(
            Method::DELETE,
            &format!("/v1/destinations/{first}"),
            Some(&tenant.key),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.delivery_statuses(&tenant).await, ["failed", "failed"]);
    app.add_meta(&tenant).await;
    let (status, body) = app
        .send(&tenant, vec![app.purchase("w-3"), app.purchase("w-4")])
        .await;
    assert_eq!(
        status, 202,
        "the deleted destination's two reservations came back: {body}"
    );
    assert_eq!(body["accepted"], 2);
}

db_tests!(moving_to_a_hard_plan_counts_what_the_month_already_used);

async fn moving_to_a_hard_plan_counts_what_the_month_already_used(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(app, plan_body("soft-first", json!({}))).await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("m-1"), app.purchase("m-2")])
        .await;
    app.drain().await;
    app.send(&tenant, vec![app.purchase("m-3")]).await; // one counted pair + one pending
    let (_, hard) = app
        .admin(
            Method::POST,
            "/plans",
            Some(plan_body(
                "hard4",
                json!({"limit_mode": "hard", "hard_limit": 4}),
            )),
        )
        .await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", tenant.id),
            Some(json!({"plan_id": hard["id"]})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .send(&tenant, vec![app.purchase("m-4"), app.purchase("m-5")])
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["accepted"], 1,
        "3 sends this month + 1 reaches the limit of 4: {body}"
    );
    assert_eq!(body["results"][1]["error"]["code"], "plan_limit_reached");
}
