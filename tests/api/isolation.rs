//! Tenant isolation, scopes and key revocation.

use reqwest::Method;
use serde_json::json;

use crate::db_tests;
use crate::support::{Backend, spawn};

db_tests!(
    another_tenants_events_destinations_and_keys_answer_404,
    a_revoked_key_is_refused_at_once,
    a_key_without_the_scope_is_forbidden,
    a_suspended_tenant_cannot_send,
);

async fn another_tenants_events_destinations_and_keys_answer_404(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.create_tenant(json!({})).await;
    let b = app.create_tenant(json!({})).await;
    let a_dest = app.add_meta(&a).await;
    app.send(&a, vec![app.purchase("secret-order")]).await;

    let (status, _) = app.get("/v1/events/secret-order", Some(&b.key)).await;
    assert_eq!(status, 404);
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = app
            .request(
                method,
                &format!("/v1/destinations/{a_dest}"),
                Some(&b.key),
                None,
            )
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = app
        .request(
            Method::PATCH,
            &format!("/v1/destinations/{a_dest}"),
            Some(&b.key),
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.get("/v1/destinations", Some(&b.key)).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let mut event = app.purchase("b-1");
    event["destinations"] = json!([a_dest]);
    let (_, body) = app.send(&b, vec![event]).await;
    assert_eq!(body["results"][0]["error"]["code"], "unknown_destination");
    let (status, _) = app
        .get(&format!("/v1/destinations/{a_dest}"), Some(&a.key))
        .await;
    assert_eq!(status, 200, "the owner still sees it");
    assert_eq!(app.count_rows("deliveries", &b.id).await, 0);
}

async fn a_revoked_key_is_refused_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let (status, issued) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/api-keys", tenant.id),
            Some(json!({"name": "ci", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, 201);
    let key = issued["key"].as_str().unwrap();
    assert!(key.starts_with(issued["prefix"].as_str().unwrap()));
    let (status, _) = app.get("/v1/diagnostics", Some(key)).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api-keys/{}", issued["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get("/v1/diagnostics", Some(key)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = app.get("/v1/diagnostics", Some("kk_not-a-real-key")).await;
    assert_eq!(status, 401);
    let (status, _) = app.get("/v1/diagnostics", None).await;
    assert_eq!(status, 401);
}

async fn a_key_without_the_scope_is_forbidden(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let ingest_only = app.issue_key(&tenant.id, &["ingest"]).await;
    let (status, body) = app.get("/v1/destinations", Some(&ingest_only)).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let (status, _) = app.get("/v1/events/x", Some(&ingest_only)).await;
    assert_eq!(status, 403);
    let read_only = app.issue_key(&tenant.id, &["read"]).await;
    let (status, _) = app
        .post_json(
            "/v1/events",
            Some(&read_only),
            json!({"events": [app.purchase("x")]}),
        )
        .await;
    assert_eq!(status, 403);
}

async fn a_suspended_tenant_cannot_send(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", tenant.id),
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.send(&tenant, vec![app.purchase("s-1")]).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "tenant_suspended");
    assert_eq!(app.count_rows("events", &tenant.id).await, 0);
}

db_tests!(requests_over_the_rate_limit_get_429_with_retry_after);

async fn requests_over_the_rate_limit_get_429_with_retry_after(backend: Backend) {
    let app = crate::support::spawn_with(backend, &[("KICKIN_API_RATE_LIMIT", "1")]).await;
    let tenant = app.create_tenant(json!({})).await;
    let other = app.create_tenant(json!({})).await;
    // A rate of 1/s allows a burst of 2.
    for _ in 0..2 {
        assert_eq!(app.get("/v1/diagnostics", Some(&tenant.key)).await.0, 200);
    }
    let resp = app
        .client
        .get(format!("{}/v1/diagnostics", app.base))
        .bearer_auth(&tenant.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        app.get("/v1/diagnostics", Some(&other.key)).await.0,
        200,
        "limits are per key"
    );
}
