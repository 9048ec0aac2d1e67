//! Recording the results of one batch in ONE transaction: each delivery's transition
//! (guarded by its lease token, so a late or duplicate completion changes nothing), its
//! attempt log row, the meter for the deliveries that succeeded, and — on a credential
//! failure — the destination's pause.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::outcome::{self, Outcome};
use super::queue::Claimed;
use super::transition::{Transition, transition};
use crate::clock::period_of;
use crate::db::Db;
use crate::entities::{deliveries, delivery_attempts, destinations};
use crate::error::AppResult;
use crate::metering::{self, alerts, limits};

/// What a batch came to, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub succeeded: usize,
    pub retried: usize,
    pub failed: usize,
    pub dead: usize,
    pub paused: usize,
    /// Completions refused because the lease had passed to another worker.
    pub lease_lost: usize,
}

/// Per delivery: the result of its attempt and the last moment it may still be sent.
pub struct Completion {
    pub claimed: Claimed,
    pub result: outcome::Result,
    pub expires_at_ms: i64,
}

async fn apply_one(
    db: &impl ConnectionTrait,
    c: &Claimed,
    t: &Transition,
    now_ms: i64,
) -> AppResult<bool> {
    let mut update = deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(t.status))
        .col_expr(
            deliveries::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            deliveries::Column::LeaseToken,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            deliveries::Column::LastError,
            Expr::value(t.last_error.clone()),
        )
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now_ms));
    if t.counts_attempt {
        update = update.col_expr(deliveries::Column::Attempts, Expr::value(c.attempts + 1));
    }
    if let Some(at) = t.next_attempt_at {
        update = update.col_expr(deliveries::Column::NextAttemptAt, Expr::value(at));
    }
    if t.status == "succeeded" {
        update = update.col_expr(deliveries::Column::SucceededAt, Expr::value(now_ms));
    }
    let result = update
        .filter(deliveries::Column::TenantId.eq(c.tenant_id))
        .filter(deliveries::Column::Id.eq(c.id))
        .filter(deliveries::Column::LeaseToken.eq(c.lease_token))
        .filter(deliveries::Column::Status.eq("pending"))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks deliveries of one claim `succeeded`, guarded by their lease: a delivery whose
