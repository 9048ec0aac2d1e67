//! `accept_events`: the ingest use case. Parse every event, decide each destination,
//! then in ONE transaction claim the dedup keys, insert the accepted events and their
//! pending deliveries, and add the diagnostics counters — all of it commits or none.
//! The answer is built only after the commit, so "accepted" always means durable.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde_json::Value;
use uuid::Uuid;

use super::decide::{Decision, decide, unknown_destinations};
use super::event::{ParseContext, Rejection, ValidatedEvent};
use super::limit;
use super::response::IngestResponse;
use super::stored;
use super::summary::{counters, observe, respond};
use crate::billing::plans;
use crate::clock::{MS_PER_HOUR, day_of, period_of};
use crate::crypto::Keys;
use crate::db::Db;
use crate::dedup::keys::{self, DedupKey};
use crate::destinations::{self, Destination};
use crate::entities::{deliveries, events};
use crate::error::AppResult;
use crate::metering::limits;
use crate::tenants::TenantContext;

const INSERT_CHUNK: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Candidate,
    SeenEarlierInRequest,
    Skipped(&'static str),
    Queued(Uuid),
    Duplicate,
}

pub(super) struct Planned {
    pub(super) event: ValidatedEvent,
    pub(super) row_id: Uuid,
    /// One entry per tenant destination, same order as the destination list.
    pub(super) targets: Vec<Target>,
}

pub(super) fn key_of(event: &ValidatedEvent, destination: &Destination) -> DedupKey {
    DedupKey {
        destination_id: destination.id(),
        event_name: event.event_name.clone(),
        event_id: event.event_id.clone(),
    }
}

fn plan(
    index: usize,
    raw: &Value,
    ctx: &ParseContext,
    dests: &[Destination],
) -> Result<Planned, Rejection> {
    let event = ValidatedEvent::parse(index, raw, ctx)?;
    if let Some(j) = unknown_destinations(&event, dests) {
        return Err(Rejection {
            code: "unknown_destination",
            message: "this destination does not exist in your account".into(),
            field: format!("events[{index}].destinations[{j}]"),
        });
    }
    let targets = dests
        .iter()
        .map(|d| match decide(&event, d, ctx.now_ms) {
            Decision::Candidate => Target::Candidate,
            Decision::Skipped(reason) => Target::Skipped(reason),
        })
        .collect();
    Ok(Planned {
        event,
        row_id: Uuid::now_v7(),
        targets,
    })
}

/// Marks copies of a key seen earlier in the same request; returns the keys to claim.
fn first_occurrences(
    planned: &mut [Result<Planned, Rejection>],
    dests: &[Destination],
) -> Vec<(DedupKey, Uuid)> {
    let mut seen = HashSet::new();
    let mut to_claim = Vec::new();
    for p in planned.iter_mut().flatten() {
        for (target, dest) in p.targets.iter_mut().zip(dests) {
            if *target != Target::Candidate {
                continue;
            }
            let key = key_of(&p.event, dest);
            if seen.insert(key.clone()) {
                to_claim.push((key, p.row_id));
            } else {
                *target = Target::SeenEarlierInRequest;
            }
        }
    }
    to_claim
}

/// Accepts a batch of raw events for a tenant. See the module header for the guarantees.
#[tracing::instrument(name = "ingest", skip_all, fields(tenant_id = %ctx.tenant_id, events = raw_events.len(),
    accepted = tracing::field::Empty, duplicates = tracing::field::Empty, skipped = tracing::field::Empty,
    rejected = tracing::field::Empty))]
pub async fn accept_events(
    db: &Db,
    keys: &Keys,
    ctx: &TenantContext,
    raw_events: &[Value],
    now_ms: i64,
) -> AppResult<IngestResponse> {
    let dests = destinations::all_for_tenant(&db.conn, ctx.tenant_id).await?;
    let parse_ctx = ParseContext {
        now_ms,
        require_event_id: ctx.require_event_id,
    };
    let mut planned: Vec<Result<Planned, Rejection>> = raw_events
        .iter()
        .enumerate()
        .map(|(i, raw)| plan(i, raw, &parse_ctx, &dests))
        .collect();
    let to_claim = first_occurrences(&mut planned, &dests);
    let window_ms = i64::from(ctx.dedup_window_hours) * MS_PER_HOUR;
    let trace = crate::telemetry::current_traceparent();

    let plan = match ctx.plan_id {
        Some(id) => Some(plans::get(&db.conn, id).await?),
        None => None,
    };
    let hard = limits::hard_limit(plan.as_ref(), &period_of(now_ms));

    let txn = db.begin_write().await?;
    // Locking the quota row first serializes this tenant's hard-limited requests.
    let used = match &hard {
        Some(h) => Some(limits::lock_used(&*txn, ctx.tenant_id, &h.period).await?),
        None => None,
    };
    let won = keys::claim(&*txn, ctx.tenant_id, &to_claim, now_ms, window_ms).await?;
    resolve(&mut planned, &dests, &won);
    let limit_hit = match (&hard, used) {
        (Some(hard), Some(used)) => {
            limit::enforce(
                &*txn,
                ctx.tenant_id,
                &mut planned,
                &dests,
                hard,
                used,
                now_ms,
            )
            .await?
        }
        _ => None,
    };
    let reserved_period = hard.map(|h| h.period);
    let rows = RowContext {
        tenant_id: ctx.tenant_id,
        reserved_period: reserved_period.as_deref(),
        trace: trace.as_deref(),
        now_ms,
    };
    insert_rows(&*txn, keys, &planned, &dests, &rows).await?;
    counters(&planned, &dests)
        .save(&*txn, ctx.tenant_id, &day_of(now_ms))
        .await?;
    txn.commit().await?;
    let mut response = respond(planned, &dests);
    response.limit_hit = limit_hit;
    observe(&response);
    Ok(response)
}

