//! Month-end billing that cannot be early, stale or half-done: late completions are
//! fenced out of a billed month, a month is priced with the plan the tenant had then,
//! failed runs are retried, and Stripe objects whose ids were lost are found again.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::billing::{billing, next_month, plan, tenant_with_sends};
use crate::db_tests;
use crate::mocks::stripe::StripeFault;
use crate::support::{Backend, TestApp};
use kickin::billing::{periods, run, scheduler};
use kickin::clock::{MS_PER_HOUR, period_of};
use kickin::destinations::outcome::{self, Outcome};
use kickin::dispatch::complete::{Completion, complete};
use kickin::dispatch::queue;
use kickin::metering::{self, reconcile::reconcile, usage};

db_tests!(
    a_completion_whose_clock_still_reads_a_billed_month_is_metered_in_the_next,
    a_run_waits_for_a_completion_still_committing_in_its_month,
    a_month_is_priced_with_the_plan_the_tenant_had_at_its_end,
    a_run_that_could_not_invoice_a_tenant_is_retried_until_it_is,
    stripe_objects_whose_ids_were_lost_are_found_again_after_their_keys_expired,
    tenants_from_before_plan_history_are_billed_with_their_plan,
);

fn flat(code: &str, fee: i64) -> Value {
    plan(
        code,
        "graduated",
        fee,
        json!([{"up_to": null, "price_per_1000": 1000}]),
    )
}

async fn metered(app: &TestApp, tenant: &str, period: &str) -> i64 {
    let id = Uuid::parse_str(tenant).unwrap();
    usage::counted(&app.state.db.conn, id, period)
        .await
        .unwrap()
        .values()
        .sum()
}

