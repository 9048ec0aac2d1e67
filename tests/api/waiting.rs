//! Nothing waits forever, and nothing acknowledged is given up on a guess: a delivery
//! parked past its destination's age limit ends `dead` and gives its headroom back; a
//! database that cannot answer is never taken for a deleted destination; a replay of a
//! purged payload is refused before it takes any headroom.

use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::db_tests;
use crate::dispatch::world;
use crate::limits::{plan_body, tenant_on_plan};
use crate::mocks::meta::MetaFault;
use crate::support::{Backend, Tenant, TestApp, column};
use kickin::clock::MS_PER_HOUR;
use kickin::dispatch::expiry::expire_waiting;
use kickin::dispatch::queue::DueDestination;
use kickin::error::ErrorKind;
use kickin::housekeeping::purge_payloads;

db_tests!(
    a_delivery_parked_on_a_paused_destination_ends_dead_past_its_age_limit,
    a_delivery_waiting_on_a_disabled_destination_ends_dead_past_its_age_limit,
    expiry_ends_each_destinations_stuck_deliveries_and_nothing_else,
    a_destination_that_cannot_be_read_leaves_its_deliveries_waiting,
    a_replay_of_a_purged_payload_is_refused_and_takes_no_headroom,
);

/// Hard-limit headroom the tenant's deliveries hold, summed over months.
async fn reserved(app: &TestApp, tenant: &Tenant) -> i64 {
    let id: Uuid = tenant.id.parse().unwrap();
    let sql =
        "SELECT CAST(COALESCE(SUM(used), 0) AS BIGINT) AS n FROM quota_usage WHERE tenant_id = ?";
    column::<i64>(&app.state.db.conn, sql, vec![id.into()], "n").await[0]
}

async fn last_error(app: &TestApp, tenant: &Tenant) -> String {
    let (_, page) = app.get("/v1/deliveries", Some(&tenant.key)).await;
    page["data"][0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn a_delivery_parked_on_a_paused_destination_ends_dead_past_its_age_limit(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body("hard1", json!({"limit_mode": "hard", "hard_limit": 1})),
    )
    .await;
    let meta = app.add_meta(&tenant).await;
    w.meta.fail_next("123456", MetaFault::InvalidToken, 1);
    app.send(&tenant, vec![app.purchase("parked-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["paused"]);
    assert_eq!(reserved(app, &tenant).await, 1);
    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    assert_eq!(usage["pending"], 1);

    // Nobody fixes the credentials. A day before Meta's limit it still waits…
    app.clock.advance_ms(6 * 24 * MS_PER_HOUR);
    assert_eq!(
        expire_waiting(&app.state.db, app.clock.now_ms())
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.delivery_statuses(&tenant).await, ["paused"]);
    // …and once past it (7 days less the 1-hour margin) it ends.
    app.clock.advance_ms(23 * MS_PER_HOUR + 60_000);
    assert_eq!(
        expire_waiting(&app.state.db, app.clock.now_ms())
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.delivery_statuses(&tenant).await, ["dead"]);
    assert!(last_error(app, &tenant).await.starts_with("expired"));
    assert_eq!(
        reserved(app, &tenant).await,
        0,
        "its headroom is given back"
    );
    let (_, usage) = app.get("/v1/usage", Some(&tenant.key)).await;
    assert_eq!(usage["pending"], 0, "{usage}");

    // Fixing the credentials now sends nothing: Meta would refuse an event this old.
    let (status, _) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{meta}"),
            Some(&tenant.key),
            Some(json!({"access_token": "EAAB-secret-token"})),
        )
        .await;
    assert_eq!(status, 200);
    let before = w.meta.request_count();
    app.drain().await;
    assert_eq!(
        w.meta.request_count(),
        before,
        "an expired event is never sent"
    );
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 0);
}

async fn a_delivery_waiting_on_a_disabled_destination_ends_dead_past_its_age_limit(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = app.create_tenant(json!({})).await;
    let ga4 = app.add_ga4(&tenant).await;
    app.send(&tenant, vec![app.purchase("off-1")]).await;
    let (status, _) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{ga4}"),
            Some(&tenant.key),
            Some(json!({"state": "disabled"})),
        )
        .await;
    assert_eq!(status, 200);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["paused"]);
    app.clock.advance_ms(71 * MS_PER_HOUR + 60_000); // GA4: 72 hours less the margin
    assert_eq!(
        expire_waiting(&app.state.db, app.clock.now_ms())
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.delivery_statuses(&tenant).await, ["dead"]);
    assert!(w.ga4.requests().is_empty(), "never sent");
}

