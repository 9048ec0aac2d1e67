//! Per-tenant, per-day counters of what ingest decided (accepted, duplicates, skips by
//! reason, rejections by code, warnings, case mismatches by name, match keys by kind),
//! and the report built from them for `GET /v1/diagnostics`. Counters are summed in memory per request and
//! upserted in the request's transaction, so they commit exactly when the events do.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use uuid::Uuid;

use super::match_keys::{KindMatchKeys, Tally};

/// Counter key: (code, destination id or "", detail or "").
pub type CounterKey = (String, String, String);

#[derive(Debug, Default)]
pub struct Counters(pub HashMap<CounterKey, i64>);

impl Counters {
    pub fn add(&mut self, code: &str, destination: Option<Uuid>, detail: &str) {
        let key = (
            code.to_string(),
            destination.map(|d| d.to_string()).unwrap_or_default(),
            detail.to_string(),
        );
        *self.0.entry(key).or_default() += 1;
    }

    /// Upserts the counters of one request in one statement (rows sorted, so concurrent
    /// requests lock them in the same order).
    pub async fn save(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        day: &str,
    ) -> Result<(), DbErr> {
        let mut rows: Vec<(&CounterKey, &i64)> = self.0.iter().collect();
        if rows.is_empty() {
            return Ok(());
        }
        // One statement for the whole request (keys are distinct, so no row is hit twice).
        rows.sort();
        let mut insert = Query::insert();
        insert.into_table("diagnostic_counts").columns([
            "tenant_id",
            "day",
            "code",
            "destination_id",
            "detail",
            "count",
        ]);
        for ((code, destination, detail), count) in rows {
            insert.values_panic([
                tenant_id.into(),
                day.into(),
                code.clone().into(),
                destination.clone().into(),
                detail.clone().into(),
                (*count).into(),
            ]);
        }
        insert.on_conflict(
            OnConflict::columns(["tenant_id", "day", "code", "destination_id", "detail"])
                .value(
                    "count",
                    Expr::cust("diagnostic_counts.count + excluded.count"),
                )
                .to_owned(),
        );
        db.execute(&insert).await?;
        Ok(())
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
