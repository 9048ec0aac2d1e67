//! Every field a CAPI user sends: web, app, phone, physical-store and business-messaging
//! events reach Meta as Meta defines them (the mock refuses what Meta refuses), an event
//! a destination cannot take is skipped for it with a named reason, and GA4's own
//! fields, app streams and EU endpoint reach GA4 as GA4 takes them.

use serde_json::{Value, json};

use crate::db_tests;
use crate::dispatch::{World, world, world_with};
use crate::mocks::ga4::Ga4Mock;
use crate::support::{Backend, TestApp};

db_tests!(
    app_events_with_app_data_reach_meta_unchanged_and_without_it_are_skipped_for_meta,
    business_messaging_events_need_their_channels_ids_and_never_reach_tiktok,
    offline_events_carry_every_meta_field_unchanged,
    a_field_meta_would_refuse_is_rejected_at_ingest_naming_it,
    a_website_event_without_the_user_agent_or_enough_to_match_is_skipped_for_meta,
    ga4_gets_user_properties_location_device_and_ip_once_per_request,
    a_ga4_app_stream_takes_app_instance_ids_and_skips_events_without_one,
    a_ga4_destination_on_the_eu_endpoint_sends_there_only,
    a_requests_test_event_code_reaches_meta_on_those_events_only,
);

fn extinfo() -> Value {
    json!([
        "a2",
        "com.shop.app",
        "2.1",
        "2.1 (210)",
        "14",
        "Pixel 8",
        "en_US",
        "GMT+1",
        "Vodafone",
        "1080",
        "2400",
        "2.75",
        "8",
        "256",
        "120",
        "Europe/Berlin"
    ])
}

/// An event of `source` with only the given fields besides the common ones.
fn event(app: &TestApp, id: &str, source: &str, fields: Value) -> Value {
    let mut e = json!({"event_id": id, "event_name": "Purchase", "event_time": app.now_secs(),
        "action_source": source, "user_data": {"em": "jane@example.com"},
        "custom_data": {"value": 10.0, "currency": "EUR"}});
    for (k, v) in fields.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// The delivery results of the one event sent, as (kind, status, reason).
fn deliveries(body: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = body["results"][0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("kind"), s("status"), s("reason"))
        })
        .collect();
    out.sort();
    out
}

fn d(kind: &str, status: &str, reason: &str) -> (String, String, String) {
    (kind.into(), status.into(), reason.into())
}

async fn send_one(w: &World, e: Value) -> Value {
    let (status, body) = w.app.send(&w.tenant, vec![e]).await;
    assert!(status == 202 || status == 422, "{status} {body}");
    body
}

/// The event Meta received for `id` (exactly once).
fn at_meta(w: &World, id: &str) -> Value {
    let got: Vec<_> = (w.meta.received().into_iter())
        .filter(|e| e.event_id.as_deref() == Some(id))
        .collect();
    assert_eq!(got.len(), 1, "{id} reaches Meta once");
    got[0].event.clone()
}

async fn app_events_with_app_data_reach_meta_unchanged_and_without_it_are_skipped_for_meta(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    w.app.add_ga4(&w.tenant).await;
    let app_data = json!({"advertiser_tracking_enabled": true, "application_tracking_enabled": true,
        "extinfo": extinfo(), "campaign_ids": "c1", "vendor_id": "v-1"});
    let full = event(
        &w.app,
        "app-1",
        "app",
        json!({"app_data": app_data,
        "ga4": {"client_id": "1.2"}}),
    );
    let body = send_one(&w, full).await;
    assert_eq!(
        deliveries(&body),
        vec![d("ga4_mp", "queued", ""), d("meta_capi", "queued", "")]
    );
    let bare = event(&w.app, "app-2", "app", json!({"ga4": {"client_id": "1.2"}}));
    let body = send_one(&w, bare).await;
    assert_eq!(
        deliveries(&body),
        vec![
            d("ga4_mp", "queued", ""),
            d("meta_capi", "skipped", "missing_app_data")
        ]
    );
    assert_eq!(w.app.drain().await, 3);
    assert_eq!(at_meta(&w, "app-1")["app_data"], app_data, "as sent");
    assert_eq!(w.meta.count_event("app-2"), 0);
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 3);
}

