//! The customer portal's people over HTTP: admins invite tenant users, an invite sets a
//! password once (a used or expired invite is 410), portal logins lock like the
//! console's, logout ends the session on the server, and anonymous requests go to the
//! login page.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console::Console;
use crate::db_tests;
use crate::support::{Backend, TestApp, column, spawn};

pub const PASSWORD: &str = "portal-password-1";

/// Invites a user through the admin API; returns the invite's path (`/app/invite/…`).
pub async fn invite(app: &TestApp, tenant_id: &str, email: &str, role: &str) -> String {
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/tenants/{tenant_id}/users"),
            Some(json!({"email": email, "role": role})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let url = body["invite_url"].as_str().unwrap();
    url.strip_prefix(&app.base)
        .expect("an absolute link")
        .to_string()
}

/// Accepts an invite in a fresh browser; returns it signed in.
pub async fn accept<'a>(app: &'a TestApp, path: &str) -> Console<'a> {
    let mut browser = Console::new(app);
    let (status, body, _) = browser.get(path).await;
    assert_eq!(status, 200, "{body}");
    let form = [("password", PASSWORD), ("password_again", PASSWORD)];
    let (status, body, location) = browser.post(path, &form).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")), "{body}");
    assert!(body.contains("kickin_portal_session=") && body.contains("HttpOnly"));
    assert!(body.contains("SameSite=Strict"), "{body}");
    browser
}

/// A signed-in portal user of a tenant.
pub async fn user<'a>(app: &'a TestApp, tenant_id: &str, email: &str, role: &str) -> Console<'a> {
    let path = invite(app, tenant_id, email, role).await;
    accept(app, &path).await
}

pub async fn login(
    browser: &mut Console<'_>,
    email: &str,
    password: &str,
) -> (u16, String, Option<String>) {
    browser.get("/app/login").await;
    browser
        .post("/app/login", &[("email", email), ("password", password)])
        .await
}

db_tests!(
    an_invite_sets_the_password_once_and_is_gone_after_use_or_expiry,
    invites_are_validated_stored_as_hashes_and_audited,
    anonymous_portal_requests_go_to_the_login_page,
    portal_logins_need_csrf_lock_like_the_console_and_logout_ends_the_session,
);

async fn an_invite_sets_the_password_once_and_is_gone_after_use_or_expiry(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let path = invite(&app, &tenant.id, "Owner@Shop.test", "owner").await;
    let mut browser = accept(&app, &path).await;
    let (status, page, _) = browser.get("/app").await;
    assert_eq!(status, 200);
    assert!(page.contains("owner@shop.test (owner)"), "{page}");
    let mut again = Console::new(&app);
    assert_eq!(again.get(&path).await.0, 410, "a used invite is gone");
    let form = [
        ("password", "another-pass-1"),
        ("password_again", "another-pass-1"),
    ];
    assert_eq!(again.post(&path, &form).await.0, 403, "no CSRF cookie yet");
    assert_eq!(again.get("/app/invite/unknown-token").await.0, 404);

    let expiring = invite(&app, &tenant.id, "late@shop.test", "member").await;
    app.clock
        .advance_ms(kickin::accounts::invites::INVITE_TTL_MS - 1_000);
    let mut late = Console::new(&app);
    assert_eq!(
        late.get(&expiring).await.0,
        200,
        "still open just before expiry"
    );
    app.clock.advance_ms(1_000);
    assert_eq!(
        late.post(&expiring, &form).await.0,
        410,
        "expired while open"
    );
    assert_eq!(late.get(&expiring).await.0, 410);
    assert_eq!(login(&mut late, "late@shop.test", "").await.0, 401);
}

