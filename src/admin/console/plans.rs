//! Pricing tiers: list, create, edit (tier rows added and removed), a price preview at
//! sample volumes from the pricing functions, archive; errors shown next to the field.

use std::collections::HashMap;

use actix_web::{HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use uuid::Uuid;

mod form;

use form::{PlanForm, PlanPost};

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Posted, record};
use super::session::ConsoleAdmin;
use super::{Layout, see_other};
use crate::audit::Change;
use crate::page::PageRequest;
use crate::plans::pricing::{TierMode, price};
use crate::plans::{self, PlanOut, PlanPatch};
use crate::state::AppState;

const SAMPLE_VOLUMES: [i64; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

#[derive(Template, WebTemplate)]
#[template(path = "plans.html")]
struct ListPage {
    layout: Layout,
    plans: Vec<PlanOut>,
}

pub struct PreviewRow {
    units: i64,
    total: i64,
    lines: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "plan_form.html")]
struct FormPage {
    layout: Layout,
    id: Option<Uuid>,
    action: String,
    archived: bool,
    form: PlanForm,
    errors: HashMap<String, String>,
    error: Option<String>,
    preview: Vec<PreviewRow>,
}

impl FormPage {
    fn err(&self, name: &str) -> String {
        match self.errors.get(name) {
            Some(m) => format!(
                "<p class=\"field-error\" id=\"error-{name}\">{}</p>",
                askama::filters::escape(m, askama::filters::Html)
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            ),
            None => String::new(),
        }
    }
}

fn preview(form: &PlanForm) -> Vec<PreviewRow> {
    let Ok(plan) = form.to_plan() else {
        return Vec::new();
    };
    let Some(mode) = TierMode::parse(&plan.tier_mode) else {
        return Vec::new();
    };
    SAMPLE_VOLUMES
        .iter()
        .map(|&units| {
            let priced = price(&plan.currency, plan.monthly_fee, mode, &plan.tiers, units);
            let lines = priced
                .lines
                .iter()
                .map(|l| format!("{}: {}", l.description, l.amount))
                .collect::<Vec<_>>()
                .join("; ");
            PreviewRow {
                units,
                total: priced.total,
                lines,
            }
        })
        .collect()
}

fn form_page(
    admin: &ConsoleAdmin,
    id: Option<Uuid>,
    archived: bool,
    form: PlanForm,
    fault: Option<(String, String)>,
) -> FormPage {
    let mut errors = HashMap::new();
    let mut error = None;
    if let Some((field, message)) = fault {
        error = Some(format!("Please fix: {message}"));
        errors.insert(field, message);
    }
    let action = id.map_or("/admin/plans".to_string(), |id| {
        format!("/admin/plans/{id}")
    });
    let preview = preview(&form);
    FormPage {
        layout: Layout::of(admin),
        id,
        action,
        archived,
        form,
        errors,
        error,
        preview,
    }
}

pub async fn list(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
) -> ConsoleResult<impl Responder> {
    let page = plans::list(
        &state.db.conn,
        PageRequest {
            limit: 500,
            before: None,
        },
    )
    .await?;
    Ok(ListPage {
        layout: Layout::of(&admin),
        plans: page.data,
    })
}

pub async fn new(admin: ConsoleAdmin) -> impl Responder {
    form_page(&admin, None, false, PlanForm::blank(), None)
}

pub async fn edit(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<impl Responder> {
    let plan = plans::get(&state.db.conn, *id).await?;
    Ok(form_page(
        &admin,
        Some(*id),
        plan.model.archived_at.is_some(),
        PlanForm::from_plan(&plan),
        None,
    ))
}

/// Handles the non-saving buttons; `None` means "save". `base` is what the form
/// showed before the post (the stored plan when editing).
fn non_saving(
    admin: &ConsoleAdmin,
    id: Option<Uuid>,
    archived: bool,
    base: PlanForm,
    post: &PlanPost,
) -> Option<HttpResponse> {
    let mut form = base.overlay(post);
    match post.action() {
        "add_row" => form.tiers.push((String::new(), String::new())),
        "preview" => {}
        _ => return None,
    }
    let fault = if post.action() == "preview" {
        form.to_plan().err()
    } else {
        None
    };
    Some(super::html(
        actix_web::http::StatusCode::OK,
        &form_page(admin, id, archived, form, fault),
    ))
}

pub async fn create(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    post: Posted<PlanPost>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(post.csrf())?;
    let post = &post.form;
    if let Some(response) = non_saving(&admin, None, false, PlanForm::default(), post) {
        return Ok(response);
    }
    let form = PlanForm::default().overlay(post);
    let plan = match form.to_plan() {
        Ok(plan) => plan,
        Err(fault) => {
            return Ok(super::html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&admin, None, false, form, Some(fault)),
            ));
        }
    };
    let txn = state.db.begin_write().await?;
    match plans::create(&*txn, plan, state.clock.now_ms()).await {
        Ok(created) => {
            record(
                &txn,
                &state,
                &admin,
                Change::new("plan.create", "plan", created.model.id).after(&created.to_out()),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other(&format!("/admin/plans/{}", created.model.id)))
        }
        Err(e) => {
            drop(txn);
            let fault = (e.field.clone().unwrap_or_else(|| "code".into()), e.message);
            Ok(super::html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&admin, None, false, form, Some(fault)),
            ))
        }
    }
}

pub async fn update(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: Posted<PlanPost>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(post.csrf())?;
    let post = &post.form;
    let current = plans::get(&state.db.conn, *id).await?;
    let archived = current.model.archived_at.is_some();
    let shown = PlanForm::from_plan(&current);
    if let Some(response) = non_saving(&admin, Some(*id), archived, shown.clone(), post) {
        return Ok(response);
    }
    let patch = match post.action() {
        "archive" => PlanPatch {
            archived: Some(true),
            ..PlanPatch::default()
        },
        "unarchive" => PlanPatch {
            archived: Some(false),
            ..PlanPatch::default()
        },
        _ => {
            let form = shown.overlay(post);
            match form.to_plan() {
                Ok(p) => PlanPatch {
                    name: Some(p.name),
                    currency: Some(p.currency),
                    monthly_fee: Some(p.monthly_fee),
                    tier_mode: Some(p.tier_mode),
                    tiers: Some(p.tiers),
                    limit_mode: Some(p.limit_mode),
                    hard_limit: Some(p.hard_limit),
                    max_destinations: Some(p.max_destinations),
                    max_api_keys: Some(p.max_api_keys),
                    retention_days: Some(p.retention_days),
                    archived: None,
                },
                Err(fault) => {
                    return Ok(super::html(
                        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                        &form_page(&admin, Some(*id), archived, form, Some(fault)),
                    ));
                }
            }
        }
    };
    let txn = state.db.begin_write().await?;
    let updated = plans::update(&*txn, *id, patch, state.clock.now_ms())
        .await
        .map_err(ConsoleError::App)?;
    record(
        &txn,
        &state,
        &admin,
        Change::new("plan.update", "plan", *id)
            .before(&current.to_out())
            .after(&updated.to_out()),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other(&format!("/admin/plans/{id}")))
}
