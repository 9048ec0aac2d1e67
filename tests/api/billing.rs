//! Month-end billing: exact invoices from the meter, idempotent runs, Stripe sync once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::db_tests;
use crate::mocks::meta::MetaMock;
use crate::mocks::stripe::{StripeFault, StripeMock};
use crate::support::{Backend, Tenant, TestApp, spawn_with};
use kickin::clock::period_of;
use kickin::metering::usage::period_end_ms;
use kickin::plans::Tier;
use kickin::plans::pricing::{TierMode, price};

pub struct Billing {
    pub app: TestApp,
    pub stripe: StripeMock,
    _meta: MetaMock,
}

pub async fn billing(backend: Backend, stripe_on: bool) -> Billing {
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-secret-token");
    let stripe = StripeMock::start().await;
    let (meta_uri, stripe_uri) = (meta.uri(), stripe.uri());
    let mut vars = vec![
        ("KICKIN_META_API_BASE", meta_uri.as_str()),
        ("KICKIN_STRIPE_API_BASE", stripe_uri.as_str()),
    ];
    if stripe_on {
        vars.push(("KICKIN_STRIPE_SECRET_KEY", "sk_test_kickin"));
    }
    let app = spawn_with(backend, &vars).await;
    Billing {
        app,
        stripe,
        _meta: meta,
    }
}

pub async fn tenant_with_sends(app: &TestApp, plan: Value, sends: usize) -> Tenant {
    let (status, plan) = app.admin(Method::POST, "/plans", Some(plan)).await;
    assert_eq!(status, 201, "{plan}");
    let tenant = app.create_tenant(json!({"plan_id": plan["id"]})).await;
    app.add_meta(&tenant).await;
    if sends > 0 {
        let events = (0..sends)
            .map(|i| app.purchase(&format!("{}-{i}", &tenant.id[..8])))
            .collect();
        app.send(&tenant, events).await;
    }
    tenant
}

pub fn plan(code: &str, mode: &str, fee: i64, tiers: Value) -> Value {
    json!({"code": code, "name": code, "currency": "usd", "monthly_fee": fee, "tier_mode": mode, "tiers": tiers,
        "limit_mode": "soft", "hard_limit": null, "max_destinations": null, "max_api_keys": null, "retention_days": 30})
}

/// Moves the clock to just after this month may be billed (its end plus the grace, and
/// a minute), logs in again, and returns the month.
pub async fn next_month(app: &TestApp) -> String {
    let now = app.clock.now_ms();
    let period = period_of(now);
    app.clock
        .advance_ms(period_end_ms(&period) + kickin::billing::periods::GRACE_MS + 60_000 - now);
    app.login().await;
    period
}

db_tests!(
    a_closed_month_gets_exact_invoices_and_a_second_run_creates_nothing,
    stripe_failures_end_synced_without_duplicate_objects,
    without_stripe_invoices_stay_local,
    two_instances_starting_the_scheduler_bill_each_tenant_once,
);

async fn a_closed_month_gets_exact_invoices_and_a_second_run_creates_nothing(backend: Backend) {
    let b = billing(backend, true).await;
    let app = &b.app;
    let tiers = json!([{"up_to": 3, "price_per_1000": 0}, {"up_to": 6, "price_per_1000": 1500}, {"up_to": null, "price_per_1000": 999}]);
    let graduated = tenant_with_sends(app, plan("grad", "graduated", 4900, tiers.clone()), 8).await;
    let volume = tenant_with_sends(app, plan("vol", "volume", 2900, tiers.clone()), 8).await;
    let half_cent = tenant_with_sends(
        app,
        plan(
            "half",
            "graduated",
            0,
            json!([{"up_to": null, "price_per_1000": 500}]),
        ),
        1,
    )
    .await;
    let idle = tenant_with_sends(
        app,
        plan(
            "flat",
            "graduated",
            1000,
            json!([{"up_to": null, "price_per_1000": 0}]),
        ),
        0,
    )
    .await;
    app.drain().await;
    let period = next_month(app).await;

    let (status, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["period"], period);
    assert_eq!(report["invoices"].as_array().unwrap().len(), 4);
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    let tiers: Vec<Tier> = serde_json::from_value(tiers).unwrap();
    let expected = [
        (
            &graduated,
            price("usd", 4900, TierMode::Graduated, &tiers, 8).total,
        ),
        (
            &volume,
            price("usd", 2900, TierMode::Volume, &tiers, 8).total,
        ),
        (&half_cent, 1), // 1 send × 500 / 1000 = 0.5 → rounds half up to 1
        (&idle, 1000),   // zero usage still pays the fee
    ];
    let (_, invoices) = app
        .admin(Method::GET, &format!("/invoices?period={period}"), None)
        .await;
    for (tenant, total) in expected {
        let invoice = invoices["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["tenant_id"] == tenant.id.as_str())
            .unwrap();
        assert_eq!(invoice["total"], total, "{invoice}");
        assert_eq!(invoice["sync_status"], "synced");
        let sum: i64 = invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, total, "lines add up to the total");
        let (status, _) = app
            .get(
                &format!(
                    "/admin/api/invoices/{}/reconciliation.csv",
                    invoice["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(status, 401, "the export needs an admin");
        let csv = app
            .client
            .get(format!(
                "{}/admin/api/invoices/{}/reconciliation.csv",
                app.base,
                invoice["id"].as_str().unwrap()
            ))
            .bearer_auth(app.token())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            csv.lines().count() as i64 - 1,
            invoice["units"].as_i64().unwrap(),
            "one CSV row per billed send"
        );
        assert!(!csv.contains("jane"), "no PII in the export");
    }
    let lines: usize = invoices["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lines"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        b.stripe.objects(),
        (4, 4, lines, 4),
        "a customer, invoice and finalize per invoice, an item per line"
    );
    let (status, again) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again, report, "a re-run reports the same invoices");
    let objects = b.stripe.objects();
    app.admin(
        Method::POST,
        "/billing/runs",
        Some(json!({"period": period})),
    )
    .await;
    assert_eq!(b.stripe.objects(), objects, "nothing new in Stripe");
    assert!(b.stripe.every_request_had_a_key());
    let (status, body) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period_of(app.clock.now_ms())})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "period_not_closed");
}

