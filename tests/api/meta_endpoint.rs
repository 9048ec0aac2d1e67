//! The Meta-compatible endpoint (`POST /{version}/{pixel_id}/events`): Meta's own
//! Conversions API request in every encoding Meta takes, answered in Meta's shapes,
//! deduplicated, sent to the faithful Meta mock once and counted once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console::Console;
use crate::db_tests;
use crate::dispatch::{World, world};
use crate::limits::{plan_body, tenant_on_plan};
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, spawn};

db_tests!(
    a_json_body_with_the_token_in_the_query_reaches_the_pixel_once,
    a_form_body_with_data_as_a_json_string_and_the_token_in_the_body,
    data_as_an_array_of_json_strings_as_the_python_sdk_sends_it,
    a_multipart_body_is_taken,
    a_resend_is_received_but_sent_and_counted_once,
    an_unknown_or_revoked_key_is_code_190_and_a_missing_one_104,
    a_key_without_the_ingest_scope_is_code_200,
    an_invalid_event_refuses_the_whole_request_naming_it_and_stores_nothing,
    an_unknown_pixel_is_code_100_subcode_33,
    fanout_off_reaches_the_pixel_only_and_on_every_destination,
    the_requests_test_event_code_reaches_meta_with_its_events_only,
    the_plans_hard_limit_answers_code_4,
    the_console_tenant_form_switches_fanout,
);

const PATH: &str = "/v25.0/123456/events";

/// A Meta server event as a CAPI client sends it (no Kickin-only fields).
fn meta_event(app: &TestApp, event_id: &str) -> Value {
    let mut event = app.purchase(event_id);
    event.as_object_mut().unwrap().remove("ga4");
    event
}