async fn business_messaging_events_need_their_channels_ids_and_never_reach_tiktok(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let whatsapp = |id: &str, ids: Value| {
        let mut user = json!({"ph": "+1 555 010 0000"});
        user.as_object_mut()
            .unwrap()
            .extend(ids.as_object().unwrap().clone());
        event(
            &w.app,
            id,
            "business_messaging",
            json!({"messaging_channel": "whatsapp", "user_data": user}),
        )
    };
    let ids = json!({"whatsapp_business_account_id": "102290129340398", "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"});
    let body = send_one(&w, whatsapp("wa-1", ids)).await;
    assert_eq!(deliveries(&body), vec![d("meta_capi", "queued", "")]);
    let half = json!({"ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"});
    let body = send_one(&w, whatsapp("wa-2", half)).await;
    assert_eq!(
        deliveries(&body),
        vec![d("meta_capi", "skipped", "missing_messaging_ids")]
    );
    let no_channel = event(&w.app, "wa-3", "business_messaging", json!({}));
    let body = send_one(&w, no_channel).await;
    assert_eq!(
        deliveries(&body),
        vec![d("meta_capi", "skipped", "missing_messaging_channel")]
    );
    assert_eq!(w.app.drain().await, 1);
    let sent = at_meta(&w, "wa-1");
    assert_eq!(sent["messaging_channel"], "whatsapp");
    assert_eq!(sent["user_data"]["ctwa_clid"], "ARAkLkA8rmlFeiCktEJQ");
    assert_eq!(
        sent["user_data"]["whatsapp_business_account_id"],
        "102290129340398"
    );
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 1);
}

async fn offline_events_carry_every_meta_field_unchanged(backend: Backend) {
    let w = world(backend, "10s").await;
    let store = json!({"opt_out": true, "referrer_url": "https://ads.example/c",
        "data_processing_options": ["LDU"], "data_processing_options_country": 1,
        "data_processing_options_state": 1000, "customer_segmentation": "new_customer_to_business",
        "original_event_data": {"event_name": "Purchase", "event_time": w.app.now_secs() - 60,
                                "order_id": "o-1"},
        "user_data": {"em": "jane@example.com", "fn": "Jane", "ln": "Doe", "ct": "Menlo Park",
            "st": "CA", "zp": "94025", "country": "US", "db": "19970216", "ge": "f",
            "external_id": ["cust-1", "crm-9"], "lead_id": "5512", "subscription_id": "sub-1",
            "fb_login_id": "1001", "madid": "38400000-8cf0-11bd-b23e-10b96e40000d",
            "anon_id": "anon-1", "client_ip_address": "2001:db8::1"}});
    for (id, source) in [
        ("store-1", "physical_store"),
        ("call-1", "phone_call"),
        ("mail-1", "email"),
        ("sys-1", "system_generated"),
        ("chat-1", "chat"),
    ] {
        let body = send_one(&w, event(&w.app, id, source, store.clone())).await;
        assert_eq!(
            deliveries(&body),
            vec![d("meta_capi", "queued", "")],
            "{source}: {body}"
        );
    }
    assert_eq!(w.app.drain().await, 5);
    let sent = at_meta(&w, "store-1");
    for key in [
        "opt_out",
        "referrer_url",
        "data_processing_options",
        "data_processing_options_country",
        "data_processing_options_state",
        "customer_segmentation",
        "original_event_data",
    ] {
        assert_eq!(sent[key], store[key], "{key}");
    }
    assert_eq!(sent["action_source"], "physical_store");
    let user = sent["user_data"].as_object().unwrap();
    for key in ["em", "fn", "ln", "ct", "st", "zp", "country", "db", "ge"] {
        assert_eq!(
            user[key].as_str().map(str::len),
            Some(64),
            "{key} is hashed"
        );
    }
    assert_eq!(user["external_id"].as_array().map(Vec::len), Some(2));
    for key in [
        "lead_id",
        "subscription_id",
        "fb_login_id",
        "madid",
        "anon_id",
        "client_ip_address",
    ] {
        assert_eq!(user[key], store["user_data"][key], "{key} as sent");
    }
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 5);
}

