//! Console forms change what the form meant to change and nothing else: a current value
//! the dropdown would not offer (an archived plan), a field the post does not carry, an
//! unticked checkbox, a value that is not among the choices, numbers out of range.

use reqwest::Method;
use serde_json::{Value, json};

use crate::console::Console;
use crate::db_tests;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, spawn};

db_tests!(
    suspending_a_tenant_on_an_archived_plan_keeps_its_plan,
    a_settings_post_changes_only_the_fields_it_carries,
    a_plan_id_that_is_not_an_id_is_a_field_error_not_no_plan,
    a_plan_edit_post_without_a_field_keeps_its_stored_value,
    tier_rows_with_a_missing_price_field_are_refused_not_dropped,
    plan_numbers_beyond_the_limits_are_refused_naming_the_field,
    an_unknown_admin_role_is_refused_not_made_an_admin,
    search_and_filter_forms_keep_the_csrf_token_out_of_urls,
    the_next_page_link_keeps_a_search_with_an_ampersand,
);

fn growth(code: &str) -> Value {
    json!({"code": code, "name": "Growth", "currency": "usd", "monthly_fee": 4900,
        "tier_mode": "graduated", "tiers": [{"up_to": 100000, "price_per_1000": 0},
        {"up_to": 1000000, "price_per_1000": 50}, {"up_to": null, "price_per_1000": 30}],
        "limit_mode": "soft", "hard_limit": null, "max_destinations": 10, "max_api_keys": 5,
        "retention_days": 60})
}

async fn create_plan(app: &TestApp, code: &str) -> String {
    let (status, plan) = app.admin(Method::POST, "/plans", Some(growth(code))).await;
    assert_eq!(status, 201, "{plan}");
    plan["id"].as_str().unwrap().to_string()
}

async fn tenant(app: &TestApp, id: &str) -> Value {
    app.admin(Method::GET, &format!("/tenants/{id}"), None)
        .await
        .1
}

/// The value of the option marked `selected` inside `<select … id="{id}">`, and its label.
fn selected_option(html: &str, id: &str) -> Option<(String, String)> {
    let select = html
        .split(&format!("id=\"{id}\""))
        .nth(1)?
        .split("</select>")
        .next()?;
    let option = select
        .split("<option ")
        .find(|o| o.split('>').next().unwrap_or_default().contains("selected"))?;
    let value = option
        .split("value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_string();
    let label = option.split('>').nth(1)?.split('<').next()?.to_string();
    Some((value, label))
}

async fn console(app: &TestApp) -> Console<'_> {
    let mut c = Console::new(app);
    c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    c
}

