//! Attempts whose outcome is unknown — a timeout after the request was sent, a reset
//! connection, a worker that died mid-send — are resent only where the destination
//! deduplicates the resend; anywhere else the delivery ends `unconfirmed`: never resent,
//! never counted, replayable on purpose.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::db_tests;
use crate::dispatch::{World, world_with};
use crate::mocks::ga4::Ga4Fault;
use crate::mocks::meta::MetaFault;
use crate::support::{Backend, Tenant, TestApp, spawn_with};
use kickin::clock::MS_PER_HOUR;
use kickin::dispatch::worker::LEASE_MS;

db_tests!(
    a_ga4_lead_whose_answer_times_out_after_receipt_is_never_sent_again,
    a_ga4_purchase_with_a_transaction_id_is_resent_after_a_timeout_and_counted_once,
    a_meta_answer_that_times_out_is_resent_inside_48_hours_and_counted_once,
    a_ga4_lead_lost_in_a_crash_mid_send_is_unconfirmed_not_resent,
    a_meta_send_lost_in_a_crash_is_not_resent_past_the_48_hour_window,
    a_refused_connection_is_retried_and_a_reset_one_is_an_unknown_outcome,
);

/// Destination requests give up after 300 ms, so a slow answer is a timeout quickly.
const FAST: [(&str, &str); 1] = [("KICKIN_SEND_TIMEOUT", "300ms")];

fn lead(app: &TestApp, id: &str) -> Value {
    let mut e = app.purchase(id);
    e["event_name"] = json!("Lead");
    e["custom_data"] = json!({"value": 10, "currency": "USD"});
    e
}

