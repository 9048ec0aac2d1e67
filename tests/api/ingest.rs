//! Every outcome, warning and rejection of `POST /v1/events`, and reading events back.

use serde_json::json;

use crate::db_tests;
use crate::support::{Backend, spawn, statuses};

db_tests!(
    an_accepted_event_is_queued_for_every_destination,
    a_ga4_destination_without_client_id_is_skipped,
    too_old_skips_only_the_destination_that_refuses_the_age,
    a_destination_filter_skips_the_others,
    a_missing_event_id_is_rejected_unless_the_tenant_allows_it,
    a_future_event_is_rejected_but_small_skew_is_accepted,
    invalid_fields_are_rejected_with_their_path,
    an_all_rejected_request_answers_422_and_writes_nothing,
    an_event_can_be_read_back_with_its_deliveries,
    diagnostics_count_what_ingest_decided,
);

async fn an_accepted_event_is_queued_for_every_destination(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let meta = app.add_meta(&tenant).await;
    let ga4 = app.add_ga4(&tenant).await;
    let (status, body) = app.send(&tenant, vec![app.purchase("order-1")]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 1);
    let result = &body["results"][0];
    assert_eq!(result["status"], "accepted");
    assert_eq!(result["event_id"], "order-1");
    let deliveries = result["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    for d in deliveries {
        assert_eq!(d["status"], "queued", "{d}");
    }
    let ids: Vec<&str> = deliveries
        .iter()
        .map(|d| d["destination_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&meta.as_str()) && ids.contains(&ga4.as_str()));
    assert_eq!(app.count_rows("events", &tenant.id).await, 1);
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 2);
    assert_eq!(app.count_rows("dedup_keys", &tenant.id).await, 2);
}

async fn a_ga4_destination_without_client_id_is_skipped(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let mut event = app.purchase("order-2");
    event.as_object_mut().unwrap().remove("ga4");
    let (status, body) = app.send(&tenant, vec![event]).await;
    assert_eq!(status, 202);
    let deliveries = &body["results"][0]["deliveries"];
    assert_eq!(deliveries[0]["status"], "queued");
    assert_eq!(deliveries[1]["kind"], "ga4_mp");
    assert_eq!(deliveries[1]["status"], "skipped");
    assert_eq!(deliveries[1]["reason"], "missing_client_id");
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 1);
}

async fn too_old_skips_only_the_destination_that_refuses_the_age(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let mut four_days = app.purchase("old-1");
    four_days["event_time"] = json!(app.now_secs() - 4 * 86_400);
    let mut eight_days = app.purchase("old-2");
    eight_days["event_time"] = json!(app.now_secs() - 8 * 86_400);
    let (status, body) = app.send(&tenant, vec![four_days, eight_days]).await;
    assert_eq!(status, 202, "{body}");
    let first = &body["results"][0];
    assert_eq!(first["status"], "accepted");
    assert_eq!(first["deliveries"][0]["status"], "queued");
    assert_eq!(first["deliveries"][1]["reason"], "too_old");
    assert_eq!(first["warnings"][0]["code"], "late_event");
    let second = &body["results"][1];
    assert_eq!(second["status"], "skipped");
    assert_eq!(second["deliveries"][0]["reason"], "too_old");
    assert_eq!(second["deliveries"][1]["reason"], "too_old");
    assert_eq!(body["skipped"], 1);
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 1);
}

async fn a_destination_filter_skips_the_others(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let meta = app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let mut event = app.purchase("filtered");
    event["destinations"] = json!([meta]);
    let (_, body) = app.send(&tenant, vec![event]).await;
    let deliveries = &body["results"][0]["deliveries"];
    assert_eq!(deliveries[0]["status"], "queued");
    assert_eq!(deliveries[1]["status"], "skipped");
    assert_eq!(deliveries[1]["reason"], "destination_filter");
    let mut unknown = app.purchase("filtered-2");
    unknown["destinations"] = json!([meta, uuid::Uuid::new_v4().to_string()]);
    let (status, body) = app.send(&tenant, vec![unknown]).await;
    assert_eq!(status, 422);
    assert_eq!(body["results"][0]["error"]["code"], "unknown_destination");
    assert_eq!(
        body["results"][0]["error"]["field"],
        "events[0].destinations[1]"
    );
}

async fn a_missing_event_id_is_rejected_unless_the_tenant_allows_it(backend: Backend) {
    let app = spawn(backend).await;
    let strict = app.create_tenant(json!({})).await;
    app.add_meta(&strict).await;
    let mut event = app.purchase("x");
    event.as_object_mut().unwrap().remove("event_id");
    let (status, body) = app.send(&strict, vec![event.clone()]).await;
    assert_eq!(status, 422);
    assert_eq!(body["results"][0]["error"]["code"], "missing_event_id");
    assert_eq!(body["results"][0]["error"]["field"], "events[0].event_id");

    let lenient = app.create_tenant(json!({"require_event_id": false})).await;
    app.add_meta(&lenient).await;
    let (status, body) = app.send(&lenient, vec![event]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["results"][0]["status"], "accepted");
    assert!(
        body["results"][0]["event_id"]
            .as_str()
            .unwrap()
            .starts_with("kickin-")
    );
}

