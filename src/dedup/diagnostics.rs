//! Per-tenant, per-day counters of what ingest decided (accepted, duplicates, skips by
//! reason, rejections by code, warnings, case mismatches by name, match keys by kind),
//! and the report built from them for `GET /v1/diagnostics`. Counters are summed in
//! memory per request and upserted in the commit that stores its events (one insert for
//! a whole commit group), so they commit exactly when the events do.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use uuid::Uuid;

use super::match_keys::{KindMatchKeys, Tally};
use crate::bulk::{Bulk, Col};

/// What a counter counts beyond its code: a text, or a destination kind and a match key
/// (stored as `kind:key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detail<'a> {
    Text(&'a str),
    KindKey(&'static str, &'static str),
}

impl Detail<'_> {
    fn render(self) -> String {
        match self {
            Detail::Text(text) => text.to_string(),
            Detail::KindKey(kind, key) => format!("{kind}:{key}"),
        }
    }
}

/// Counter key: (code, destination, detail). Borrowed from the requests being counted,
/// so counting allocates only for a key not seen before in the commit.
pub type CounterKey<'a> = (&'static str, Option<Uuid>, Detail<'a>);

#[derive(Debug, Default)]
pub struct Counters<'a>(pub HashMap<CounterKey<'a>, i64>);

impl<'a> Counters<'a> {
    pub fn add(&mut self, code: &'static str, destination: Option<Uuid>, detail: &'a str) {
        self.add_detail(code, destination, Detail::Text(detail));
    }

    pub fn add_detail(
        &mut self,
        code: &'static str,
        destination: Option<Uuid>,
        detail: Detail<'a>,
    ) {
        *self.0.entry((code, destination, detail)).or_default() += 1;
    }
}

/// The counter rows of several tenants and days, upserted by ONE insert (`into_bulk`).
#[derive(Default)]
pub struct CounterRows(Vec<CounterRow>);

/// (tenant, day, code, destination id or "", detail or "", count): sorted by key.
type CounterRow = (Uuid, String, String, String, String, i64);

impl CounterRows {
    /// Adds one tenant's counters of one day.
    pub fn add(&mut self, tenant_id: Uuid, day: &str, counters: &Counters<'_>) {
        for ((code, destination, detail), count) in &counters.0 {
            let destination = destination.map(|d| d.to_string()).unwrap_or_default();
            let (code, day, detail) = (code.to_string(), day.to_string(), detail.render());
            self.0
                .push((tenant_id, day, code, destination, detail, *count));
        }
    }

