//! Tenants (the operator's customers) and their settings. Every tenant-owned query in
//! Kickin is scoped by a `tenant_id` taken from the authenticated context, never from input.
//! Creating a tenant with a plan, or changing its plan, also records the assignment with
//! its time ([`assignments`]) in the same transaction: billing prices a past month with
//! the plan the tenant had then, not the one it has now.

pub mod api_keys;
pub mod auth;
pub mod context;

use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::billing::assignments;
use crate::clock::rfc3339;
use crate::db::WriteTxn;
use crate::entities::tenants;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::page::{Page, PageRequest};
use crate::plans;
use crate::states::ConsentPolicy;

pub use context::{Scope, TenantContext};

/// Meta deduplicates pixel and server events for 48 hours; a shorter window would
/// forward duplicates that Meta would still count.
pub const MIN_DEDUP_WINDOW_HOURS: i32 = 48;
pub const DEFAULT_DEDUP_WINDOW_HOURS: i32 = 168;
pub const MAX_DEDUP_WINDOW_HOURS: i32 = 24 * 365;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantIn {
    pub name: String,
    pub plan_id: Option<Uuid>,
    pub status: Option<String>,
    pub require_event_id: Option<bool>,
    pub dedup_window_hours: Option<i32>,
    /// Match rate (0-1) under which a daily dedup alert is recorded; default 0.8.
    pub dedup_alert_threshold: Option<f64>,
    /// Fill a server event's missing fbp/fbc from its matched browser observation.
    pub browser_enrichment: Option<bool>,
    /// Events posted to the Meta-compatible endpoint (`/{version}/{pixel_id}/events`)
    /// also go to the tenant's other destinations; default false (that pixel only).
    pub meta_endpoint_fanout: Option<bool>,
    /// `forward` (default) or `enforce`: events without `ad_user_data: granted` skip
    /// Meta and TikTok (`consent_denied`).
    pub consent_policy: Option<ConsentPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub name: Option<String>,
    #[serde(default, with = "plans::double_option")]
    pub plan_id: Option<Option<Uuid>>,
    pub status: Option<String>,
    pub require_event_id: Option<bool>,
    pub dedup_window_hours: Option<i32>,
    pub dedup_alert_threshold: Option<f64>,
    pub browser_enrichment: Option<bool>,
    pub meta_endpoint_fanout: Option<bool>,
    pub consent_policy: Option<ConsentPolicy>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantOut {
    pub id: Uuid,
    pub name: String,
    pub plan_id: Option<Uuid>,
    pub status: String,
    pub require_event_id: bool,
    pub dedup_window_hours: i32,
    pub dedup_alert_threshold: f64,
    pub browser_enrichment: bool,
    /// Events posted to the Meta-compatible endpoint also go to the other destinations.
    pub meta_endpoint_fanout: bool,
    /// `forward` or `enforce`.
    pub consent_policy: ConsentPolicy,
    pub created_at: String,
    pub updated_at: String,
}

impl From<tenants::Model> for TenantOut {
    fn from(m: tenants::Model) -> Self {
        TenantOut {
            id: m.id,
            name: m.name,
            plan_id: m.plan_id,
            status: m.status,
            require_event_id: m.require_event_id,
            dedup_window_hours: m.dedup_window_hours,
            dedup_alert_threshold: f64::from(m.dedup_alert_threshold_bp) / 10_000.0,
            browser_enrichment: m.browser_enrichment,
            meta_endpoint_fanout: m.meta_endpoint_fanout,
            consent_policy: m.consent_policy,
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "name must be 1-200 characters"));
    }
    Ok(name.to_string())
}

fn check_status(status: &str) -> AppResult<()> {
    match status {
        "active" | "suspended" => Ok(()),
        _ => Err(AppError::invalid(
            "status",
            "status must be active or suspended",
        )),
    }
}

fn check_window(hours: i32) -> AppResult<()> {
    if (MIN_DEDUP_WINDOW_HOURS..=MAX_DEDUP_WINDOW_HOURS).contains(&hours) {
        return Ok(());
    }
    Err(AppError::invalid(
        "dedup_window_hours",
        format!(
            "dedup_window_hours must be between {MIN_DEDUP_WINDOW_HOURS} (Meta's pixel window) and {MAX_DEDUP_WINDOW_HOURS}"
        ),
    ))
}

/// The default match-rate alert threshold, 80 %, in basis points.
pub const DEFAULT_DEDUP_ALERT_THRESHOLD_BP: i32 = 8_000;

/// A match rate between 0 and 1, kept in basis points.
fn check_threshold(threshold: f64) -> AppResult<i32> {
    if threshold.is_finite() && (0.0..=1.0).contains(&threshold) {
        return Ok((threshold * 10_000.0).round() as i32);
    }
    Err(AppError::invalid(
        "dedup_alert_threshold",
        "dedup_alert_threshold must be a match rate between 0 and 1",
    ))
}