async fn invoice_of(app: &TestApp, tenant: &str, period: &str) -> Option<Value> {
    app.login().await;
    let (status, page) = app
        .admin(Method::GET, &format!("/invoices?period={period}"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tenant_id"] == tenant)
        .cloned()
}

async fn assert_reconciles(app: &TestApp, period: &str) {
    for row in reconcile(&app.state.db.conn, period).await.unwrap() {
        assert!(row.matches(), "{period}: {row:?}");
    }
}

async fn a_completion_whose_clock_still_reads_a_billed_month_is_metered_in_the_next(
    backend: Backend,
) {
    let b = billing(backend, false).await;
    let app = &b.app;
    let tenant = tenant_with_sends(app, flat("p", 100), 2).await;
    app.drain().await;
    // One more send of this month, leased by a worker that has not recorded it yet.
    app.send(&tenant, vec![app.purchase("late-send")]).await;
    let now = app.clock.now_ms();
    let due = queue::due_destinations(&app.state.db, now, 10)
        .await
        .unwrap();
    let claimed = queue::claim(&app.state.db, due[0], now, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let worker_clock = app.clock.now_ms();
    let period = next_month(app).await;

    let (status, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    // The worker, its clock still in the billed month, records the send only now.
    let completion = Completion {
        claimed: claimed[0].clone(),
        result: outcome::Result {
            outcome: Outcome::Delivered,
            attempt: Default::default(),
        },
        expires_at_ms: i64::MAX,
        dedup_window_ms: None,
    };
    let tally = complete(
        &app.state.db,
        &[completion],
        &[Duration::from_secs(60)],
        worker_clock,
    )
    .await
    .unwrap();
    assert_eq!(tally.succeeded, 1);

    let invoice = invoice_of(app, &tenant.id, &period).await.unwrap();
    let next = period_of(app.clock.now_ms());
    assert_eq!(invoice["units"], 2, "{invoice}");
    assert_eq!(
        metered(app, &tenant.id, &period).await,
        2,
        "the billed month's meter is what was invoiced"
    );
    assert_eq!(
        metered(app, &tenant.id, &next).await,
        1,
        "the late send is counted in the next month, not lost"
    );
    assert_eq!(app.assert_meter_exact(&tenant.id).await, 3);
    assert_reconciles(app, &period).await;
    assert_reconciles(app, &next).await;
}

async fn a_run_waits_for_a_completion_still_committing_in_its_month(backend: Backend) {
    let b = billing(backend, false).await;
    let app = &b.app;
    let tenant = tenant_with_sends(app, flat("p", 100), 1).await;
    app.drain().await;
    let worker_clock = app.clock.now_ms();
    let period = next_month(app).await;
    // A completion transaction stamped in the month, not committed yet.
    let txn = app.state.db.begin_write().await.unwrap();
    let at = periods::stamp(&*txn, worker_clock).await.unwrap();
    assert_eq!(period_of(at), period);
    let tenant_id = Uuid::parse_str(&tenant.id).unwrap();
    metering::add(&*txn, tenant_id, &period, "meta_capi", 1)
        .await
        .unwrap();

    let db = app.state.db.clone();
    let (p, now) = (period.clone(), app.clock.now_ms());
    let mut billing_run = tokio::spawn(async move { run::run(&db, None, &p, now).await });
    // Nothing to await for "still blocked": give the run time it would need to finish.
    let early = tokio::time::timeout(Duration::from_millis(500), &mut billing_run).await;
    assert!(early.is_err(), "the run must wait for the completion");
    txn.commit().await.unwrap();
    let report = billing_run.await.unwrap().unwrap();
    assert_eq!(report.invoices.len(), 1);
    let invoice = invoice_of(app, &tenant.id, &period).await.unwrap();
    assert_eq!(invoice["units"], 2, "the in-flight send is on the invoice");
}

async fn a_month_is_priced_with_the_plan_the_tenant_had_at_its_end(backend: Backend) {
    let b = billing(backend, false).await;
    let app = &b.app;
    let kept = tenant_with_sends(app, flat("small", 1000), 1).await;
    let switched = tenant_with_sends(app, flat("small2", 1000), 0).await;
    let removed = tenant_with_sends(app, flat("gone", 1000), 0).await;
    let (_, big) = app
        .admin(Method::POST, "/plans", Some(flat("big", 5000)))
        .await;
    let planless = app.create_tenant(json!({})).await;
    app.drain().await;
    let patch = |tenant: String, plan: Value| async move {
        let (status, body) = app
            .admin(
                Method::PATCH,
                &format!("/tenants/{tenant}"),
                Some(json!({"plan_id": plan})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    };
    // During the month: one tenant moves to the big plan, one loses its plan.
    patch(switched.id.clone(), big["id"].clone()).await;
    patch(removed.id.clone(), Value::Null).await;
    let period = next_month(app).await;
    // After the month: changes that must not reach its invoices.
    patch(kept.id.clone(), big["id"].clone()).await;
    patch(planless.id.clone(), big["id"].clone()).await;
    patch(removed.id.clone(), big["id"].clone()).await;

    let (status, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let kept_invoice = invoice_of(app, &kept.id, &period).await.unwrap();
    assert_eq!(kept_invoice["total"], 1001, "the plan it had, fee + 1 send");
    let switched_invoice = invoice_of(app, &switched.id, &period).await.unwrap();
    assert_eq!(
        switched_invoice["total"], 5000,
        "the plan in force at the end of the month"
    );
    assert!(
        invoice_of(app, &removed.id, &period).await.is_none(),
        "no plan at the end of the month, no invoice"
    );
    assert!(
        invoice_of(app, &planless.id, &period).await.is_none(),
        "a plan given after the month does not bill it"
    );
    assert_eq!(report["invoices"].as_array().unwrap().len(), 2, "{report}");
}

async fn set_tier_mode(app: &TestApp, mode: &str) {
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .conn
        .execute_unprepared(&format!("UPDATE plans SET tier_mode = '{mode}'"))
        .await
        .unwrap();
}

async fn a_run_that_could_not_invoice_a_tenant_is_retried_until_it_is(backend: Backend) {
    let b = billing(backend, false).await;
    let app = &b.app;
    let tenant = tenant_with_sends(app, flat("p", 100), 1).await;
    app.drain().await;
    let period = next_month(app).await;
    set_tier_mode(app, "broken").await;
    let (status, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["failed"][0]["tenant_id"],
        tenant.id.as_str(),
        "{report}"
    );
    assert!(report["failed"][0]["invoice_id"].is_null());
    assert!(
        report["retry_at"].is_string(),
        "the report says when: {report}"
    );

    let tick = |at: i64| scheduler::tick(&app.state.db, None, "test", at);
    let now = app.clock.now_ms();
    assert!(
        tick(now + 60_000).await.unwrap().is_none(),
        "the retry waits for its time"
    );
    set_tier_mode(app, "graduated").await;
    let retried = tick(now + 5 * 60_000).await.unwrap().expect("retried");
    assert!(retried.failed.is_empty(), "{retried:?}");
    assert_eq!(retried.invoices.len(), 1);
    assert_eq!(retried.retry_at, None);
    assert!(
        tick(now + MS_PER_HOUR).await.unwrap().is_none(),
        "a month every tenant is invoiced for is done"
    );
    assert_eq!(
        invoice_of(app, &tenant.id, &period).await.unwrap()["total"],
        101
    );
}

async fn stripe_objects_whose_ids_were_lost_are_found_again_after_their_keys_expired(
    backend: Backend,
) {
    let b = billing(backend, true).await;
    let app = &b.app;
    let tenant = tenant_with_sends(app, flat("p", 100), 2).await;
    app.drain().await;
    let period = next_month(app).await;
    // Each attempt creates one more object whose answer never arrives.
    b.stripe
        .fail_next("/v1/customers", StripeFault::LoseResponse);
    app.admin(
        Method::POST,
        "/billing/runs",
        Some(json!({"period": period})),
    )
    .await;
    assert_eq!(b.stripe.objects(), (1, 0, 0, 0));
    let tick = || {
        scheduler::tick(
            &app.state.db,
            app.state.stripe.as_deref(),
            "test",
            app.clock.now_ms(),
        )
    };
    for (lost, objects) in [
        ("/v1/invoices", (1, 1, 0, 0)),
        ("/v1/invoiceitems", (1, 1, 1, 0)),
        ("/v1/invoices/", (1, 1, 2, 1)),
    ] {
        // A day and an hour later, Stripe has forgotten the keys.
        app.clock.advance_ms(25 * MS_PER_HOUR);
        b.stripe.expire_idempotency_keys();
        b.stripe.fail_next(lost, StripeFault::LoseResponse);
        tick().await.unwrap();
        assert_eq!(b.stripe.objects(), objects, "after losing {lost}");
    }
    app.clock.advance_ms(25 * MS_PER_HOUR);
    b.stripe.expire_idempotency_keys();
    tick().await.unwrap();
    let invoice = invoice_of(app, &tenant.id, &period).await.unwrap();
    assert_eq!(invoice["sync_status"], "synced", "{invoice}");
    assert_eq!(invoice["stripe_invoice_id"], "in_1");
    assert_eq!(
        b.stripe.objects(),
        (1, 1, 2, 1),
        "one customer, invoice, item per line and finalize: nothing created twice"
    );
}

async fn tenants_from_before_plan_history_are_billed_with_their_plan(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;
    let b = billing(backend, false).await;
    let app = &b.app;
    let tenant = tenant_with_sends(app, flat("p", 100), 1).await;
    app.drain().await;
    // As before plan history existed: undo its migration and give the tenant no history.
    let db = &app.state.db.conn;
    let steps = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261201_000008_billing_history")
        .unwrap() as u32
        + 1;
    Migrator::down(db, Some(steps)).await.unwrap();
    Migrator::up(db, None).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT tenant_id FROM plan_assignments",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one assignment per tenant with a plan");
    let period = next_month(app).await;
    let (status, report) = app
        .admin(
            Method::POST,
            "/billing/runs",
            Some(json!({"period": period})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        invoice_of(app, &tenant.id, &period).await.unwrap()["total"],
        101
    );
}
