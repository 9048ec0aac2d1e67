//! The portal with real traffic: a dead delivery replayed by an owner (members and other
//! tenants cannot), its attempt log, and an issued invoice with its reconciliation CSV.

use reqwest::Method;
use serde_json::json;

use crate::billing::{next_month, plan};
use crate::db_tests;
use crate::dispatch::world;
use crate::mocks::meta::MetaFault;
use crate::portal::{PASSWORD, login, user};
use crate::support::Backend;

db_tests!(owners_replay_dead_deliveries_and_everyone_reads_invoices_and_their_csv);

async fn owners_replay_dead_deliveries_and_everyone_reads_invoices_and_their_csv(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let (_, tier) = app
        .admin(
            Method::POST,
            "/plans",
            Some(plan(
                "starter",
                "graduated",
                4900,
                json!([{"up_to": null, "price_per_1000": 1000}]),
            )),
        )
        .await;
    let patch = json!({"plan_id": tier["id"]});
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", w.tenant.id),
            Some(patch),
        )
        .await;
    assert_eq!(status, 200);
    w.meta.fail_next("123456", MetaFault::ServerError, 2);
    app.send(&w.tenant, vec![app.purchase("flow-1")]).await;
    app.drain().await;
    app.clock.advance_ms(15_000);
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["dead"]);
    let other = app.create_tenant(json!({})).await;

    let mut member = user(app, &w.tenant.id, "m@shop.test", "member").await;
    let mut owner = user(app, &w.tenant.id, "o@shop.test", "owner").await;
    let mut stranger = user(app, &other.id, "s@other.test", "owner").await;
    let (_, list, _) = member.get("/app/deliveries?status=dead").await;
    let start = list.find("href=\"/app/deliveries/").unwrap() + "href=\"/app/deliveries/".len();
    let id = list[start..start + 36].to_string();
    let replay = format!("/app/deliveries/{id}/replay");
    assert_eq!(member.post(&replay, &[]).await.0, 403);
    stranger.get("/app").await;
    assert_eq!(stranger.post(&replay, &[]).await.0, 404);
    owner.get("/app").await;
    let (status, _, location) = owner.post(&replay, &[]).await;
    assert_eq!(
        (status, location),
        (303, Some(format!("/app/deliveries/{id}")))
    );
    app.drain().await;
    assert_eq!(app.delivery_statuses(&w.tenant).await, ["succeeded"]);
    let (_, detail, _) = owner.get(&format!("/app/deliveries/{id}")).await;
    assert!(detail.contains("id=\"delivery-status\">succeeded<"));
    assert_eq!(
        detail.matches("<tr><td>").count(),
        3,
        "three attempts: {detail}"
    );
    assert_eq!(
        app.assert_meter_exact(&w.tenant.id).await,
        1,
        "counted once"
    );
    assert_eq!(w.meta.count_event("flow-1"), 1, "Meta received it once");
    // A second replay of the delivered send is refused: no resend, no second count.
    let (status, _, _) = owner.post(&replay, &[]).await;
    assert_eq!(status, 409, "a succeeded delivery is not replayed");
    app.drain().await;
    assert_eq!(w.meta.count_event("flow-1"), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 1);

    // A closed month later: the sessions have expired, the passwords have not.
    let period = next_month(app).await;
    let (status, run) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{run}");
    for (browser, email) in [
        (&mut member, "m@shop.test"),
        (&mut stranger, "s@other.test"),
    ] {
        let (status, _, _) = login(browser, email, PASSWORD).await;
        assert_eq!(status, 303);
    }
    let (_, invoices, _) = member.get("/app/invoices").await;
    let marker = format!("id=\"csv-{period}\"");
    assert!(invoices.contains(&marker), "{invoices}");
    let href_start = invoices.find("href=\"/app/invoices/").unwrap() + "href=\"".len();
    let href = &invoices[href_start..href_start + invoices[href_start..].find('"').unwrap()];
    let (status, csv, _) = member.get(href).await;
    assert_eq!(status, 200);
    assert!(csv.lines().count() >= 1 && csv.contains(','), "{csv}");
    stranger.get("/app").await;
    assert_eq!(stranger.get(href).await.0, 404, "another tenant's invoice");
    let (_, page, _) = stranger.get("/app/invoices").await;
    assert!(page.contains("id=\"no-invoices\""));
}
