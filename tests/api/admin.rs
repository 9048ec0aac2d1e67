//! Admin API: sessions, plans, tenants, roles, and the service endpoints.

use reqwest::Method;
use serde_json::json;

use crate::db_tests;
use crate::support::{ADMIN_EMAIL, Backend, spawn};

db_tests!(
    plans_are_validated_stored_and_archived,
    tenants_take_settings_within_their_limits,
    sessions_refuse_bad_passwords_and_missing_tokens,
    a_viewer_can_read_but_not_write,
    service_endpoints_answer,
);

fn growth() -> serde_json::Value {
    json!({"code": "growth", "name": "Growth", "currency": "usd", "monthly_fee": 4900,
        "tier_mode": "graduated",
        "tiers": [{"up_to": 100000, "price_per_1000": 0}, {"up_to": 1000000, "price_per_1000": 50},
                  {"up_to": null, "price_per_1000": 30}],
        "limit_mode": "soft", "hard_limit": null, "max_destinations": 10, "max_api_keys": 10, "retention_days": 30})
}

async fn plans_are_validated_stored_and_archived(backend: Backend) {
    let app = spawn(backend).await;
    let (status, plan) = app.admin(Method::POST, "/plans", Some(growth())).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["included"], 100000);
    let id = plan["id"].as_str().unwrap();
    let (status, body) = app.admin(Method::POST, "/plans", Some(growth())).await;
    assert_eq!(status, 409, "{body}");
    let mut bad = growth();
    bad["code"] = json!("bad");
    bad["tiers"][1]["up_to"] = json!(50);
    let (status, body) = app.admin(Method::POST, "/plans", Some(bad)).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "tiers[1].up_to");
    let (status, body) = app
        .admin(Method::POST, "/plans", Some(json!({"code": "x"})))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "name");
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/plans/{id}"),
            Some(json!({"limit_mode": "hard", "hard_limit": 5000})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hard_limit"], 5000);
    let (_, body) = app
        .admin(
            Method::PATCH,
            &format!("/plans/{id}"),
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(body["archived"], true);
    let (status, body) = app
        .admin(
            Method::POST,
            "/tenants",
            Some(json!({"name": "Late", "plan_id": id})),
        )
        .await;
    assert_eq!(
        status, 422,
        "an archived plan cannot be given to a new tenant: {body}"
    );
    let (_, list) = app.admin(Method::GET, "/plans", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_null());
}

async fn tenants_take_settings_within_their_limits(backend: Backend) {
    let app = spawn(backend).await;
    let (_, plan) = app.admin(Method::POST, "/plans", Some(growth())).await;
    let body = json!({"name": "Acme", "plan_id": plan["id"], "dedup_window_hours": 72, "require_event_id": false});
    let (status, tenant) = app.admin(Method::POST, "/tenants", Some(body)).await;
    assert_eq!(status, 201, "{tenant}");
    assert_eq!(tenant["dedup_window_hours"], 72);
    assert_eq!(tenant["require_event_id"], false);
    let id = tenant["id"].as_str().unwrap();
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{id}"),
            Some(json!({"dedup_window_hours": 24})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "dedup_window_hours");
    for i in 0..3 {
        app.admin(
            Method::POST,
            "/tenants",
            Some(json!({"name": format!("Other {i}")})),
        )
        .await;
    }
    let (_, page) = app.admin(Method::GET, "/tenants?limit=2", None).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .admin(
            Method::GET,
            &format!("/tenants?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert!(rest["next_cursor"].is_null());
    let (_, found) = app.admin(Method::GET, "/tenants?search=acm", None).await;
    assert_eq!(found["data"][0]["name"], "Acme");
    let (status, _) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn sessions_refuse_bad_passwords_and_missing_tokens(backend: Backend) {
    let app = spawn(backend).await;
    let (status, body) = app
        .post_json(
            "/admin/api/session",
            None,
            json!({"email": ADMIN_EMAIL, "password": "wrong-password"}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = app.get("/admin/api/tenants", None).await;
    assert_eq!(status, 401);
    let (status, _) = app.get("/admin/api/tenants", Some("not.a.jwt")).await;
    assert_eq!(status, 401);
    app.clock
        .advance_ms(kickin::accounts::sessions::SESSION_TTL_MS + 1);
    let (status, body) = app.admin(Method::GET, "/tenants", None).await;
    assert_eq!(status, 401, "an expired session is refused: {body}");
}

async fn a_viewer_can_read_but_not_write(backend: Backend) {
    let app = spawn(backend).await;
    kickin::accounts::create(
        &app.state.db.conn,
        "viewer@kickin.test",
        "viewer-password-1",
        kickin::accounts::Role::Viewer,
        0,
    )
    .await
    .unwrap();
    let (_, session) = app
        .post_json(
            "/admin/api/session",
            None,
            json!({"email": "viewer@kickin.test", "password": "viewer-password-1"}),
        )
        .await;
    let token = session["token"].as_str().unwrap();
    let (status, _) = app.get("/admin/api/tenants", Some(token)).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post_json("/admin/api/tenants", Some(token), json!({"name": "Nope"}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden_role");
    let (status, _) = app
        .post_json("/admin/api/plans", Some(token), growth())
        .await;
    assert_eq!(status, 403);
}

async fn service_endpoints_answer(backend: Backend) {
    let app = spawn(backend).await;
    assert_eq!(app.get("/healthz", None).await.0, 200);
    let (status, ready) = app.get("/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/v1/events"]["post"].is_object());
    assert!(doc["paths"]["/admin/api/tenants/{id}/api-keys"]["post"].is_object());
    let (status, body) = app.get("/no/such/route", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

db_tests!(control_characters_in_names_are_refused_not_stored);

async fn control_characters_in_names_are_refused_not_stored(backend: Backend) {
    let app = spawn(backend).await;
    let (status, body) = app
        .admin(
            Method::POST,
            "/tenants",
            Some(json!({"name": "bad\u{0}name"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "name");
    let (status, body) = app
        .post_json(
            "/admin/api/session",
            None,
            json!({"email": "a\u{0}@x.test", "password": "whatever-1"}),
        )
        .await;
    assert!(
        status == 400 || status == 401,
        "a NUL in a login is a client error, not a 500: {status} {body}"
    );
    let (status, _) = app.get("/v1/events/%00", Some("kk_x")).await;
    assert_eq!(status, 401);
}
