//! Dedup: per (tenant, destination, event_name, event_id), byte-exact, windowed, atomic.

use serde_json::json;

use crate::db_tests;
use crate::support::{Backend, spawn, statuses};
use kickin::clock::MS_PER_HOUR;

db_tests!(
    a_resend_is_a_duplicate,
    purchase_and_lowercase_purchase_are_different_keys_and_the_second_warns,
    the_second_copy_in_one_request_is_a_duplicate,
    a_key_is_new_again_once_its_window_has_passed,
    a_new_destination_takes_a_key_the_old_one_already_had,
    twenty_concurrent_identical_requests_accept_exactly_one,
    ids_with_quotes_backslashes_and_non_ascii_are_stored_and_matched_byte_exact,
);

async fn ids_with_quotes_backslashes_and_non_ascii_are_stored_and_matched_byte_exact(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let awkward = "o\"r\\d'er é🙂";
    let (_, first) = app
        .send(&tenant, vec![app.purchase(awkward), app.purchase("plain")])
        .await;
    assert_eq!(statuses(&first), ["accepted", "accepted"]);
    let (_, again) = app.send(&tenant, vec![app.purchase(awkward)]).await;
    assert_eq!(statuses(&again), ["duplicate"], "{again}");
    let (_, list) = app.get("/v1/deliveries", Some(&tenant.key)).await;
    let mut ids = Vec::new();
    for delivery in list["data"].as_array().expect("deliveries") {
        let path = format!("/v1/deliveries/{}", delivery["id"].as_str().expect("id"));
        let (_, detail) = app.get(&path, Some(&tenant.key)).await;
        ids.push(detail["event_id"].as_str().expect("event_id").to_string());
    }
    ids.sort();
    assert_eq!(ids, [awkward, "plain"], "{list}");
}

async fn a_resend_is_a_duplicate(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let (_, first) = app.send(&tenant, vec![app.purchase("order-1")]).await;
    assert_eq!(first["accepted"], 1);
    let (status, second) = app.send(&tenant, vec![app.purchase("order-1")]).await;
    assert_eq!(status, 202);
    assert_eq!(second["duplicates"], 1);
    assert_eq!(second["results"][0]["status"], "duplicate");
    assert_eq!(second["results"][0]["deliveries"][0]["status"], "duplicate");
    assert_eq!(
        app.count_rows("deliveries", &tenant.id).await,
        1,
        "a duplicate never queues a second send"
    );
    assert_eq!(app.count_rows("events", &tenant.id).await, 1);
}

async fn purchase_and_lowercase_purchase_are_different_keys_and_the_second_warns(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let mut lower = app.purchase("order-9");
    lower["event_name"] = json!("purchase");
    let (_, body) = app
        .send(&tenant, vec![app.purchase("order-9"), lower])
        .await;
    assert_eq!(statuses(&body), ["accepted", "accepted"]);
    assert!(body["results"][0].get("warnings").is_none());
    assert_eq!(body["results"][1]["warnings"][0]["code"], "event_name_case");
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 2);
}

async fn the_second_copy_in_one_request_is_a_duplicate(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let (_, body) = app
        .send(
            &tenant,
            vec![
                app.purchase("same"),
                app.purchase("same"),
                app.purchase("other"),
            ],
        )
        .await;
    assert_eq!(statuses(&body), ["accepted", "duplicate", "accepted"]);
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["duplicates"], 1);
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 2);
}

async fn a_key_is_new_again_once_its_window_has_passed(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({"dedup_window_hours": 48})).await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("order-5")]).await;
    app.clock.advance_ms(47 * MS_PER_HOUR);
    let (_, body) = app.send(&tenant, vec![app.purchase("order-5")]).await;
    assert_eq!(
        body["results"][0]["status"], "duplicate",
        "still inside the window"
    );
    app.clock.advance_ms(2 * MS_PER_HOUR);
    let (_, body) = app.send(&tenant, vec![app.purchase("order-5")]).await;
    assert_eq!(
        body["results"][0]["status"], "accepted",
        "the window has passed"
    );
    let (_, body) = app.send(&tenant, vec![app.purchase("order-5")]).await;
    assert_eq!(
        body["results"][0]["status"], "duplicate",
        "the renewed key blocks again"
    );
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 2);
}

async fn a_new_destination_takes_a_key_the_old_one_already_had(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("order-3")]).await;
    app.add_ga4(&tenant).await;
    let (_, body) = app.send(&tenant, vec![app.purchase("order-3")]).await;
    let result = &body["results"][0];
    assert_eq!(result["status"], "accepted");
    assert_eq!(result["deliveries"][0]["status"], "duplicate");
    assert_eq!(result["deliveries"][1]["status"], "queued");
}

async fn twenty_concurrent_identical_requests_accept_exactly_one(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let event = app.purchase("race-1");
    let requests = (0..20).map(|_| app.send(&tenant, vec![event.clone()]));
    let answers = futures_util::future::join_all(requests).await;
    let mut accepted = 0;
    for (status, body) in &answers {
        assert_eq!(*status, 202, "{body}");
        match body["results"][0]["status"].as_str() {
            Some("accepted") => accepted += 1,
            Some("duplicate") => {}
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(
        app.count_rows("deliveries", &tenant.id).await,
        2,
        "one delivery per destination"
    );
    assert_eq!(app.count_rows("events", &tenant.id).await, 1);
}
