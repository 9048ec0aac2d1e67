//! `/app/keys`: API keys (the new `kk_…` key shown once on the page that answers the
//! form, revoke) and browser keys with the script snippet ready to copy.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::PortalUser;
use super::view::{Layout, When, form_error, page, when};
use crate::admin::console::error::ConsoleResult;
use crate::admin::console::forms::{Form, field};
use crate::admin::console::see_other;
use crate::admin::console::tenants::key_input;
use crate::audit::Change;
use crate::browser::keys::{self as browser_keys, BrowserKeyIn, BrowserKeyOut};
use crate::browser::script;
use crate::page::PageRequest;
use crate::state::AppState;
use crate::tenants::api_keys::{self, ApiKeyOut};

#[derive(Template)]
#[template(path = "app/keys.html")]
struct KeysPage {
    layout: Layout,
    api_keys: Vec<(ApiKeyOut, When)>,
    browser_keys: Vec<BrowserKeyOut>,
    snippet: String,
    new_key: Option<String>,
    error: Option<String>,
}

const ALL: PageRequest = PageRequest {
    limit: 200,
    before: None,
};

async fn render(
    user: &PortalUser,
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    new_key: Option<String>,
    error: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let now = state.clock.now_ms();
    let keys = api_keys::list(&state.db.conn, user.tenant_id, ALL)
        .await?
        .data;
    let browser = browser_keys::list(&state.db.conn, user.tenant_id, ALL)
        .await?
        .data;
    let live = browser.iter().find(|k| k.revoked_at.is_none());
    let keys_page = KeysPage {
        layout: Layout::of(state, user).await?,
        api_keys: keys
            .into_iter()
            .map(|k| {
                let w = when(&k.created_at, now);
                (k, w)
            })
            .collect(),
        snippet: script::snippet(
            &crate::admin::users::base_url(req),
            live.map_or("pk_…", |k| k.key.as_str()),
        ),
        browser_keys: browser,
        new_key,
        error,
    };
    Ok(page(status, &keys_page))
}

pub async fn show(
    user: PortalUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    render(&user, &state, &req, StatusCode::OK, None, None).await
}

pub async fn issue(
    user: PortalUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let mut input = key_input(&post);
    if input.scopes.is_empty() {
        input.scopes = vec!["ingest".into(), "read".into()];
    }
    let txn = state.db.begin_write().await?;
    match api_keys::issue(&*txn, user.tenant_id, input, state.clock.now_ms()).await {
        Ok(issued) => {
            let view = serde_json::json!({"tenant_id": user.tenant_id, "prefix": issued.prefix, "name": issued.name, "scopes": issued.scopes});
            user.record(
                &txn,
                &state,
                Change::new("api_key.issue", "api_key", issued.id).after(&view),
            )
            .await?;
            txn.commit().await?;
            // Rendered, not redirected: the key is shown this once and never again.
            render(&user, &state, &req, StatusCode::OK, Some(issued.key), None).await
        }
        Err(e) => {
            drop(txn);
            render(
                &user,
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(form_error(&e)),
            )
            .await
        }
    }
}

pub async fn revoke(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let txn = state.db.begin_write().await?;
    let revoked = api_keys::revoke_for(&*txn, user.tenant_id, *id, state.clock.now_ms()).await?;
    user.record(
        &txn,
        &state,
        Change::new("api_key.revoke", "api_key", *id).after(&revoked),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other("/app/keys"))
}

pub async fn create_browser_key(
    user: PortalUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let origins = field(&post, "origins")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let txn = state.db.begin_write().await?;
    let input = BrowserKeyIn {
        allowed_origins: origins,
    };
    match browser_keys::create(&*txn, user.tenant_id, input, state.clock.now_ms()).await {
        Ok(key) => {
            user.record(
                &txn,
                &state,
                Change::new("browser_key.create", "browser_key", key.id).after(&key),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other("/app/keys#snippet"))
        }
        Err(e) => {
            drop(txn);
            render(
                &user,
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(form_error(&e)),
            )
            .await
        }
    }
}

pub async fn revoke_browser_key(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let txn = state.db.begin_write().await?;
    let key = browser_keys::get(&*txn, user.tenant_id, *id).await?;
    let revoked = browser_keys::revoke(&*txn, key, state.clock.now_ms()).await?;
    user.record(
        &txn,
        &state,
        Change::new("browser_key.revoke", "browser_key", *id).after(&revoked),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other("/app/keys"))
}
