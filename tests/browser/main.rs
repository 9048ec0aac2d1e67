//! The console (and, in `portal`, the customer portal) in a real browser: headless Chromium driven through ChromeDriver with
//! fantoccini. Logs in, creates a plan with three tiers and sees the preview, creates a
//! tenant on it, issues an API key, sends events through the API and sees them in
//! deliveries and usage, replays a failed delivery, logs out. Screenshots of each page
//! land in `$CARGO_TARGET_TMPDIR/browser-screenshots/`.
//!
//! Runs when /usr/bin/chromedriver and /usr/bin/chromium exist (`.ci/run` installs them).

#[path = "../api/mocks/mod.rs"]
#[allow(dead_code)]
mod mocks;
#[path = "../api/support.rs"]
#[allow(dead_code, unused_macros)]
mod support;

mod driver;
mod portal;

use std::path::{Path, PathBuf};

use fantoccini::Locator;
use serde_json::{Value, json};

use driver::{CHROMEDRIVER, CHROMIUM, Shots, browser, click, fill, start_driver, text};

use mocks::meta::{MetaFault, MetaMock};
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_business_from_the_console_in_a_real_browser() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        eprintln!(
            "chromium/chromedriver not installed: the browser suite is not run here (.ci/run installs them)"
        );
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-browser-token");
    let meta_uri = meta.uri();
    let app = spawn_with(Backend::Sqlite, &[("KICKIN_META_API_BASE", &meta_uri)]).await;
    let (_driver, port) = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(port, profile.path()).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut shots = Shots { dir, n: 0 };
    let base = app.base.clone();

    // Log in.
    c.goto(&format!("{base}/admin")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login"),
        "anonymous → login page"
    );
    shots.take(&c, "login").await;
    fill(&c, "email", ADMIN_EMAIL).await;
    fill(&c, "password", ADMIN_PASSWORD).await;
    click(&c, "login").await;
    assert!(text(&c, "whoami").await.contains(ADMIN_EMAIL));
    shots.take(&c, "dashboard").await;

    // A plan with three tiers, and its price preview.
    c.goto(&format!("{base}/admin/plans/new")).await.unwrap();
    fill(&c, "code", "growth").await;
    fill(&c, "name", "Growth").await;
    fill(&c, "monthly_fee", "4900").await;
    click(&c, "add-tier").await;
    let ups = c.find_all(Locator::Css(".tier-up-to")).await.unwrap();
    let prices = c.find_all(Locator::Css(".tier-price")).await.unwrap();
    assert_eq!(ups.len(), 3, "three tier rows after adding one");
    for (i, (up, price)) in [("100000", "0"), ("1000000", "50"), ("", "30")]
        .iter()
        .enumerate()
    {
        ups[i].clear().await.unwrap();
        ups[i].send_keys(up).await.unwrap();
        prices[i].clear().await.unwrap();
        prices[i].send_keys(price).await.unwrap();
    }
    click(&c, "preview").await;
    let preview = text(&c, "price-preview").await;
    assert!(
        preview.contains("49900"),
        "1,000,000 sends cost 49,900: {preview}"
    );
    shots.take(&c, "plan-preview").await;
    click(&c, "save").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/admin/plans/")
    );
    shots.take(&c, "plan-saved").await;
    let (_, plans) = app.admin(reqwest::Method::GET, "/plans", None).await;
    let plan_id = plans["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(plans["data"][0]["tiers"].as_array().unwrap().len(), 3);

    // A tenant on it, an API key, a Meta destination.
    c.goto(&format!("{base}/admin/tenants")).await.unwrap();
    fill(&c, "tenant-name", "Browser Shop").await;
    c.find(Locator::Id("tenant-plan"))
        .await
        .unwrap()
        .select_by_value(&plan_id)
        .await
        .unwrap();
    click(&c, "create-tenant").await;
    assert!(text(&c, "tenant-title").await.contains("Browser Shop"));
    let tenant_url = c.current_url().await.unwrap();
    let tenant_id = tenant_url.path().rsplit('/').next().unwrap().to_string();
    fill(&c, "key-name", "server").await;
    c.find(Locator::Css("input[name=scope][value=manage]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap(); // a checkbox: no navigation
    click(&c, "issue-key").await;
    let key = text(&c, "new-key").await;
    assert!(key.starts_with("kk_"));
    shots.take(&c, "api-key-shown-once").await;
    c.goto(tenant_url.as_str()).await.unwrap();
    fill(&c, "destination-name", "Shop pixel").await;
    fill(&c, "destination-target", "123456").await;
    fill(&c, "destination-secret", "EAAB-browser-token").await;
    click(&c, "create-destination").await;
    shots.take(&c, "tenant").await;

    // Events through the API: one delivered, one failed by Meta.
    meta.fail_next("123456", MetaFault::RejectEventId("bad-1".into()), 2);
    let events: Vec<Value> = ["good-1", "bad-1"]
        .iter()
        .map(|id| app.purchase(id))
        .collect();
    let (status, _) = app
        .post_json("/v1/events", Some(&key), json!({"events": events}))
        .await;
    assert_eq!(status, 202);
    while app.state.dispatcher.run_once().await.unwrap() > 0 {}
    c.goto(&format!("{base}/admin/deliveries?tenant_id={tenant_id}"))
        .await
        .unwrap();
    let table = text(&c, "deliveries").await;
    assert!(
        table.contains("succeeded") && table.contains("failed"),
        "{table}"
    );
    shots.take(&c, "deliveries").await;

    // Replay the failed delivery.
    let (_, failed) = app.get("/v1/deliveries?status=failed", Some(&key)).await;
    let failed_id = failed["data"][0]["id"].as_str().unwrap().to_string();
    c.goto(&format!("{base}/admin/deliveries/{failed_id}"))
        .await
        .unwrap();
    shots.take(&c, "delivery-attempts").await;
    click(&c, "replay").await;
    assert_eq!(text(&c, "delivery-status").await, "pending");
    while app.state.dispatcher.run_once().await.unwrap() > 0 {}
    c.goto(tenant_url.as_str()).await.unwrap();
    assert_eq!(
        text(&c, "usage-counted").await,
        "2",
        "both sends counted once each"
    );
    shots.take(&c, "usage").await;
    assert_eq!(meta.count_event("good-1"), 1);
    assert_eq!(meta.count_event("bad-1"), 1);

    // Billing and audit pages render; then log out.
    c.goto(&format!("{base}/admin/billing")).await.unwrap();
    shots.take(&c, "billing").await;
    c.goto(&format!("{base}/admin/audit")).await.unwrap();
    assert!(text(&c, "audit").await.contains("delivery.replay"));
    shots.take(&c, "audit").await;
    click(&c, "logout").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login")
    );
    c.goto(&format!("{base}/admin")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login"),
        "logged out"
    );
    shots.take(&c, "logged-out").await;
    c.close().await.unwrap();
    assert!(shots.n >= 10);
}

/// The shop's thank-you page: a stub Meta pixel that records its calls, then kickin.js.
fn shop_page(kickin: &str, key: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Thanks</title>
<script>
document.cookie = "_fbp={VISITOR}; path=/";
window.pixelCalls = [];
window.fbq = function () {{ window.pixelCalls.push(Array.prototype.slice.call(arguments)); }};
</script>
<script src="{kickin}/v1/browser/kickin.js" data-key="{key}"></script>
</head><body><h1 id="thanks">Thank you for your order</h1></body></html>"#
    )
}

