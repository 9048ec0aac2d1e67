//! The plan form: what a post carries (`PlanPost`, typed; an absent field is `None`),
//! the form as typed (`PlanForm`, re-rendered exactly after an error), and the step from
//! one to a validated plan with the field at fault.

use serde::Deserialize;

use crate::plans::{self, Plan, PlanIn, Tier};
use crate::states::LimitMode;

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
    pub(super) fn action(&self) -> &str {
        self.action.as_deref().unwrap_or_default()
    }
}

/// The form as typed, so it re-renders exactly after an error.
#[derive(Default, Clone)]
pub struct PlanForm {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) currency: String,
    pub(super) monthly_fee: String,
    pub(super) tier_mode: String,
    pub(super) tiers: Vec<(String, String)>,
    pub(super) limit_mode: String,
    pub(super) hard_limit: String,
    pub(super) max_destinations: String,
    pub(super) max_api_keys: String,
    pub(super) retention_days: String,
    /// The post had a different number of "up to" and price fields: no guessing which
    /// tier lost which.
    ragged_tiers: bool,
}

fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl PlanForm {
    pub(super) fn blank() -> Self {
        PlanForm {
            currency: "usd".into(),
            monthly_fee: "0".into(),
            tier_mode: "graduated".into(),
            tiers: vec![(String::new(), "0".into()), (String::new(), String::new())],
            limit_mode: LimitMode::Soft.to_string(),
            retention_days: "30".into(),
            ..PlanForm::default()
        }
    }

    pub(super) fn from_plan(p: &Plan) -> Self {
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
            limit_mode: m.limit_mode.to_string(),
            hard_limit: opt(m.hard_limit),
            max_destinations: opt(m.max_destinations),
            max_api_keys: opt(m.max_api_keys),
            retention_days: m.retention_days.to_string(),
            ragged_tiers: false,
        }
    }

    /// The posted fields over `self`; tier rows ticked "remove" are dropped, and a post
    /// without tier fields keeps the tiers.
    pub(super) fn overlay(mut self, post: &PlanPost) -> Self {
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
    pub(super) fn to_plan(&self) -> Result<PlanIn, (String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> PlanPost {
        serde_html_form::from_str(body).unwrap()
    }

    fn stored() -> PlanForm {
        PlanForm {
            code: "growth".into(),
            name: "Growth".into(),
            currency: "usd".into(),
            monthly_fee: "4900".into(),
            tier_mode: "graduated".into(),
            tiers: vec![("1000".into(), "0".into()), (String::new(), "30".into())],
            limit_mode: LimitMode::Soft.to_string(),
            max_destinations: "10".into(),
            retention_days: "60".into(),
            ..PlanForm::default()
        }
    }

    #[test]
    fn a_post_overlays_only_the_fields_it_carries() {
        let form = stored().overlay(&post("name=Renamed&max_destinations="));
        let plan = form.to_plan().unwrap();
        assert_eq!((plan.name.as_str(), plan.monthly_fee), ("Renamed", 4900));
        assert_eq!(plan.max_destinations, None, "cleared on the form: cleared");
        assert_eq!((plan.retention_days, plan.tiers.len()), (60, 2));
    }

    #[test]
    fn removed_rows_go_and_ragged_rows_are_refused() {
        let body = "tier_up_to=1000&tier_price=0&tier_up_to=5000&tier_price=9\
                    &tier_up_to=&tier_price=30&tier_remove=1";
        let plan = stored().overlay(&post(body)).to_plan().unwrap();
        assert_eq!(plan.tiers.len(), 2);
        assert_eq!(plan.tiers[1].price_per_1000, 30);
        let ragged = "tier_up_to=1000&tier_price=0&tier_price=30";
        let fault = stored().overlay(&post(ragged)).to_plan().unwrap_err();
        assert_eq!(fault.0, "tiers");
    }
}
