//! More destination behaviours: GA4 credential failures and Retry-After, Meta count
//! anomalies and test event codes, and the mocks' own fidelity.

use reqwest::Method;
use serde_json::json;

use crate::db_tests;
use crate::dispatch::world;
use crate::mocks::ga4::Ga4Fault;
use crate::mocks::meta::{MetaFault, MetaMock};
use crate::support::Backend;

db_tests!(
    a_rejected_ga4_secret_pauses_and_new_secret_resumes,
    ga4_retry_after_is_honoured,
    ga4_server_errors_and_timeouts_are_retried,
    a_meta_count_anomaly_is_resent_and_counted_once,
    the_test_event_code_is_forwarded_to_meta,
);

async fn a_rejected_ga4_secret_pauses_and_new_secret_resumes(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let ga4_id = app.add_ga4(&w.tenant).await;
    w.ga4.fail_next(Ga4Fault::Unauthorized, 1);
    app.send(&w.tenant, vec![app.purchase("g-1")]).await;
    app.drain().await;
    let (_, dest) = app
        .get(&format!("/v1/destinations/{ga4_id}"), Some(&w.tenant.key))
        .await;
    assert_eq!(dest["state"], "paused");
    let (status, _) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{ga4_id}"),
            Some(&w.tenant.key),
            Some(json!({"api_secret": "ga4-secret-value"})),
        )
        .await;
    assert_eq!(status, 200);
    app.drain().await;
    assert_eq!(w.ga4.events().len(), 1);
    assert_eq!(
        app.assert_meter_exact(&w.tenant.id).await,
        2,
        "Meta and GA4 each once"
    );
}

async fn ga4_retry_after_is_honoured(backend: Backend) {
    let w = world(backend, "10s,10s").await;
    let app = &w.app;
    app.add_ga4(&w.tenant).await;
    w.ga4.fail_next(
        Ga4Fault::TooManyRequests {
            retry_after_secs: Some(120),
        },
        1,
    );
    app.send(&w.tenant, vec![app.purchase("g-2")]).await;
    let before = app.clock.now_ms();
    app.drain().await;
    let (_, list) = app
        .get("/v1/deliveries?status=pending", Some(&w.tenant.key))
        .await;
    let next = list["data"][0]["next_attempt_at"].as_str().unwrap();
    let next_ms = chrono::DateTime::parse_from_rfc3339(next)
        .unwrap()
        .timestamp_millis();
    assert!(
        next_ms >= before + 120_000,
        "Retry-After 120 s is waited for, not the 10 s schedule"
    );
    app.clock.advance_ms(60_000);
    app.drain().await;
    assert!(w.ga4.events().is_empty());
    app.clock.advance_ms(65_000);
    app.drain().await;
    assert_eq!(w.ga4.events().len(), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn ga4_server_errors_and_timeouts_are_retried(backend: Backend) {
    let w = world(backend, "10s,10s").await;
    let app = &w.app;
    app.add_ga4(&w.tenant).await;
    w.ga4.fail_next(Ga4Fault::ServerError, 1);
    // Longer than the 5 s send timeout: the attempt times out and is retried.
    w.ga4
        .fail_next(Ga4Fault::Latency(std::time::Duration::from_secs(6)), 1);
    app.send(&w.tenant, vec![app.purchase("g-3")]).await;
    app.drain().await;
    app.clock.advance_ms(15_000);
    app.drain().await;
    app.clock.advance_ms(15_000);
    app.drain().await;
    let (_, list) = app
        .get("/v1/deliveries?status=succeeded", Some(&w.tenant.key))
        .await;
    let ga4 = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "ga4_mp")
        .expect("GA4 delivered");
    let (_, detail) = app
        .get(
            &format!("/v1/deliveries/{}", ga4["id"].as_str().unwrap()),
            Some(&w.tenant.key),
        )
        .await;
    let codes: Vec<_> = detail["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["error_code"].clone())
        .collect();
    assert_eq!(codes, [json!("500"), json!("timeout"), json!(null)]);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn a_meta_count_anomaly_is_resent_and_counted_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    w.meta.fail_next("123456", MetaFault::Anomaly, 1);
    app.send(&w.tenant, vec![app.purchase("a-1"), app.purchase("a-2")])
        .await;
    app.drain().await;
    assert_eq!(
        app.assert_meter_exact(&w.tenant.id).await,
        0,
        "an anomaly is not a success"
    );
    app.clock.advance_ms(15_000);
    app.drain().await;
    assert_eq!(
        app.delivery_statuses(&w.tenant).await,
        ["succeeded", "succeeded"]
    );
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn the_test_event_code_is_forwarded_to_meta(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let (status, _) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{}", w.meta_id),
            Some(&w.tenant.key),
            Some(json!({"test_event_code": "TEST42"})),
        )
        .await;
    assert_eq!(status, 200);
    app.send(&w.tenant, vec![app.purchase("c-1")]).await;
    app.drain().await;
    let received = w.meta.received();
    assert_eq!(received[0].test_event_code.as_deref(), Some("TEST42"));
    assert_eq!(received[0].pixel_id, "123456");
    assert_eq!(received[0].event_name, "Purchase");
}

/// The mock refuses what Meta refuses, so passing tests mean something.
#[tokio::test]
async fn the_meta_mock_refuses_bad_tokens_unhashed_data_and_old_events() {
    let meta = MetaMock::start().await;
    let client = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let event = |em: &str, time: i64| json!({"event_name": "Purchase", "event_time": time, "action_source": "other", "user_data": {"em": em}});
    let hashed = kickin::ingest::pii::sha256_hex("a@b.co");
    let cases = [
        ("wrong-token", event(&hashed, now), 190),
        ("test-token", event("a@b.co", now), 100),
        ("test-token", event(&hashed, now - 8 * 86_400), 100),
        (
            "test-token",
            json!({"event_name": "Purchase", "event_time": now, "action_source": "other", "user_data": {"fn": hashed, "ge": hashed}}),
            100,
        ),
    ];
    for (token, e, code) in cases {
        let resp = client
            .post(format!("{}/v25.0/123456/events", meta.uri()))
            .query(&[("access_token", token)])
            .json(&json!({"data": [e]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    assert!(meta.received().is_empty());
    let ok = client
        .post(format!("{}/v25.0/123456/events", meta.uri()))
        .query(&[("access_token", "test-token")])
        .json(&json!({"data": [event(&hashed, now)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        ok.json::<serde_json::Value>().await.unwrap()["events_received"],
        1
    );
}

#[tokio::test]
async fn the_ga4_mock_answers_204_but_flags_what_ga4_would_drop() {
    let ga4 = crate::mocks::ga4::Ga4Mock::start().await;
    let client = reqwest::Client::new();
    let url = format!(
        "{}/mp/collect?measurement_id=G-TEST123&api_secret=ga4-secret-value",
        ga4.uri()
    );
    let bad = json!({"client_id": "1.2", "events": [{"name": "_bad", "params": {}}]});
    assert_eq!(
        client
            .post(&url)
            .json(&bad)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let requests = ga4.requests();
    assert!(!requests[0].valid);
    assert_eq!(requests[0].messages[0]["validationCode"], "NAME_INVALID");
    let debug = format!(
        "{}/debug/mp/collect?measurement_id=G-TEST123&api_secret=x",
        ga4.uri()
    );
    let body: serde_json::Value = client
        .post(&debug)
        .json(&bad)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["validationMessages"][0]["fieldPath"], "events");
}
