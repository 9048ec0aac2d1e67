//! Tenants: list with search, create, and one tenant's page — settings (plan, status,
//! event id requirement, dedup window, Meta endpoint fanout), API keys (issued key shown once; revoke),
//! destinations (create, new credentials, state and pause reason), usage with alerts,
//! diagnostics and the latest deletion requests (`privacy` takes the form).

use actix_web::{HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use uuid::Uuid;

use super::destination_test::TestView;
use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Form, Posted, checkbox, field, fields, number, record};
use super::session::ConsoleAdmin;
use super::{Layout, see_other};
use crate::audit::Change;
use crate::dedup::diagnostics::{self, DiagnosticsReport};
use crate::destinations::{self, DestinationIn, DestinationOut, DestinationPatch};
use crate::error::AppError;
use crate::metering::usage::{self, Usage};
use crate::page::{PageQuery, PageRequest};
use crate::plans;
use crate::state::AppState;
use crate::states::ConsentPolicy;
use crate::tenants::{self, TenantIn, TenantOut, TenantPatch, api_keys};

pub struct TenantRow {
    id: Uuid,
    name: String,
    plan: String,
    status: String,
    created_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "tenants.html")]
struct ListPage {
    layout: Layout,
    q: String,
    tenants: Vec<TenantRow>,
    next_cursor: Option<String>,
    plans: Vec<PlanChoice>,
    error: Option<String>,
}

pub struct TenantView {
    id: Uuid,
    name: String,
    plan_id: Option<String>,
    status: String,
    require_event_id: bool,
    dedup_window_hours: i32,
    meta_endpoint_fanout: bool,
    consent_policy: &'static str,
}

#[derive(Template)]
#[template(path = "tenant.html")]
struct ShowPage {
    layout: Layout,
    tenant: TenantView,
    plans: Vec<PlanChoice>,
    keys: Vec<api_keys::ApiKeyOut>,
    destinations: Vec<DestinationOut>,
    kinds: Vec<KindChoice>,
    usage: Usage,
    diagnostics: DiagnosticsReport,
    new_key: Option<String>,
    error: Option<String>,
    /// The result of a test send just made from this page.
    test: Option<TestView>,
    /// The latest deletion requests, newest first.
    deletions: Vec<crate::privacy::DeletionOut>,
}

/// A kind of destination the add form offers, with the names of its two fields.
pub struct KindChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub target: &'static str,
    pub secret: &'static str,
}

