//! Tier pricing as pure functions — the one place prices are computed, used by usage
//! projections and invoices. Money is integer minor units. A line's amount is
//! units × price_per_1000 / 1000, rounded half up to the minor unit. The arithmetic
//! saturates at `i64::MAX` instead of wrapping or panicking: plan validation keeps new
//! prices far below that (`plans::MAX_MONEY`), but a stored plan or a meter is never
//! trusted to have been validated.

use serde::Serialize;

use super::Tier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMode {
    /// Each tier prices the units inside it.
    Graduated,
    /// All units at the price of the tier the total falls in.
    Volume,
}

impl TierMode {
    pub fn parse(s: &str) -> Option<TierMode> {
        match s {
            "graduated" => Some(TierMode::Graduated),
            "volume" => Some(TierMode::Volume),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub description: String,
    pub quantity: i64,
    pub unit_price_per_1000: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Priced {
    pub currency: String,
    pub lines: Vec<Line>,
    pub total: i64,
}

/// units × price / 1000, rounded half up (all operands are non-negative), saturated
/// into `i64`.
pub fn line_amount(units: i64, price_per_1000: i64) -> i64 {
    let exact = i128::from(units) * i128::from(price_per_1000);
    let rounded = (exact + 500) / 1000;
    rounded.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

fn bounds(tiers: &[Tier]) -> impl Iterator<Item = (i64, Option<i64>, &Tier)> {
    let mut lower = 0;
    tiers.iter().map(move |t| {
        let from = lower;
        lower = t.up_to.unwrap_or(i64::MAX);
        (from, t.up_to, t)
    })
}

fn describe(from: i64, to: Option<i64>) -> String {
    match to {
        Some(to) => format!("sends {}–{}", from.saturating_add(1), to),
        None => format!("sends above {from}"),
    }
}

/// Tier lines for `units` sends (lines with no units are left out).
pub fn tier_lines(mode: TierMode, tiers: &[Tier], units: i64) -> Vec<Line> {
    let units = units.max(0);
    match mode {
        TierMode::Graduated => bounds(tiers)
            .filter(|(from, _, _)| units > *from)
            .map(|(from, to, tier)| {
                let quantity = to
                    .map_or(units, |to| units.min(to))
                    .saturating_sub(from)
                    .max(0);
                let amount = line_amount(quantity, tier.price_per_1000);
                Line {
                    description: describe(from, to),
                    quantity,
                    unit_price_per_1000: tier.price_per_1000,
                    amount,
                }
            })
            .collect(),
        TierMode::Volume => bounds(tiers)
            .find(|(_, to, _)| to.is_none_or(|to| units <= to))
            .filter(|_| units > 0)
            .map(|(from, to, tier)| {
                let description = format!("all {units} sends at the {} tier", describe(from, to));
                vec![Line {
                    description,
                    quantity: units,
                    unit_price_per_1000: tier.price_per_1000,
                    amount: line_amount(units, tier.price_per_1000),
                }]
            })
            .unwrap_or_default(),
    }
}

/// The monthly fee line plus the tier lines; the total is the sum of the lines.
pub fn price(
    currency: &str,
    monthly_fee: i64,
    mode: TierMode,
    tiers: &[Tier],
    units: i64,
) -> Priced {
    let mut lines = vec![Line {
        description: "monthly fee".into(),
        quantity: 1,
        unit_price_per_1000: 0,
        amount: monthly_fee,
    }];
    lines.extend(tier_lines(mode, tiers, units));
    let total = lines
        .iter()
        .fold(0i64, |sum, l| sum.saturating_add(l.amount));
    Priced {
        currency: currency.to_string(),
        lines,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn growth() -> Vec<Tier> {
        vec![
            Tier {
                up_to: Some(100_000),
                price_per_1000: 0,
            },
            Tier {
                up_to: Some(1_000_000),
                price_per_1000: 50,
            },
            Tier {
                up_to: None,
                price_per_1000: 30,
            },
        ]
    }

    #[test]
    fn graduated_prices_each_tier_its_own_units() {
        let lines = tier_lines(TierMode::Graduated, &growth(), 1_500_000);
        let q: Vec<i64> = lines.iter().map(|l| l.quantity).collect();
        assert_eq!(q, [100_000, 900_000, 500_000]);
        assert_eq!(lines.iter().map(|l| l.amount).sum::<i64>(), 45_000 + 15_000);
    }

    #[test]
    fn volume_prices_all_units_at_the_reached_tier() {
        let lines = tier_lines(TierMode::Volume, &growth(), 1_500_000);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].amount, 45_000);
        assert_eq!(
            tier_lines(TierMode::Volume, &growth(), 1_000_000)[0].unit_price_per_1000,
            50
        );
        assert_eq!(
            tier_lines(TierMode::Volume, &growth(), 100_000)[0].amount,
            0
        );
    }

    #[test]
    fn half_a_minor_unit_rounds_up() {
        assert_eq!(line_amount(1, 500), 1); // 0.5 → 1
        assert_eq!(line_amount(1, 499), 0); // 0.499 → 0
        assert_eq!(line_amount(3, 500), 2); // 1.5 → 2
    }

    #[test]
    fn zero_usage_still_pays_the_fee() {
        let priced = price("usd", 4900, TierMode::Graduated, &growth(), 0);
        assert_eq!(priced.total, 4900);
        assert_eq!(priced.lines.len(), 1);
    }

    #[test]
    fn the_largest_allowed_prices_saturate_instead_of_overflowing() {
        use crate::plans::{MAX_MONEY, MAX_SENDS};
        let tiers = vec![
            Tier {
                up_to: Some(MAX_SENDS),
                price_per_1000: MAX_MONEY,
            },
            Tier {
                up_to: None,
                price_per_1000: MAX_MONEY,
            },
        ];
        for mode in [TierMode::Graduated, TierMode::Volume] {
            let priced = price("usd", MAX_MONEY, mode, &tiers, i64::MAX);
            assert_eq!(priced.total, i64::MAX, "{mode:?}");
            // 10^12 sends at 10^12 per 1,000 = 10^21 minor units, beyond i64: saturated.
            let priced = price("usd", MAX_MONEY, mode, &tiers, MAX_SENDS);
            assert_eq!(priced.total, i64::MAX, "{mode:?}");
        }
        let priced = price("usd", MAX_MONEY, TierMode::Graduated, &tiers, 1_000);
        assert_eq!(priced.total, 2 * MAX_MONEY, "exact while it fits");
    }

    proptest! {
        #[test]
        fn no_stored_plan_or_meter_value_panics_or_wraps(
            fee in any::<i64>(), first in any::<i64>(), up_to in any::<i64>(),
            last in any::<i64>(), units in any::<i64>(),
        ) {
            let tiers = vec![
                Tier { up_to: Some(up_to), price_per_1000: first },
                Tier { up_to: None, price_per_1000: last },
            ];
            for mode in [TierMode::Graduated, TierMode::Volume] {
                let priced = price("usd", fee, mode, &tiers, units);
                let non_negative = fee >= 0 && first >= 0 && last >= 0;
                prop_assert!(!non_negative || priced.total >= 0, "wrapped: {:?}", priced);
            }
        }

        #[test]
        fn totals_equal_the_sum_of_lines_and_quantities_the_units(units in 0i64..5_000_000, fee in 0i64..100_000) {
            for mode in [TierMode::Graduated, TierMode::Volume] {
                let priced = price("usd", fee, mode, &growth(), units);
                prop_assert_eq!(priced.total, priced.lines.iter().map(|l| l.amount).sum::<i64>());
                prop_assert_eq!(priced.lines.iter().skip(1).map(|l| l.quantity).sum::<i64>(), units);
            }
        }

        #[test]
        fn graduated_never_exceeds_volume_for_falling_prices(units in 0i64..5_000_000) {
            let tiers = vec![
                Tier { up_to: Some(10_000), price_per_1000: 90 },
                Tier { up_to: Some(200_000), price_per_1000: 60 },
                Tier { up_to: None, price_per_1000: 20 },
            ];
            let graduated: i64 = tier_lines(TierMode::Graduated, &tiers, units).iter().map(|l| l.amount).sum();
            let at_top: i64 = line_amount(units, 90);
            prop_assert!(graduated <= at_top + 3, "graduated {} vs all units at the top price {}", graduated, at_top);
        }
    }
}