async fn a_future_event_is_rejected_but_small_skew_is_accepted(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let mut far = app.purchase("future-1");
    far["event_time"] = json!(app.now_secs() + 11 * 60);
    let mut near = app.purchase("future-2");
    near["event_time"] = json!(app.now_secs() + 5 * 60);
    let (status, body) = app.send(&tenant, vec![far, near]).await;
    assert_eq!(status, 202);
    assert_eq!(statuses(&body), ["rejected", "accepted"]);
    assert_eq!(body["results"][0]["error"]["code"], "future_event");
    assert_eq!(body["results"][0]["error"]["field"], "events[0].event_time");
}

async fn invalid_fields_are_rejected_with_their_path(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let cases = [
        (json!({"event_time": "yesterday"}), "events[0].event_time"),
        (
            json!({"user_data": {"em": "not-an-email", "client_user_agent": "x"}}),
            "events[0].user_data.em",
        ),
        (
            json!({"user_data": {"em": ["a@b.co", 7]}}),
            "events[0].user_data.em[1]",
        ),
        (
            json!({"user_data": {"password": "hunter2"}}),
            "events[0].user_data.password",
        ),
        (
            json!({"action_source": "telepathy"}),
            "events[0].action_source",
        ),
        (
            json!({"event_source_url": null}),
            "events[0].event_source_url",
        ),
        (
            json!({"custom_data": {"value": "lots"}}),
            "events[0].custom_data.value",
        ),
        (
            json!({"custom_data": {"contents": [{"quantity": 1}]}}),
            "events[0].custom_data.contents[0].id",
        ),
        (json!({"ga4": {"client_id": 5}}), "events[0].ga4.client_id"),
        (json!({"evnt_id": "typo"}), "events[0].evnt_id"),
    ];
    for (patch, field) in cases {
        let mut event = app.purchase("bad");
        for (k, v) in patch.as_object().unwrap() {
            event[k] = v.clone();
        }
        let (status, body) = app.send(&tenant, vec![event]).await;
        assert_eq!(status, 422, "{field}: {body}");
        let error = &body["results"][0]["error"];
        assert_eq!(error["field"], field, "{body}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

async fn an_all_rejected_request_answers_422_and_writes_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let mut bad = app.purchase("r1");
    bad["event_time"] = json!(-5);
    let (status, body) = app.send(&tenant, vec![bad.clone(), bad]).await;
    assert_eq!(status, 422);
    assert_eq!(body["rejected"], 2);
    assert_eq!(app.count_rows("events", &tenant.id).await, 0);
    assert_eq!(app.count_rows("dedup_keys", &tenant.id).await, 0);
    assert_eq!(app.count_rows("deliveries", &tenant.id).await, 0);
}

async fn an_event_can_be_read_back_with_its_deliveries(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("order-77")]).await;
    let (status, event) = app
        .get("/v1/events/order-77?event_name=Purchase", Some(&tenant.key))
        .await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["event_name"], "Purchase");
    assert_eq!(event["deliveries"][0]["status"], "pending");
    assert_eq!(event["deliveries"][0]["attempts"], 0);
    let em = event["payload"]["user_data"]["em"].as_str().unwrap();
    assert_eq!(em.len(), 64, "user data is returned hashed");
    let (status, _) = app
        .get("/v1/events/order-77?event_name=purchase", Some(&tenant.key))
        .await;
    assert_eq!(status, 404, "event names are compared byte for byte");
}

async fn diagnostics_count_what_ingest_decided(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let mut lower = app.purchase("d-2");
    lower["event_name"] = json!("purchase");
    let mut no_id = app.purchase("d-3");
    no_id.as_object_mut().unwrap().remove("event_id");
    let mut no_client = app.purchase("d-4");
    no_client.as_object_mut().unwrap().remove("ga4");
    app.send(
        &tenant,
        vec![
            app.purchase("d-1"),
            app.purchase("d-1"),
            lower,
            no_id,
            no_client,
        ],
    )
    .await;
    let (status, report) = app.get("/v1/diagnostics", Some(&tenant.key)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["events"]["received"], 5);
    assert_eq!(report["events"]["accepted"], 3);
    assert_eq!(report["events"]["duplicate"], 1);
    assert_eq!(report["events"]["rejected"], 1);
    assert_eq!(report["rejections"]["missing_event_id"], 1);
    assert_eq!(report["warnings"]["event_name_case"], 1);
    assert_eq!(report["skips"]["missing_client_id"], 1);
    assert_eq!(report["duplicate_rate"], 0.25);
    let mismatch = &report["event_name_case_mismatches"][0];
    assert_eq!(mismatch["event_name"], "purchase");
    assert_eq!(mismatch["standard_name"], "Purchase");
    let (status, _) = app
        .get("/v1/diagnostics?period=2026-13", Some(&tenant.key))
        .await;
    assert_eq!(status, 400);
}