async fn a_field_meta_would_refuse_is_rejected_at_ingest_naming_it(backend: Backend) {
    let w = world(backend, "10s").await;
    let app_data = |extinfo: Value| {
        json!({"app_data": {"advertiser_tracking_enabled": true,
        "application_tracking_enabled": true, "extinfo": extinfo}})
    };
    let cases = [
        (
            app_data(json!(["a2", "short"])),
            "events[0].app_data.extinfo",
        ),
        (
            app_data(Value::Array(vec![json!("x9"); 16])),
            "events[0].app_data.extinfo",
        ),
        (
            json!({"app_data": {"advertiser_tracking_enabled": "yes"}}),
            "events[0].app_data.advertiser_tracking_enabled",
        ),
        (
            json!({"app_data": {"idfa": "x"}}),
            "events[0].app_data.idfa",
        ),
        (
            json!({"messaging_channel": "sms"}),
            "events[0].messaging_channel",
        ),
        (
            json!({"data_processing_options": ["GDPR"]}),
            "events[0].data_processing_options",
        ),
        (
            json!({"data_processing_options_state": 6}),
            "events[0].data_processing_options_state",
        ),
        (
            json!({"original_event_data": {"order_id": "o"}}),
            "events[0].original_event_data.event_name",
        ),
        (
            json!({"customer_segmentation": "New Customer"}),
            "events[0].customer_segmentation",
        ),
        (
            json!({"test_event_code": "TEST 1"}),
            "events[0].test_event_code",
        ),
        (
            json!({"ga4": {"user_properties": {"1tier": {"value": "gold"}}}}),
            "events[0].ga4.user_properties.1tier",
        ),
        (
            json!({"ga4": {"user_properties": {"tier": {"value": "g".repeat(37)}}}}),
            "events[0].ga4.user_properties.tier",
        ),
        (
            json!({"ga4": {"ip_override": "not-an-ip"}}),
            "events[0].ga4.ip_override",
        ),
        (
            json!({"ga4": {"device": {"os": "x"}}}),
            "events[0].ga4.device.os",
        ),
        (
            json!({"ga4": {"app_instance_id": "abc"}}),
            "events[0].ga4.app_instance_id",
        ),
    ];
    for (fields, field) in cases {
        let (status, body) = w
            .app
            .send(&w.tenant, vec![event(&w.app, "bad", "app", fields.clone())])
            .await;
        assert_eq!(status, 422, "{fields}: {body}");
        assert_eq!(
            body["results"][0]["error"]["field"], field,
            "{fields}: {body}"
        );
    }
    assert_eq!(
        w.app.count_rows("events", &w.tenant.id).await,
        0,
        "nothing stored"
    );
}

async fn a_website_event_without_the_user_agent_or_enough_to_match_is_skipped_for_meta(
    backend: Backend,
) {
    let w = world(backend, "10s").await;
    let web = |id: &str, user: Value| {
        event(
            &w.app,
            id,
            "website",
            json!({"event_source_url": "https://shop.example/t", "user_data": user}),
        )
    };
    let body = send_one(&w, web("web-1", json!({"em": "jane@example.com"}))).await;
    assert_eq!(
        deliveries(&body),
        vec![d("meta_capi", "skipped", "missing_client_user_agent")]
    );
    let weak = json!({"fn": "Jane", "ge": "f"});
    let body = send_one(
        &w,
        event(&w.app, "weak-1", "phone_call", json!({"user_data": weak})),
    )
    .await;
    assert_eq!(
        deliveries(&body),
        vec![d("meta_capi", "skipped", "insufficient_user_data")]
    );
    assert_eq!(w.app.drain().await, 0);
    assert_eq!(
        w.meta.request_count(),
        0,
        "nothing Meta would refuse is sent"
    );
    let (_, diagnostics) = w.app.get("/v1/diagnostics", Some(&w.tenant.key)).await;
    let text = diagnostics.to_string();
    assert!(
        text.contains("missing_client_user_agent") && text.contains("insufficient_user_data"),
        "{text}"
    );
}