    /// The upsert, rows sorted so concurrent commits lock them in one order (each row
    /// is a distinct key, so no row is hit twice).
    pub fn into_bulk(mut self) -> Bulk {
        self.0.sort();
        let n = self.0.len();
        let (mut tenant, mut day, mut code) = (Vec::with_capacity(n), Vec::new(), Vec::new());
        let (mut destination, mut detail, mut count) = (Vec::new(), Vec::new(), Vec::new());
        for (t, d, c, dest, det, n) in self.0 {
            tenant.push(t);
            day.push(d);
            code.push(c);
            destination.push(dest);
            detail.push(det);
            count.push(n);
        }
        Bulk {
            table: "diagnostic_counts",
            columns: vec![
                ("tenant_id", Col::Uuid(tenant)),
                ("day", Col::Text(day)),
                ("code", Col::Text(code)),
                ("destination_id", Col::Text(destination)),
                ("detail", Col::Text(detail)),
                ("count", Col::BigInt(count)),
            ],
            suffix: " ON CONFLICT (tenant_id, day, code, destination_id, detail) DO UPDATE SET \
                     count = diagnostic_counts.count + excluded.count"
                .to_string(),
        }
    }
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct EventTotals {
    pub received: i64,
    pub accepted: i64,
    pub duplicate: i64,
    pub skipped: i64,
    pub rejected: i64,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DestinationDiagnostics {
    pub destination_id: String,
    pub queued: i64,
    pub duplicates: i64,
    pub skipped: BTreeMap<String, i64>,
    /// The period's deliveries to this destination by state now: `succeeded`,
    /// `pending`, `paused`, `failed`, `dead` or `unconfirmed` (outcome unknown, not resent).
    pub deliveries: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseMismatch {
    pub event_name: String,
    pub standard_name: String,
    pub count: i64,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DiagnosticsReport {
    pub period: String,
    pub events: EventTotals,
    /// Duplicate events / (accepted + duplicate events), 0 when nothing arrived.
    pub duplicate_rate: f64,
    pub warnings: BTreeMap<String, i64>,
    pub rejections: BTreeMap<String, i64>,
    pub skips: BTreeMap<String, i64>,
    pub destinations: Vec<DestinationDiagnostics>,
    pub event_name_case_mismatches: Vec<CaseMismatch>,
    /// Per destination kind, over the period's events queued for it: the share of
    /// events carrying each match key and an estimate of Meta's match quality.
    pub match_keys: BTreeMap<String, KindMatchKeys>,
}

/// Sums a tenant's counters over a month (`YYYY-MM`).
pub async fn report(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> Result<DiagnosticsReport, DbErr> {
    let select = Query::select()
        .columns(["code", "destination_id", "detail"])
        .expr_as(Expr::cust("CAST(SUM(count) AS BIGINT)"), "total")
        .from("diagnostic_counts")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("day").like(format!("{period}-%")))
        .group_by_columns(["code", "destination_id", "detail"])
        .to_owned();
    let mut report = DiagnosticsReport {
        period: period.to_string(),
        ..Default::default()
    };
    let mut by_destination: BTreeMap<String, DestinationDiagnostics> = BTreeMap::new();
    let mut match_keys = Tally::default();
    for row in db.query_all(&select).await? {
        let code: String = row.try_get("", "code")?;
        let destination: String = row.try_get("", "destination_id")?;
        let detail: String = row.try_get("", "detail")?;
        let total: i64 = row.try_get("", "total")?;
        match_keys.add(&code, &detail, total);
        apply(
            &mut report,
            &mut by_destination,
            &code,
            destination,
            detail,
            total,
        );
    }
    for (destination, status, n) in delivery_states(db, tenant_id, period).await? {
        dest(&mut by_destination, destination)
            .deliveries
            .insert(status, n);
    }
    report.destinations = by_destination.into_values().collect();
    report.match_keys = match_keys.report();
    let seen = report.events.accepted + report.events.duplicate;
    report.duplicate_rate = if seen == 0 {
        0.0
    } else {
        report.events.duplicate as f64 / seen as f64
    };
    Ok(report)
}

/// The period's deliveries per destination and state (`succeeded`, `pending`,
/// `unconfirmed`, …), from the deliveries themselves.
async fn delivery_states(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> Result<Vec<(String, String, i64)>, DbErr> {
    let start = crate::metering::usage::period_start_ms(period);
    let end = crate::metering::usage::period_end_ms(period);
    let select = Query::select()
        .columns(["destination_id", "status"])
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from("deliveries")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .cond_where(crate::deliveries::created::between(start, Some(end)))
        .group_by_columns(["destination_id", "status"])
        .to_owned();
    let mut out = Vec::new();
    for row in db.query_all(&select).await? {
        let destination: Uuid = row.try_get("", "destination_id")?;
        out.push((
            destination.to_string(),
            row.try_get("", "status")?,
            row.try_get("", "n")?,
        ));
    }
    Ok(out)
}

fn dest(
    by_destination: &mut BTreeMap<String, DestinationDiagnostics>,
    d: String,
) -> &mut DestinationDiagnostics {
    by_destination
        .entry(d.clone())
        .or_insert_with(|| DestinationDiagnostics {
            destination_id: d,
            ..Default::default()
        })
}

fn apply(
    report: &mut DiagnosticsReport,
    by_destination: &mut BTreeMap<String, DestinationDiagnostics>,
    code: &str,
    destination: String,
    detail: String,
    total: i64,
) {
    match code {
        "received" => report.events.received += total,
        "accepted" => report.events.accepted += total,
        "duplicate_event" => report.events.duplicate += total,
        "skipped_event" => report.events.skipped += total,
        "rejected" => {
            report.events.rejected += total;
            *report.rejections.entry(detail).or_default() += total;
        }
        "warning" => *report.warnings.entry(detail).or_default() += total,
        "queued" => dest(by_destination, destination).queued += total,
        "duplicate" => dest(by_destination, destination).duplicates += total,
        "skipped" => {
            *report.skips.entry(detail.clone()).or_default() += total;
            *dest(by_destination, destination)
                .skipped
                .entry(detail)
                .or_default() += total;
        }
        "event_name_case" => report.event_name_case_mismatches.push(CaseMismatch {
            standard_name: crate::destinations::case_mismatch(&detail)
                .unwrap_or_default()
                .to_string(),
            event_name: detail,
            count: total,
        }),
        _ => {}
    }
}
