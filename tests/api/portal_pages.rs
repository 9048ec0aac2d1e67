//! The portal's pages and forms over HTTP: every page for owners and members, members
//! read but cannot manage (403), forms without the CSRF field are refused (403), keys
//! are shown once, owners manage people.

use serde_json::json;

use crate::db_tests;
use crate::portal::{PAGES, user};
use crate::support::{Backend, spawn};

db_tests!(
    every_page_renders_for_owners_and_members_with_the_tenant_in_the_header,
    members_read_but_only_owners_manage_and_every_form_needs_its_csrf_field,
    keys_are_shown_once_and_browser_keys_fill_the_snippet,
    owners_invite_and_remove_members,
);

async fn every_page_renders_for_owners_and_members_with_the_tenant_in_the_header(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({"name": "Acme Shoes"})).await;
    let destination = app.add_meta(&tenant).await;
    for role in ["owner", "member"] {
        let mut browser = user(&app, &tenant.id, &format!("{role}@acme.test"), role).await;
        let detail = format!("/app/destinations/{destination}");
        for path in PAGES.iter().take(8).copied().chain([detail.as_str()]) {
            let (status, page, _) = browser.get(path).await;
            assert_eq!(status, 200, "{role} {path}: {page}");
            assert!(page.contains("id=\"tenant-name\">Acme Shoes<"), "{path}");
            assert!(page.contains("id=\"tenant-plan\">"), "{path}");
            for form in page.split("<form").skip(1) {
                let form = &form[..form.find("</form>").unwrap()];
                if form.contains("method=\"post\"") {
                    assert!(form.contains("name=\"csrf_token\""), "{path}: {form}");
                }
            }
        }
        let (_, overview, _) = browser.get("/app").await;
        assert!(overview.contains("<svg id=\"overview-chart\""));
        assert_eq!(overview.matches("class=\"bar\"").count(), 30, "30 days");
        assert!(
            overview.contains("id=\"no-sends\""),
            "an empty state says what to do"
        );
        let (_, keys, _) = browser.get("/app/keys").await;
        assert_eq!(keys.contains("id=\"api-key-form\""), role == "owner");
        assert_eq!(browser.get("/app/nothing-here").await.0, 404);
    }
}

async fn members_read_but_only_owners_manage_and_every_form_needs_its_csrf_field(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let destination = app.add_meta(&tenant).await;
    let mut member = user(&app, &tenant.id, "m@shop.test", "member").await;
    let mut owner = user(&app, &tenant.id, "o@shop.test", "owner").await;
    member.get("/app").await;
    owner.get("/app").await;
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/app/keys".into(), vec![("name", "server")]),
        (
            "/app/browser-keys".into(),
            vec![("origins", "https://shop.test")],
        ),
        (
            "/app/destinations".into(),
            vec![("kind", "meta"), ("name", "x")],
        ),
        (
            format!("/app/destinations/{destination}"),
            vec![("state", "disabled")],
        ),
        (format!("/app/destinations/{destination}/test"), vec![]),
        ("/app/people".into(), vec![("email", "n@shop.test")]),
        (format!("/app/deliveries/{destination}/replay"), vec![]),
    ];
    for (path, form) in &posts {
        let (status, page, _) = member.post(path, form).await;
        assert_eq!(status, 403, "member {path}: {page}");
        let mut forged = form.clone();
        forged.push(("csrf_token", "not-the-token"));
        assert_eq!(
            owner.post(path, &forged).await.0,
            403,
            "owner without CSRF {path}"
        );
    }
    let keys: Vec<String> = crate::support::column(
        &app.state.db.conn,
        "SELECT name FROM api_keys WHERE name = 'server'",
        vec![],
        "name",
    )
    .await;
    assert!(keys.is_empty(), "nothing was created");
    let (status, page, _) = owner
        .post(
            &format!("/app/destinations/{destination}"),
            &[("state", "disabled")],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    let (_, page, _) = owner.get(&format!("/app/destinations/{destination}")).await;
    assert!(
        page.contains("id=\"destination-state\">disabled<"),
        "{page}"
    );
}

async fn keys_are_shown_once_and_browser_keys_fill_the_snippet(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let mut owner = user(&app, &tenant.id, "o@shop.test", "owner").await;
    owner.get("/app/keys").await;
    let (status, page, _) = owner
        .post("/app/keys", &[("name", "production"), ("scope", "ingest")])
        .await;
    assert_eq!(status, 200, "{page}");
    let start = page.find("id=\"new-key-value\">").unwrap() + "id=\"new-key-value\">".len();
    let key = &page[start..start + page[start..].find('<').unwrap()];
    assert!(key.starts_with("kk_"));
    let events = json!({"events": [app.purchase("portal-1")]});
    let (status, _) = app.post_json("/v1/events", Some(key), events).await;
    assert_eq!(status, 202, "the new key sends events");
    let (_, again, _) = owner.get("/app/keys").await;
    assert!(!again.contains(key), "shown once only");
    assert_eq!(owner.post("/app/keys", &[("name", "")]).await.0, 422);

    let (status, _, location) = owner
        .post("/app/browser-keys", &[("origins", "https://shop.test")])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/app/keys#snippet"))
    );
    let (_, page, _) = owner.get("/app/keys").await;
    let browser_key = page
        .split("<code>pk_")
        .nth(1)
        .map(|s| &s[..s.find('<').unwrap()])
        .unwrap();
    let snippet = &page[page.find("id=\"snippet\"").unwrap()..];
    assert!(
        snippet.contains(&format!("data-key=&#34;pk_{browser_key}&#34;")),
        "{snippet}"
    );
}

async fn owners_invite_and_remove_members(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let mut owner = user(&app, &tenant.id, "o@shop.test", "owner").await;
    owner.get("/app/people").await;
    let (status, page, _) = owner
        .post("/app/people", &[("email", "new@shop.test")])
        .await;
    assert_eq!(status, 200, "{page}");
    let start = page.find("id=\"invite-url\">").unwrap() + "id=\"invite-url\">".len();
    let url = &page[start..start + page[start..].find('<').unwrap()];
    let path = url.strip_prefix(&app.base).unwrap().to_string();
    let mut member = crate::portal::accept(&app, &path).await;
    let (_, page, _) = member.get("/app").await;
    assert!(page.contains("new@shop.test (member)"));
    let ids: Vec<uuid::Uuid> = crate::support::column(
        &app.state.db.conn,
        "SELECT id FROM tenant_users WHERE email = 'new@shop.test'",
        vec![],
        "id",
    )
    .await;
    let owners: Vec<uuid::Uuid> = crate::support::column(
        &app.state.db.conn,
        "SELECT id FROM tenant_users WHERE email = 'o@shop.test'",
        vec![],
        "id",
    )
    .await;
    assert_eq!(
        owner
            .post(&format!("/app/people/{}/remove", owners[0]), &[])
            .await
            .0,
        403
    );
    let (status, _, _) = owner
        .post(&format!("/app/people/{}/remove", ids[0]), &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        member.get("/app").await.0,
        303,
        "a removed member is signed out"
    );
    let actions: Vec<String> = crate::support::column(
        &app.state.db.conn,
        "SELECT action FROM audit_log WHERE admin_email = 'portal:o@shop.test' ORDER BY id",
        vec![],
        "action",
    )
    .await;
    assert_eq!(actions, ["tenant_user.invite", "tenant_user.remove"]);
}
