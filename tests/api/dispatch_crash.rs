//! Crashes and races: a worker dying mid-send, and two workers sharing one database.

use std::sync::Arc;
use std::time::Duration;

use kickin::db::Db;
use kickin::dispatch::Dispatcher;
use kickin::dispatch::worker::LEASE_MS;
use serde_json::json;

use crate::db_tests;
use crate::dispatch::world;
use crate::mocks::meta::MetaFault;
use crate::support::Backend;

db_tests!(
    a_worker_killed_mid_send_is_taken_over_after_its_lease,
    two_workers_racing_over_a_thousand_deliveries_send_each_once
);

async fn a_worker_killed_mid_send_is_taken_over_after_its_lease(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    w.meta
        .fail_next("123456", MetaFault::Latency(Duration::from_secs(30)), 1);
    app.send(&w.tenant, vec![app.purchase("k-1")]).await;
    let dispatcher = app.state.dispatcher.clone();
    let worker = tokio::spawn(async move { dispatcher.run_once().await });
    while w.meta.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    worker.abort(); // the request has left; the worker dies before recording anything
    assert!(worker.await.unwrap_err().is_cancelled());

    assert_eq!(app.drain().await, 0, "the lease still holds the delivery");
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["pending"]);
    app.clock.advance_ms(LEASE_MS + 1_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["succeeded"]);
    assert_eq!(
        w.meta.request_count(),
        2,
        "the event is resent after the lease expired"
    );
    assert_eq!(
        app.assert_meter_exact(&w.tenant.id).await,
        1,
        "and counted once"
    );
}

async fn two_workers_racing_over_a_thousand_deliveries_send_each_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let mut tenants = vec![w.tenant];
    for _ in 0..3 {
        let t = app.create_tenant(json!({})).await;
        app.add_meta(&t).await;
        tenants.push(t);
    }
    for (n, tenant) in tenants.iter().enumerate() {
        for chunk in 0..5 {
            let events = (0..50)
                .map(|i| app.purchase(&format!("t{n}-c{chunk}-e{i}")))
                .collect();
            let (status, _) = app.send(tenant, events).await;
            assert_eq!(status, 202);
        }
    }
    let state = &app.state;
    let second_db = Db::connect(&state.config.database_url).await.unwrap();
    let second = Arc::new(Dispatcher::new(
        second_db,
        state.keys.clone(),
        state.clock.clone(),
        &state.config,
    ));
    let first = state.dispatcher.clone();
    let drain = |d: Arc<Dispatcher>| async move {
        let mut total = 0;
        loop {
            let n = d.run_once().await.unwrap();
            if n == 0 {
                return total;
            }
            total += n;
        }
    };
    let (a, b) = tokio::join!(drain(first), drain(second));
    assert_eq!(
        a + b,
        1000,
        "every delivery processed once between the two workers"
    );
    let received = w.meta.received();
    assert_eq!(received.len(), 1000);
    let unique: std::collections::HashSet<_> =
        received.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(unique.len(), 1000, "no event was sent twice");
    let mut total = 0;
    for tenant in &tenants {
        total += app.assert_meter_exact(&tenant.id).await;
    }
    assert_eq!(total, 1000);
}
