//! The web console over HTTP: anonymous redirects, login with CSRF, every page, every
//! form, CSRF rejection, roles, rate-limited login, logout.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::db_tests;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, spawn};

/// A browser-like client: keeps cookies, does not follow redirects.
pub struct Console<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    pub csrf: String,
}

fn csrf_in(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

impl<'a> Console<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Console {
            app,
            http,
            csrf: String::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> (u16, String, Option<String>) {
        let resp = self
            .http
            .get(format!("{}{path}", self.app.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = resp.text().await.unwrap();
        if let Some(csrf) = csrf_in(&body) {
            self.csrf = csrf;
        }
        (status, body, location)
    }

    /// Posts a form with the current CSRF token (unless the form sets its own).
    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String, Option<String>) {
        let mut fields: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !form.iter().any(|(k, _)| *k == "csrf_token") {
            fields.push(("csrf_token".into(), self.csrf.clone()));
        }
        let resp = self
            .http
            .post(format!("{}{path}", self.app.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let set_cookie: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let body = resp.text().await.unwrap();
        if let Some(csrf) = csrf_in(&body) {
            self.csrf = csrf;
        }
        let body = if set_cookie.is_empty() {
            body
        } else {
            format!("{body}\nSET-COOKIE: {}", set_cookie.join(" | "))
        };
        (status, body, location)
    }

    pub async fn login(&mut self, email: &str, password: &str) -> (u16, String, Option<String>) {
        self.get("/admin/login").await;
        self.post("/admin/login", &[("email", email), ("password", password)])
            .await
    }
}

db_tests!(
    anonymous_requests_are_redirected_to_the_login_page,
    login_needs_the_csrf_token_and_sets_a_strict_httponly_cookie,
    every_page_renders_for_an_owner,
    plan_forms_validate_preview_add_rows_and_archive,
    tenant_forms_issue_keys_once_and_manage_destinations,
    forms_without_the_csrf_token_are_refused,
    viewers_read_but_cannot_write,
    logins_are_rate_limited_and_logout_ends_the_session,
);

const PAGES: [&str; 7] = [
    "/admin",
    "/admin/plans",
    "/admin/plans/new",
    "/admin/tenants",
    "/admin/deliveries",
    "/admin/billing",
    "/admin/audit",
];

async fn anonymous_requests_are_redirected_to_the_login_page(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = Console::new(&app);
    for page in PAGES.iter().chain(&[
        "/admin/admins",
        "/admin/tenants/00000000-0000-0000-0000-000000000000",
        "/admin/anything",
    ]) {
        let (status, _, location) = c.get(page).await;
        assert!(status == 303 || status == 302, "{page}: {status}");
        assert_eq!(location.as_deref(), Some("/admin/login"), "{page}");
    }
    let (status, _, location) = c.post("/admin/plans", &[("code", "x")]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    let (status, body, _) = c.get("/admin/login").await;
    assert_eq!(status, 200);
    assert!(body.contains("name=\"csrf_token\""));
}

async fn login_needs_the_csrf_token_and_sets_a_strict_httponly_cookie(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = Console::new(&app);
    c.get("/admin/login").await;
    let (status, _, _) = c
        .post(
            "/admin/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("csrf_token", "forged"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    let (status, body, _) = c.login(ADMIN_EMAIL, "wrong-password-1").await;
    assert_eq!(status, 401);
    assert!(body.contains("id=\"login-error\""));
    let (status, body, location) = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/admin")),
        "{body}"
    );
    let cookie = body.split("SET-COOKIE: ").nth(1).unwrap().to_lowercase();
    assert!(
        cookie.contains("kickin_session=")
            && cookie.contains("httponly")
            && cookie.contains("samesite=strict"),
        "{cookie}"
    );
    let (status, body, _) = c.get("/admin").await;
    assert_eq!(status, 200);
    assert!(body.contains(ADMIN_EMAIL));
}

async fn every_page_renders_for_an_owner(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.send(&tenant, vec![app.purchase("c-1")]).await;
    let (_, list) = app.get("/v1/deliveries", Some(&tenant.key)).await;
    let delivery = list["data"][0]["id"].as_str().unwrap().to_string();
    let (_, plan) = app.admin(reqwest::Method::POST, "/plans", Some(json!({"code": "basic", "name": "Basic", "currency": "usd",
        "monthly_fee": 100, "tier_mode": "graduated", "tiers": [{"up_to": null, "price_per_1000": 0}], "limit_mode": "soft", "hard_limit": null}))).await;
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let dynamic = [
        format!("/admin/tenants/{}", tenant.id),
        format!("/admin/deliveries/{delivery}"),
        format!("/admin/plans/{}", plan["id"].as_str().unwrap()),
        "/admin/admins".to_string(),
    ];
    for page in PAGES.iter().map(|p| p.to_string()).chain(dynamic) {
        let (status, body, _) = c.get(&page).await;
        assert_eq!(status, 200, "{page}: {body}");
        assert!(body.contains("</html>"), "{page}");
    }
    let (_, body, _) = c.get("/admin").await;
    assert!(
        body.contains("id=\"events-today\">1<"),
        "the dashboard counts today's event"
    );
    let (status, _, _) = c
        .get("/admin/tenants/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(status, 404);
    let (_, body, _) = c.get("/admin/static/kickin.css").await;
    assert!(
        body.contains("--accent"),
        "the stylesheet is served by Kickin itself"
    );
}

async fn plan_forms_validate_preview_add_rows_and_archive(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    c.get("/admin/plans/new").await;
    let base = [
        ("code", "growth"),
        ("name", "Growth"),
        ("currency", "usd"),
        ("monthly_fee", "4900"),
        ("tier_mode", "graduated"),
        ("limit_mode", "soft"),
        ("hard_limit", ""),
        ("max_destinations", "10"),
        ("max_api_keys", "10"),
        ("retention_days", "30"),
    ];
    let tiers = [
        ("tier_up_to", "100000"),
        ("tier_price", "0"),
        ("tier_up_to", "1000000"),
        ("tier_price", "50"),
        ("tier_up_to", ""),
        ("tier_price", "30"),
    ];
    let mut form: Vec<(&str, &str)> = base.iter().chain(&tiers).copied().collect();
    form.push(("action", "add_row"));
    let (status, body, _) = c.post("/admin/plans", &form).await;
    assert_eq!(status, 200);
    assert_eq!(
        body.matches("class=\"tier-up-to\"").count(),
        4,
        "one more tier row"
    );
    form.pop();
    form.push(("action", "preview"));
    let (_, body, _) = c.post("/admin/plans", &form).await;
    assert!(body.contains("id=\"price-preview\""));
    assert!(
        body.contains("<td class=\"preview-total\">49900</td>"),
        "1,000,000 sends: 4,900 fee + 900,000 × 50 / 1000 = 49,900"
    );
    form.pop();
    let mut bad = form.clone();
    bad[12] = ("tier_up_to", "50");
    let (status, body, _) = c.post("/admin/plans", &bad).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("id=\"error-tiers\""),
        "the error is shown next to the tiers"
    );
    form.push(("action", "save"));
    let (status, _, location) = c.post("/admin/plans", &form).await;
    assert_eq!(status, 303);
    let plan_page = location.unwrap();
    let (_, body, _) = c.get(&plan_page).await;
    assert!(body.contains("value=\"growth\""));
    let (status, _, _) = c.post(&plan_page, &[("action", "archive")]).await;
    assert_eq!(status, 303);
    let (_, body, _) = c.get("/admin/plans").await;
    assert!(body.contains("archived"));
    let (_, body, _) = c.get("/admin/audit?action=plan.").await;
    assert!(
        body.contains("plan.create") && body.contains("plan.update"),
        "the audit log records both"
    );
}

async fn tenant_forms_issue_keys_once_and_manage_destinations(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    c.get("/admin/tenants").await;
    let (status, _, location) = c
        .post("/admin/tenants", &[("name", "Acme Shop"), ("plan_id", "")])
        .await;
    assert_eq!(status, 303);
    let page = location.unwrap();
    let tenant_id = page.rsplit('/').next().unwrap().to_string();
    c.get(&page).await;
    let (status, body, _) = c
        .post(
            &format!("{page}/api-keys"),
            &[
                ("name", "server"),
                ("scope", "ingest"),
                ("scope", "read"),
                ("scope", "manage"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let key = body
        .split("id=\"new-key\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(key.starts_with("kk_"));
    let (_, again, _) = c.get(&page).await;
    assert!(!again.contains(&key), "the key is shown once");
    let (status, _, _) = c
        .post(
            &format!("{page}/destinations"),
            &[
                ("kind", "meta_capi"),
                ("name", "Pixel"),
                ("target", "123456"),
                ("secret", "EAAB-console"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (status, body, _) = c
        .post(
            &format!("{page}/destinations"),
            &[
                ("kind", "meta_capi"),
                ("name", "Bad"),
                ("target", "abc"),
                ("secret", "x"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("pixel_id"));
    let (status, _, _) = c
        .post(
            &page,
            &[
                ("name", "Acme Shop"),
                ("plan_id", ""),
                ("status", "active"),
                ("dedup_window_hours", "12"),
            ],
        )
        .await;
    assert_eq!(status, 422, "a window under 48 hours is refused");
    let (status, _, _) = c
        .post(
            &page,
            &[
                ("name", "Acme Shop"),
                ("plan_id", ""),
                ("status", "active"),
                ("require_event_id", "true"),
                ("dedup_window_hours", "72"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, tenant) = app
        .admin(reqwest::Method::GET, &format!("/tenants/{tenant_id}"), None)
        .await;
    assert_eq!(tenant["dedup_window_hours"], 72);
    let (_, dests) = app.get("/v1/destinations", Some(&key)).await;
    let dest = dests["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _, _) = c
        .post(
            &format!("/admin/destinations/{dest}"),
            &[("secret", ""), ("state", "disabled")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, d) = app
        .get(&format!("/v1/destinations/{dest}"), Some(&key))
        .await;
    assert_eq!(d["state"], "disabled");
    let (_, keys) = app
        .admin(
            reqwest::Method::GET,
            &format!("/tenants/{tenant_id}/api-keys"),
            None,
        )
        .await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _, _) = c
        .post(&format!("/admin/api-keys/{key_id}/revoke"), &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.get("/v1/usage", Some(&key)).await.0,
        401,
        "revoked from the console, refused at once"
    );
}

async fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for (path, form) in [
        ("/admin/tenants", vec![("name", "X"), ("csrf_token", "")]),
        ("/admin/plans", vec![("code", "x"), ("csrf_token", "nope")]),
        ("/admin/logout", vec![("csrf_token", "")]),
    ] {
        let (status, _, _) = c.post(path, &form).await;
        assert_eq!(status, 403, "{path}");
    }
    let (_, list) = app.admin(reqwest::Method::GET, "/tenants", None).await;
    assert!(
        list["data"].as_array().unwrap().is_empty(),
        "nothing was written"
    );
}

async fn viewers_read_but_cannot_write(backend: Backend) {
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
    let mut c = Console::new(&app);
    let (status, _, _) = c.login("viewer@kickin.test", "viewer-password-1").await;
    assert_eq!(status, 303);
    for page in PAGES {
        assert_eq!(c.get(page).await.0, 200, "{page}");
    }
    let (_, body, _) = c.get("/admin/tenants").await;
    assert!(
        !body.contains("id=\"tenant-form\""),
        "no create form for viewers"
    );
    let (status, _, _) = c.post("/admin/tenants", &[("name", "Nope")]).await;
    assert_eq!(status, 403);
    let (status, _, _) = c
        .post("/admin/billing/runs", &[("period", "2020-01")])
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        c.get("/admin/admins").await.0,
        403,
        "only owners manage admins"
    );
}

async fn logins_are_rate_limited_and_logout_ends_the_session(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = Console::new(&app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    c.get("/admin").await;
    let (status, _, location) = c.post("/admin/logout", &[]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/login")));
    assert_eq!(c.get("/admin").await.0, 303, "the session is gone");
    // The tenth failure locks the address: the next attempt is refused without a check.
    let mut statuses = Vec::new();
    for _ in 0..=kickin::accounts::throttle::MAX_FAILURES {
        statuses.push(c.login(ADMIN_EMAIL, "wrong-password-1").await.0);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
