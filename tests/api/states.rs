//! Stored states are read as types: a delivery status or destination state that Kickin
//! does not know is a database error (500, logged), never shown as is nor taken for
//! another state.

use sea_orm::ConnectionTrait;

use crate::db_tests;
use crate::dispatch::world;
use crate::support::Backend;

db_tests!(
    an_unknown_stored_delivery_status_is_an_error_not_a_guess,
    an_unknown_stored_destination_state_is_an_error_not_a_guess,
);

async fn an_unknown_stored_delivery_status_is_an_error_not_a_guess(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    app.send(&w.tenant, vec![app.purchase("u-1")]).await;
    let (status, list) = app.get("/v1/deliveries", Some(&w.tenant.key)).await;
    assert_eq!(status, 200);
    let id = list["data"][0]["id"].as_str().unwrap().to_string();

    let sql = "UPDATE deliveries SET status = 'archived'";
    app.state.db.conn.execute_unprepared(sql).await.unwrap();
    let (status, body) = app.get("/v1/deliveries", Some(&w.tenant.key)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (500, &"internal".into()),
        "{body}"
    );
    let path = format!("/v1/deliveries/{id}");
    let (status, body) = app.get(&path, Some(&w.tenant.key)).await;
    assert_eq!(status, 500, "{body}");
    let replay = format!("{path}/replay");
    let (status, body) = app
        .post_json(&replay, Some(&w.tenant.key), serde_json::json!({}))
        .await;
    assert_eq!(status, 500, "neither replayed nor 'already queued': {body}");
}

async fn an_unknown_stored_destination_state_is_an_error_not_a_guess(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let sql = "UPDATE destinations SET state = 'frozen'";
    app.state.db.conn.execute_unprepared(sql).await.unwrap();
    let path = format!("/v1/destinations/{}", w.meta_id);
    let (status, body) = app.get(&path, Some(&w.tenant.key)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (500, &"internal".into()),
        "{body}"
    );
}
