//! The customer portal in a real browser: a tenant owner accepts an invite, logs in, sees
//! the overview chart, opens the Dedup doctor, replays a failed delivery, creates a
//! browser key and sees its snippet, downloads an invoice's reconciliation CSV and logs
//! out. Screenshots land beside the console's.

use std::path::{Path, PathBuf};

use fantoccini::{Client, Locator};
use reqwest::Method;
use serde_json::{Value, json};

use crate::driver::{CHROMEDRIVER, CHROMIUM, Shots, browser, click, fill, start_driver, text};
use crate::mocks::meta::{MetaFault, MetaMock};
use crate::support::{Backend, TestApp, spawn_with};

const PASSWORD: &str = "portal-browser-1";

async fn path_is(c: &Client, expected: &str) -> bool {
    c.current_url().await.unwrap().path() == expected
}

/// A tenant on a plan with last month invoiced, this month one delivered and one failed
/// send, and an owner's invite link.
async fn shop(app: &TestApp) -> (String, String) {
    let plan = json!({"code": "starter", "name": "Starter", "currency": "usd", "monthly_fee": 4900,
        "tier_mode": "graduated", "tiers": [{"up_to": null, "price_per_1000": 1000}], "limit_mode": "soft",
        "hard_limit": null, "max_destinations": null, "max_api_keys": null, "retention_days": 90});
    let (_, plan) = app.admin(Method::POST, "/plans", Some(plan)).await;
    let tenant = app
        .create_tenant(json!({"name": "Portal Shop", "plan_id": plan["id"]}))
        .await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("last-month-1")]).await;
    while app.state.dispatcher.run_once().await.unwrap() > 0 {}
    let now = app.clock.now_ms();
    let period = kickin::clock::period_of(now);
    let end = kickin::metering::usage::period_end_ms(&period);
    app.clock
        .advance_ms(end + kickin::billing::periods::GRACE_MS + 60_000 - now);
    app.login().await;
    let (status, run) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{run}");
    // The new month: Meta refuses bad-1 (until the walk clears the fault).
    let events: Vec<Value> = ["good-1", "bad-1"]
        .iter()
        .map(|id| app.purchase(id))
        .collect();
    app.send(&tenant, events).await;
    while app.state.dispatcher.run_once().await.unwrap() > 0 {}
    let users = format!("/tenants/{}/users", tenant.id);
    let body = json!({"email": "owner@portal.test", "role": "owner"});
    let (status, invite) = app.admin(Method::POST, &users, Some(body)).await;
    assert_eq!(status, 201, "{invite}");
    (period, invite["invite_url"].as_str().unwrap().to_string())
}

/// Accepts the invite, then logs out and in again through the login form.
async fn accept_and_log_in(c: &Client, shots: &mut Shots, base: &str, invite: &str) {
    c.goto(invite).await.unwrap();
    assert!(text(c, "invite-email").await.contains("owner@portal.test"));
    shots.take(c, "portal-invite").await;
    fill(c, "password", PASSWORD).await;
    fill(c, "password-again", PASSWORD).await;
    click(c, "accept-invite").await;
    assert!(path_is(c, "/app").await);
    click(c, "logout").await;
    c.goto(&format!("{base}/app")).await.unwrap();
    assert!(path_is(c, "/app/login").await, "anonymous → login page");
    shots.take(c, "portal-login").await;
    fill(c, "email", "owner@portal.test").await;
    fill(c, "password", PASSWORD).await;
    click(c, "login").await;
    assert!(
        text(c, "whoami")
            .await
            .contains("owner@portal.test (owner)")
    );
    assert_eq!(text(c, "tenant-name").await, "Portal Shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_owner_uses_the_portal_in_a_real_browser() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        eprintln!("chromium/chromedriver not installed: the browser suite is not run here");
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-secret-token");
    meta.fail_next("123456", MetaFault::RejectEventId("bad-1".into()), u32::MAX);
    let meta_uri = meta.uri();
    let app = spawn_with(Backend::Sqlite, &[("KICKIN_META_API_BASE", &meta_uri)]).await;
    // The walk moves the app's clock into next month; Meta judges event times by it.
    meta.use_clock(app.clock.clone());
    let (period, invite) = shop(&app).await;
    let (_driver, port) = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(port, profile.path()).await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut shots = Shots { dir, n: 100 };
    let base = app.base.clone();
    accept_and_log_in(&c, &mut shots, &base, &invite).await;

    let bars = c
        .find_all(Locator::Css("#overview-chart rect.bar"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 30, "30 days in the chart");
    shots.take(&c, "portal-overview").await;
    c.goto(&format!("{base}/app/dedup")).await.unwrap();
    assert!(text(&c, "doctor-title").await.contains("Dedup doctor"));
    assert!(c.find(Locator::Id("match-chart")).await.is_ok());
    shots.take(&c, "portal-dedup-doctor").await;

    c.goto(&format!("{base}/app/deliveries?status=failed"))
        .await
        .unwrap();
    shots.take(&c, "portal-deliveries").await;
    c.find(Locator::Css("#deliveries a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("replay")).await.unwrap();
    shots.take(&c, "portal-delivery").await;
    meta.clear_faults();
    click(&c, "replay").await;
    assert_eq!(text(&c, "delivery-status").await, "pending");
    while app.state.dispatcher.run_once().await.unwrap() > 0 {}
    assert_eq!(meta.count_event("bad-1"), 1, "the replay went through");

    c.goto(&format!("{base}/app/keys")).await.unwrap();
    fill(&c, "browser-key-origins", "https://shop.example").await;
    click(&c, "create-browser-key").await;
    let snippet = text(&c, "snippet").await;
    assert!(
        snippet.contains("data-key=\"pk_") && snippet.contains("kickin-"),
        "{snippet}"
    );
    shots.take(&c, "portal-keys-snippet").await;

    c.goto(&format!("{base}/app/invoices")).await.unwrap();
    shots.take(&c, "portal-invoices").await;
    let link = c.find(Locator::Id(&format!("csv-{period}"))).await.unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    let script = "const [href, done] = arguments; fetch(href).then(r => r.text()).then(done);";
    let csv = c.execute_async(script, vec![json!(href)]).await.unwrap();
    assert!(csv.as_str().unwrap().contains(','), "{csv}");

    click(&c, "logout").await;
    assert!(path_is(&c, "/app/login").await);
    c.goto(&format!("{base}/app/keys")).await.unwrap();
    assert!(path_is(&c, "/app/login").await, "logged out");
    shots.take(&c, "portal-logged-out").await;
    c.close().await.unwrap();
    assert!(shots.n >= 108);
}