async fn suspending_a_tenant_on_an_archived_plan_keeps_its_plan(backend: Backend) {
    let app = spawn(backend).await;
    let plan = create_plan(&app, "legacy").await;
    let t = app.create_tenant(json!({"plan_id": plan})).await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/plans/{plan}"),
            Some(json!({"archived": true})),
        )
        .await;
    assert_eq!(status, 200);
    let mut c = console(&app).await;
    let page = format!("/admin/tenants/{}", t.id);
    let (_, html, _) = c.get(&page).await;
    let (value, label) = selected_option(&html, "settings-plan").expect("a selected plan");
    assert_eq!(
        value, plan,
        "the archived current plan is offered and selected"
    );
    assert!(label.contains("archived"), "and marked archived: {label}");
    // What a browser posts for this page with only the status changed.
    let (status, body, _) = c
        .post(
            &page,
            &[
                ("name", "Acme"),
                ("plan_id", &value),
                ("status", "suspended"),
                ("require_event_id", "false"),
                ("require_event_id", "true"),
                ("dedup_window_hours", "168"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let after = tenant(&app, &t.id).await;
    assert_eq!(after["status"], "suspended");
    assert_eq!(after["plan_id"], plan.as_str(), "still billed on its plan");
    let same = json!({"plan_id": plan, "status": "active"});
    let (status, body) = app
        .admin(Method::PATCH, &format!("/tenants/{}", t.id), Some(same))
        .await;
    assert_eq!(
        status, 200,
        "sending back the plan it has is no change: {body}"
    );
    assert_eq!(body["plan_id"], plan.as_str());
    let (_, html, _) = c.get("/admin/tenants").await;
    assert!(
        !html
            .split("id=\"tenant-plan\"")
            .nth(1)
            .unwrap()
            .contains(&plan),
        "a new tenant still cannot take the archived plan"
    );
}

async fn a_settings_post_changes_only_the_fields_it_carries(backend: Backend) {
    let app = spawn(backend).await;
    let plan = create_plan(&app, "growth").await;
    let t = app
        .create_tenant(json!({"plan_id": plan, "require_event_id": true, "dedup_window_hours": 72}))
        .await;
    let before = tenant(&app, &t.id).await;
    let mut c = console(&app).await;
    let page = format!("/admin/tenants/{}", t.id);
    c.get(&page).await;
    let (status, body, _) = c.post(&page, &[("status", "suspended")]).await;
    assert_eq!(status, 303, "{body}");
    let after = tenant(&app, &t.id).await;
    assert_eq!(after["status"], "suspended");
    for field in ["name", "plan_id", "require_event_id", "dedup_window_hours"] {
        assert_eq!(after[field], before[field], "{field} was not on the post");
    }
    // The form's hidden field alone is the unticked checkbox.
    let (status, _, _) = c.post(&page, &[("require_event_id", "false")]).await;
    assert_eq!(status, 303);
    let after = tenant(&app, &t.id).await;
    assert_eq!(after["require_event_id"], false);
    assert_eq!(after["plan_id"], plan.as_str());
    let (status, body, _) = c.post(&page, &[("name", "  ")]).await;
    assert_eq!(
        status, 422,
        "a name cleared on the form is refused, not ignored"
    );
    assert!(body.contains("name: "), "{body}");
}

async fn a_plan_id_that_is_not_an_id_is_a_field_error_not_no_plan(backend: Backend) {
    let app = spawn(backend).await;
    let plan = create_plan(&app, "growth").await;
    let t = app.create_tenant(json!({"plan_id": plan})).await;
    let mut c = console(&app).await;
    let page = format!("/admin/tenants/{}", t.id);
    c.get(&page).await;
    for bad in ["growth", "00000000-0000-0000-0000-000000000001"] {
        let (status, body, _) = c
            .post(&page, &[("plan_id", bad), ("status", "active")])
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body.contains("plan_id: "), "{bad}: the field is named");
        assert_eq!(tenant(&app, &t.id).await["plan_id"], plan.as_str(), "{bad}");
    }
    let (status, _, _) = c.post(&page, &[("plan_id", "")]).await;
    assert_eq!(status, 303);
    assert_eq!(
        tenant(&app, &t.id).await["plan_id"],
        Value::Null,
        "\"no plan\" is still a choice"
    );
}

async fn a_plan_edit_post_without_a_field_keeps_its_stored_value(backend: Backend) {
    let app = spawn(backend).await;
    let plan = create_plan(&app, "growth").await;
    let before = app
        .admin(Method::GET, &format!("/plans/{plan}"), None)
        .await
        .1;
    let mut c = console(&app).await;
    let page = format!("/admin/plans/{plan}");
    c.get(&page).await;
    // A form without the fee, the counts and the retention (an older page, a script).
    let form = [
        ("name", "Growth 2"),
        ("currency", "usd"),
        ("tier_mode", "graduated"),
        ("limit_mode", "soft"),
        ("hard_limit", ""),
        ("tier_up_to", "100000"),
        ("tier_price", "0"),
        ("tier_up_to", "1000000"),
        ("tier_price", "50"),
        ("tier_up_to", ""),
        ("tier_price", "30"),
        ("action", "save"),
    ];
    let (status, body, _) = c.post(&page, &form).await;
    assert_eq!(status, 303, "{body}");
    let after = app
        .admin(Method::GET, &format!("/plans/{plan}"), None)
        .await
        .1;
    assert_eq!(after["name"], "Growth 2");
    for field in [
        "monthly_fee",
        "max_destinations",
        "max_api_keys",
        "retention_days",
        "tiers",
    ] {
        assert_eq!(after[field], before[field], "{field} was not on the post");
    }
    let (status, _, _) = c
        .post(&page, &[("name", "Growth 3"), ("action", "save")])
        .await;
    assert_eq!(status, 303, "a post without tier fields keeps the tiers");
    let after = app
        .admin(Method::GET, &format!("/plans/{plan}"), None)
        .await
        .1;
    assert_eq!(
        (after["name"].clone(), after["tiers"].clone()),
        (json!("Growth 3"), before["tiers"].clone())
    );
    let (status, body, _) = c
        .post(
            &page,
            &[
                ("max_api_keys", ""),
                ("monthly_fee", ""),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(
        status, 422,
        "a fee cleared on the form is refused, not made 0"
    );
    assert!(body.contains("id=\"error-monthly_fee\""), "{body}");
}

async fn tier_rows_with_a_missing_price_field_are_refused_not_dropped(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = console(&app).await;
    c.get("/admin/plans/new").await;
    let form = [
        ("code", "ragged"),
        ("name", "Ragged"),
        ("currency", "usd"),
        ("monthly_fee", "0"),
        ("tier_mode", "graduated"),
        ("limit_mode", "soft"),
        ("retention_days", "30"),
        ("tier_up_to", "100000"),
        ("tier_up_to", ""),
        ("tier_price", "0"),
        ("tier_price", "50"),
        ("tier_price", "30"),
        ("action", "save"),
    ];
    let (status, body, _) = c.post("/admin/plans", &form).await;
    assert_eq!(status, 422, "three prices for two bounds: {body}");
    assert!(body.contains("id=\"error-tiers\""));
    let (_, plans) = app.admin(Method::GET, "/plans", None).await;
    assert!(
        plans["data"].as_array().unwrap().is_empty(),
        "nothing was saved"
    );
}

async fn plan_numbers_beyond_the_limits_are_refused_naming_the_field(backend: Backend) {
    let app = spawn(backend).await;
    let mut plan = growth("huge");
    plan["monthly_fee"] = json!(i64::MAX);
    let (status, body) = app.admin(Method::POST, "/plans", Some(plan)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "monthly_fee", "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
    let id = create_plan(&app, "growth").await;
    let huge_tier = json!({"tiers": [{"up_to": 1_000_000_000_001_i64, "price_per_1000": 0},
        {"up_to": null, "price_per_1000": 30}]});
    let (status, body) = app
        .admin(Method::PATCH, &format!("/plans/{id}"), Some(huge_tier))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (422, json!("tiers[0].up_to")),
        "{body}"
    );

    let mut c = console(&app).await;
    let page = format!("/admin/plans/{id}");
    c.get(&page).await;
    for (field, value) in [
        ("max_destinations", "4294967297"), // wraps to 1 when cast to i32
        ("monthly_fee", "9223372036854775807"),
        ("hard_limit", "9223372036854775807"),
    ] {
        let mut form = vec![(field, value), ("action", "save")];
        if field == "hard_limit" {
            form.push(("limit_mode", "hard"));
        }
        let (status, body, _) = c.post(&page, &form).await;
        assert_eq!(status, 422, "{field}: {body}");
        assert!(
            body.contains(&format!("id=\"error-{field}\"")),
            "{field}: {body}"
        );
    }
    let (_, after) = app.admin(Method::GET, &format!("/plans/{id}"), None).await;
    assert_eq!(
        (
            after["max_destinations"].clone(),
            after["monthly_fee"].clone()
        ),
        (json!(10), json!(4900))
    );
}

async fn an_unknown_admin_role_is_refused_not_made_an_admin(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = console(&app).await;
    c.get("/admin/admins").await;
    for role in [Some("superuser"), None] {
        let mut form = vec![
            ("email", "new@kickin.test"),
            ("password", "a-long-password-1"),
        ];
        form.extend(role.map(|r| ("role", r)));
        let (status, body, _) = c.post("/admin/admins", &form).await;
        assert_eq!(status, 422, "{role:?}: {body}");
        assert!(body.contains("role: "), "{role:?}: the field is named");
    }
    let (_, html, _) = c.get("/admin/admins").await;
    assert!(!html.contains("new@kickin.test"), "no admin was created");
    let form = [
        ("email", "new@kickin.test"),
        ("password", "a-long-password-1"),
        ("role", "viewer"),
    ];
    assert_eq!(c.post("/admin/admins", &form).await.0, 303);
    let (_, html, _) = c.get("/admin/admins").await;
    assert!(
        html.contains("<td>new@kickin.test</td><td>viewer</td>"),
        "{html}"
    );
}

async fn search_and_filter_forms_keep_the_csrf_token_out_of_urls(backend: Backend) {
    let app = spawn(backend).await;
    let mut c = console(&app).await;
    for page in [
        "/admin/tenants",
        "/admin/deliveries",
        "/admin/billing",
        "/admin/audit",
    ] {
        let (status, html, _) = c.get(page).await;
        assert_eq!(status, 200);
        let get_forms: Vec<&str> = html
            .split("<form ")
            .skip(1)
            .filter(|f| f.starts_with("method=\"get\""))
            .map(|f| f.split("</form>").next().unwrap())
            .collect();
        assert!(!get_forms.is_empty(), "{page} has a filter form");
        for form in get_forms {
            // A GET form puts its fields in the address: history, logs and Referer.
            assert!(!form.contains("csrf"), "{page}: {form}");
        }
    }
}

async fn the_next_page_link_keeps_a_search_with_an_ampersand(backend: Backend) {
    let app = spawn(backend).await;
    let names = std::iter::once("Tom Sawyer".to_string())
        .chain((0..51).map(|i| format!("Tom & Jerry {i}")));
    for name in names {
        let (status, _) = app
            .admin(Method::POST, "/tenants", Some(json!({"name": name})))
            .await;
        assert_eq!(status, 201);
    }
    let mut c = console(&app).await;
    // Askama writes `&` as `&#38;`; the links' own separators are `&amp;`.
    let text = |html: String| html.replace("&#38;", "&").replace("&amp;", "&");
    let html = text(c.get("/admin/tenants?q=Tom%20%26%20Jerry").await.1);
    assert_eq!(
        html.matches("\">Tom & Jerry ").count(),
        50,
        "the first page"
    );
    let next = html
        .split("<a href=\"")
        .find_map(|a| a.split_once("\">Next page"))
        .map(|(href, _)| href.to_string())
        .expect("a next page link");
    let (status, html, _) = c.get(&next).await;
    assert_eq!(status, 200, "{next}");
    let html = text(html);
    assert!(html.contains("Tom & Jerry 0<"), "{next}: the last match");
    assert!(
        !html.contains("Tom Sawyer"),
        "{next}: the search is kept whole"
    );
}
