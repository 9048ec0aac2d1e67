//! The console's side of logins: the lock shown on the form with 429, logout ending the
//! session on the server (the old cookie is refused), and the security headers.

use std::net::IpAddr;

use kickin::accounts::throttle;
use reqwest::redirect::Policy;

use crate::db_tests;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, spawn};

db_tests!(
    the_console_login_form_shows_the_lock_with_429,
    console_logout_refuses_the_old_cookie,
    console_pages_send_the_security_headers,
);

/// A browser from 127.0.0.`last`: keeps cookies, does not follow redirects.
fn browser_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last]))
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

async fn page(app: &TestApp, browser: &reqwest::Client, path: &str) -> reqwest::Response {
    browser
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

async fn submit_login(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let csrf = csrf_in(
        &page(app, browser, "/admin/login")
            .await
            .text()
            .await
            .unwrap(),
    );
    browser
        .post(format!("{}/admin/login", app.base))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn the_console_login_form_shows_the_lock_with_429(backend: Backend) {
    let app = spawn(backend).await;
    let browser = browser_from(2);
    for _ in 0..throttle::MAX_FAILURES {
        let resp = submit_login(&app, &browser, ADMIN_EMAIL, "wrong-password-1").await;
        assert_eq!(resp.status().as_u16(), 401);
    }
    let resp = submit_login(&app, &browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        resp.status().as_u16(),
        429,
        "the right password is refused too"
    );
    assert!(resp.headers().contains_key("retry-after"));
    let set_cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    assert!(
        !set_cookies
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("kickin_session=")),
        "no session while locked"
    );
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("id=\"login-error\"") && body.contains("Too many login attempts"),
        "{body}"
    );
    app.clock.advance_ms(throttle::LOCK_MS);
    let resp = submit_login(&app, &browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 303, "the lock has ended");
}

async fn console_logout_refuses_the_old_cookie(backend: Backend) {
    let app = spawn(backend).await;
    let browser = browser_from(1);
    let resp = submit_login(&app, &browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 303);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("kickin_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    // A copy of the cookie, as someone who lifted it would send it.
    let copy = || async {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap()
            .get(format!("{}/admin", app.base))
            .header("cookie", cookie.as_str())
            .send()
            .await
            .unwrap()
    };
    assert_eq!(copy().await.status().as_u16(), 200);
    let csrf = csrf_in(&page(&app, &browser, "/admin").await.text().await.unwrap());
    let resp = browser
        .post(format!("{}/admin/logout", app.base))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let after = copy().await;
    assert_eq!(
        after.status().as_u16(),
        303,
        "the old cookie is refused after logout"
    );
    assert_eq!(after.headers()["location"], "/admin/login");
}

fn assert_secure(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
}

async fn console_pages_send_the_security_headers(backend: Backend) {
    let app = spawn(backend).await;
    let browser = browser_from(1);
    let login = page(&app, &browser, "/admin/login").await;
    assert_secure(&login, "login page");
    assert!(
        !login.headers().contains_key("strict-transport-security"),
        "plain HTTP: no HSTS"
    );
    submit_login(&app, &browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for path in ["/admin", "/admin/tenants", "/admin/no-such-page"] {
        assert_secure(&page(&app, &browser, path).await, path);
    }
    let proxied = browser
        .get(format!("{}/admin/login", app.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        proxied.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="),
        "behind a TLS proxy: HSTS"
    );
    let css = page(&app, &browser, "/admin/static/kickin.css").await;
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
}
