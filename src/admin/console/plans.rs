//! Pricing tiers: list, create, edit (tier rows added and removed), a price preview at
//! sample volumes from the pricing functions, archive; errors shown next to the field.

use std::collections::HashMap;

use actix_web::{HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use uuid::Uuid;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Posted, record};
use super::session::ConsoleAdmin;
use super::{Layout, see_other};
use crate::audit::Change;
use crate::billing::plans::{self, Plan, PlanIn, PlanOut, PlanPatch, Tier};
use crate::billing::pricing::{TierMode, price};
use crate::page::PageRequest;
use crate::startup::AppState;

const SAMPLE_VOLUMES: [i64; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

#[derive(Template, WebTemplate)]
#[template(path = "plans.html")]
struct ListPage {
    layout: Layout,
    plans: Vec<PlanOut>,
}

/// The plan form as posted: a field the post does not carry is `None` and keeps the
/// value it had (the stored plan's when editing), never a default.
#[derive(Deserialize)]
pub struct PlanPost {
    code: Option<String>,
    name: Option<String>,
    currency: Option<String>,
    monthly_fee: Option<String>,
    tier_mode: Option<String>,
    limit_mode: Option<String>,
    hard_limit: Option<String>,
    max_destinations: Option<String>,
    max_api_keys: Option<String>,
    retention_days: Option<String>,
    #[serde(default)]
    tier_up_to: Vec<String>,
    #[serde(default)]
    tier_price: Vec<String>,
    #[serde(default)]
    tier_remove: Vec<String>,
    action: Option<String>,
}

impl PlanPost {
    fn action(&self) -> &str {
        self.action.as_deref().unwrap_or_default()
    }
}

/// The form as typed, so it re-renders exactly after an error.
#[derive(Default, Clone)]
pub struct PlanForm {
    code: String,
    name: String,
    currency: String,
    monthly_fee: String,
    tier_mode: String,
    tiers: Vec<(String, String)>,
    limit_mode: String,
    hard_limit: String,
    max_destinations: String,
    max_api_keys: String,
    retention_days: String,
    /// The post had a different number of "up to" and price fields: no guessing which
    /// tier lost which.
    ragged_tiers: bool,
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

fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl PlanForm {
    fn blank() -> Self {
        PlanForm {
            currency: "usd".into(),
            monthly_fee: "0".into(),
            tier_mode: "graduated".into(),
            tiers: vec![(String::new(), "0".into()), (String::new(), String::new())],
            limit_mode: "soft".into(),
            retention_days: "30".into(),
            ..PlanForm::default()
        }
    }

    fn from_plan(p: &Plan) -> Self {
        let m = &p.model;
        PlanForm {
            code: m.code.clone(),
            name: m.name.clone(),
            currency: m.currency.clone(),
            monthly_fee: m.monthly_fee.to_string(),
            tier_mode: m.tier_mode.clone(),
            tiers: p
                .tiers
                .iter()
                .map(|t| (opt(t.up_to), t.price_per_1000.to_string()))
                .collect(),
            limit_mode: m.limit_mode.clone(),
            hard_limit: opt(m.hard_limit),
            max_destinations: opt(m.max_destinations),
            max_api_keys: opt(m.max_api_keys),
            retention_days: m.retention_days.to_string(),
            ragged_tiers: false,
        }
    }

    /// The posted fields over `self`; tier rows ticked "remove" are dropped, and a post
    /// without tier fields keeps the tiers.
    fn overlay(mut self, post: &PlanPost) -> Self {
        let set = |slot: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                *slot = v.trim().to_string();
            }
        };
        set(&mut self.code, &post.code);
        set(&mut self.name, &post.name);
        set(&mut self.currency, &post.currency);
        set(&mut self.monthly_fee, &post.monthly_fee);
        set(&mut self.tier_mode, &post.tier_mode);
        set(&mut self.limit_mode, &post.limit_mode);
        set(&mut self.hard_limit, &post.hard_limit);
        set(&mut self.max_destinations, &post.max_destinations);
        set(&mut self.max_api_keys, &post.max_api_keys);
        set(&mut self.retention_days, &post.retention_days);
        if !(post.tier_up_to.is_empty() && post.tier_price.is_empty()) {
            self.ragged_tiers = post.tier_up_to.len() != post.tier_price.len();
            let removed = |i: usize| post.tier_remove.iter().any(|r| r.trim() == i.to_string());
            self.tiers = post
                .tier_up_to
                .iter()
                .zip(&post.tier_price)
                .enumerate()
                .filter(|(i, _)| !removed(*i))
                .map(|(_, (up, price))| (up.trim().to_string(), price.trim().to_string()))
                .collect();
        }
        self
    }

    /// The form as a plan, or the field at fault and why.
    fn to_plan(&self) -> Result<PlanIn, (String, String)> {
        let number = |name: &str, v: &str| -> Result<Option<i64>, (String, String)> {
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse()
                    .map(Some)
                    .map_err(|_| (name.to_string(), format!("{name} must be a whole number")))
            }
        };
        if self.ragged_tiers {
            return Err(fault(
                "tiers",
                "every tier row needs an up to and a price field",
            ));
        }
        let required = |name: &str, v: &str| {
            number(name, v)?.ok_or_else(|| fault(name, &format!("{name} is required")))
        };
        let mut tiers = Vec::new();
        // Blank rows are room to type into, not tiers.
        for (up, price) in self
            .tiers
            .iter()
            .filter(|(up, price)| !(up.is_empty() && price.is_empty()))
        {
            let up_to = number("tiers", up)?;
            let price_per_1000 = number("tiers", price)?
                .ok_or(("tiers".to_string(), "every tier needs a price".to_string()))?;
            tiers.push(Tier {
                up_to,
                price_per_1000,
            });
        }
        // Clamped, not wrapped: an out-of-range count reaches validation, which names
        // the field and its bounds.
        let small = |name: &str, v: &str| {
            number(name, v).map(|n| n.map(|n| n.clamp(i32::MIN.into(), i32::MAX.into()) as i32))
        };
        let plan = PlanIn {
            code: self.code.clone(),
            name: self.name.clone(),
            currency: self.currency.clone(),
            monthly_fee: required("monthly_fee", &self.monthly_fee)?,
            tier_mode: self.tier_mode.clone(),
            tiers,
            limit_mode: self.limit_mode.clone(),
            hard_limit: number("hard_limit", &self.hard_limit)?,
            max_destinations: small("max_destinations", &self.max_destinations)?,
            max_api_keys: small("max_api_keys", &self.max_api_keys)?,
            retention_days: small("retention_days", &self.retention_days)?
                .ok_or_else(|| fault("retention_days", "retention_days is required"))?,
        };
        plans::validate(&plan).map_err(|e| {
            let field = e.field.unwrap_or_default();
            let key = if field.starts_with("tiers") {
                "tiers".to_string()
            } else {
                field
            };
            (key, e.message)
        })?;
        Ok(plan)
    }
}

fn fault(field: &str, message: &str) -> (String, String) {
    (field.to_string(), message.to_string())
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
    match plans::create(&state.db.conn, plan, state.clock.now_ms()).await {
        Ok(created) => {
            record(
                &state,
                &admin,
                Change::new("plan.create", "plan", created.model.id).after(&created.to_out()),
            )
            .await?;
            Ok(see_other(&format!("/admin/plans/{}", created.model.id)))
        }
        Err(e) => {
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
    let updated = plans::update(&state.db.conn, *id, patch, state.clock.now_ms())
        .await
        .map_err(ConsoleError::App)?;
    record(
        &state,
        &admin,
        Change::new("plan.update", "plan", *id)
            .before(&current.to_out())
            .after(&updated.to_out()),
    )
    .await?;
    Ok(see_other(&format!("/admin/plans/{id}")))
}