const VISITOR: &str = "fb.1.1764590000000.987654321";

/// Waits (yielding, bounded) until `done` holds.
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_page_with_the_pixel_and_kickin_js_is_seen_from_both_sides() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        eprintln!("chromium/chromedriver not installed: the browser suite is not run here");
        return;
    }
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let app = support::spawn(Backend::Sqlite).await;
    let tenant = app.create_tenant(json!({"name": "Corner Shop"})).await;
    app.add_meta(&tenant).await;
    let shop = MockServer::start().await;
    let (status, created) = app
        .post_json(
            "/v1/browser-keys",
            Some(&tenant.key),
            json!({"allowed_origins": [shop.uri()]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    Mock::given(method("GET"))
        .and(path("/thanks"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(shop_page(&app.base, key), "text/html"),
        )
        .mount(&shop)
        .await;

    let (_driver, port) = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(port, profile.path()).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut shots = Shots { dir, n: 100 };
    c.goto(&format!("{}/thanks", shop.uri())).await.unwrap();
    c.wait().for_element(Locator::Id("thanks")).await.unwrap();
    let loaded = c
        .execute("return typeof window.Kickin === 'object';", vec![])
        .await
        .unwrap();
    assert_eq!(loaded, json!(true), "kickin.js loaded from Kickin");

    // Kickin.track picks the id from the order id and gives it to the pixel.
    let id = c
        .execute(
            "return Kickin.track('Purchase', {value: 129.99, currency: 'USD'}, {orderId: '1001'});",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(id, json!("order_1001"));
    let calls = c
        .execute("return window.pixelCalls;", vec![])
        .await
        .unwrap();
    assert_eq!(
        calls,
        json!([["track", "Purchase", {"value": 129.99, "currency": "USD"}, {"eventID": "order_1001"}]]),
        "the pixel got the same eventID"
    );
    // Other code calls the pixel directly, without an eventID: observed too.
    c.execute(
        "fbq('track', 'AddToCart', {value: 5}); Kickin.flush(); return true;",
        vec![],
    )
    .await
    .unwrap();
    let calls = c
        .execute("return window.pixelCalls.length;", vec![])
        .await
        .unwrap();
    assert_eq!(
        calls,
        json!(2),
        "the wrapped pixel still receives every call"
    );
    shots.take(&c, "shop-thanks-page").await;
    until("the two beacons", || async {
        app.count_rows("browser_events", &tenant.id).await == 2
    })
    .await;

    // The server side: the same order id, and the add-to-cart under the server's own id.
    let mut purchase = app.purchase("order_1001");
    purchase["user_data"]["fbp"] = json!(VISITOR);
    let mut cart = app.purchase("cart-1001");
    cart["event_name"] = json!("AddToCart");
    cart["user_data"]["fbp"] = json!(VISITOR);
    let (status, body) = app.send(&tenant, vec![purchase, cart]).await;
    assert_eq!(status, 202, "{body}");
    kickin::browser::matcher::run_once(&app.state.db, &app.state.keys, app.clock.now_ms())
        .await
        .unwrap();
    let (status, report) = app.get("/v1/dedup/report", Some(&tenant.key)).await;
    assert_eq!(status, 200);
    assert_eq!(report["server_events"], 2, "{report}");
    assert_eq!(report["browser_events"], 2);
    assert_eq!(report["categories"]["matched"], 1);
    assert_eq!(report["categories"]["browser_missing_event_id"], 1);
    assert_eq!(report["categories"]["browser_only"], 0);
    assert_eq!(report["match_rate"], 0.5);
    let example = &report["examples"]["browser_missing_event_id"][0];
    assert_eq!(example["server_event_id"], "cart-1001");
    assert_eq!(example["browser_event_id"], serde_json::Value::Null);
    assert_eq!(example["page_url"], format!("{}/thanks", shop.uri()));

    // The Dedup doctor in the console shows the same.
    c.goto(&format!("{}/admin/login", app.base)).await.unwrap();
    fill(&c, "email", ADMIN_EMAIL).await;
    fill(&c, "password", ADMIN_PASSWORD).await;
    click(&c, "login").await;
    c.goto(&format!("{}/admin/tenants/{}/dedup", app.base, tenant.id))
        .await
        .unwrap();
    assert_eq!(text(&c, "match-rate").await, "50.0 %");
    let missing = text(&c, "category-browser_missing_event_id").await;
    assert!(
        missing.contains("browser_missing_event_id\t1")
            || missing.contains("browser_missing_event_id 1"),
        "{missing}"
    );
    shots.take(&c, "dedup-doctor").await;
    c.close().await.unwrap();
}
