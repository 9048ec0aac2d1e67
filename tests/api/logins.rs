//! Logins and sessions: the lock per address and per account refuses the right password
//! too, password checks queue at the gate, logout and password or role changes end
//! sessions on the server, expired sessions are purged.

use std::net::IpAddr;

use kickin::accounts::{self, Role, sessions, throttle};
use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::db_tests;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, spawn};

db_tests!(
    the_right_password_is_refused_while_the_address_is_locked,
    an_account_is_locked_whichever_address_guesses,
    a_locked_address_is_refused_for_every_account,
    a_login_waits_for_a_free_password_check_slot,
    deleting_the_session_refuses_its_token_from_then_on,
    a_password_change_ends_the_admins_sessions,
    a_role_change_ends_the_admins_sessions,
    expired_sessions_are_purged,
);

/// A client whose connections come from 127.0.0.`last` (the lock counts the TCP peer).
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last]))
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// `POST /admin/api/session`: status, `Retry-After`, body.
async fn log_in(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, Option<u64>, Value) {
    let resp = client
        .post(format!("{}/admin/api/session", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, resp.json().await.unwrap())
}

async fn fail_times(app: &TestApp, client: &reqwest::Client, email: &str, n: u32) {
    for _ in 0..n {
        let (status, _, body) = log_in(app, client, email, "wrong-password-1").await;
        assert_eq!(status, 401, "{body}");
    }
}

fn assert_locked(answer: (u16, Option<u64>, Value)) {
    let (status, retry_after, body) = answer;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_logins");
    let seconds = retry_after.expect("Retry-After");
    assert!(
        seconds > 0 && seconds <= (throttle::LOCK_MS / 1000) as u64,
        "{seconds}"
    );
}

async fn the_right_password_is_refused_while_the_address_is_locked(backend: Backend) {
    let app = spawn(backend).await;
    let client = client_from(2);
    fail_times(&app, &client, ADMIN_EMAIL, throttle::MAX_FAILURES).await;
    assert_locked(log_in(&app, &client, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    assert_locked(log_in(&app, &client, ADMIN_EMAIL, "wrong-password-1").await);
    app.clock.advance_ms(throttle::LOCK_MS);
    let (status, _, body) = log_in(&app, &client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "the lock has ended: {body}");
}

async fn an_account_is_locked_whichever_address_guesses(backend: Backend) {
    let app = spawn(backend).await;
    for i in 0..throttle::MAX_FAILURES {
        fail_times(&app, &client_from(10 + i as u8), ADMIN_EMAIL, 1).await;
    }
    let fresh = client_from(100);
    assert_locked(log_in(&app, &fresh, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    accounts::create(
        &app.state.db.conn,
        "other@kickin.test",
        "other-password-1",
        Role::Admin,
        0,
    )
    .await
    .unwrap();
    let (status, _, body) = log_in(&app, &fresh, "other@kickin.test", "other-password-1").await;
    assert_eq!(status, 200, "another account from a clean address: {body}");
}

async fn a_locked_address_is_refused_for_every_account(backend: Backend) {
    let app = spawn(backend).await;
    let guesser = client_from(2);
    for i in 0..throttle::MAX_FAILURES {
        fail_times(&app, &guesser, &format!("nobody{i}@kickin.test"), 1).await;
    }
    assert_locked(log_in(&app, &guesser, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let (status, _, body) = log_in(&app, &client_from(3), ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "the account itself is not locked: {body}");
}

async fn a_login_waits_for_a_free_password_check_slot(backend: Backend) {
    let app = spawn(backend).await;
    let gate = &app.state.logins.gate;
    let mut held = Vec::new();
    while gate.available() > 0 {
        held.push(gate.enter().await.unwrap());
    }
    let base = app.base.clone();
    let login = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/admin/api/session"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    while gate.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    assert!(
        !login.is_finished(),
        "no password is checked without a slot"
    );
    drop(held);
    assert_eq!(login.await.unwrap(), 200);
}

async fn deleting_the_session_refuses_its_token_from_then_on(backend: Backend) {
    let app = spawn(backend).await;
    let (_, _, session) = log_in(&app, &client_from(1), ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = session["token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/admin/api/tenants", Some(&token)).await.0, 200);
    let (status, body) = app
        .request(Method::DELETE, "/admin/api/session", Some(&token), None)
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = app.get("/admin/api/tenants", Some(&token)).await;
    assert_eq!(status, 401, "a logged-out token is refused: {body}");
    let (status, _) = app
        .request(Method::DELETE, "/admin/api/session", Some(&token), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = app.admin(Method::GET, "/tenants", None).await;
    assert_eq!(status, 200, "the admin's other sessions go on");
    let (_, doc) = app.get("/openapi.json", None).await;
    assert!(doc["paths"]["/admin/api/session"]["delete"].is_object());
    assert!(doc["paths"]["/admin/api/session"]["post"]["responses"]["429"].is_object());
}

/// An admin with two sessions: its id and both tokens.
async fn admin_with_two_sessions(app: &TestApp, role: Role) -> (uuid::Uuid, [String; 2]) {
    let admin = accounts::create(
        &app.state.db.conn,
        "ops@kickin.test",
        "ops-password-1",
        role,
        0,
    )
    .await
    .unwrap();
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (status, _, body) =
            log_in(app, &client_from(1), "ops@kickin.test", "ops-password-1").await;
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        assert_eq!(app.get("/admin/api/tenants", Some(&token)).await.0, 200);
        tokens.push(token);
    }
    (admin.id, tokens.try_into().unwrap())
}

async fn a_password_change_ends_the_admins_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let (id, tokens) = admin_with_two_sessions(&app, Role::Admin).await;
    accounts::change_password(&app.state.db, id, "new-password-1", app.clock.now_ms())
        .await
        .unwrap();
    for token in &tokens {
        assert_eq!(app.get("/admin/api/tenants", Some(token)).await.0, 401);
    }
    let old = log_in(&app, &client_from(1), "ops@kickin.test", "ops-password-1").await;
    assert_eq!(old.0, 401);
    let new = log_in(&app, &client_from(1), "ops@kickin.test", "new-password-1").await;
    assert_eq!(new.0, 200);
    assert_eq!(
        app.admin(Method::GET, "/tenants", None).await.0,
        200,
        "other admins keep theirs"
    );
}

async fn a_role_change_ends_the_admins_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let (id, tokens) = admin_with_two_sessions(&app, Role::Admin).await;
    accounts::change_role(&app.state.db, id, Role::Viewer, app.clock.now_ms())
        .await
        .unwrap();
    for token in &tokens {
        assert_eq!(app.get("/admin/api/tenants", Some(token)).await.0, 401);
    }
    let (_, _, session) = log_in(&app, &client_from(1), "ops@kickin.test", "ops-password-1").await;
    let token = session["token"].as_str().unwrap();
    let (status, body) = app
        .post_json("/admin/api/tenants", Some(token), json!({"name": "Nope"}))
        .await;
    assert_eq!(status, 403, "the new session has the new role: {body}");
}

async fn expired_sessions_are_purged(backend: Backend) {
    let app = spawn(backend).await;
    app.clock.advance_ms(sessions::SESSION_TTL_MS);
    app.login().await;
    let purged = sessions::purge_expired(&app.state.db, app.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(purged, 1, "the session from the start has expired");
    assert_eq!(
        app.admin(Method::GET, "/tenants", None).await.0,
        200,
        "the fresh one stays"
    );
    let again = sessions::purge_expired(&app.state.db, app.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(again, 0);
}
