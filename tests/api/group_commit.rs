//! Group commit: concurrent requests share one transaction yet are decided as if
//! committed one by one, and keys served from the ingest key cache are still confirmed
//! against the database at commit (revocation, suspension and settings apply at once).

use reqwest::Method;
use serde_json::json;

use crate::db_tests;
use crate::dispatch::world;
use crate::support::{Backend, TestApp};

db_tests!(
    concurrent_requests_of_two_tenants_count_each_event_once,
    a_cached_ingest_key_is_refused_once_revoked,
    a_cached_ingest_key_of_a_suspended_tenant_is_refused,
    a_tenant_settings_change_applies_to_the_next_ingest_request,
);

async fn concurrent_requests_of_two_tenants_count_each_event_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, a) = (&w.app, &w.tenant);
    let b = app.create_tenant(json!({})).await;
    app.add_meta(&b).await;
    // Tenant A sends 40 events twice each; tenant B sends the same 40 ids once. All 120
    // requests are in flight together, so groups mix tenants and copies.
    let mut requests = Vec::new();
    for i in 0..40 {
        let event = app.purchase(&format!("g-{i}"));
        requests.push((a, event.clone()));
        requests.push((&b, event.clone()));
        requests.push((a, event));
    }
    let sends = requests
        .into_iter()
        .map(|(tenant, event)| app.send(tenant, vec![event]));
    let answers = futures_util::future::join_all(sends).await;
    let mut tally = std::collections::HashMap::new();
    for (status, body) in &answers {
        assert_eq!(*status, 202, "{body}");
        let result = body["results"][0]["status"].as_str().unwrap().to_string();
        *tally.entry(result).or_insert(0) += 1;
    }
    assert_eq!(tally.get("accepted"), Some(&80), "{tally:?}");
    assert_eq!(tally.get("duplicate"), Some(&40), "{tally:?}");
    for tenant in [a, &b] {
        assert_eq!(app.count_rows("events", &tenant.id).await, 40);
        assert_eq!(app.count_rows("deliveries", &tenant.id).await, 40);
        assert_eq!(app.count_rows("dedup_keys", &tenant.id).await, 40);
    }
    let (_, diagnostics) = app.get("/v1/diagnostics", Some(&a.key)).await;
    let counted = &diagnostics["events"];
    assert_eq!(
        (
            &counted["received"],
            &counted["accepted"],
            &counted["duplicate"]
        ),
        (&json!(80), &json!(40), &json!(40)),
        "{diagnostics}"
    );
    app.drain().await;
    assert_eq!(
        w.meta.received().len(),
        80,
        "each tenant's events sent once"
    );
    assert_eq!(app.assert_meter_exact(&a.id).await, 40);
    assert_eq!(app.assert_meter_exact(&b.id).await, 40);
}

async fn warm(app: &TestApp, key: &str, id: &str) {
    let (status, body) = app
        .post_json(
            "/v1/events",
            Some(key),
            json!({"events": [app.purchase(id)]}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}

async fn a_cached_ingest_key_is_refused_once_revoked(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let (_, issued) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/api-keys", tenant.id),
            Some(json!({"name": "ci", "scopes": ["ingest"]})),
        )
        .await;
    let key = issued["key"].as_str().unwrap();
    warm(app, key, "r-1").await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api-keys/{}", issued["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post_json(
            "/v1/events",
            Some(key),
            json!({"events": [app.purchase("r-2")]}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(app.count_rows("events", &tenant.id).await, 1);
}

async fn a_cached_ingest_key_of_a_suspended_tenant_is_refused(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    warm(app, &tenant.key, "s-1").await;
    let path = format!("/tenants/{}", tenant.id);
    let (status, _) = app
        .admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.send(tenant, vec![app.purchase("s-2")]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "tenant_suspended");
    assert_eq!(app.count_rows("events", &tenant.id).await, 1);
}

async fn a_tenant_settings_change_applies_to_the_next_ingest_request(backend: Backend) {
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let mut anonymous = app.purchase("unused");
    anonymous.as_object_mut().unwrap().remove("event_id");
    let (status, body) = app.send(tenant, vec![anonymous.clone()]).await;
    assert_eq!(status, 422, "event_id is required by default: {body}");
    assert_eq!(body["results"][0]["error"]["code"], "missing_event_id");
    let path = format!("/tenants/{}", tenant.id);
    let (status, _) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"require_event_id": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.send(tenant, vec![anonymous]).await;
    assert_eq!(status, 202, "the new setting applies at once: {body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(app.count_rows("events", &tenant.id).await, 1);
}
