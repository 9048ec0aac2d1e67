//! Consent and Limited Data Use end to end against the faithful mocks: the visitor's
//! consent is validated, stored and sent to GA4 as its request-level `consent` (events of
//! different consent never share a request); a tenant enforcing consent keeps events
//! without `ad_user_data: granted` from Meta and TikTok (`consent_denied`) while GA4
//! still gets them; Meta's LDU fields and TikTok's `limited_data_use` arrive exactly as
//! defined; GA4's user-provided data is hashed with Google's rules and no raw PII is
//! stored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console::Console;
use crate::db_tests;
use crate::mocks::ga4::Ga4Mock;
use crate::mocks::meta::MetaMock;
use crate::mocks::tiktok::{PIXEL, TOKEN, TiktokMock};
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Tenant, TestApp, spawn_with};
use kickin::ingest::pii::sha256_hex;

db_tests!(
    each_consent_reaches_ga4_as_its_own_request_level_consent,
    a_bad_or_unknown_consent_member_is_rejected_naming_the_field,
    under_enforce_only_granted_ad_user_data_reaches_meta_and_tiktok,
    the_consent_policy_is_read_and_set_by_the_admin_api_and_the_console,
    ldu_fields_reach_meta_and_tiktok_exactly_as_defined,
    ga4_gets_user_data_hashed_by_google_rules_and_no_raw_pii_is_stored,
);

pub struct World {
    pub app: TestApp,
    pub meta: MetaMock,
    pub ga4: Ga4Mock,
    pub tiktok: TiktokMock,
}

/// The app with all three mocks, and a tenant (`settings`) with one destination of
/// each kind.
pub async fn world(backend: Backend, settings: Value) -> (World, Tenant) {
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-secret-token");
    let ga4 = Ga4Mock::start().await;
    let tiktok = TiktokMock::start().await;
    let (m, g, t) = (meta.uri(), ga4.uri(), tiktok.uri());
    let vars = [
        ("KICKIN_META_API_BASE", m.as_str()),
        ("KICKIN_GA4_API_BASE", g.as_str()),
        ("KICKIN_TIKTOK_API_BASE", t.as_str()),
    ];
    let app = spawn_with(backend, &vars).await;
    tiktok.use_clock(&app.clock);
    let tenant = app.create_tenant(settings).await;
    app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let body =
        json!({"kind": "tiktok", "name": "TikTok", "pixel_code": PIXEL, "access_token": TOKEN});
    let (status, dest) = app
        .post_json("/v1/destinations", Some(&tenant.key), body)
        .await;
    assert_eq!(status, 201, "create tiktok destination: {dest}");
    let w = World {
        app,
        meta,
        ga4,
        tiktok,
    };
    (w, tenant)
}

/// A purchase at a fixed time (so only consent can split GA4 requests) with `consent`.
fn purchase(app: &TestApp, id: &str, consent: Option<Value>) -> Value {
    let mut e = app.purchase(id);
    e["event_time"] = json!(app.now_secs() - 60);
    if let Some(c) = consent {
        e["consent"] = c;
    }
    e
}

fn granted() -> Option<Value> {
    Some(json!({"ad_user_data": "granted", "ad_personalization": "granted"}))
}

fn denied() -> Option<Value> {
    Some(json!({"ad_user_data": "denied", "ad_personalization": "denied"}))
}

/// The event ids of each GA4 request, with its consent (`Null` when absent).
fn ga4_requests(ga4: &Ga4Mock) -> Vec<(Vec<String>, Value)> {
    let mut out: Vec<(Vec<String>, Value)> = (ga4.requests().into_iter())
        .map(|r| {
            assert!(r.valid, "GA4 would drop {}: {:?}", r.body, r.messages);
            let ids = (r.body["events"].as_array().unwrap().iter())
                .map(|e| e["params"]["event_id"].as_str().unwrap().to_string())
                .collect();
            (ids, r.body.get("consent").cloned().unwrap_or(Value::Null))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn delivery<'a>(result: &'a Value, kind: &str) -> &'a Value {
    (result["deliveries"].as_array().unwrap().iter())
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} delivery in {result}"))
}

async fn each_consent_reaches_ga4_as_its_own_request_level_consent(backend: Backend) {
    let (w, tenant) = world(backend, json!({})).await;
    let app = &w.app;
    let only_personalization = Some(json!({"ad_personalization": "denied"}));
    let events = vec![
        purchase(app, "c-granted-1", granted()),
        purchase(app, "c-denied", denied()),
        purchase(app, "c-granted-2", granted()),
        purchase(app, "c-none", None),
        purchase(app, "c-partial", only_personalization),
    ];
    let (status, body) = app.send(&tenant, events).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["accepted"], 5,
        "forward: every event goes everywhere: {body}"
    );
    app.drain().await;
    let both = |v: &str| json!({"ad_user_data": v, "ad_personalization": v});
    assert_eq!(
        ga4_requests(&w.ga4),
        vec![
            (vec!["c-denied".into()], both("DENIED")),
            (
                vec!["c-granted-1".into(), "c-granted-2".into()],
                both("GRANTED")
            ),
            (vec!["c-none".into()], Value::Null),
            (
                vec!["c-partial".into()],
                json!({"ad_personalization": "DENIED"})
            ),
        ],
        "one request per consent; the same consent shares one"
    );
    assert_eq!(w.meta.received().len(), 5);
    assert_eq!(w.tiktok.received().len(), 5);
    for e in w.meta.received() {
        assert!(
            e.event.get("consent").is_none(),
            "Meta has no consent field: {}",
            e.event
        );
    }
    let (_, stored) = app
        .get("/v1/events/c-denied?event_name=Purchase", Some(&tenant.key))
        .await;
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 15, "{stored}");
}

