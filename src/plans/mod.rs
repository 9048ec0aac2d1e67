//! Pricing plans: stored, validated and listed. A plan's tiers are `[{up_to,
//! price_per_1000}]` with strictly increasing bounds and an open-ended last tier; money
//! is integer minor units. The included quota is the first tier priced 0.

pub mod pricing;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::entities::plans;
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};
use crate::states::LimitMode;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Tier {
    /// Inclusive upper bound in sends per month; `null` for the last, open-ended tier.
    pub up_to: Option<i64>,
    /// Price in minor units per 1,000 sends.
    pub price_per_1000: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    pub code: String,
    pub name: String,
    pub currency: String,
    pub monthly_fee: i64,
    pub tier_mode: String,
    pub tiers: Vec<Tier>,
    pub limit_mode: String,
    pub hard_limit: Option<i64>,
    pub max_destinations: Option<i32>,
    pub max_api_keys: Option<i32>,
    #[serde(default = "default_retention")]
    pub retention_days: i32,
}

/// The most money a plan may name (monthly fee, price per 1,000 sends), in minor units:
/// 10^12, ten billion of a two-decimal currency. Far above any real price, and far
/// enough below `i64::MAX` (~9.2 × 10^18) that a fee plus tier lines cannot wrap.
pub const MAX_MONEY: i64 = 1_000_000_000_000;
/// The highest tier bound or hard limit, in sends per month: 10^12 (about 380,000
/// sends a second for a whole month).
pub const MAX_SENDS: i64 = 1_000_000_000_000;
/// The highest `max_destinations` / `max_api_keys`.
pub const MAX_COUNT_LIMIT: i32 = 10_000;

fn default_retention() -> i32 {
    30
}

/// Partial update; `archived: true` archives the plan (tenants keep it, new ones cannot take it).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub monthly_fee: Option<i64>,
    pub tier_mode: Option<String>,
    pub tiers: Option<Vec<Tier>>,
    pub limit_mode: Option<String>,
    #[serde(default, with = "double_option")]
    pub hard_limit: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    pub max_destinations: Option<Option<i32>>,
    #[serde(default, with = "double_option")]
    pub max_api_keys: Option<Option<i32>>,
    pub retention_days: Option<i32>,
    pub archived: Option<bool>,
}