/// Expiry probes each destination on its own: what is stuck past its own destination's
/// limit ends, whichever tenant it is, and nothing fresh beside it is touched.
async fn expiry_ends_each_destinations_stuck_deliveries_and_nothing_else(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let parked = app.create_tenant(json!({})).await;
    app.add_meta(&parked).await;
    w.meta.fail_next("123456", MetaFault::InvalidToken, 1);
    app.send(&parked, vec![app.purchase("parked-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&parked).await, ["paused"]);

    // Another tenant's GA4 delivery nobody claims (no worker runs) past GA4's limit,
    // and a fresh one queued just before the pass.
    let idle = app.create_tenant(json!({})).await;
    app.add_ga4(&idle).await;
    app.send(&idle, vec![app.purchase("idle-old")]).await;
    app.clock.advance_ms(71 * MS_PER_HOUR + 60_000);
    app.send(&idle, vec![app.purchase("idle-fresh")]).await;
    let now = app.clock.now_ms();
    assert_eq!(expire_waiting(&app.state.db, now).await.unwrap(), 1);
    assert_eq!(
        app.delivery_statuses(&idle).await,
        ["pending", "dead"],
        "newest first: the fresh one waits, the old one ended"
    );
    assert_eq!(
        app.delivery_statuses(&parked).await,
        ["paused"],
        "Meta's limit is 7 days: not yet"
    );

    app.drain().await;
    assert_eq!(w.ga4.events().len(), 1, "only the fresh event is sent");
    assert_eq!(app.assert_meter_exact(&idle.id).await, 1);

    app.clock.advance_ms(4 * 24 * MS_PER_HOUR);
    let now = app.clock.now_ms();
    assert_eq!(expire_waiting(&app.state.db, now).await.unwrap(), 1);
    assert_eq!(app.delivery_statuses(&parked).await, ["dead"]);
    let again = expire_waiting(&app.state.db, app.clock.now_ms()).await;
    assert_eq!(again.unwrap(), 0, "a second pass finds nothing left");
    assert_eq!(app.assert_meter_exact(&parked.id).await, 0);
}

async fn rename(app: &TestApp, from: &str, to: &str) {
    app.state
        .db
        .conn
        .execute_unprepared(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .await
        .unwrap();
}

async fn a_destination_that_cannot_be_read_leaves_its_deliveries_waiting(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    app.send(&w.tenant, vec![app.purchase("db-1")]).await;
    let due = DueDestination {
        tenant_id: w.tenant.id.parse().unwrap(),
        destination_id: w.meta_id.parse().unwrap(),
    };
    // A real read failure of our own database: the table is briefly unreachable.
    rename(app, "destinations", "destinations_away").await;
    let err = app.state.dispatcher.process(due).await.unwrap_err();
    assert_ne!(err.kind, ErrorKind::NotFound, "{err:?}");
    rename(app, "destinations_away", "destinations").await;

    assert_eq!(
        app.delivery_statuses(&w.tenant).await,
        ["pending"],
        "an unreadable destination is not a deleted one"
    );
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["succeeded"]);
    assert_eq!(w.meta.count_event("db-1"), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 1);
}

async fn a_replay_of_a_purged_payload_is_refused_and_takes_no_headroom(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let tenant = tenant_on_plan(
        app,
        plan_body(
            "hard-short",
            json!({"limit_mode": "hard", "hard_limit": 5, "retention_days": 1}),
        ),
    )
    .await;
    app.add_meta(&tenant).await;
    w.meta.fail_next(
        "123456",
        MetaFault::RejectEventId("gone-1".into()),
        u32::MAX,
    );
    app.send(&tenant, vec![app.purchase("gone-1")]).await;
    app.drain().await;
    assert_eq!(app.delivery_statuses(&tenant).await, ["failed"]);
    app.clock.advance_ms(2 * 24 * MS_PER_HOUR);
    assert_eq!(
        purge_payloads(&app.state.db, app.clock.now_ms())
            .await
            .unwrap(),
        1
    );
    let held = reserved(app, &tenant).await;

    let (_, page) = app.get("/v1/deliveries", Some(&tenant.key)).await;
    let id = page["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post_json(
            &format!("/v1/deliveries/{id}/replay"),
            Some(&tenant.key),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "payload_purged");
    assert_eq!(app.delivery_statuses(&tenant).await, ["failed"]);
    assert_eq!(reserved(app, &tenant).await, held, "no headroom taken");
}
