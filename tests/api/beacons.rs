//! Browser keys, the companion script and the beacon intake: validation, origins, key
//! scopes, CORS, caching, rate limits and tenant isolation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser_support::{
    SHOP, VISITOR, beacon, beacon_raw, browser_key, observation, report, run_matcher,
};
use crate::db_tests;
use crate::support::{Backend, column, spawn, spawn_with};

db_tests!(
    a_tenant_creates_lists_and_revokes_its_browser_keys,
    a_beacon_from_an_allowed_origin_is_stored_sealed_and_answered_204_with_cors,
    a_beacon_from_another_origin_or_without_one_is_403,
    bad_beacons_are_400_naming_the_field,
    a_browser_key_opens_only_the_script_and_the_beacon,
    beacons_and_browser_keys_stay_in_their_tenant,
    the_script_is_served_with_an_etag_and_a_versioned_url,
    the_preflight_answers_only_allowed_origins,
    beacons_are_rate_limited_per_browser_key,
    the_admin_api_manages_browser_keys_and_reads_the_report,
);

async fn a_tenant_creates_lists_and_revokes_its_browser_keys(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (status, body) = app
        .post_json(
            "/v1/browser-keys",
            Some(&t.key),
            json!({"allowed_origins": ["https://Shop.Example/", "https://*.brand.example"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["allowed_origins"],
        json!(["https://shop.example", "https://*.brand.example"])
    );
    let (id, key) = (body["id"].as_str().unwrap(), body["key"].as_str().unwrap());
    let (status, list) = app.get("/v1/browser-keys", Some(&t.key)).await;
    assert_eq!(status, 200);
    assert_eq!(
        list["data"][0]["key"], key,
        "a browser key is shown in full"
    );
    assert_eq!(list["next_cursor"], Value::Null);

    let (status, bad) = app
        .post_json(
            "/v1/browser-keys",
            Some(&t.key),
            json!({"allowed_origins": ["https://ok.example", "shop.example/path"]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(bad["error"]["field"], "allowed_origins[1]");

    let read_only = app.issue_key(&t.id, &["ingest", "read"]).await;
    for (method, path) in [
        (Method::GET, "/v1/browser-keys".to_string()),
        (Method::DELETE, format!("/v1/browser-keys/{id}")),
    ] {
        let (status, _) = app.request(method, &path, Some(&read_only), None).await;
        assert_eq!(status, 403, "manage scope needed for {path}");
    }
    let (status, _) = app
        .post_json(
            "/v1/browser-keys",
            Some(&read_only),
            json!({"allowed_origins": [SHOP]}),
        )
        .await;
    assert_eq!(status, 403);

    let answer = beacon(&app, key, vec![observation(&app, "PageView", None, None)]).await;
    assert_eq!(
        answer.status, 204,
        "the origin as normalized: {}",
        answer.body
    );
    let (status, _) = app
        .request(
            Method::DELETE,
            &format!("/v1/browser-keys/{id}"),
            Some(&t.key),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = app.get("/v1/browser-keys", Some(&t.key)).await;
    assert!(list["data"][0]["revoked_at"].is_string());
    let answer = beacon(&app, key, vec![observation(&app, "PageView", None, None)]).await;
    assert_eq!(answer.status, 401, "revoked at once: {}", answer.body);
}

async fn a_beacon_from_an_allowed_origin_is_stored_sealed_and_answered_204_with_cors(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (_, key) = browser_key(&app, &t, &[SHOP]).await;
    let mut obs = observation(&app, "Purchase", Some("order_1001"), Some(VISITOR));
    obs["fbc"] = json!("fb.1.1764590000000.IwAR-click");
    let answer = beacon(
        &app,
        &key,
        vec![obs, observation(&app, "PageView", None, None)],
    )
    .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    assert_eq!(answer.headers["access-control-allow-origin"], SHOP);
    assert_eq!(app.count_rows("browser_events", &t.id).await, 2);

    let db = &app.state.db.conn;
    let stored: Vec<String> = column(
        db,
        "SELECT COALESCE(sealed, '') AS s FROM browser_events ORDER BY id",
        vec![],
        "s",
    )
    .await;
    assert!(
        stored
            .iter()
            .all(|s| !s.contains("1234567890") && !s.contains("IwAR"))
    );
    let pages: Vec<String> = column(
        db,
        "SELECT page_url FROM browser_events",
        vec![],
        "page_url",
    )
    .await;
    assert!(
        pages.iter().all(|p| p == "https://shop.example/thanks"),
        "{pages:?}"
    );
    let hashes: Vec<String> = column(
        db,
        "SELECT fbp_hash FROM browser_events WHERE fbp_hash IS NOT NULL",
        vec![],
        "fbp_hash",
    )
    .await;
    assert_eq!(hashes, vec![app.state.keys.lookup_hash(VISITOR)]);

    // The JSON content type works too.
    let resp = app
        .client
        .post(format!("{}/v1/browser/events?key={key}", app.base))
        .header("origin", SHOP)
        .json(&json!({"events": [observation(&app, "Lead", Some("l-1"), None)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    run_matcher(&app).await;
    assert_eq!(report(&app, &t, None).await["browser_events"], 3);
}

async fn a_beacon_from_another_origin_or_without_one_is_403(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (_, key) = browser_key(&app, &t, &[SHOP, "http://127.0.0.1:8080"]).await;
    let body = || {
        json!({"events": [observation(&app, "PageView", None, None)]})
            .to_string()
            .into_bytes()
    };
    for origin in [
        Some("https://evil.example"),
        Some("http://shop.example"),
        Some("https://shop.example.evil.example"),
        Some("null"),
        None,
    ] {
        let answer = beacon_raw(&app, &key, origin, body()).await;
        assert_eq!(answer.status, 403, "{origin:?}");
        assert_eq!(answer.body["error"]["code"], "origin_not_allowed");
        assert!(!answer.headers.contains_key("access-control-allow-origin"));
    }
    let answer = beacon_raw(&app, &key, Some("http://127.0.0.1:8080"), body()).await;
    assert_eq!(answer.status, 204);
    assert_eq!(app.count_rows("browser_events", &t.id).await, 1);
}

async fn bad_beacons_are_400_naming_the_field(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (_, key) = browser_key(&app, &t, &[SHOP]).await;
    let good = observation(&app, "Purchase", Some("o-1"), Some(VISITOR));
    let with = |field: &str, value: Value| {
        let mut e = good.clone();
        e[field] = value;
        json!({"events": [good.clone(), e]})
    };
    let cases = [
        (json!({"events": []}), "events"),
        (json!({"events": vec![good.clone(); 101]}), "events"),
        (with("event_name", json!(42)), "events[1].event_name"),
        (with("ts_ms", json!(null)), "events[1].ts_ms"),
        (with("fbp", json!("not-a-cookie")), "events[1].fbp"),
        (with("page_url", json!("ftp://x")), "events[1].page_url"),
        (with("em", json!("jane@example.com")), "events[1].em"),
    ];
    for (body, field) in cases {
        let answer = beacon_raw(&app, &key, Some(SHOP), body.to_string().into_bytes()).await;
        assert_eq!(answer.status, 400, "{field}: {}", answer.body);
        assert_eq!(answer.body["error"]["field"], field);
        assert_eq!(answer.headers["access-control-allow-origin"], SHOP);
    }
    let answer = beacon_raw(&app, &key, Some(SHOP), b"{\"events\": [".to_vec()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"]["code"], "invalid_json");
    let huge = vec![b' '; 70 * 1024];
    assert_eq!(beacon_raw(&app, &key, Some(SHOP), huge).await.status, 413);
    let resp = app
        .client
        .post(format!("{}/v1/browser/events?key={key}", app.base))
        .header("origin", SHOP)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("events=1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        app.count_rows("browser_events", &t.id).await,
        0,
        "nothing stored"
    );
}

async fn a_browser_key_opens_only_the_script_and_the_beacon(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (_, key) = browser_key(&app, &t, &[SHOP]).await;
    for (method, path) in [
        (Method::POST, "/v1/events"),
        (Method::GET, "/v1/dedup/report"),
        (Method::GET, "/v1/browser-keys"),
        (Method::GET, "/v1/usage"),
        (Method::GET, "/admin/api/tenants"),
    ] {
        let body = (method == Method::POST).then(|| json!({"events": [app.purchase("x")]}));
        let (status, _) = app.request(method, path, Some(&key), body).await;
        assert_eq!(status, 401, "{path}");
    }
    let obs = || vec![observation(&app, "PageView", None, None)];
    let server_key = beacon(&app, &t.key, obs()).await;
    assert_eq!(server_key.status, 401, "an API key is no browser key");
    let resp = app
        .client
        .post(format!("{}/v1/browser/events", app.base))
        .bearer_auth(&key)
        .header("origin", SHOP)
        .body(json!({"events": obs()}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "the key goes in the query");
    assert_eq!(beacon(&app, "pk_unknown", obs()).await.status, 401);
    let (status, _) = app
        .get(&format!("/v1/browser/kickin.js?key={}", t.key), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .get(&format!("/v1/browser/kickin.js?key={key}"), None)
        .await;
    assert_eq!(status, 200);
}

async fn beacons_and_browser_keys_stay_in_their_tenant(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.create_tenant(json!({})).await;
    let b = app.create_tenant(json!({})).await;
    let (a_key_id, a_key) = browser_key(&app, &a, &[SHOP]).await;
    app.add_meta(&b).await;
    let answer = beacon(
        &app,
        &a_key,
        vec![observation(
            &app,
            "Purchase",
            Some("shared-1"),
            Some(VISITOR),
        )],
    )
    .await;
    assert_eq!(answer.status, 204);
    let mut server = app.purchase("shared-1");
    server["user_data"]["fbp"] = json!(VISITOR);
    app.send(&b, vec![server]).await;
    run_matcher(&app).await;

    let a_report = report(&app, &a, None).await;
    let b_report = report(&app, &b, None).await;
    assert_eq!(a_report["browser_events"], 1);
    assert_eq!(a_report["server_events"], 0);
    assert_eq!(a_report["categories"]["browser_only"], 1);
    assert_eq!(b_report["browser_events"], 0);
    assert_eq!(b_report["categories"]["server_only"], 1, "{b_report}");
    assert_eq!(
        b_report["categories"]["matched"], 0,
        "never paired across tenants"
    );

    let (status, _) = app
        .request(
            Method::DELETE,
            &format!("/v1/browser-keys/{a_key_id}"),
            Some(&b.key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.get("/v1/browser-keys", Some(&b.key)).await;
    assert_eq!(list["data"], json!([]));
    assert_eq!(app.count_rows("browser_events", &b.id).await, 0);
}

async fn the_script_is_served_with_an_etag_and_a_versioned_url(backend: Backend) {
    let app = spawn(backend).await;
    let resp = app
        .client
        .get(format!("{}/v1/browser/kickin.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let script = resp.text().await.unwrap();
    assert!(script.contains("Kickin") && script.len() < 8_000, "small");
    assert!(
        !script.contains("http://") && !script.contains("https://www"),
        "no CDN"
    );

    let again = app
        .client
        .get(format!("{}/v1/browser/kickin.js", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let version = etag.trim_matches('"');
    let versioned = app
        .client
        .get(format!("{}/v1/browser/kickin-{version}.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), 200);
    assert_eq!(
        versioned.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(versioned.text().await.unwrap(), script);
    let (status, _) = app.get("/v1/browser/kickin-000000000000.js", None).await;
    assert_eq!(status, 404, "an old version is not served as this one");
}

async fn the_preflight_answers_only_allowed_origins(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (_, key) = browser_key(&app, &t, &[SHOP]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                Method::OPTIONS,
                format!("{}/v1/browser/events?key={key}", app.base),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(SHOP).await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], SHOP);
    assert_eq!(ok.headers()["access-control-allow-methods"], "POST");
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

async fn beacons_are_rate_limited_per_browser_key(backend: Backend) {
    let app = spawn_with(backend, &[("KICKIN_API_RATE_LIMIT", "1")]).await;
    let t = app.create_tenant(json!({})).await;
    let (_, key) = browser_key(&app, &t, &[SHOP]).await;
    let (_, other) = browser_key(&app, &t, &[SHOP]).await;
    let obs = || vec![observation(&app, "PageView", None, None)];
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(beacon(&app, &key, obs()).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let limited = beacon(&app, &key, obs()).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["error"]["code"], "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(beacon(&app, &other, obs()).await.status, 204, "per key");
}

async fn the_admin_api_manages_browser_keys_and_reads_the_report(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let (status, created) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/browser-keys", t.id),
            Some(json!({"allowed_origins": [SHOP]})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    let (_, list) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/browser-keys", t.id),
            None,
        )
        .await;
    assert_eq!(list["data"][0]["key"], key);
    assert_eq!(
        beacon(&app, key, vec![observation(&app, "PageView", None, None)])
            .await
            .status,
        204
    );
    run_matcher(&app).await;
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/dedup/report", t.id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["browser_events"], 1);
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/browser-keys/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let actions: Vec<String> = column(
        &app.state.db.conn,
        "SELECT action FROM audit_log WHERE action LIKE 'browser_key.%' ORDER BY id",
        vec![],
        "action",
    )
    .await;
    assert_eq!(actions, ["browser_key.create", "browser_key.revoke"]);
    assert_eq!(
        beacon(&app, key, vec![observation(&app, "PageView", None, None)])
            .await
            .status,
        401
    );
    let (status, _) = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/dedup/report", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, 404);
}