async fn invites_are_validated_stored_as_hashes_and_audited(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let path = invite(&app, &tenant.id, "a@shop.test", "member").await;
    let token = path.rsplit('/').next().unwrap().to_string();
    let db = &app.state.db.conn;
    let hashes: Vec<String> = column(
        db,
        "SELECT token_hash FROM tenant_invites",
        vec![],
        "token_hash",
    )
    .await;
    assert_eq!(
        hashes,
        [kickin::crypto::sha256_hex(token.as_bytes())],
        "only the hash is kept"
    );
    let users = format!("/tenants/{}/users", tenant.id);
    let cases: [(Value, u16); 4] = [
        (json!({"email": "a@shop.test", "role": "member"}), 409),
        (json!({"email": "b@shop.test", "role": "admin"}), 400),
        (json!({"email": "not-an-email", "role": "owner"}), 422),
        (json!({"email": "b@shop.test"}), 400),
    ];
    for (body, expected) in cases {
        let (status, answer) = app.admin(Method::POST, &users, Some(body.clone())).await;
        assert_eq!(status, expected, "{body} → {answer}");
    }
    let missing = format!("/tenants/{}/users", uuid::Uuid::now_v7());
    let body = json!({"email": "c@shop.test", "role": "owner"});
    assert_eq!(app.admin(Method::POST, &missing, Some(body)).await.0, 404);
    let actions: Vec<String> = column(
        db,
        "SELECT action FROM audit_log WHERE action LIKE 'tenant_user.%'",
        vec![],
        "action",
    )
    .await;
    assert_eq!(actions, ["tenant_user.invite"]);
    let (_, doc) = app.get("/openapi.json", None).await;
    let op = &doc["paths"]["/admin/api/tenants/{id}/users"]["post"];
    let body = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/UserIn", "{op}");
    let ok = &op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(ok, "#/components/schemas/InviteOut", "{op}");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["UserIn"]["required"], json!(["email", "role"]));
    assert!(schemas["InviteOut"]["properties"]["invite_url"].is_object());
    assert!(
        op["responses"]["410"].is_null(),
        "the admin route never answers 410"
    );
}

pub const PAGES: [&str; 10] = [
    "/app",
    "/app/dedup",
    "/app/deliveries",
    "/app/destinations",
    "/app/keys",
    "/app/usage",
    "/app/invoices",
    "/app/people",
    "/app/deliveries/0190b5a8-0000-7000-8000-000000000000",
    "/app/destinations/0190b5a8-0000-7000-8000-000000000000",
];

async fn anonymous_portal_requests_go_to_the_login_page(backend: Backend) {
    let app = spawn(backend).await;
    let mut anonymous = Console::new(&app);
    for path in PAGES {
        let (status, _, location) = anonymous.get(path).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/app/login")),
            "{path}"
        );
    }
    let (status, _, location) = anonymous.post("/app/keys", &[("name", "x")]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app/login")));
    let (status, page, _) = anonymous.get("/app/login").await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"csrf_token\""));
    // An admin's console session is no portal session.
    let mut admin = Console::new(&app);
    admin
        .login(crate::support::ADMIN_EMAIL, crate::support::ADMIN_PASSWORD)
        .await;
    assert_eq!(admin.get("/app").await.0, 303);
}

async fn portal_logins_need_csrf_lock_like_the_console_and_logout_ends_the_session(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    let mut first = user(&app, &tenant.id, "o@shop.test", "owner").await;
    let mut second = Console::new(&app);
    second.get("/app/login").await;
    let form = [
        ("email", "o@shop.test"),
        ("password", PASSWORD),
        ("csrf_token", "forged"),
    ];
    assert_eq!(
        second.post("/app/login", &form).await.0,
        403,
        "CSRF checked"
    );
    let (status, _, location) = login(&mut second, "o@shop.test", PASSWORD).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")));

    first.get("/app").await;
    let (status, _, location) = first.post("/app/logout", &[]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app/login")));
    assert_eq!(
        first.get("/app").await.0,
        303,
        "the ended session is refused"
    );
    assert_eq!(second.get("/app").await.0, 200, "other sessions go on");
    assert_eq!(
        second.post("/app/logout", &[("csrf_token", "x")]).await.0,
        403
    );

    let mut guesser = Console::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..=kickin::accounts::throttle::MAX_FAILURES {
        statuses.push(login(&mut guesser, "o@shop.test", "wrong-password").await.0);
    }
    assert_eq!(statuses[0], 401);
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let (status, _, _) = login(&mut guesser, "o@shop.test", PASSWORD).await;
    assert_eq!(status, 429, "locked even with the right password");
    app.clock
        .advance_ms(kickin::accounts::throttle::LOCK_MS + 1);
    assert_eq!(login(&mut guesser, "o@shop.test", PASSWORD).await.0, 303);
    app.clock
        .advance_ms(kickin::accounts::sessions::SESSION_TTL_MS);
    assert_eq!(
        guesser.get("/app").await.0,
        303,
        "an expired session is refused"
    );
    let now = app.clock.now_ms();
    let purged = kickin::accounts::portal_sessions::purge_expired(&app.state.db, now).await;
    assert_eq!(purged.unwrap(), 3, "the expired rows are purged");
}
