//! Match keys per destination kind: of the period's events queued for a kind, the share
//! carrying each key Meta matches people with (email, phone, external id, fbp, fbc, IP,
//! user agent), and an estimate of Meta's Event Match Quality. Counted at ingest into
//! the per-day diagnostics counters (code `match_events` with the kind, `match_key` with
//! `kind:key`), in the same transaction as the events, so a report reads counters only.
//! An event is counted once per kind, however many destinations of the kind it reaches;
//! fbp/fbc added later by browser enrichment are not counted (the server did not send
//! them).

use std::collections::BTreeMap;

use serde::Serialize;

use super::diagnostics::{Counters, Detail};
use crate::ingest::ValidatedEvent;

/// The keys reported, with the weight each has in the estimate (they sum to 10). Meta
/// publishes no formula: it names email, IP address, names and phone as the keys of
/// most value (spec §1.10) and `fbc` ties an event to the ad click; so email weighs
/// most, then phone and IP, then the click id, and the browser-level keys least.
pub const WEIGHTS: [(&str, f64); 7] = [
    ("em", 3.0),
    ("ph", 2.0),
    ("client_ip_address", 2.0),
    ("fbc", 1.5),
    ("external_id", 0.5),
    ("fbp", 0.5),
    ("client_user_agent", 0.5),
];

const HASHED: [&str; 3] = ["em", "ph", "external_id"];

/// The reported keys an event carries.
pub fn keys_of(event: &ValidatedEvent) -> impl Iterator<Item = &'static str> + '_ {
    WEIGHTS.iter().map(|(key, _)| *key).filter(|key| {
        if HASHED.contains(key) {
            event.user_data.hashed.contains_key(*key)
        } else {
            event.user_data.identifiers.contains_key(*key)
        }
    })
}

/// Counts one event queued for each kind of `kinds` (distinct).
pub fn count(c: &mut Counters<'_>, event: &ValidatedEvent, kinds: &[&'static str]) {
    for &kind in kinds {
        c.add("match_events", None, kind);
        for key in keys_of(event) {
            c.add_detail("match_key", None, Detail::KindKey(kind, key));
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KindMatchKeys {
    /// Events queued for this kind in the period.
    pub events: i64,
    /// Per key (`em`, `ph`, `external_id`, `fbp`, `fbc`, `client_ip_address`,
    /// `client_user_agent`, every one present): events carrying it / `events`.
    #[schema(value_type = MatchKeyShares)]
    pub share: BTreeMap<String, f64>,
    /// 0–10 with one decimal: the weighted sum of the shares (`WEIGHTS`, see the
    /// README); Kickin's estimate, not Meta's Event Match Quality score.
    #[schema(minimum = 0, maximum = 10)]
    pub quality_estimate: f64,
}

/// The OpenAPI shape of `share`: one share (0–1) per reported key.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MatchKeyShares {
    #[schema(minimum = 0, maximum = 1)]
    em: f64,
    #[schema(minimum = 0, maximum = 1)]
    ph: f64,
    #[schema(minimum = 0, maximum = 1)]
    external_id: f64,
    #[schema(minimum = 0, maximum = 1)]
    fbp: f64,
    #[schema(minimum = 0, maximum = 1)]
    fbc: f64,
    #[schema(minimum = 0, maximum = 1)]
    client_ip_address: f64,
    #[schema(minimum = 0, maximum = 1)]
    client_user_agent: f64,
}

impl KindMatchKeys {
    /// The share of `key` in whole percent, for pages.
    pub fn percent(&self, key: &str) -> String {
        let share = self.share.get(key).copied().unwrap_or_default();
        format!("{:.0}", share * 100.0)
    }

    /// The estimate with its one decimal, for pages.
    pub fn estimate(&self) -> String {
        format!("{:.1}", self.quality_estimate)
    }
}

/// Sums the counters of a period into the report, kind by kind.
#[derive(Debug, Default)]
pub struct Tally {
    events: BTreeMap<String, i64>,
    keys: BTreeMap<(String, String), i64>,
}

impl Tally {
    /// Takes a counter row if it is a match-key one.
    pub fn add(&mut self, code: &str, detail: &str, total: i64) {
        match code {
            "match_events" => *self.events.entry(detail.to_string()).or_default() += total,
            "match_key" => {
                if let Some((kind, key)) = detail.split_once(':') {
                    let entry = (kind.to_string(), key.to_string());
                    *self.keys.entry(entry).or_default() += total;
                }
            }
            _ => {}
        }
    }

    pub fn report(&self) -> BTreeMap<String, KindMatchKeys> {
        let mut out = BTreeMap::new();
        for (kind, &events) in &self.events {
            let share: BTreeMap<String, f64> = (WEIGHTS.iter())
                .map(|(key, _)| {
                    let n = self.keys.get(&(kind.clone(), (*key).into())).copied();
                    ((*key).to_string(), ratio(n.unwrap_or(0), events))
                })
                .collect();
            let score: f64 = WEIGHTS.iter().map(|(key, w)| w * share[*key]).sum();
            let kind_keys = KindMatchKeys {
                events,
                quality_estimate: (score * 10.0).round() / 10.0,
                share,
            };
            out.insert(kind.clone(), kind_keys);
        }
        out
    }
}

fn ratio(n: i64, of: i64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_sum_to_ten() {
        let sum: f64 = WEIGHTS.iter().map(|(_, w)| w).sum();
        assert!((sum - 10.0).abs() < 1e-9);
    }

    #[test]
    fn shares_and_estimate_follow_the_counted_events() {
        let mut t = Tally::default();
        t.add("match_events", "meta_capi", 4);
        t.add("match_key", "meta_capi:em", 4);
        t.add("match_key", "meta_capi:ph", 1);
        t.add("match_key", "meta_capi:fbc", 2);
        t.add("queued", "", 9);
        let report = t.report();
        let meta = &report["meta_capi"];
        assert_eq!(meta.events, 4);
        assert_eq!(meta.share["em"], 1.0);
        assert_eq!(meta.share["ph"], 0.25);
        assert_eq!(meta.share["fbc"], 0.5);
        assert_eq!(meta.share["client_user_agent"], 0.0);
        // 3 × 1 + 2 × 0.25 + 1.5 × 0.5 = 4.25 → 4.3 (one decimal)
        assert_eq!(meta.quality_estimate, 4.3);
        assert_eq!(report.len(), 1);
    }
}