async fn deliveries_to(app: &TestApp, tenant: &Tenant, destination: &str) -> Vec<Value> {
    let path = format!("/v1/deliveries?destination_id={destination}&limit=500");
    let (status, page) = app.get(&path, Some(&tenant.key)).await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

fn ga4_count(w: &World, event_id: &str) -> usize {
    w.ga4
        .events()
        .iter()
        .filter(|e| e["params"]["event_id"] == event_id)
        .count()
}

async fn a_ga4_lead_whose_answer_times_out_after_receipt_is_never_sent_again(backend: Backend) {
    let w = world_with(backend, "10s,20s", &FAST).await;
    let app = &w.app;
    let ga4 = app.add_ga4(&w.tenant).await;
    w.ga4
        .fail_next(Ga4Fault::Latency(Duration::from_secs(3)), 1);
    app.send(&w.tenant, vec![lead(app, "lead-1")]).await;
    app.drain().await;
    assert_eq!(ga4_count(&w, "lead-1"), 1, "GA4 recorded the lead");
    let delivery = deliveries_to(app, &w.tenant, &ga4).await.remove(0);
    assert_eq!(delivery["status"], "unconfirmed", "{delivery}");

    app.clock.advance_ms(MS_PER_HOUR);
    assert_eq!(app.drain().await, 0);
    assert_eq!(
        ga4_count(&w, "lead-1"),
        1,
        "never resent: GA4 would count it twice"
    );
    assert_eq!(
        app.assert_meter_exact(&w.tenant.id).await,
        1,
        "only the Meta send counts"
    );
    let (_, usage) = app.get("/v1/usage", Some(&w.tenant.key)).await;
    assert_eq!(usage["pending"], 0, "it no longer waits: {usage}");

    let id = delivery["id"].as_str().unwrap();
    let (_, listed) = app
        .get("/v1/deliveries?status=unconfirmed", Some(&w.tenant.key))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    let (_, detail) = app
        .get(&format!("/v1/deliveries/{id}"), Some(&w.tenant.key))
        .await;
    assert_eq!(detail["attempts_log"][0]["outcome"], "unknown", "{detail}");
    assert_eq!(detail["attempts_log"][0]["error_code"], "timeout");
    let (_, metrics) = app.get("/metrics", None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(
        metrics.contains(r#"outcome="unconfirmed""#),
        "unconfirmed sends are counted in /metrics"
    );

    // A person decides to send it again: the replay goes, and is counted once.
    let (status, body) = app
        .post_json(
            &format!("/v1/deliveries/{id}/replay"),
            Some(&w.tenant.key),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    app.drain().await;
    assert_eq!(ga4_count(&w, "lead-1"), 2);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn a_ga4_purchase_with_a_transaction_id_is_resent_after_a_timeout_and_counted_once(
    backend: Backend,
) {
    let w = world_with(backend, "10s", &FAST).await;
    let app = &w.app;
    let ga4 = app.add_ga4(&w.tenant).await;
    w.ga4
        .fail_next(Ga4Fault::Latency(Duration::from_secs(3)), 1);
    app.send(&w.tenant, vec![app.purchase("order-9")]).await;
    app.drain().await;
    let delivery = deliveries_to(app, &w.tenant, &ga4).await.remove(0);
    assert_eq!(
        delivery["status"], "pending",
        "GA4 dedups it by transaction_id"
    );
    app.clock.advance_ms(13_000); // past the 10 s retry, jitter included
    app.drain().await;
    let delivery = deliveries_to(app, &w.tenant, &ga4).await.remove(0);
    assert_eq!(delivery["status"], "succeeded", "{delivery}");
    assert_eq!(
        ga4_count(&w, "order-9"),
        2,
        "resent with the same transaction_id"
    );
    assert_eq!(
        app.assert_meter_exact(&w.tenant.id).await,
        2,
        "one GA4 and one Meta send, each counted once"
    );
}

async fn a_meta_answer_that_times_out_is_resent_inside_48_hours_and_counted_once(backend: Backend) {
    let w = world_with(backend, "10s", &FAST).await;
    let app = &w.app;
    w.meta
        .fail_next("123456", MetaFault::Latency(Duration::from_secs(3)), 1);
    app.send(&w.tenant, vec![app.purchase("order-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["pending"]);
    app.clock.advance_ms(13_000); // past the 10 s retry, jitter included
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["succeeded"]);
    assert_eq!(
        w.meta.count_event("order-1"),
        2,
        "resent with the same event_id"
    );
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 1);
}

/// Starts a round whose first request hangs, and kills it once the request has left.
async fn kill_mid_send(app: &TestApp, sent: impl Fn() -> bool) {
    let dispatcher = app.state.dispatcher.clone();
    let worker = tokio::spawn(async move { dispatcher.run_once().await });
    while !sent() {
        tokio::task::yield_now().await;
    }
    worker.abort();
    assert!(worker.await.unwrap_err().is_cancelled());
}

async fn a_ga4_lead_lost_in_a_crash_mid_send_is_unconfirmed_not_resent(backend: Backend) {
    let w = world_with(backend, "10s", &[]).await;
    let app = &w.app;
    let ga4 = app.add_ga4(&w.tenant).await;
    let meta_id = w.meta_id.clone();
    app.admin(
        reqwest::Method::PATCH,
        &format!("/destinations/{meta_id}"),
        Some(json!({"state": "disabled"})),
    )
    .await;
    w.ga4
        .fail_next(Ga4Fault::Latency(Duration::from_secs(30)), 1);
    app.send(&w.tenant, vec![lead(app, "lead-2")]).await;
    kill_mid_send(app, || !w.ga4.requests().is_empty()).await;

    app.clock.advance_ms(LEASE_MS + 1_000);
    app.drain().await;
    let delivery = deliveries_to(app, &w.tenant, &ga4).await.remove(0);
    assert_eq!(delivery["status"], "unconfirmed", "{delivery}");
    assert_eq!(
        w.ga4.requests().len(),
        1,
        "the lead is not sent a second time"
    );
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
}

async fn a_meta_send_lost_in_a_crash_is_not_resent_past_the_48_hour_window(backend: Backend) {
    let w = world_with(backend, "10s", &[]).await;
    let app = &w.app;
    w.meta
        .fail_next("123456", MetaFault::Latency(Duration::from_secs(30)), 1);
    app.send(&w.tenant, vec![app.purchase("k-48")]).await;
    kill_mid_send(app, || w.meta.request_count() > 0).await;

    // Nobody took it over for two days (every worker was down): a resend now could
    // reach Meta after its 48-hour dedup window and count twice.
    app.clock.advance_ms(47 * MS_PER_HOUR + 1_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["unconfirmed"]);
    assert_eq!(w.meta.request_count(), 1, "not resent");
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
}

/// A GA4 endpoint on a raw socket: refused while `port` is not listening; once started,
/// reads each request and closes the connection without answering.
async fn hang_up_after_reading(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        });
    }
}

async fn a_refused_connection_is_retried_and_a_reset_one_is_an_unknown_outcome(backend: Backend) {
    // Bound but not listening: connections are refused, and the port stays this test's
    // (a port freed for the test could be taken by another test's server meanwhile).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let base = format!("http://{addr}");
    let vars = [
        ("KICKIN_GA4_API_BASE", base.as_str()),
        ("KICKIN_RETRY_SCHEDULE", "10s,10s"),
    ];
    let app = spawn_with(backend, &vars).await;
    let tenant = app.create_tenant(json!({})).await;
    let ga4 = app.add_ga4(&tenant).await;
    app.send(&tenant, vec![lead(&app, "lead-3")]).await;
    app.drain().await;
    let delivery = deliveries_to(&app, &tenant, &ga4).await.remove(0);
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_i64()),
        (Some("pending"), Some(1)),
        "nothing was sent, so it is tried again: {delivery}"
    );

    let listener = socket.listen(16).unwrap();
    tokio::spawn(hang_up_after_reading(listener));
    app.clock.advance_ms(13_000); // past the 10 s retry, jitter included
    app.drain().await;
    let delivery = deliveries_to(&app, &tenant, &ga4).await.remove(0);
    assert_eq!(
        delivery["status"], "unconfirmed",
        "the request was written, then the connection dropped: {delivery}"
    );
}
