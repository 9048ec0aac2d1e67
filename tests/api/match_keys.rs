//! Match keys in `/v1/diagnostics`: per destination kind, over the period's events
//! queued for it, the share of events carrying each key and the quality estimate, with
//! exactly the contract's shape; the console's tenant page shows the same numbers.

use serde_json::{Value, json};

use crate::consent::world;
use crate::console::Console;
use crate::db_tests;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp};

db_tests!(shares_and_estimate_count_each_queued_event_once_per_kind);

const UA: &str = "Mozilla/5.0 test";
const FBP: &str = "fb.1.1764590000000.111111";
const FBC: &str = "fb.1.1764590000000.IwAR0abcdef";

fn event(app: &TestApp, id: &str, user_data: Value, ad_user_data: &str) -> Value {
    let mut e = app.purchase(id);
    e["user_data"] = user_data;
    e["consent"] = json!({"ad_user_data": ad_user_data, "ad_personalization": "granted"});
    e
}

/// Five events with consent (every kind) and one without (GA4 only, under `enforce`).
fn events(app: &TestApp) -> Vec<Value> {
    let ip = "203.0.113.9";
    vec![
        event(
            app,
            "m-1",
            json!({"em": "a@example.com", "ph": "+46 70 123 45 67", "external_id": "C-1",
                "fbp": FBP, "fbc": FBC, "client_ip_address": ip, "client_user_agent": UA}),
            "granted",
        ),
        event(
            app,
            "m-2",
            json!({"em": "b@example.com", "client_ip_address": ip, "client_user_agent": UA}),
            "granted",
        ),
        event(
            app,
            "m-3",
            json!({"em": "c@example.com", "ph": "+46 70 765 43 21", "client_user_agent": UA}),
            "granted",
        ),
        event(
            app,
            "m-4",
            json!({"external_id": "C-4", "client_user_agent": UA}),
            "granted",
        ),
        event(
            app,
            "m-5",
            json!({"fbp": FBP, "client_ip_address": ip, "client_user_agent": UA}),
            "granted",
        ),
        event(
            app,
            "m-6",
            json!({"em": "d@example.com", "client_ip_address": ip, "client_user_agent": UA}),
            "denied",
        ),
    ]
}

fn shares(n: [i64; 7], of: i64) -> Value {
    let keys = [
        "em",
        "ph",
        "external_id",
        "fbp",
        "fbc",
        "client_ip_address",
        "client_user_agent",
    ];
    let share = |n: i64| json!(n as f64 / of as f64);
    Value::Object(
        keys.iter()
            .zip(n)
            .map(|(k, n)| (k.to_string(), share(n)))
            .collect(),
    )
}

async fn shares_and_estimate_count_each_queued_event_once_per_kind(backend: Backend) {
    let (w, tenant) = world(backend, json!({"consent_policy": "enforce"})).await;
    let app = &w.app;
    let (status, body) = app.send(&tenant, events(app)).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(6)), "{body}");
    // A resend is a duplicate everywhere: nothing is queued, nothing counted again.
    let (_, again) = app.send(&tenant, events(app)[..1].to_vec()).await;
    assert_eq!(again["duplicates"], 1, "{again}");

    let (status, d) = app.get("/v1/diagnostics", Some(&tenant.key)).await;
    assert_eq!(status, 200, "{d}");
    // em, ph, external_id, fbp, fbc, IP, UA over the five consented events:
    // 3×0.6 + 2×0.4 + 0.5×0.4 + 0.5×0.4 + 1.5×0.2 + 2×0.6 + 0.5×1 = 5.0
    let with_consent = json!({
        "events": 5,
        "share": shares([3, 2, 2, 2, 1, 3, 5], 5),
        "quality_estimate": 5.0,
    });
    // GA4 also has m-6 (em, IP, UA): (12 + 4 + 1 + 1 + 1.5 + 8 + 3) / 6 = 5.083 → 5.1
    let ga4 = json!({
        "events": 6,
        "share": shares([4, 2, 2, 2, 1, 4, 6], 6),
        "quality_estimate": 5.1,
    });
    let expected = json!({"meta_capi": with_consent, "tiktok": with_consent, "ga4_mp": ga4});
    assert_eq!(d["match_keys"], expected, "{d}");

    let mut c = Console::new(app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, page, _) = c.get(&format!("/admin/tenants/{}", tenant.id)).await;
    assert_eq!(status, 200);
    let row = |kind: &str| {
        let start = page
            .find(&format!(r#"data-kind="{kind}""#))
            .unwrap_or_else(|| panic!("no {kind} row: {page}"));
        page[start..start + page[start..].find("</tr>").unwrap()].to_string()
    };
    let meta = row("meta_capi");
    assert!(
        meta.contains(r#"<td class="share" data-key="em">60 %</td>"#),
        "{meta}"
    );
    assert!(
        meta.contains(r#"<td class="share" data-key="client_user_agent">100 %</td>"#),
        "{meta}"
    );
    assert!(
        meta.contains(r#"<td class="quality-estimate">5.0</td>"#),
        "{meta}"
    );
    let ga4 = row("ga4_mp");
    assert!(
        ga4.contains(r#"<td class="share" data-key="em">67 %</td>"#),
        "{ga4}"
    );
    assert!(
        ga4.contains(r#"<td class="quality-estimate">5.1</td>"#),
        "{ga4}"
    );
}

db_tests!(the_openapi_document_describes_the_match_keys);

async fn the_openapi_document_describes_the_match_keys(backend: Backend) {
    let app = crate::support::spawn(backend).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    let schemas = &doc["components"]["schemas"];
    let report = &schemas["DiagnosticsReport"]["properties"]["match_keys"];
    assert_eq!(
        report["additionalProperties"]["$ref"], "#/components/schemas/KindMatchKeys",
        "{report}"
    );
    let kind = &schemas["KindMatchKeys"];
    let mut required: Vec<&str> = (kind["required"].as_array().unwrap().iter())
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["events", "quality_estimate", "share"], "{kind}");
    let estimate = &kind["properties"]["quality_estimate"];
    assert_eq!(
        (&estimate["minimum"], &estimate["maximum"]),
        (&json!(0), &json!(10)),
        "{estimate}"
    );
    assert_eq!(
        kind["properties"]["share"]["$ref"],
        "#/components/schemas/MatchKeyShares"
    );
    let shares = &schemas["MatchKeyShares"];
    let mut keys: Vec<&str> = shares["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    let mut weighted: Vec<&str> = kickin::dedup::match_keys::WEIGHTS
        .iter()
        .map(|(k, _)| *k)
        .collect();
    weighted.sort();
    assert_eq!(keys, weighted, "{shares}");
    assert_eq!(shares["required"].as_array().unwrap().len(), 7, "{shares}");
}