async fn a_bad_or_unknown_consent_member_is_rejected_naming_the_field(backend: Backend) {
    let (w, tenant) = world(backend, json!({})).await;
    let app = &w.app;
    let cases = [
        (
            json!({"ad_user_data": "GRANTED"}),
            "events[0].consent.ad_user_data",
        ),
        (
            json!({"ad_user_data": true}),
            "events[0].consent.ad_user_data",
        ),
        (
            json!({"ad_personalization": "yes"}),
            "events[0].consent.ad_personalization",
        ),
        (
            json!({"analytics_storage": "granted"}),
            "events[0].consent.analytics_storage",
        ),
        (json!("granted"), "events[0].consent"),
    ];
    for (consent, field) in cases {
        let (status, body) = app
            .send(&tenant, vec![purchase(app, "bad", Some(consent))])
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["results"][0]["error"]["field"], field, "{body}");
    }
    app.drain().await;
    assert!(w.ga4.requests().is_empty() && w.meta.received().is_empty());
    assert_eq!(app.count_rows("events", &tenant.id).await, 0);
}

async fn under_enforce_only_granted_ad_user_data_reaches_meta_and_tiktok(backend: Backend) {
    let (w, tenant) = world(backend, json!({"consent_policy": "enforce"})).await;
    let app = &w.app;
    let personalization_only =
        Some(json!({"ad_user_data": "denied", "ad_personalization": "granted"}));
    let events = vec![
        purchase(app, "e-granted", granted()),
        purchase(app, "e-denied", denied()),
        purchase(app, "e-none", None),
        purchase(app, "e-mixed", personalization_only),
    ];
    let (status, body) = app.send(&tenant, events).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 4, "GA4 still takes every event: {body}");
    for (i, result) in body["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(delivery(result, "ga4_mp")["status"], "queued", "{result}");
        for kind in ["meta_capi", "tiktok"] {
            let d = delivery(result, kind);
            if i == 0 {
                assert_eq!(d["status"], "queued", "{result}");
            } else {
                assert_eq!(d["status"], "skipped", "{result}");
                assert_eq!(d["reason"], "consent_denied", "{result}");
            }
        }
    }
    app.drain().await;
    let ids = |v: Vec<Option<String>>| v.into_iter().flatten().collect::<Vec<_>>();
    assert_eq!(
        ids(w.meta.received().into_iter().map(|e| e.event_id).collect()),
        ["e-granted"]
    );
    assert_eq!(
        ids(w
            .tiktok
            .received()
            .into_iter()
            .map(|e| e.event_id)
            .collect()),
        ["e-granted"]
    );
    let ga4_ids: Vec<String> = ga4_requests(&w.ga4).into_iter().flat_map(|r| r.0).collect();
    assert_eq!(ga4_ids.len(), 4, "{ga4_ids:?}");
    let (_, diagnostics) = app.get("/v1/diagnostics", Some(&tenant.key)).await;
    assert_eq!(diagnostics["skips"]["consent_denied"], 6, "{diagnostics}");
    assert_eq!(
        app.assert_meter_exact(&tenant.id).await,
        6,
        "4 GA4 + 1 Meta + 1 TikTok"
    );
}

