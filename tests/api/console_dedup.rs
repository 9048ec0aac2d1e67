//! The Dedup doctor page of the console: the chart, the categories with their fixes,
//! example pairs, browser keys and settings, behind the session and CSRF like every page.

use serde_json::json;

use crate::browser_support::{
    SHOP, VISITOR, beacon, browser_key, observation, run_matcher, send_server, server_event,
};
use crate::console::Console;
use crate::db_tests;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, spawn};

db_tests!(
    the_dedup_doctor_shows_the_chart_categories_fixes_and_examples,
    the_dedup_doctor_creates_and_revokes_browser_keys_and_saves_settings,
);

async fn the_dedup_doctor_shows_the_chart_categories_fixes_and_examples(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    app.add_meta(&t).await;
    let (_, key) = browser_key(&app, &t, &[SHOP]).await;
    let pixels = vec![
        observation(&app, "Purchase", Some("order_1"), Some(VISITOR)),
        observation(&app, "Purchase", None, Some("fb.1.1.2")),
    ];
    assert_eq!(beacon(&app, &key, pixels).await.status, 204);
    send_server(
        &app,
        &t,
        vec![
            server_event(&app, "Purchase", "order_1", Some(VISITOR)),
            server_event(&app, "Purchase", "order_2", Some("fb.1.1.2")),
        ],
    )
    .await;
    run_matcher(&app).await;

    let mut c = Console::new(&app);
    let path = format!("/admin/tenants/{}/dedup", t.id);
    let (status, _, location) = c.get(&path).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, page, _) = c.get(&path).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<svg id=\"match-chart\""),
        "a server-rendered chart"
    );
    assert!(!page.contains("<script"), "readable without JavaScript");
    assert!(page.contains("<rect") && page.contains("1 of 2 server events matched (50 %)"));
    assert!(page.contains("id=\"match-rate\">50.0 %"));
    let row = |key: &str| {
        let start = page.find(&format!("id=\"category-{key}\"")).unwrap();
        page[start..start + page[start..].find("</tr>").unwrap()].to_string()
    };
    assert!(row("matched").contains("<td class=\"count\">1</td>"));
    assert!(row("browser_missing_event_id").contains("<td class=\"count\">1</td>"));
    assert!(
        row("browser_missing_event_id").contains("eventID: id"),
        "the fix"
    );
    assert!(row("timing_gap").contains("<td class=\"count\">0</td>"));
    assert!(page.contains("id=\"examples-browser_missing_event_id\""));
    assert!(page.contains("(no eventID)") && page.contains("order_2"));
    let snippet = &page[page.find("id=\"snippet\"").unwrap()..];
    assert!(
        snippet.contains("data-key=") && snippet.contains(&key),
        "the snippet"
    );
    let (status, _, _) = c.get(&format!("{path}?period=2026-1")).await;
    assert_eq!(status, 400);
    let (_, tenant_page, _) = c.get(&format!("/admin/tenants/{}", t.id)).await;
    assert!(
        tenant_page.contains(&format!("href=\"{path}\"")),
        "linked from the tenant"
    );
}

async fn the_dedup_doctor_creates_and_revokes_browser_keys_and_saves_settings(backend: Backend) {
    let app = spawn(backend).await;
    let t = app.create_tenant(json!({})).await;
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let path = format!("/admin/tenants/{}/dedup", t.id);
    c.get(&path).await;
    let create = format!("/admin/tenants/{}/browser-keys", t.id);
    let (status, _, _) = c
        .post(&create, &[("origins", SHOP), ("csrf_token", "wrong")])
        .await;
    assert_eq!(status, 403, "CSRF");
    let (status, page, _) = c.post(&create, &[("origins", "not an origin")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("allowed_origins[0]"), "{page}");
    let (status, _, location) = c
        .post(
            &create,
            &[("origins", "https://shop.example, https://www.shop.example")],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some(path.as_str())));
    let (_, list) = app.get("/v1/browser-keys", Some(&t.key)).await;
    let created = &list["data"][0];
    assert_eq!(
        created["allowed_origins"],
        json!(["https://shop.example", "https://www.shop.example"])
    );

    let settings = format!("{path}/settings");
    let (status, _, _) = c
        .post(
            &settings,
            &[
                ("threshold_percent", "90"),
                ("browser_enrichment", "false"),
                ("browser_enrichment", "true"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, tenant) = app
        .admin(reqwest::Method::GET, &format!("/tenants/{}", t.id), None)
        .await;
    assert_eq!(tenant["dedup_alert_threshold"], 0.9);
    assert_eq!(tenant["browser_enrichment"], true);
    let (status, _, _) = c.post(&settings, &[("threshold_percent", "150")]).await;
    assert_eq!(status, 422);

    c.get(&path).await;
    let revoke = format!(
        "/admin/browser-keys/{}/revoke",
        created["id"].as_str().unwrap()
    );
    let (status, _, _) = c.post(&revoke, &[]).await;
    assert_eq!(status, 303);
    let (_, list) = app.get("/v1/browser-keys", Some(&t.key)).await;
    assert!(list["data"][0]["revoked_at"].is_string());
}