async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// POSTs a JSON body to `path` (which may carry a query string).
async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    answer(
        app.client
            .post(url)
            .json(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// POSTs form-encoded parameters to `path`.
async fn post_form(app: &TestApp, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}{path}", app.base);
    answer(
        app.client
            .post(url)
            .form(params)
            .send()
            .await
            .expect("request"),
    )
    .await
}

fn with_token(path: &str, key: &str) -> String {
    format!("{path}?access_token={key}")
}

fn assert_received(status: u16, body: &Value, n: u64) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events_received"], n, "{body}");
    assert_eq!(body["messages"], json!([]), "{body}");
    assert!(
        body["fbtrace_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
}

fn assert_meta_error(status: u16, body: &Value, http: u16, code: u64) {
    assert_eq!(status, http, "{body}");
    let error = &body["error"];
    assert_eq!(error["type"], "OAuthException", "{body}");
    assert_eq!(error["code"], code, "{body}");
    for member in ["message", "error_user_msg", "fbtrace_id"] {
        assert!(error[member].is_string(), "{member} in {body}");
    }
    assert!(error.get("error_subcode").is_some(), "{body}");
}

async fn a_json_body_with_the_token_in_the_query_reaches_the_pixel_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let body = json!({"data": [meta_event(app, "j-1"), meta_event(app, "j-2")]});
    let (status, answer) = post_json(app, &with_token(PATH, &w.tenant.key), &body).await;
    assert_received(status, &answer, 2);
    assert_eq!(app.drain().await, 2);
    assert_eq!(w.meta.count_event("j-1"), 1);
    assert_eq!(w.meta.count_event("j-2"), 1);
    let sent = &w.meta.received()[0];
    assert_eq!(sent.pixel_id, "123456");
    assert_eq!(sent.test_event_code, None);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn a_form_body_with_data_as_a_json_string_and_the_token_in_the_body(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let data = json!([meta_event(app, "f-1")]).to_string();
    let params = [
        ("data", data.as_str()),
        ("access_token", w.tenant.key.as_str()),
    ];
    let (status, answer) = post_form(app, PATH, &params).await;
    assert_received(status, &answer, 1);
    // The same shape as JSON: `data` a string holding the array.
    let body =
        json!({"data": json!([meta_event(app, "f-2")]).to_string(), "access_token": w.tenant.key});
    let (status, answer) = post_json(app, PATH, &body).await;
    assert_received(status, &answer, 1);
    app.drain().await;
    assert_eq!(w.meta.count_event("f-1"), 1);
    assert_eq!(w.meta.count_event("f-2"), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn data_as_an_array_of_json_strings_as_the_python_sdk_sends_it(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let encoded = vec![
        meta_event(app, "s-1").to_string(),
        meta_event(app, "s-2").to_string(),
    ];
    let data = serde_json::to_string(&encoded).unwrap();
    let params = [
        ("data", data.as_str()),
        ("partner_agent", "kickin-test"),
        ("upload_tag", "t"),
    ];
    let (status, answer) = post_form(app, &with_token(PATH, &w.tenant.key), &params).await;
    assert_received(status, &answer, 2);
    app.drain().await;
    assert_eq!(w.meta.count_event("s-1"), 1);
    assert_eq!(w.meta.count_event("s-2"), 1);
}

async fn a_multipart_body_is_taken(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let data = json!([meta_event(app, "m-1")]).to_string();
    let body = format!(
        "--kb\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\n{}\r\n--kb\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{data}\r\n--kb--\r\n",
        w.tenant.key
    );
    let resp = app
        .client
        .post(format!("{}{PATH}", app.base))
        .header("content-type", "multipart/form-data; boundary=kb")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, answer) = answer(resp).await;
    assert_received(status, &answer, 1);
    app.drain().await;
    assert_eq!(w.meta.count_event("m-1"), 1);
}

async fn a_resend_is_received_but_sent_and_counted_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let path = with_token(PATH, &w.tenant.key);
    let body = json!({"data": [meta_event(app, "r-1")]});
    let (status, first) = post_json(app, &path, &body).await;
    assert_received(status, &first, 1);
    app.drain().await;
    let (status, again) = post_json(app, &path, &body).await;
    assert_received(status, &again, 1);
    let twice = json!({"data": [meta_event(app, "r-2"), meta_event(app, "r-2")]});
    let (status, within) = post_json(app, &path, &twice).await;
    assert_received(status, &within, 2);
    app.drain().await;
    assert_eq!(w.meta.count_event("r-1"), 1, "a resend is not sent again");
    assert_eq!(w.meta.count_event("r-2"), 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
    assert_eq!(app.count_rows("events", &w.tenant.id).await, 2);
}

async fn an_unknown_or_revoked_key_is_code_190_and_a_missing_one_104(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let body = json!({"data": [meta_event(app, "k-1")]});
    let (status, answer) = post_json(app, &with_token(PATH, "kk_not_a_key"), &body).await;
    assert_meta_error(status, &answer, 400, 190);
    let (_, issued) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/api-keys", w.tenant.id),
            Some(json!({"name": "capi", "scopes": ["ingest"]})),
        )
        .await;
    let key = issued["key"].as_str().unwrap();
    let (status, answer) = post_json(app, &with_token(PATH, key), &body).await;
    assert_received(status, &answer, 1);
    let id = issued["id"].as_str().unwrap();
    let (status, _) = app
        .admin(Method::DELETE, &format!("/api-keys/{id}"), None)
        .await;
    assert_eq!(status / 100, 2);
    let next = json!({"data": [meta_event(app, "k-2")]});
    let (status, answer) = post_json(app, &with_token(PATH, key), &next).await;
    assert_meta_error(status, &answer, 400, 190);
    let (status, answer) = post_json(app, PATH, &next).await;
    assert_meta_error(status, &answer, 400, 104);
    assert_eq!(app.count_rows("events", &w.tenant.id).await, 1);
}

async fn a_key_without_the_ingest_scope_is_code_200(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let key = app.issue_key(&w.tenant.id, &["read"]).await;
    let body = json!({"data": [meta_event(app, "p-1")]});
    let (status, answer) = post_json(app, &with_token(PATH, &key), &body).await;
    assert_meta_error(status, &answer, 403, 200);
    assert_eq!(app.count_rows("events", &w.tenant.id).await, 0);
}

async fn an_invalid_event_refuses_the_whole_request_naming_it_and_stores_nothing(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let mut bad = meta_event(app, "i-2");
    bad.as_object_mut().unwrap().remove("event_time");
    let body = json!({"data": [meta_event(app, "i-1"), bad]});
    let (status, answer) = post_json(app, &with_token(PATH, &w.tenant.key), &body).await;
    assert_meta_error(status, &answer, 400, 100);
    let user_msg = answer["error"]["error_user_msg"].as_str().unwrap();
    assert!(user_msg.starts_with("data[1].event_time"), "{user_msg}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("data[1].event_time")
    );
    assert_eq!(app.count_rows("events", &w.tenant.id).await, 0);
    assert_eq!(app.count_rows("deliveries", &w.tenant.id).await, 0);
    assert_eq!(app.count_rows("dedup_keys", &w.tenant.id).await, 0);
    // Nothing was claimed: the valid event goes through alone afterwards.
    let alone = json!({"data": [meta_event(app, "i-1")]});
    let (status, answer) = post_json(app, &with_token(PATH, &w.tenant.key), &alone).await;
    assert_received(status, &answer, 1);
    let (status, answer) = post_json(
        app,
        &with_token(PATH, &w.tenant.key),
        &json!({"data": "not json"}),
    )
    .await;
    assert_meta_error(status, &answer, 400, 100);
    assert!(
        answer["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .starts_with("data")
    );
}

async fn an_unknown_pixel_is_code_100_subcode_33(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let body = json!({"data": [meta_event(app, "u-1")]});
    let path = with_token("/v25.0/999999/events", &w.tenant.key);
    let (status, answer) = post_json(app, &path, &body).await;
    assert_meta_error(status, &answer, 400, 100);
    assert_eq!(answer["error"]["error_subcode"], 33);
    assert_eq!(app.count_rows("events", &w.tenant.id).await, 0);
    // A version that is not Graph's shape is not this endpoint.
    let (status, _) = post_json(
        app,
        &with_token("/latest/123456/events", &w.tenant.key),
        &body,
    )
    .await;
    assert_eq!(status, 404);
}

async fn fanout_off_reaches_the_pixel_only_and_on_every_destination(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    app.add_ga4(&w.tenant).await;
    let path = with_token(PATH, &w.tenant.key);
    // Kickin's own `ga4` member, so that GA4 could take the event if routed there.
    let (status, answer) = post_json(app, &path, &json!({"data": [app.purchase("o-1")]})).await;
    assert_received(status, &answer, 1);
    app.drain().await;
    assert_eq!(w.meta.count_event("o-1"), 1);
    assert!(w.ga4.events().is_empty(), "fanout is off by default");

    let tenant_path = format!("/tenants/{}", w.tenant.id);
    let (status, tenant) = app
        .admin(
            Method::PATCH,
            &tenant_path,
            Some(json!({"meta_endpoint_fanout": true})),
        )
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["meta_endpoint_fanout"], true);
    let (_, read) = app.admin(Method::GET, &tenant_path, None).await;
    assert_eq!(read["meta_endpoint_fanout"], true);
    let (status, answer) = post_json(app, &path, &json!({"data": [app.purchase("o-2")]})).await;
    assert_received(status, &answer, 1);
    app.drain().await;
    assert_eq!(w.meta.count_event("o-2"), 1);
    let ga4 = w.ga4.events();
    assert_eq!(ga4.len(), 1, "{ga4:?}");
    assert_eq!(ga4[0]["params"]["event_id"], "o-2");
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 3);
}

async fn the_requests_test_event_code_reaches_meta_with_its_events_only(backend: Backend) {
    let w: World = world(backend, "10s").await;
    let app = &w.app;
    let path = with_token(PATH, &w.tenant.key);
    let test = json!({"data": [meta_event(app, "t-1")], "test_event_code": "TEST4242"});
    let (status, answer) = post_json(app, &path, &test).await;
    assert_received(status, &answer, 1);
    let (status, answer) = post_json(app, &path, &json!({"data": [meta_event(app, "t-2")]})).await;
    assert_received(status, &answer, 1);
    app.drain().await;
    let received = w.meta.received();
    let code_of = |id: &str| {
        let e = received.iter().find(|e| e.event_id.as_deref() == Some(id));
        e.expect("received").test_event_code.clone()
    };
    assert_eq!(code_of("t-1").as_deref(), Some("TEST4242"));
    assert_eq!(
        code_of("t-2"),
        None,
        "a live event of the same claim goes live"
    );
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn the_plans_hard_limit_answers_code_4(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let plan = plan_body("hard1", json!({"limit_mode": "hard", "hard_limit": 1}));
    let tenant = tenant_on_plan(app, plan).await;
    app.add_meta(&tenant).await;
    let path = with_token(PATH, &tenant.key);
    let (status, answer) = post_json(app, &path, &json!({"data": [meta_event(app, "h-1")]})).await;
    assert_received(status, &answer, 1);
    let (status, answer) = post_json(app, &path, &json!({"data": [meta_event(app, "h-2")]})).await;
    assert_meta_error(status, &answer, 429, 4);
    app.drain().await;
    assert_eq!(w.meta.count_event("h-2"), 0);
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 1);
}

async fn the_console_tenant_form_switches_fanout(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let tenant_path = format!("/tenants/{}", t.id);
    let (_, before) = app.admin(Method::GET, &tenant_path, None).await;
    assert_eq!(before["meta_endpoint_fanout"], false, "off by default");
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page_path = format!("/admin{tenant_path}");
    let (_, page, _) = c.get(&page_path).await;
    assert!(page.contains("id=\"meta-endpoint-fanout\""), "{page}");
    let on = [
        ("meta_endpoint_fanout", "false"),
        ("meta_endpoint_fanout", "true"),
    ];
    let (status, _, _) = c.post(&page_path, &on).await;
    assert_eq!(status, 303);
    let (_, after) = app.admin(Method::GET, &tenant_path, None).await;
    assert_eq!(after["meta_endpoint_fanout"], true);
    let (_, page, _) = c.get(&page_path).await;
    assert!(
        page.contains("id=\"meta-endpoint-fanout\" value=\"true\" checked"),
        "{page}"
    );
    let (status, _, _) = c
        .post(&page_path, &[("meta_endpoint_fanout", "false")])
        .await;
    assert_eq!(status, 303);
    let (_, off) = app.admin(Method::GET, &tenant_path, None).await;
    assert_eq!(off["meta_endpoint_fanout"], false);
}
