//! Browser enrichment end to end: with the tenant setting on, a server event sent
//! without `fbp`/`fbc` reaches Meta with its matched observation's values — once,
//! counted once — and a value the server sent is never replaced.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser_support::{VISITOR, beacon, browser_key, observation, server_event};
use crate::db_tests;
use crate::dispatch::{World, world};
use crate::support::Backend;

const CLICK: &str = "fb.1.1764590000000.IwAR-click";

db_tests!(
    an_enriched_event_reaches_meta_with_the_pixels_fbp_and_fbc_and_counts_once,
    without_the_setting_the_event_is_sent_as_the_server_gave_it,
    an_event_sent_before_its_pixel_fired_is_not_resent_when_the_pixel_arrives,
);

/// A shop with a browser key; returns the key.
async fn shop(w: &World, enrichment: bool) -> String {
    let (_, key) = browser_key(&w.app, &w.tenant, &["https://shop.example"]).await;
    if enrichment {
        let path = format!("/tenants/{}", w.tenant.id);
        let body = json!({"browser_enrichment": true});
        let (status, answer) = w.app.admin(Method::PATCH, &path, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }
    key
}

async fn pixel_fires(w: &World, key: &str, event_id: &str) {
    let mut pixel = observation(&w.app, "Purchase", Some(event_id), Some(VISITOR));
    pixel["fbc"] = json!(CLICK);
    assert_eq!(beacon(&w.app, key, vec![pixel]).await.status, 204);
}

/// The `user_data` Meta received for `event_id` (it must have arrived exactly once).
fn sent_user_data(w: &World, event_id: &str) -> Value {
    let sent: Vec<_> = (w.meta.received().into_iter())
        .filter(|e| e.event_id.as_deref() == Some(event_id))
        .collect();
    assert_eq!(sent.len(), 1, "{event_id} reaches Meta exactly once");
    sent[0].event["user_data"].clone()
}

async fn an_enriched_event_reaches_meta_with_the_pixels_fbp_and_fbc_and_counts_once(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let key = shop(&w, true).await;
    pixel_fires(&w, &key, "order_e").await;
    pixel_fires(&w, &key, "order_s").await;
    let app = &w.app;
    let own = server_event(
        app,
        "Purchase",
        "order_s",
        Some("fb.1.1764500000000.server"),
    );
    let bare = server_event(app, "Purchase", "order_e", None);
    let (status, _) = app.send(&w.tenant, vec![bare.clone(), own]).await;
    assert_eq!(status, 202);
    let (status, body) = app.send(&w.tenant, vec![bare]).await;
    assert_eq!((status, &body["duplicates"]), (202, &json!(1)), "{body}");
    assert_eq!(app.drain().await, 2);
    assert_eq!(app.drain().await, 0, "nothing is sent twice");

    let enriched = sent_user_data(&w, "order_e");
    assert_eq!(
        (&enriched["fbp"], &enriched["fbc"]),
        (&json!(VISITOR), &json!(CLICK))
    );
    let kept = sent_user_data(&w, "order_s");
    assert_eq!(
        kept["fbp"], "fb.1.1764500000000.server",
        "the server's value stays"
    );
    assert_eq!(kept["fbc"], CLICK, "what it lacked is filled");
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn without_the_setting_the_event_is_sent_as_the_server_gave_it(backend: Backend) {
    let w = world(backend, "10s").await;
    let key = shop(&w, false).await;
    pixel_fires(&w, &key, "order_e").await;
    let event = server_event(&w.app, "Purchase", "order_e", None);
    assert_eq!(w.app.send(&w.tenant, vec![event]).await.0, 202);
    assert_eq!(w.app.drain().await, 1);
    let sent = sent_user_data(&w, "order_e");
    assert_eq!(
        (&sent["fbp"], &sent["fbc"]),
        (&Value::Null, &Value::Null),
        "{sent}"
    );
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 1);
}

async fn an_event_sent_before_its_pixel_fired_is_not_resent_when_the_pixel_arrives(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let key = shop(&w, true).await;
    let event = server_event(&w.app, "Purchase", "order_e", None);
    assert_eq!(w.app.send(&w.tenant, vec![event]).await.0, 202);
    assert_eq!(w.app.drain().await, 1);
    pixel_fires(&w, &key, "order_e").await;
    crate::browser_support::run_matcher(&w.app).await;
    assert_eq!(w.app.drain().await, 0, "a later match sends nothing again");
    let sent = sent_user_data(&w, "order_e");
    assert_eq!(sent["fbp"], Value::Null, "sent as the server gave it");
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 1);
}