pub fn kind_choices() -> Vec<KindChoice> {
    destinations::Kind::ALL
        .into_iter()
        .map(|kind| {
            let spec = kind.spec();
            let fields = spec.fields();
            KindChoice {
                value: spec.name(),
                label: spec.label(),
                target: fields.target,
                secret: fields.secret,
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

/// A plan in a tenant form's dropdown.
pub struct PlanChoice {
    id: String,
    label: String,
    archived: bool,
}

/// The plans a tenant can be put on, plus its `current` plan even when archived or
/// beyond the first page: a dropdown that leaves the current value out would post
/// "no plan" and silently stop the tenant's billing.
async fn plan_choices(state: &AppState, current: Option<Uuid>) -> ConsoleResult<Vec<PlanChoice>> {
    let page = plans::list(
        &state.db.conn,
        PageRequest {
            limit: 500,
            before: None,
        },
    )
    .await?;
    let choice = |p: &plans::PlanOut| PlanChoice {
        id: p.id.to_string(),
        label: format!("{} ({})", p.name, p.code),
        archived: p.archived,
    };
    let mut choices: Vec<PlanChoice> = page
        .data
        .iter()
        .filter(|p| !p.archived || Some(p.id) == current)
        .map(choice)
        .collect();
    if let Some(id) = current.filter(|id| !page.data.iter().any(|p| p.id == *id)) {
        choices.push(choice(&plans::get(&state.db.conn, id).await?.to_out()));
    }
    Ok(choices)
}

async fn list_page(
    admin: &ConsoleAdmin,
    state: &AppState,
    q: &str,
    cursor: Option<String>,
    error: Option<String>,
) -> ConsoleResult<ListPage> {
    let page = PageQuery {
        limit: Some(50),
        cursor,
    }
    .parse()?;
    let list = tenants::list(&state.db.conn, page, Some(q)).await?;
    let all_plans = plans::list(
        &state.db.conn,
        PageRequest {
            limit: 500,
            before: None,
        },
    )
    .await?
    .data;
    let plan_name = |id: Option<Uuid>| {
        id.and_then(|id| all_plans.iter().find(|p| p.id == id))
            .map_or("—".to_string(), |p| p.code.clone())
    };
    let rows = list
        .data
        .into_iter()
        .map(|t| TenantRow {
            id: t.id,
            name: t.name,
            plan: plan_name(t.plan_id),
            status: t.status,
            created_at: t.created_at,
        })
        .collect();
    Ok(ListPage {
        layout: Layout::of(admin),
        q: q.to_string(),
        tenants: rows,
        next_cursor: list.next_cursor,
        plans: plan_choices(state, None).await?,
        error,
    })
}

pub async fn list(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ConsoleResult<impl Responder> {
    list_page(
        &admin,
        &state,
        query.q.as_deref().unwrap_or_default(),
        query.cursor.clone(),
        None,
    )
    .await
}

pub async fn create(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let plan_id = match field(&post, "plan_id") {
        "" => None,
        v => Some(
            Uuid::parse_str(v)
                .map_err(|_| AppError::invalid("plan_id", "choose a plan from the list"))?,
        ),
    };
    let input = TenantIn {
        name: field(&post, "name").to_string(),
        plan_id,
        status: None,
        require_event_id: None,
        dedup_window_hours: None,
        dedup_alert_threshold: None,
        browser_enrichment: None,
        meta_endpoint_fanout: None,
        consent_policy: None,
    };
    let txn = state.db.begin_write().await?;
    match tenants::create(&txn, input, state.clock.now_ms()).await {
        Ok(t) => {
            record(
                &txn,
                &state,
                &admin,
                Change::new("tenant.create", "tenant", t.id).after(&TenantOut::from(t.clone())),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/tenants/{}", t.id)))
        }
        Err(e) => {
            drop(txn);
            let page = list_page(&admin, &state, "", None, Some(e.message)).await?;
            Ok(super::html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            ))
        }
    }
}

async fn show_page(
    admin: &ConsoleAdmin,
    state: &AppState,
    id: Uuid,
    new_key: Option<String>,
    error: Option<String>,
) -> ConsoleResult<ShowPage> {
    let db = &state.db.conn;
    let t = tenants::get(db, id).await?;
    let period = crate::clock::period_of(state.clock.now_ms());
    let all = PageRequest {
        limit: 500,
        before: None,
    };
    Ok(ShowPage {
        layout: Layout::of(admin),
        plans: plan_choices(state, t.plan_id).await?,
        keys: api_keys::list(db, id, all).await?.data,
        destinations: destinations::list(db, id, all).await?.data,
        kinds: kind_choices(),
        usage: usage::usage(&state.db, id, t.plan_id, &period).await?,
        diagnostics: diagnostics::report(db, id, &period).await?,
        deletions: crate::privacy::recent(db, id, 20).await?,
        tenant: TenantView {
            id: t.id,
            name: t.name,
            plan_id: t.plan_id.map(|p| p.to_string()),
            status: t.status,
            require_event_id: t.require_event_id,
            dedup_window_hours: t.dedup_window_hours,
            meta_endpoint_fanout: t.meta_endpoint_fanout,
            consent_policy: t.consent_policy.as_str(),
        },
        new_key,
        error,
        test: None,
    })
}

pub async fn show(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    Ok(super::html(
        actix_web::http::StatusCode::OK,
        &show_page(&admin, &state, *id, None, None).await?,
    ))
}

/// The tenant page after a test send from it: its result above the destinations, or
/// why none was sent.
pub(super) async fn after_test(
    admin: &ConsoleAdmin,
    state: &AppState,
    id: Uuid,
    status: actix_web::http::StatusCode,
    test: Option<TestView>,
    error: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let mut page = show_page(admin, state, id, None, error).await?;
    page.test = test;
    Ok(super::html(status, &page))
}

/// Re-renders the tenant page with an error next to the forms (422).
pub(super) async fn failed(
    admin: &ConsoleAdmin,
    state: &AppState,
    id: Uuid,
    e: AppError,
) -> ConsoleResult<HttpResponse> {
    if e.kind == crate::error::ErrorKind::NotFound {
        return Err(ConsoleError::App(e));
    }
    let message = super::forms::form_error(&e);
    Ok(super::html(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        &show_page(admin, state, id, None, Some(message)).await?,
    ))
}

/// The settings form as posted. A field the post does not carry leaves the setting
/// alone; `plan_id` "" is the explicit "no plan" choice.
#[derive(Deserialize)]
pub struct SettingsPost {
    name: Option<String>,
    plan_id: Option<String>,
    status: Option<String>,
    #[serde(default)]
    require_event_id: Vec<String>,
    dedup_window_hours: Option<String>,
    #[serde(default)]
    meta_endpoint_fanout: Vec<String>,
    consent_policy: Option<String>,
}

impl SettingsPost {
    fn patch(&self) -> Result<TenantPatch, AppError> {
        let plan_id = match self.plan_id.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(v) => Some(Some(Uuid::parse_str(v).map_err(|_| {
                AppError::invalid("plan_id", "choose a plan from the list")
            })?)),
        };
        Ok(TenantPatch {
            name: self.name.clone(),
            plan_id,
            status: self.status.as_deref().map(|s| s.trim().to_string()),
            require_event_id: checkbox("require_event_id", &self.require_event_id)?,
            dedup_window_hours: number("dedup_window_hours", self.dedup_window_hours.as_deref())?,
            meta_endpoint_fanout: checkbox("meta_endpoint_fanout", &self.meta_endpoint_fanout)?,
            consent_policy: consent_policy(self.consent_policy.as_deref())?,
            ..TenantPatch::default()
        })
    }
}

fn consent_policy(posted: Option<&str>) -> Result<Option<ConsentPolicy>, AppError> {
    let Some(posted) = posted.map(str::trim) else {
        return Ok(None);
    };
    ConsentPolicy::parse(posted).map(Some).ok_or_else(|| {
        AppError::invalid(
            "consent_policy",
            "consent_policy must be forward or enforce",
        )
    })
}

pub async fn update(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: Posted<SettingsPost>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(post.csrf())?;
    let before = TenantOut::from(tenants::get(&state.db.conn, *id).await?);
    let patch = match post.form.patch() {
        Ok(patch) => patch,
        Err(e) => return failed(&admin, &state, *id, e).await,
    };
    let txn = state.db.begin_write().await?;
    match tenants::update(&txn, *id, patch, state.clock.now_ms()).await {
        Ok(t) => {
            record(
                &txn,
                &state,
                &admin,
                Change::new("tenant.update", "tenant", *id)
                    .before(&before)
                    .after(&TenantOut::from(t)),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/tenants/{id}")))
        }
        Err(e) => {
            drop(txn);
            failed(&admin, &state, *id, e).await
        }
    }
}

pub async fn issue_key(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let tenant = tenants::get(&state.db.conn, *id).await?;
    let input = key_input(&post);
    let txn = state.db.begin_write().await?;
    match api_keys::issue(&*txn, tenant.id, input, state.clock.now_ms()).await {
        Ok(issued) => {
            let view = serde_json::json!({"tenant_id": tenant.id, "prefix": issued.prefix, "name": issued.name, "scopes": issued.scopes});
            record(
                &txn,
                &state,
                &admin,
                Change::new("api_key.issue", "api_key", issued.id).after(&view),
            )
            .await?;
            txn.commit().await?;
            // Rendered, not redirected: the key is shown this once and never again.
            Ok(super::html(
                actix_web::http::StatusCode::OK,
                &show_page(&admin, &state, *id, Some(issued.key), None).await?,
            ))
        }
        Err(e) => {
            drop(txn);
            failed(&admin, &state, *id, e).await
        }
    }
}

pub async fn revoke_key(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let txn = state.db.begin_write().await?;
    let revoked = api_keys::revoke(&*txn, *id, state.clock.now_ms()).await?;
    record(
        &txn,
        &state,
        &admin,
        Change::new("api_key.revoke", "api_key", *id).after(&revoked),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other(&format!("/admin/tenants/{}", revoked.tenant_id)))
}

pub async fn create_destination(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let tenant = tenants::get(&state.db.conn, *id).await?;
    let input = DestinationIn::with_target(
        field(&post, "kind"),
        field(&post, "name"),
        field(&post, "target"),
        field(&post, "secret"),
    );
    let txn = state.db.begin_write().await?;
    match destinations::create(&*txn, &state.keys, tenant.id, input, state.clock.now_ms()).await {
        Ok(d) => {
            record(
                &txn,
                &state,
                &admin,
                Change::new("destination.create", "destination", d.id()).after(&d.to_out()),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/tenants/{id}")))
        }
        Err(e) => {
            drop(txn);
            failed(&admin, &state, *id, e).await
        }
    }
}

pub async fn update_destination(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let current = destinations::get_any(&state.db.conn, *id).await?;
    let (tenant_id, before) = (current.model.tenant_id, current.to_out());
    let patch = destination_patch(&post, current.kind);
    let txn = state.db.begin_write().await?;
    let result = crate::dispatch::destination_state::update(
        &*txn,
        &state.keys,
        current,
        patch,
        state.clock.now_ms(),
    )
    .await;
    match result {
        Ok(updated) => {
            record(
                &txn,
                &state,
                &admin,
                Change::new("destination.update", "destination", *id)
                    .before(&before)
                    .after(&updated.to_out()),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/tenants/{tenant_id}")))
        }
        Err(e) => {
            drop(txn);
            failed(&admin, &state, tenant_id, e).await
        }
    }
}

/// The key form: a name and the ticked scopes.
pub fn key_input(post: &Form) -> api_keys::ApiKeyIn {
    api_keys::ApiKeyIn {
        name: field(post, "name").to_string(),
        scopes: fields(post, "scope")
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

/// The destination form: new credentials (blank: keep them) and/or a new state.
pub fn destination_patch(post: &Form, kind: destinations::Kind) -> DestinationPatch {
    let secret = Some(field(post, "secret").to_string()).filter(|s| !s.is_empty());
    DestinationPatch {
        state: Some(field(post, "state").to_string()).filter(|s| !s.is_empty()),
        ..DestinationPatch::with_secret(kind, secret)
    }
}