async fn ga4_gets_user_properties_location_device_and_ip_once_per_request(backend: Backend) {
    let w = world(backend, "10s").await;
    w.app.add_ga4(&w.tenant).await;
    let hints = json!({"client_id": "1.2", "ip_override": "203.0.113.7",
        "user_properties": {"tier": {"value": "gold"}, "visits": 3},
        "user_location": {"city": "Berlin", "country_id": "DE", "region_id": "DE-BE"},
        "device": {"category": "mobile", "language": "de", "browser": "Chrome"}});
    let other = json!({"client_id": "1.2", "user_properties": {"tier": {"value": "silver"}}});
    let events = vec![
        event(
            &w.app,
            "g-1",
            "website",
            json!({"ga4": hints.clone(), "event_source_url": "https://s.example/"}),
        ),
        event(
            &w.app,
            "g-2",
            "website",
            json!({"ga4": other, "event_source_url": "https://s.example/"}),
        ),
    ];
    let (status, body) = w.app.send(&w.tenant, events).await;
    assert_eq!(status, 202, "{body}");
    w.app.drain().await;
    let requests = w.ga4.requests();
    assert_eq!(
        requests.len(),
        2,
        "different user properties are different requests"
    );
    assert!(
        requests.iter().all(|r| r.valid),
        "{:?}",
        requests.iter().map(|r| &r.messages).collect::<Vec<_>>()
    );
    let gold = requests
        .iter()
        .find(|r| r.body["events"][0]["params"]["event_id"] == "g-1")
        .unwrap();
    assert_eq!(
        gold.body["user_properties"],
        json!({"tier": {"value": "gold"}, "visits": {"value": 3}})
    );
    assert_eq!(gold.body["user_location"], hints["user_location"]);
    assert_eq!(gold.body["device"], hints["device"]);
    assert_eq!(gold.body["ip_override"], "203.0.113.7");
    let stored = w.app.count_rows("events", &w.tenant.id).await;
    assert_eq!(stored, 2);
    assert_eq!(
        w.app.assert_meter_exact(&w.tenant.id).await,
        2,
        "GA4 twice; Meta skipped (no user agent)"
    );
}

async fn add_ga4_with(app: &TestApp, tenant: &crate::support::Tenant, fields: Value) -> Value {
    let mut body = json!({"kind": "ga4_mp", "name": "Stream", "api_secret": "ga4-secret-value"});
    body.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let (status, dest) = app
        .post_json("/v1/destinations", Some(&tenant.key), body)
        .await;
    assert_eq!(status, 201, "{dest}");
    dest
}

async fn a_ga4_app_stream_takes_app_instance_ids_and_skips_events_without_one(backend: Backend) {
    let w = world(backend, "10s").await;
    let firebase = "1:1234567890:android:321abc456def7890";
    let dest = add_ga4_with(&w.app, &w.tenant, json!({"firebase_app_id": firebase})).await;
    assert_eq!(
        (&dest["firebase_app_id"], &dest.get("measurement_id")),
        (&json!(firebase), &None)
    );
    let both = json!({"kind": "ga4_mp", "name": "x", "api_secret": "s", "firebase_app_id": firebase, "measurement_id": "G-TEST123"});
    let (status, err) = w
        .app
        .post_json("/v1/destinations", Some(&w.tenant.key), both)
        .await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (422, &json!("firebase_app_id")),
        "{err}"
    );
    let instance = "cd1e5a7e8a4f4b6e9f0a1b2c3d4e5f60";
    let app_event = |id: &str, ga4: Value| {
        event(
            &w.app,
            id,
            "app",
            json!({"ga4": ga4, "app_data": {"advertiser_tracking_enabled": false,
            "application_tracking_enabled": true, "extinfo": extinfo()}}),
        )
    };
    let body = send_one(&w, app_event("ai-1", json!({"app_instance_id": instance}))).await;
    assert_eq!(
        deliveries(&body),
        vec![d("ga4_mp", "queued", ""), d("meta_capi", "queued", "")]
    );
    let body = send_one(&w, app_event("ai-2", json!({"client_id": "1.2"}))).await;
    assert_eq!(
        deliveries(&body),
        vec![
            d("ga4_mp", "skipped", "missing_app_instance_id"),
            d("meta_capi", "queued", "")
        ]
    );
    assert_eq!(w.app.drain().await, 3);
    let requests = w.ga4.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].firebase_app_id, firebase);
    assert_eq!(requests[0].body["app_instance_id"], instance);
    assert!(requests[0].valid, "{:?}", requests[0].messages);
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 3);
}