async fn the_consent_policy_is_read_and_set_by_the_admin_api_and_the_console(backend: Backend) {
    let (w, tenant) = world(backend, json!({})).await;
    let app = &w.app;
    let path = format!("/tenants/{}", tenant.id);
    let (_, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(shown["consent_policy"], "forward", "forward by default");
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"consent_policy": "enforce"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["consent_policy"], "enforce");
    let (status, refused) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"consent_policy": "strict"})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    // The key in use sees the new policy at once.
    let (_, body) = app.send(&tenant, vec![purchase(app, "p-1", None)]).await;
    assert_eq!(
        delivery(&body["results"][0], "meta_capi")["reason"],
        "consent_denied"
    );

    let mut c = Console::new(app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page_path = format!("/admin{path}");
    let (_, page, _) = c.get(&page_path).await;
    assert!(
        page.contains(r#"<option value="enforce" selected>"#),
        "{page}"
    );
    let (status, _, _) = c.post(&page_path, &[("consent_policy", "forward")]).await;
    assert_eq!(status, 303);
    let (_, after) = app.admin(Method::GET, &path, None).await;
    assert_eq!(after["consent_policy"], "forward");
    let (status, page, _) = c.post(&page_path, &[("consent_policy", "nope")]).await;
    assert_eq!(status, 422, "{page}");
    let (_, body) = app.send(&tenant, vec![purchase(app, "p-2", None)]).await;
    assert_eq!(
        delivery(&body["results"][0], "meta_capi")["status"],
        "queued"
    );
}

async fn ldu_fields_reach_meta_and_tiktok_exactly_as_defined(backend: Backend) {
    let (w, tenant) = world(backend, json!({})).await;
    let app = &w.app;
    let mut ldu = purchase(app, "ldu-1", None);
    ldu["data_processing_options"] = json!(["LDU"]);
    ldu["data_processing_options_country"] = json!(1);
    ldu["data_processing_options_state"] = json!(1000);
    let mut geolocate = purchase(app, "ldu-2", None);
    geolocate["data_processing_options"] = json!(["LDU"]);
    geolocate["data_processing_options_country"] = json!(0);
    geolocate["data_processing_options_state"] = json!(0);
    let mut none = purchase(app, "ldu-3", None);
    none["data_processing_options"] = json!([]);
    let plain = purchase(app, "ldu-4", None);
    let (status, body) = app.send(&tenant, vec![ldu, geolocate, none, plain]).await;
    assert_eq!(status, 202, "{body}");
    app.drain().await;
    let meta = w.meta.received();
    let meta_of = |id: &str| {
        let e = &meta
            .iter()
            .find(|e| e.event_id.as_deref() == Some(id))
            .unwrap()
            .event;
        [
            "data_processing_options",
            "data_processing_options_country",
            "data_processing_options_state",
        ]
        .map(|k| e.get(k).cloned().unwrap_or(Value::Null))
    };
    assert_eq!(meta_of("ldu-1"), [json!(["LDU"]), json!(1), json!(1000)]);
    assert_eq!(meta_of("ldu-2"), [json!(["LDU"]), json!(0), json!(0)]);
    assert_eq!(meta_of("ldu-3"), [json!([]), Value::Null, Value::Null]);
    assert_eq!(meta_of("ldu-4"), [Value::Null, Value::Null, Value::Null]);
    let tiktok = w.tiktok.received();
    let ldu_of = |id: &str| {
        let e = tiktok
            .iter()
            .find(|e| e.event_id.as_deref() == Some(id))
            .unwrap();
        assert!(
            !e.data.to_string().contains("data_processing"),
            "{}",
            e.data
        );
        e.data.get("limited_data_use").cloned()
    };
    assert_eq!(ldu_of("ldu-1"), Some(json!(true)));
    assert_eq!(ldu_of("ldu-2"), Some(json!(true)));
    assert_eq!(ldu_of("ldu-3"), None);
    assert_eq!(ldu_of("ldu-4"), None);
    for r in w.ga4.requests() {
        assert!(
            !r.body.to_string().contains("data_processing"),
            "{}",
            r.body
        );
    }
}

async fn ga4_gets_user_data_hashed_by_google_rules_and_no_raw_pii_is_stored(backend: Backend) {
    let (w, tenant) = world(backend, json!({})).await;
    let app = &w.app;
    let mut e = purchase(app, "ud-1", None);
    e["user_data"] = json!({"em": [" John.Q.Doe@GMail.com ", "x.y@example.com"],
        "ph": "+1 (555) 010-0000", "fn": "Mary Ann", "ln": "O'Neil",
        "client_user_agent": "Mozilla/5.0 test"});
    let (status, body) = app.send(&tenant, vec![e]).await;
    assert_eq!(status, 202, "{body}");
    app.drain().await;
    let requests = w.ga4.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].valid, "{:?}", requests[0].messages);
    assert_eq!(
        requests[0].body["user_data"],
        json!({
            "sha256_email_address": [sha256_hex("johnqdoe@gmail.com"), sha256_hex("x.y@example.com")],
            "sha256_phone_number": [sha256_hex("+15550100000")],
            "address": [{"sha256_first_name": sha256_hex("mary ann"),
                         "sha256_last_name": sha256_hex("oneil")}]
        })
    );
    // Meta keeps its own normalization (dots kept, no `+`, no spaces).
    let meta = &w.meta.received()[0].event;
    assert_eq!(
        meta["user_data"]["em"][0],
        sha256_hex("john.q.doe@gmail.com")
    );
    assert_eq!(meta["user_data"]["ph"], sha256_hex("15550100000"));
    assert!(meta.get("alt_hashes").is_none() && meta["user_data"].get("ga4_user_data").is_none());
    let tiktok = &w.tiktok.received()[0].data;
    assert_eq!(tiktok["user"]["phone"], sha256_hex("+15550100000"));
    let tenant_id = uuid::Uuid::parse_str(&tenant.id).unwrap();
    let sql = "SELECT payload FROM events WHERE tenant_id = ?";
    let payloads: Vec<String> =
        crate::support::column(&app.state.db.conn, sql, vec![tenant_id.into()], "payload").await;
    for raw in ["John", "john", "GMail", "555", "Mary", "Neil"] {
        assert!(
            !payloads[0].contains(raw),
            "raw PII {raw} stored: {}",
            payloads[0]
        );
    }
}
