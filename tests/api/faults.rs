//! Fault suite (in process): a destination outage in the middle of a load loses nothing
//! and counts everything once.

use serde_json::Value;

use crate::db_tests;
use crate::dispatch::world;
use crate::mocks::meta::MetaFault;
use crate::support::Backend;

db_tests!(a_destination_outage_during_load_loses_nothing_and_counts_once);

async fn a_destination_outage_during_load_loses_nothing_and_counts_once(backend: Backend) {
    let w = world(backend, "10s,10s,10s,10s,10s,10s,10s,10s,10s,10s").await;
    let app = &w.app;
    let mut sent = 0;
    for round in 0..6 {
        if round == 1 {
            w.meta.fail_next("123456", MetaFault::ServerError, 6); // Meta is down for a while
        }
        let events: Vec<Value> = (0..100)
            .map(|i| app.purchase(&format!("o-{round}-{i}")))
            .collect();
        let (status, body) = app.send(&w.tenant, events).await;
        assert_eq!(status, 202, "{body}");
        sent += body["accepted"].as_u64().unwrap();
        app.drain().await;
        app.clock.advance_ms(12_000);
    }
    for _ in 0..6 {
        app.drain().await;
        app.clock.advance_ms(12_000);
    }
    assert_eq!(sent, 600);
    assert!(w.meta.request_count() > 6, "the outage was hit");
    let received = w.meta.received();
    let unique: std::collections::HashSet<_> =
        received.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(unique.len(), 600, "every accepted event reached Meta");
    assert_eq!(received.len(), 600, "and none twice");
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 600);
}