async fn stripe_failures_end_synced_without_duplicate_objects(backend: Backend) {
    let b = billing(backend, true).await;
    let app = &b.app;
    tenant_with_sends(
        app,
        plan(
            "p",
            "graduated",
            100,
            json!([{"up_to": null, "price_per_1000": 1000}]),
        ),
        2,
    )
    .await;
    app.drain().await;
    let period = next_month(app).await;
    b.stripe
        .fail_next("/v1/invoiceitems", StripeFault::LoseResponse);
    let (_, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(
        report["failed"][0]["code"], "stripe_sync_failed",
        "{report}"
    );
    assert_eq!(report["invoices"][0]["sync_status"], "failed");
    assert_eq!(
        report["invoices"][0]["status"], "issued",
        "the local invoice stands"
    );
    // The retry finds the lost item on the invoice, then Stripe fails the finalize once.
    b.stripe
        .fail_next("/v1/invoices/", StripeFault::ServerError);
    let tick = |at: i64| {
        kickin::billing::scheduler::tick(&app.state.db, app.state.stripe.as_deref(), "test", at)
    };
    tick(app.clock.now_ms()).await.unwrap();
    assert_eq!(
        b.stripe.objects().3,
        0,
        "a failed sync waits for its retry time"
    );
    app.clock.advance_ms(120_000);
    tick(app.clock.now_ms()).await.unwrap();
    app.clock.advance_ms(6 * 60_000);
    tick(app.clock.now_ms()).await.unwrap();
    app.login().await;
    let (_, invoices) = app
        .admin(Method::GET, &format!("/invoices?period={period}"), None)
        .await;
    assert_eq!(invoices["data"][0]["sync_status"], "synced", "{invoices}");
    assert_eq!(
        b.stripe.objects(),
        (1, 1, 2, 1),
        "customer, invoice, two items, one finalize — no duplicates"
    );
}

async fn without_stripe_invoices_stay_local(backend: Backend) {
    let b = billing(backend, false).await;
    let app = &b.app;
    tenant_with_sends(
        app,
        plan(
            "p",
            "graduated",
            100,
            json!([{"up_to": null, "price_per_1000": 0}]),
        ),
        1,
    )
    .await;
    app.drain().await;
    let period = next_month(app).await;
    let (_, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(report["invoices"][0]["sync_status"], "not_configured");
    assert_eq!(b.stripe.objects(), (0, 0, 0, 0));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kickin"))
        .args(["billing", "run", "--period", "2020-01"])
        .env("KICKIN_DATABASE_URL", &app.state.config.database_url)
        .env(
            "KICKIN_SECRET_KEY",
            "test-secret-key-0123456789abcdef0123456789",
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["period"], "2020-01");
}

async fn two_instances_starting_the_scheduler_bill_each_tenant_once(backend: Backend) {
    let b = billing(backend, true).await;
    let app = &b.app;
    for i in 0..3 {
        tenant_with_sends(
            app,
            plan(
                &format!("p{i}"),
                "graduated",
                100,
                json!([{"up_to": null, "price_per_1000": 1000}]),
            ),
            1,
        )
        .await;
    }
    app.drain().await;
    next_month(app).await;
    let url = app.state.config.database_url.clone();
    let stripe_uri = b.stripe.uri();
    let other = spawn_with(
        Backend::Sqlite,
        &[
            ("KICKIN_DATABASE_URL", &url),
            ("KICKIN_STRIPE_API_BASE", &stripe_uri),
            ("KICKIN_STRIPE_SECRET_KEY", "sk_test_kickin"),
        ],
    )
    .await;
    let now = app.clock.now_ms();
    let (a, c) = tokio::join!(
        kickin::billing::scheduler::tick(
            &app.state.db,
            app.state.stripe.as_deref(),
            "instance-a",
            now
        ),
        kickin::billing::scheduler::tick(
            &other.state.db,
            other.state.stripe.as_deref(),
            "instance-b",
            now
        ),
    );
    let ran = [a.unwrap(), c.unwrap()].into_iter().flatten().count();
    assert_eq!(ran, 1, "exactly one instance runs the month");
    let (_, invoices) = app.admin(Method::GET, "/invoices", None).await;
    assert_eq!(invoices["data"].as_array().unwrap().len(), 3);
    let (customers, stripe_invoices, _, finalized) = b.stripe.objects();
    assert_eq!((customers, stripe_invoices, finalized), (3, 3, 3));
    let mut tenants = b.stripe.customer_metadata();
    tenants.sort();
    tenants.dedup();
    assert_eq!(
        tenants.len(),
        3,
        "one customer per tenant, tenant id in metadata"
    );
    let again = kickin::billing::scheduler::tick(
        &other.state.db,
        other.state.stripe.as_deref(),
        "instance-b",
        now + 60_000,
    )
    .await
    .unwrap();
    assert!(again.is_none(), "a billed month is not run again");
}
