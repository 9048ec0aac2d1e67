//! A period's delivery states (`/v1/diagnostics`, `destinations[].deliveries`) count
//! each delivery in the month it was created, read by a key range of the deliveries'
//! time-ordered ids and kept exact by `created_at`, also for rows whose id was made a
//! little after `created_at` (rows written before ids followed the application clock).
//! And the ids one request's deliveries get, all made in one millisecond, are distinct:
//! each delivery is sent once and counted once.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use serde_json::json;
use uuid::Uuid;

use crate::browser_support::{move_to, next_month, send_server, server_event};
use crate::db_tests;
use crate::dispatch::world;
use crate::support::{Backend, Tenant, TestApp, column, spawn};
use kickin::period::Period;

db_tests!(
    deliveries_count_in_the_month_they_were_created_whatever_their_id_says,
    deliveries_made_in_one_millisecond_are_each_sent_once_and_counted_once,
);

/// Gives the delivery of `event_id` the id it would have had if made at `ms`.
async fn move_id(app: &TestApp, tenant_id: Uuid, event_id: &str, ms: i64) {
    let sql = "SELECT id FROM events WHERE tenant_id = ? AND event_id = ?";
    let rows: Vec<Uuid> = column(
        &app.state.db.conn,
        sql,
        vec![tenant_id.into(), event_id.into()],
        "id",
    )
    .await;
    let update = Query::update()
        .table("deliveries")
        .value("id", kickin::ids::at(ms))
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("event_row_id").eq(rows[0]))
        .to_owned();
    let changed = app.state.db.conn.execute(&update).await.unwrap();
    assert_eq!(changed.rows_affected(), 1);
}

async fn diagnostics(app: &TestApp, tenant: &Tenant, period: &str) -> serde_json::Value {
    let path = format!("/v1/diagnostics?period={period}");
    let (status, body) = app.get(&path, Some(&tenant.key)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn deliveries_count_in_the_month_they_were_created_whatever_their_id_says(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    app.add_meta(&t).await;
    let tenant_id: Uuid = t.id.parse().unwrap();
    let boundary = next_month(&app, 0);

    move_to(&app, boundary - 10 * 60_000).await;
    let first = Period::of(app.clock.now_ms()).to_string();
    let before = ["before-1", "before-2"].map(|id| server_event(&app, "Purchase", id, None));
    send_server(&app, &t, before.to_vec()).await;
    // Its id was made past the month's end, as the commit of an older row could be.
    move_id(&app, tenant_id, "before-2", boundary + 5_000).await;

    move_to(&app, boundary + 10 * 60_000).await;
    let second = Period::of(app.clock.now_ms()).to_string();
    send_server(
        &app,
        &t,
        vec![server_event(&app, "Purchase", "after-1", None)],
    )
    .await;

    let states = |r: &serde_json::Value| r["destinations"][0]["deliveries"].clone();
    let old = diagnostics(&app, &t, &first).await;
    assert_eq!(states(&old), json!({"pending": 2}), "{old}");
    let new = diagnostics(&app, &t, &second).await;
    assert_eq!(states(&new), json!({"pending": 1}), "{new}");
    let earlier = Period::of(boundary - 40 * 86_400_000).to_string();
    let none = diagnostics(&app, &t, &earlier).await;
    assert_eq!(
        none["destinations"].as_array().map(Vec::len),
        Some(0),
        "{none}"
    );
}

async fn deliveries_made_in_one_millisecond_are_each_sent_once_and_counted_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    app.add_ga4(tenant).await;
    let events: Vec<_> = (0..100).map(|i| app.purchase(&format!("ms-{i}"))).collect();
    let (status, body) = app.send(tenant, events.clone()).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(100)), "{body}");
    let (status, body) = app.send(tenant, events).await;
    assert_eq!((status, &body["duplicates"]), (202, &json!(100)), "{body}");

    let sql = "SELECT COUNT(DISTINCT id) AS n FROM deliveries WHERE tenant_id = ?";
    let distinct: Vec<i64> = column(
        &app.state.db.conn,
        sql,
        vec![tenant.id.parse::<Uuid>().unwrap().into()],
        "n",
    )
    .await;
    assert_eq!(distinct, [200], "one delivery per event and destination");
    assert_eq!(app.drain().await, 200);
    assert_eq!(app.drain().await, 0, "nothing is sent twice");
    for i in 0..100 {
        assert_eq!(
            w.meta.count_event(&format!("ms-{i}")),
            1,
            "ms-{i} reaches Meta once"
        );
    }
    assert_eq!(w.ga4.events().len(), 100, "each event reaches GA4 once");
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 200);
}
