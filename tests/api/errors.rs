//! Errors that tell the truth: a value already taken answers the product error of the
//! rule it breaks, naming the field, even when the requests race.

use reqwest::Method;
use serde_json::json;

use crate::db_tests;
use crate::support::{ADMIN_EMAIL, Backend, spawn};

db_tests!(
    a_taken_plan_code_answers_plan_code_taken_naming_code,
    concurrent_creates_of_one_plan_code_make_one_plan_and_name_the_rest,
    a_taken_admin_email_answers_admin_exists_naming_email,
    a_bad_period_or_cursor_in_a_list_query_is_400_naming_it,
);

fn plan(code: &str) -> serde_json::Value {
    json!({"code": code, "name": "Growth", "currency": "usd", "monthly_fee": 4900,
        "tier_mode": "graduated", "tiers": [{"up_to": null, "price_per_1000": 30}],
        "limit_mode": "soft", "hard_limit": null, "max_destinations": null,
        "max_api_keys": null, "retention_days": 30})
}

async fn a_taken_plan_code_answers_plan_code_taken_naming_code(backend: Backend) {
    let app = spawn(backend).await;
    let (status, body) = app
        .admin(Method::POST, "/plans", Some(plan("growth")))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .admin(Method::POST, "/plans", Some(plan("growth")))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "plan_code_taken");
    assert_eq!(body["error"]["field"], "code");
}

async fn concurrent_creates_of_one_plan_code_make_one_plan_and_name_the_rest(backend: Backend) {
    let app = spawn(backend).await;
    let attempts = (0..8).map(|_| app.admin(Method::POST, "/plans", Some(plan("race"))));
    let answers = futures_util::future::join_all(attempts).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["error"]["code"], "plan_code_taken", "{body}");
    }
    let (_, list) = app.admin(Method::GET, "/plans", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

async fn a_taken_admin_email_answers_admin_exists_naming_email(backend: Backend) {
    let app = spawn(backend).await;
    let taken = ADMIN_EMAIL.to_uppercase();
    let err = kickin::accounts::create(
        &app.state.db.conn,
        &taken,
        "another-password-1",
        kickin::accounts::Role::Admin,
        0,
    )
    .await
    .expect_err("the bootstrap admin has this email");
    assert_eq!(err.code, "admin_exists");
    assert_eq!(err.field.as_deref(), Some("email"));
    assert!(
        err.source.is_some(),
        "the database error is kept as the cause"
    );
}

async fn a_bad_period_or_cursor_in_a_list_query_is_400_naming_it(backend: Backend) {
    let app = spawn(backend).await;
    let cases = [
        ("/invoices?period=true", "period"),
        ("/invoices?period=2026-13", "period"),
        ("/invoices?cursor=%C3%B5L", "cursor"),
        ("/tenants?cursor=0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "cursor"),
        ("/plans?cursor=not-an-id", "cursor"),
    ];
    for (query, field) in cases {
        let (status, body) = app.admin(Method::GET, query, None).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    for query in [
        "/invoices?period=2026-12",
        "/tenants?cursor=",
        "/plans?limit=500",
    ] {
        let (status, body) = app.admin(Method::GET, query, None).await;
        assert_eq!(status, 200, "{query}: {body}");
    }
}
