//! Who sees what in the portal: another tenant's ids are 404 — never 403 — for pages and
//! forms alike, a suspended tenant's users still log in and read, and the console's
//! tenant page invites portal users.

use reqwest::Method;
use serde_json::json;

use crate::console::Console;
use crate::db_tests;
use crate::portal::{accept, user};
use crate::support::{Backend, spawn};

db_tests!(
    a_portal_session_sees_its_own_tenant_only,
    a_suspended_tenants_users_still_log_in_and_read,
    the_console_tenant_page_invites_portal_users,
);

async fn a_portal_session_sees_its_own_tenant_only(backend: Backend) {
    let app = spawn(backend).await;
    let (mine, theirs) = (
        app.create_tenant(json!({})).await,
        app.create_tenant(json!({})).await,
    );
    let their_destination = app.add_meta(&theirs).await;
    app.send(&theirs, vec![app.purchase("theirs-1")]).await;
    let (_, list) = app.get("/v1/deliveries", Some(&theirs.key)).await;
    let their_delivery = list["data"][0]["id"].as_str().unwrap().to_string();
    let (_, browser_key) = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/browser-keys", theirs.id),
            Some(json!({"allowed_origins": ["https://theirs.test"]})),
        )
        .await;
    let their_key: Vec<uuid::Uuid> = crate::support::column(
        &app.state.db.conn,
        "SELECT id FROM api_keys WHERE tenant_id = ?",
        vec![uuid::Uuid::parse_str(&theirs.id).unwrap().into()],
        "id",
    )
    .await;
    let mut owner = user(&app, &mine.id, "o@mine.test", "owner").await;
    owner.get("/app").await;
    for path in [
        format!("/app/deliveries/{their_delivery}"),
        format!("/app/destinations/{their_destination}"),
    ] {
        assert_eq!(owner.get(&path).await.0, 404, "{path}");
    }
    let posts = [
        format!("/app/deliveries/{their_delivery}/replay"),
        format!("/app/destinations/{their_destination}"),
        format!("/app/destinations/{their_destination}/test"),
        format!("/app/keys/{}/revoke", their_key[0]),
        format!(
            "/app/browser-keys/{}/revoke",
            browser_key["id"].as_str().unwrap()
        ),
    ];
    for path in posts {
        assert_eq!(owner.post(&path, &[]).await.0, 404, "{path}");
    }
    let (_, page, _) = owner.get("/app/deliveries").await;
    assert!(
        page.contains("id=\"no-deliveries\""),
        "their deliveries are not listed"
    );
    let (_, page, _) = owner.get("/app/destinations").await;
    assert!(page.contains("id=\"no-destinations\""));
}

async fn a_suspended_tenants_users_still_log_in_and_read(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let mut member = user(&app, &tenant.id, "m@shop.test", "member").await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", tenant.id),
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, page, _) = member.get("/app").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"suspended\""));
    let mut again = Console::new(&app);
    let (status, _, _) =
        crate::portal::login(&mut again, "m@shop.test", crate::portal::PASSWORD).await;
    assert_eq!(status, 303);
    assert_eq!(again.get("/app/usage").await.0, 200);
}

async fn the_console_tenant_page_invites_portal_users(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let mut console = Console::new(&app);
    console
        .login(crate::support::ADMIN_EMAIL, crate::support::ADMIN_PASSWORD)
        .await;
    let (_, page, _) = console.get(&format!("/admin/tenants/{}", tenant.id)).await;
    assert!(page.contains("id=\"invite-user-form\""));
    let path = format!("/admin/tenants/{}/users", tenant.id);
    let form = [("email", "boss@shop.test"), ("role", "owner")];
    let (status, page, _) = console.post(&path, &form).await;
    assert_eq!(status, 201, "{page}");
    let start = page.find("id=\"invite-url\">").unwrap() + "id=\"invite-url\">".len();
    let url = &page[start..start + page[start..].find('<').unwrap()];
    let mut owner = accept(&app, url.strip_prefix(&app.base).unwrap()).await;
    let (_, page, _) = owner.get("/app").await;
    assert!(page.contains("boss@shop.test (owner)"));
    let form = [
        ("email", "x@shop.test"),
        ("csrf_token", "forged"),
        ("role", "owner"),
    ];
    assert_eq!(console.post(&path, &form).await.0, 403);
}