/// Distinguishes an absent member (no change) from `null` (clear the value).
pub mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanOut {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub monthly_fee: i64,
    pub tier_mode: String,
    pub tiers: Vec<Tier>,
    pub limit_mode: LimitMode,
    pub hard_limit: Option<i64>,
    pub max_destinations: Option<i32>,
    pub max_api_keys: Option<i32>,
    pub retention_days: i32,
    /// Sends per month priced 0 (the first tier, when it is free).
    pub included: i64,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A plan as the domain uses it (limits, tiers).
#[derive(Debug, Clone)]
pub struct Plan {
    pub model: plans::Model,
    pub tiers: Vec<Tier>,
}

impl Plan {
    pub fn from_model(model: plans::Model) -> AppResult<Self> {
        let tiers = serde_json::from_str(&model.tiers)?;
        Ok(Self { model, tiers })
    }

    pub fn included(&self) -> i64 {
        included_quota(&self.tiers)
    }

    pub fn to_out(&self) -> PlanOut {
        let m = &self.model;
        PlanOut {
            id: m.id,
            code: m.code.clone(),
            name: m.name.clone(),
            currency: m.currency.clone(),
            monthly_fee: m.monthly_fee,
            tier_mode: m.tier_mode.clone(),
            tiers: self.tiers.clone(),
            limit_mode: m.limit_mode,
            hard_limit: m.hard_limit,
            max_destinations: m.max_destinations,
            max_api_keys: m.max_api_keys,
            retention_days: m.retention_days,
            included: self.included(),
            archived: m.archived_at.is_some(),
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

/// The included quota: the bound of the first tier when it is priced 0.
pub fn included_quota(tiers: &[Tier]) -> i64 {
    match tiers.first() {
        Some(Tier {
            up_to: Some(bound),
            price_per_1000: 0,
        }) => *bound,
        Some(Tier {
            up_to: None,
            price_per_1000: 0,
        }) => i64::MAX,
        _ => 0,
    }
}

/// Checks a complete plan; the first problem is reported with its field.
pub fn validate(plan: &PlanIn) -> AppResult<()> {
    let code_ok = (1..=40).contains(&plan.code.len())
        && plan
            .code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !code_ok {
        return Err(AppError::invalid(
            "code",
            "code must be 1-40 characters of a-z, 0-9, - and _",
        ));
    }
    if plan.name.trim().is_empty()
        || plan.name.len() > 100
        || plan.name.chars().any(char::is_control)
    {
        return Err(AppError::invalid("name", "name must be 1-100 characters"));
    }
    if plan.currency.len() != 3 || !plan.currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(AppError::invalid(
            "currency",
            "currency must be a 3-letter ISO 4217 code",
        ));
    }
    if !(0..=MAX_MONEY).contains(&plan.monthly_fee) {
        return Err(AppError::invalid(
            "monthly_fee",
            format!("monthly_fee must be between 0 and {MAX_MONEY} (minor units)"),
        ));
    }
    if !matches!(plan.tier_mode.as_str(), "graduated" | "volume") {
        return Err(AppError::invalid(
            "tier_mode",
            "tier_mode must be graduated or volume",
        ));
    }
    validate_tiers(&plan.tiers)?;
    validate_limits(plan)
}

fn validate_tiers(tiers: &[Tier]) -> AppResult<()> {
    if tiers.is_empty() || tiers.len() > 20 {
        return Err(AppError::invalid(
            "tiers",
            "a plan needs between 1 and 20 tiers",
        ));
    }
    let mut previous = 0i64;
    for (i, tier) in tiers.iter().enumerate() {
        let last = i + 1 == tiers.len();
        if !(0..=MAX_MONEY).contains(&tier.price_per_1000) {
            return Err(AppError::invalid(
                format!("tiers[{i}].price_per_1000"),
                format!("price_per_1000 must be between 0 and {MAX_MONEY} (minor units)"),
            ));
        }
        match (tier.up_to, last) {
            (None, true) => {}
            (None, false) => {
                return Err(AppError::invalid(
                    format!("tiers[{i}].up_to"),
                    "only the last tier may be open-ended (null)",
                ));
            }
            (Some(_), true) => {
                return Err(AppError::invalid(
                    format!("tiers[{i}].up_to"),
                    "the last tier must be open-ended (up_to: null)",
                ));
            }
            (Some(bound), false) if bound <= previous => {
                return Err(AppError::invalid(
                    format!("tiers[{i}].up_to"),
                    "up_to must be positive and greater than the previous tier's",
                ));
            }
            (Some(bound), false) if bound > MAX_SENDS => {
                return Err(AppError::invalid(
                    format!("tiers[{i}].up_to"),
                    format!("up_to must be at most {MAX_SENDS} sends"),
                ));
            }
            (Some(bound), false) => previous = bound,
        }
    }
    Ok(())
}

/// The plan's limit mode, or 422 naming `limit_mode`.
fn limit_mode(plan: &PlanIn) -> AppResult<LimitMode> {
    LimitMode::parse(&plan.limit_mode)
        .ok_or_else(|| AppError::invalid("limit_mode", "limit_mode must be soft or hard"))
}

fn validate_limits(plan: &PlanIn) -> AppResult<()> {
    match (limit_mode(plan)?, plan.hard_limit) {
        (LimitMode::Soft, None) => {}
        (LimitMode::Soft, Some(_)) => {
            return Err(AppError::invalid(
                "hard_limit",
                "a soft plan has no hard_limit (null)",
            ));
        }
        (LimitMode::Hard, Some(limit)) if limit > MAX_SENDS => {
            return Err(AppError::invalid(
                "hard_limit",
                format!("hard_limit must be at most {MAX_SENDS} sends"),
            ));
        }
        (LimitMode::Hard, Some(limit)) if limit > 0 => {}
        (LimitMode::Hard, _) => {
            return Err(AppError::invalid(
                "hard_limit",
                "a hard plan needs a positive hard_limit",
            ));
        }
    }
    for (field, value) in [
        ("max_destinations", plan.max_destinations),
        ("max_api_keys", plan.max_api_keys),
    ] {
        if value.is_some_and(|v| !(0..=MAX_COUNT_LIMIT).contains(&v)) {
            return Err(AppError::invalid(
                field,
                format!("{field} must be between 0 and {MAX_COUNT_LIMIT}, or null for no limit"),
            ));
        }
    }
    if !(1..=3650).contains(&plan.retention_days) {
        return Err(AppError::invalid(
            "retention_days",
            "retention_days must be between 1 and 3650",
        ));
    }
    Ok(())
}

pub async fn create(db: &impl ConnectionTrait, input: PlanIn, now: i64) -> AppResult<Plan> {
    validate(&input)?;
    // A code already in use is refused by the unique constraint (`plan_code_taken`, see
    // `error::db`): a read before the insert would let two concurrent creates both pass.
    let mode = limit_mode(&input)?;
    let model = plans::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(input.code),
        name: Set(input.name.trim().to_string()),
        currency: Set(input.currency.to_ascii_lowercase()),
        monthly_fee: Set(input.monthly_fee),
        tier_mode: Set(input.tier_mode),
        tiers: Set(serde_json::to_string(&input.tiers)?),
        limit_mode: Set(mode),
        hard_limit: Set(input.hard_limit),
        max_destinations: Set(input.max_destinations),
        max_api_keys: Set(input.max_api_keys),
        retention_days: Set(input.retention_days),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Plan::from_model(model)
}

pub async fn find_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> AppResult<Option<plans::Model>> {
    Ok(plans::Entity::find()
        .filter(plans::Column::Code.eq(code))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Plan> {
    let model = plans::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("plan"))?;
    Plan::from_model(model)
}

/// The plan of a tenant, if it has one.
pub async fn for_tenant(db: &impl ConnectionTrait, tenant_id: Uuid) -> AppResult<Option<Plan>> {
    let tenant = crate::tenants::get(db, tenant_id).await?;
    match tenant.plan_id {
        Some(id) => Ok(Some(get(db, id).await?)),
        None => Ok(None),
    }
}

pub async fn list(db: &impl ConnectionTrait, page: PageRequest) -> AppResult<Page<PlanOut>> {
    let mut query = plans::Entity::find()
        .order_by_desc(plans::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.before {
        query = query.filter(plans::Column::Id.lt(before));
    }
    let rows = query.all(db).await?;
    let plans: AppResult<Vec<Plan>> = rows.into_iter().map(Plan::from_model).collect();
    Ok(Page::from_rows(
        plans?,
        page,
        |p| p.model.id,
        |p| p.to_out(),
    ))
}

/// Applies a partial update; the merged plan is validated as a whole.
pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    patch: PlanPatch,
    now: i64,
) -> AppResult<Plan> {
    let current = get(db, id).await?;
    let m = &current.model;
    let merged = PlanIn {
        code: m.code.clone(),
        name: patch.name.unwrap_or_else(|| m.name.clone()),
        currency: patch.currency.unwrap_or_else(|| m.currency.clone()),
        monthly_fee: patch.monthly_fee.unwrap_or(m.monthly_fee),
        tier_mode: patch.tier_mode.unwrap_or_else(|| m.tier_mode.clone()),
        tiers: patch.tiers.unwrap_or_else(|| current.tiers.clone()),
        limit_mode: patch.limit_mode.unwrap_or_else(|| m.limit_mode.to_string()),
        hard_limit: patch.hard_limit.unwrap_or(m.hard_limit),
        max_destinations: patch.max_destinations.unwrap_or(m.max_destinations),
        max_api_keys: patch.max_api_keys.unwrap_or(m.max_api_keys),
        retention_days: patch.retention_days.unwrap_or(m.retention_days),
    };
    validate(&merged)?;
    let mode = limit_mode(&merged)?;
    let archived_at = match patch.archived {
        Some(true) => Some(m.archived_at.unwrap_or(now)),
        Some(false) => None,
        None => m.archived_at,
    };
    let mut active: plans::ActiveModel = current.model.clone().into();
    active.name = Set(merged.name.trim().to_string());
    active.currency = Set(merged.currency.to_ascii_lowercase());
    active.monthly_fee = Set(merged.monthly_fee);
    active.tier_mode = Set(merged.tier_mode);
    active.tiers = Set(serde_json::to_string(&merged.tiers)?);
    active.limit_mode = Set(mode);
    active.hard_limit = Set(merged.hard_limit);
    active.max_destinations = Set(merged.max_destinations);
    active.max_api_keys = Set(merged.max_api_keys);
    active.retention_days = Set(merged.retention_days);
    active.archived_at = Set(archived_at);
    active.updated_at = Set(now);
    Plan::from_model(active.update(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn growth() -> PlanIn {
        serde_json::from_value(serde_json::json!({
            "code": "growth", "name": "Growth", "currency": "usd", "monthly_fee": 4900,
            "tier_mode": "graduated",
            "tiers": [{"up_to": 100000, "price_per_1000": 0}, {"up_to": 1000000, "price_per_1000": 50},
                      {"up_to": null, "price_per_1000": 30}],
            "limit_mode": "soft", "hard_limit": null, "max_destinations": 10, "max_api_keys": 10,
            "retention_days": 30}))
        .unwrap()
    }

    fn field_of(plan: PlanIn) -> Option<String> {
        validate(&plan).unwrap_err().field
    }

    #[test]
    fn the_contract_example_plan_is_valid_and_includes_the_free_tier() {
        let plan = growth();
        validate(&plan).unwrap();
        assert_eq!(included_quota(&plan.tiers), 100_000);
    }

    #[test]
    fn tiers_must_increase_and_end_open() {
        let mut plan = growth();
        plan.tiers[1].up_to = Some(100_000);
        assert_eq!(field_of(plan).as_deref(), Some("tiers[1].up_to"));
        let mut plan = growth();
        plan.tiers[2].up_to = Some(5_000_000);
        assert_eq!(field_of(plan).as_deref(), Some("tiers[2].up_to"));
        let mut plan = growth();
        plan.tiers[0].price_per_1000 = -1;
        assert_eq!(field_of(plan).as_deref(), Some("tiers[0].price_per_1000"));
    }

    #[test]
    fn hard_plans_need_a_limit_and_soft_plans_have_none() {
        let mut plan = growth();
        plan.limit_mode = "hard".into();
        assert_eq!(field_of(plan).as_deref(), Some("hard_limit"));
        let mut plan = growth();
        plan.hard_limit = Some(10);
        assert_eq!(field_of(plan).as_deref(), Some("hard_limit"));
    }

    #[test]
    fn money_counts_and_bounds_beyond_the_documented_limits_are_refused_by_field() {
        let mut plan = growth();
        plan.monthly_fee = i64::MAX;
        assert_eq!(field_of(plan).as_deref(), Some("monthly_fee"));
        let mut plan = growth();
        plan.tiers[1].price_per_1000 = MAX_MONEY + 1;
        assert_eq!(field_of(plan).as_deref(), Some("tiers[1].price_per_1000"));
        let mut plan = growth();
        plan.tiers[1].up_to = Some(MAX_SENDS + 1);
        assert_eq!(field_of(plan).as_deref(), Some("tiers[1].up_to"));
        let mut plan = growth();
        (plan.limit_mode, plan.hard_limit) = ("hard".into(), Some(i64::MAX));
        assert_eq!(field_of(plan).as_deref(), Some("hard_limit"));
        let mut plan = growth();
        plan.max_api_keys = Some(i32::MAX);
        assert_eq!(field_of(plan).as_deref(), Some("max_api_keys"));
        let mut plan = growth();
        plan.monthly_fee = MAX_MONEY;
        plan.tiers[1].up_to = Some(MAX_SENDS - 1);
        plan.tiers[2].price_per_1000 = MAX_MONEY;
        validate(&plan).expect("the limits themselves are allowed");
    }

    #[test]
    fn a_paid_first_tier_includes_nothing() {
        let tiers = vec![Tier {
            up_to: None,
            price_per_1000: 10,
        }];
        assert_eq!(included_quota(&tiers), 0);
    }
}
