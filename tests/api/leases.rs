//! A worker records only what it did while it held the lease: a completion that lost its
//! lease leaves no trace, and a split that would outlast the lease stops in time and
//! leaves the rest, unsent, to the next claim.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db_tests;
use crate::dispatch::world;
use crate::mocks::meta::MetaFault;
use crate::support::Backend;
use kickin::dispatch::queue::DueDestination;
use kickin::dispatch::worker::LEASE_MS;

db_tests!(
    a_completion_that_lost_its_lease_leaves_no_attempt_row,
    a_split_that_would_outlast_the_lease_defers_the_rest_to_the_next_claim,
);

async fn a_completion_that_lost_its_lease_leaves_no_attempt_row(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    // The first send hangs past its lease, then succeeds; the worker that takes the
    // delivery over is refused for good.
    w.meta
        .fail_next("123456", MetaFault::Latency(Duration::from_secs(2)), 1);
    w.meta
        .fail_next("123456", MetaFault::RejectEventId("lease-1".into()), 1);
    app.send(&w.tenant, vec![app.purchase("lease-1")]).await;
    let slow = app.state.dispatcher.clone();
    let first = tokio::spawn(async move { slow.run_once().await });
    while w.meta.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    app.clock.advance_ms(LEASE_MS + 1_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["failed"]);
    first.await.unwrap().unwrap(); // the first worker's late success arrives now

    assert_eq!(app.delivery_statuses(&w.tenant).await, ["failed"]);
    let (_, page) = app.get("/v1/deliveries", Some(&w.tenant.key)).await;
    let id = page["data"][0]["id"].as_str().unwrap();
    let (_, detail) = app
        .get(&format!("/v1/deliveries/{id}"), Some(&w.tenant.key))
        .await;
    let log = detail["attempts_log"].as_array().unwrap();
    assert_eq!(
        log.len(),
        1,
        "only the lease holder's attempt is logged: {detail}"
    );
    assert_eq!(log[0]["outcome"], "failed");
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 0);
}

async fn a_split_that_would_outlast_the_lease_defers_the_rest_to_the_next_claim(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    // Every Meta request takes 30 s of the app's clock.
    let starts = Arc::new(Mutex::new(Vec::new()));
    let (clock, seen) = (app.clock.clone(), starts.clone());
    w.meta.on_request(move || {
        seen.lock().unwrap().push(clock.now_ms());
        clock.advance_ms(30_000);
    });
    w.meta
        .fail_next("123456", MetaFault::RejectEventId("s-3".into()), u32::MAX);
    let events = (0..8).map(|i| app.purchase(&format!("s-{i}"))).collect();
    app.send(&w.tenant, events).await;

    let claimed_at = app.clock.now_ms();
    let due = DueDestination {
        tenant_id: w.tenant.id.parse().unwrap(),
        destination_id: w.meta_id.parse().unwrap(),
    };
    let tally = app.state.dispatcher.process(due).await.unwrap();
    let send_timeout = 5_000;
    for start in starts.lock().unwrap().iter() {
        assert!(
            *start + send_timeout < claimed_at + LEASE_MS,
            "every request started with time to finish inside the lease"
        );
    }
    assert_eq!(
        (tally.succeeded, tally.deferred, tally.lease_lost),
        (2, 6, 0)
    );
    let statuses = app.delivery_statuses(&w.tenant).await;
    assert_eq!(statuses.iter().filter(|s| *s == "pending").count(), 6);

    app.drain().await;
    let mut statuses = app.delivery_statuses(&w.tenant).await;
    statuses.sort();
    let mut expected = vec!["succeeded"; 7];
    expected.insert(0, "failed");
    assert_eq!(statuses, expected);
    for i in (0..8).filter(|i| *i != 3) {
        assert_eq!(w.meta.count_event(&format!("s-{i}")), 1, "s-{i} sent once");
    }
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 7);
}