/// lease passed to another worker (or that is no longer pending) is not touched, and
/// only the rows changed are counted.
async fn apply_succeeded(
    db: &impl ConnectionTrait,
    claimed: &[&Claimed],
    now_ms: i64,
) -> AppResult<u64> {
    let mut changed = 0;
    let mut by_token: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for c in claimed {
        by_token.entry(c.lease_token).or_default().push(c.id);
    }
    for (token, ids) in by_token {
        let result = deliveries::Entity::update_many()
            .col_expr(deliveries::Column::Status, Expr::value("succeeded"))
            .col_expr(deliveries::Column::SucceededAt, Expr::value(now_ms))
            .col_expr(deliveries::Column::Attempts, Expr::cust("attempts + 1"))
            .col_expr(
                deliveries::Column::LockedUntil,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                deliveries::Column::LeaseToken,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                deliveries::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(deliveries::Column::UpdatedAt, Expr::value(now_ms))
            .filter(deliveries::Column::TenantId.eq(claimed[0].tenant_id))
            .filter(deliveries::Column::LeaseToken.eq(token))
            .filter(deliveries::Column::Status.eq("pending"))
            .filter(deliveries::Column::Id.is_in(ids))
            .exec(db)
            .await?;
        changed += result.rows_affected;
    }
    Ok(changed)
}

fn attempt_row(c: &Claimed, r: &outcome::Result) -> delivery_attempts::ActiveModel {
    let a = &r.attempt;
    delivery_attempts::ActiveModel {
        tenant_id: Set(c.tenant_id),
        id: Set(Uuid::now_v7()),
        delivery_id: Set(c.id),
        attempt_no: Set(c.attempts + 1),
        started_at: Set(a.started_at),
        duration_ms: Set(a.duration_ms),
        http_status: Set(a.http_status),
        outcome: Set(r.outcome.label().to_string()),
        error_code: Set(a.error_code.clone()),
        error_message: Set(a.error_message.clone()),
        destination_trace_id: Set(a.destination_trace_id.clone()),
    }
}

/// Applies a batch's results for one destination. Returns what happened.
pub async fn complete(
    db: &Db,
    completions: &[Completion],
    schedule: &[Duration],
    now_ms: i64,
) -> AppResult<Tally> {
    let mut tally = Tally::default();
    let mut delivered_by_kind: HashMap<&'static str, i64> = HashMap::new();
    let mut paused_reason = None;
    let mut released: HashMap<String, i64> = HashMap::new();
    let mut destination_wait: Option<i64> = None;
    let mut succeeded: Vec<&Claimed> = Vec::new();
    let txn = db.begin_write().await?;
    let now_ms = crate::billing::periods::stamp(&*txn, now_ms).await?;
    let metrics = crate::metrics::metrics();
    for c in completions {
        observe_attempt(metrics, c);
        let attempt_no = u32::try_from(c.claimed.attempts + 1).unwrap_or(u32::MAX);
        let unit: f64 = rand::random();
        let t = transition(
            &c.result.outcome,
            &c.result.attempt,
            attempt_no,
            schedule,
            now_ms,
            c.expires_at_ms,
            unit,
        );
        if t.status == "succeeded" {
            // Successes are recorded together below: one guarded statement per chunk.
            succeeded.push(&c.claimed);
            continue;
        }
        if !apply_one(&*txn, &c.claimed, &t, now_ms).await? {
            tally.lease_lost += 1;
            continue;
        }
        metrics.send(
            c.claimed.kind.as_str(),
            if t.status == "pending" {
                "retry"
            } else {
                t.status
            },
            1,
        );
        match t.status {
            "pending" => tally.retried += 1,
            "failed" | "dead" => {
                if t.status == "failed" {
                    tally.failed += 1
                } else {
                    tally.dead += 1
                }
                if let Some(period) = &c.claimed.reserved_period {
                    *released.entry(period.clone()).or_default() += 1;
                }
            }
            _ => {
                tally.paused += 1;
                paused_reason = t.last_error.clone();
            }
        }
        if let (
            Outcome::Retry {
                whole_destination: true,
                ..
            },
            Some(at),
        ) = (&c.result.outcome, t.next_attempt_at)
        {
            destination_wait = Some(destination_wait.map_or(at, |w| w.max(at)));
        }
    }
    for chunk in succeeded.chunks(500) {
        let n = apply_succeeded(&*txn, chunk, now_ms).await?;
        tally.succeeded += n as usize;
        tally.lease_lost += chunk.len() - n as usize;
        *delivered_by_kind.entry(chunk[0].kind.as_str()).or_default() += n as i64;
        metrics.send(chunk[0].kind.as_str(), "succeeded", n);
    }
    let attempts: Vec<_> = completions
        .iter()
        .filter(|c| c.result.outcome != Outcome::Expired)
        .map(|c| attempt_row(&c.claimed, &c.result))
        .collect();
    for chunk in attempts.chunks(1000) {
        delivery_attempts::Entity::insert_many(chunk.to_vec())
            .exec(&*txn)
            .await?;
    }
    if let Some(first) = completions.first() {
        let period = period_of(now_ms);
        let tenant_id = first.claimed.tenant_id;
        let delivered: i64 = delivered_by_kind.values().sum();
        for (kind, n) in delivered_by_kind {
            metering::add(&*txn, tenant_id, &period, kind, n).await?;
        }
        if delivered > 0 {
            alerts::record_included(&*txn, tenant_id, &period, now_ms).await?;
        }
        for (period, n) in released {
            limits::add_used(&*txn, tenant_id, &period, -n).await?;
        }
        if let Some(reason) = paused_reason {
            pause_destination(
                &*txn,
                first.claimed.tenant_id,
                first.claimed.destination_id,
                &reason,
                now_ms,
            )
            .await?;
        }
        if let Some(at) = destination_wait {
            hold_destination(
                &*txn,
                first.claimed.tenant_id,
                first.claimed.destination_id,
                at,
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(tally)
}

fn observe_attempt(metrics: &crate::metrics::Metrics, c: &Completion) {
    let kind = c.claimed.kind.as_str();
    if c.result.attempt.http_status.is_some() || c.result.attempt.duration_ms > 0 {
        let attrs = [opentelemetry::KeyValue::new("kind", kind)];
        metrics
            .attempt_seconds
            .record(f64::from(c.result.attempt.duration_ms) / 1000.0, &attrs);
    }
}

/// Parks a destination whose credentials were refused: its waiting deliveries move to
/// `paused` and burn no retries until the credentials are updated.
pub async fn pause_destination(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
    now_ms: i64,
) -> AppResult<()> {
    destinations::Entity::update_many()
        .col_expr(destinations::Column::State, Expr::value("paused"))
        .col_expr(
            destinations::Column::PausedReason,
            Expr::value(reason.chars().take(500).collect::<String>()),
        )
        .col_expr(destinations::Column::UpdatedAt, Expr::value(now_ms))
        .filter(destinations::Column::TenantId.eq(tenant_id))
        .filter(destinations::Column::Id.eq(id))
        .filter(destinations::Column::State.eq("active"))
        .exec(db)
        .await?;
    crate::destinations::set_waiting_status(db, tenant_id, id, "pending", "paused", now_ms).await
}

/// Meta throttling applies to the whole pixel: no delivery of it — waiting now or
/// accepted meanwhile — is tried before `at`.
async fn hold_destination(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    at: i64,
) -> AppResult<()> {
    destinations::Entity::update_many()
        .col_expr(destinations::Column::HoldUntil, Expr::value(at))
        .filter(destinations::Column::TenantId.eq(tenant_id))
        .filter(destinations::Column::Id.eq(id))
        .exec(db)
        .await?;
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(at))
        .filter(deliveries::Column::TenantId.eq(tenant_id))
        .filter(deliveries::Column::DestinationId.eq(id))
        .filter(deliveries::Column::Status.eq("pending"))
        .filter(deliveries::Column::NextAttemptAt.lt(at))
        .exec(db)
        .await?;
    Ok(())
}