async fn check_plan(db: &impl ConnectionTrait, plan_id: Uuid) -> AppResult<()> {
    match plans::get(db, plan_id).await {
        Ok(plan) if plan.model.archived_at.is_none() => Ok(()),
        Ok(_) => Err(AppError::invalid("plan_id", "this plan is archived")),
        Err(e) if e.kind == ErrorKind::NotFound => {
            Err(AppError::invalid("plan_id", "no plan has this id"))
        }
        Err(e) => Err(e),
    }
}

/// Creates a tenant (and its first plan assignment) in the caller's write transaction.
pub async fn create(txn: &WriteTxn, input: TenantIn, now: i64) -> AppResult<tenants::Model> {
    let name = check_name(&input.name)?;
    let status = input.status.unwrap_or_else(|| "active".into());
    check_status(&status)?;
    let window = input
        .dedup_window_hours
        .unwrap_or(DEFAULT_DEDUP_WINDOW_HOURS);
    check_window(window)?;
    let threshold_bp = match input.dedup_alert_threshold {
        Some(t) => check_threshold(t)?,
        None => DEFAULT_DEDUP_ALERT_THRESHOLD_BP,
    };
    let db: &DatabaseTransaction = txn;
    if let Some(plan_id) = input.plan_id {
        check_plan(db, plan_id).await?;
    }
    let model = tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        plan_id: Set(input.plan_id),
        status: Set(status),
        require_event_id: Set(input.require_event_id.unwrap_or(true)),
        dedup_window_hours: Set(window),
        stripe_customer_id: Set(None),
        dedup_alert_threshold_bp: Set(threshold_bp),
        browser_enrichment: Set(input.browser_enrichment.unwrap_or(false)),
        meta_endpoint_fanout: Set(input.meta_endpoint_fanout.unwrap_or(false)),
        consent_policy: Set(input.consent_policy.unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let tenant = model.insert(db).await?;
    if tenant.plan_id.is_some() {
        assignments::record(db, tenant.id, tenant.plan_id, now).await?;
    }
    Ok(tenant)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<tenants::Model> {
    tenants::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("tenant"))
}

/// Lists tenants newest first; `search` matches a part of the name (case-insensitive).
pub async fn list(
    db: &impl ConnectionTrait,
    page: PageRequest,
    search: Option<&str>,
) -> AppResult<Page<TenantOut>> {
    let mut query = tenants::Entity::find()
        .order_by_desc(tenants::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.before {
        query = query.filter(tenants::Column::Id.lt(before));
    }
    if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", term.to_lowercase().replace(['%', '_'], ""));
        query = query.filter(
            sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                sea_orm::sea_query::Expr::col(tenants::Column::Name),
            ))
            .like(pattern),
        );
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(rows, page, |t| t.id, TenantOut::from))
}

/// Applies a patch (and records a plan change) in the caller's write transaction.
pub async fn update(
    txn: &WriteTxn,
    id: Uuid,
    patch: TenantPatch,
    now: i64,
) -> AppResult<tenants::Model> {
    let db: &DatabaseTransaction = txn;
    let current = get(db, id).await?;
    let plan_before = current.plan_id;
    let current_plan = current.plan_id;
    let mut active: tenants::ActiveModel = current.into();
    if let Some(name) = patch.name {
        active.name = Set(check_name(&name)?);
    }
    if let Some(status) = patch.status {
        check_status(&status)?;
        active.status = Set(status);
    }
    if let Some(window) = patch.dedup_window_hours {
        check_window(window)?;
        active.dedup_window_hours = Set(window);
    }
    if let Some(require) = patch.require_event_id {
        active.require_event_id = Set(require);
    }
    if let Some(threshold) = patch.dedup_alert_threshold {
        active.dedup_alert_threshold_bp = Set(check_threshold(threshold)?);
    }
    if let Some(enrich) = patch.browser_enrichment {
        active.browser_enrichment = Set(enrich);
    }
    if let Some(fanout) = patch.meta_endpoint_fanout {
        active.meta_endpoint_fanout = Set(fanout);
    }
    if let Some(policy) = patch.consent_policy {
        active.consent_policy = Set(policy);
    }
    // Keeping the plan it has is no change, even when that plan is archived since
    // (tenants on an archived plan keep it).
    if let Some(plan_id) = patch.plan_id.filter(|p| *p != current_plan) {
        if let Some(plan_id) = plan_id {
            check_plan(db, plan_id).await?;
        }
        active.plan_id = Set(plan_id);
    }
    active.updated_at = Set(now);
    let tenant = active.update(db).await?;
    if tenant.plan_id != plan_before {
        assignments::record(db, id, tenant.plan_id, now).await?;
    }
    Ok(tenant)
}