fn resolve(
    planned: &mut [Result<Planned, Rejection>],
    dests: &[Destination],
    won: &HashSet<DedupKey>,
) {
    for p in planned.iter_mut().flatten() {
        for (target, dest) in p.targets.iter_mut().zip(dests) {
            *target = match *target {
                Target::Candidate if won.contains(&key_of(&p.event, dest)) => {
                    Target::Queued(Uuid::now_v7())
                }
                Target::Candidate | Target::SeenEarlierInRequest => Target::Duplicate,
                other => other,
            };
        }
    }
}

pub(super) fn is_queued(target: &Target) -> bool {
    matches!(target, Target::Queued(_))
}

/// What every row of one request shares.
struct RowContext<'a> {
    tenant_id: Uuid,
    reserved_period: Option<&'a str>,
    /// The ingest span's `traceparent`: dispatch spans link to it.
    trace: Option<&'a str>,
    now_ms: i64,
}

async fn insert_rows(
    db: &impl ConnectionTrait,
    keys: &Keys,
    planned: &[Result<Planned, Rejection>],
    dests: &[Destination],
    rows: &RowContext<'_>,
) -> AppResult<()> {
    let (tenant_id, reserved_period, now_ms) = (rows.tenant_id, rows.reserved_period, rows.now_ms);
    let accepted: Vec<&Planned> = planned
        .iter()
        .flatten()
        .filter(|p| p.targets.iter().any(is_queued))
        .collect();
    let mut event_rows = Vec::with_capacity(accepted.len());
    let mut delivery_rows = Vec::new();
    for p in &accepted {
        event_rows.push(events::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(p.row_id),
            event_id: Set(p.event.event_id.clone()),
            event_name: Set(p.event.event_name.clone()),
            event_time: Set(p.event.event_time_ms()),
            received_at: Set(now_ms),
            payload: Set(stored::payload(&p.event).to_string()),
            sealed: Set(stored::sealed(&p.event, keys)),
            warnings: Set(serde_json::to_string(&p.event.warnings)?),
            trace_context: Set(rows.trace.map(str::to_string)),
            purged_at: Set(None),
        });
        for (target, dest) in p.targets.iter().zip(dests) {
            if let Target::Queued(delivery_id) = target {
                delivery_rows.push(delivery_row(
                    tenant_id,
                    *delivery_id,
                    p.row_id,
                    dest,
                    reserved_period,
                    now_ms,
                ));
            }
        }
    }
    for chunk in event_rows.chunks(INSERT_CHUNK) {
        events::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    for chunk in delivery_rows.chunks(INSERT_CHUNK) {
        deliveries::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(())
}

fn delivery_row(
    tenant_id: Uuid,
    id: Uuid,
    event_row_id: Uuid,
    dest: &Destination,
    reserved_period: Option<&str>,
    now_ms: i64,
) -> deliveries::ActiveModel {
    // A paused destination's deliveries wait in `paused` until its credentials are fixed.
    let status = if dest.model.state == "paused" {
        "paused"
    } else {
        "pending"
    };
    deliveries::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(id),
        event_row_id: Set(event_row_id),
        destination_id: Set(dest.id()),
        kind: Set(dest.kind.as_str().to_string()),
        status: Set(status.to_string()),
        attempts: Set(0),
        next_attempt_at: Set(dest.model.hold_until.map_or(now_ms, |h| h.max(now_ms))),
        locked_until: Set(None),
        lease_token: Set(None),
        last_error: Set(None),
        succeeded_at: Set(None),
        created_at: Set(now_ms),
        updated_at: Set(now_ms),
        reserved_period: Set(reserved_period.map(str::to_string)),
    }
}