async fn a_ga4_destination_on_the_eu_endpoint_sends_there_only(backend: Backend) {
    let eu = Ga4Mock::start().await;
    let eu_uri = eu.uri();
    let w = world_with(
        backend,
        "10s",
        &[("KICKIN_GA4_EU_API_BASE", eu_uri.as_str())],
    )
    .await;
    let dest = add_ga4_with(
        &w.app,
        &w.tenant,
        json!({"measurement_id": "G-TEST123", "endpoint": "eu"}),
    )
    .await;
    assert_eq!(dest["endpoint"], "eu");
    let bad = json!({"kind": "ga4_mp", "name": "x", "api_secret": "s", "measurement_id": "G-TEST123", "endpoint": "us"});
    let (status, err) = w
        .app
        .post_json("/v1/destinations", Some(&w.tenant.key), bad)
        .await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (422, &json!("endpoint")),
        "{err}"
    );
    let meta_endpoint = json!({"kind": "meta_capi", "name": "x", "access_token": "t", "pixel_id": "1", "endpoint": "eu"});
    let (status, err) = w
        .app
        .post_json("/v1/destinations", Some(&w.tenant.key), meta_endpoint)
        .await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (422, &json!("endpoint")),
        "{err}"
    );
    assert_eq!(
        w.app.send(&w.tenant, vec![w.app.purchase("eu-1")]).await.0,
        202
    );
    assert_eq!(w.app.drain().await, 2);
    assert_eq!(eu.requests().len(), 1, "the EU endpoint got it");
    assert!(w.ga4.requests().is_empty(), "the global endpoint did not");
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 2);
}

async fn a_requests_test_event_code_reaches_meta_on_those_events_only(backend: Backend) {
    let w = world(backend, "10s").await;
    let body = json!({"events": [w.app.purchase("t-1")], "test_event_code": "TEST4242"});
    let (status, answer) = w
        .app
        .post_json("/v1/events", Some(&w.tenant.key), body)
        .await;
    assert_eq!(status, 202, "{answer}");
    let bad = json!({"events": [w.app.purchase("t-x")], "test_event_code": 5});
    let (status, err) = w
        .app
        .post_json("/v1/events", Some(&w.tenant.key), bad)
        .await;
    assert_eq!(
        (status, &err["error"]["field"]),
        (400, &json!("test_event_code")),
        "{err}"
    );
    assert_eq!(
        w.app.send(&w.tenant, vec![w.app.purchase("t-2")]).await.0,
        202
    );
    assert_eq!(w.app.drain().await, 2);
    let code = |id: &str| {
        let got: Vec<_> = w
            .meta
            .received()
            .into_iter()
            .filter(|e| e.event_id.as_deref() == Some(id))
            .collect();
        got[0].test_event_code.clone()
    };
    assert_eq!(code("t-1").as_deref(), Some("TEST4242"));
    assert_eq!(code("t-2"), None, "another request's events go live");
    assert_eq!(w.app.assert_meter_exact(&w.tenant.id).await, 2);
}
