//! Recording the results of one batch in ONE transaction: each delivery's transition
//! (guarded by its lease token, so a late or duplicate completion changes nothing), the
//! attempt log rows of what this worker did, the meter for the deliveries that succeeded,
//! the headroom given back by deliveries that ended without a send, and — on a
//! credential failure or throttling — the destination's pause or hold.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::ConnectionTrait;

use super::destination_state::{hold_destination, pause_destination};
use super::queue::{self, Claimed, Headroom};
use super::record::Attempts;
use super::transition::{Context, Transition, transition};
use crate::clock::period_of;
use crate::db::Db;
use crate::destinations::outcome::{self, Outcome};
use crate::error::AppResult;
use crate::metering::{self, alerts};
use crate::states::DeliveryStatus;

/// What a batch came to, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub succeeded: usize,
    pub retried: usize,
    pub failed: usize,
    pub dead: usize,
    pub paused: usize,
    /// Ended without a resend: an attempt's outcome is unknown (see `resend`).
    pub unconfirmed: usize,
    /// Not sent within this claim; due again at once.
    pub deferred: usize,
    /// Completions refused because the lease had passed to another worker.
    pub lease_lost: usize,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.succeeded
            + self.retried
            + self.failed
            + self.dead
            + self.paused
            + self.unconfirmed
            + self.deferred
            + self.lease_lost
    }
}

/// Per delivery: the result of its attempt, the last moment it may still be sent and
/// how long the destination drops a resend of it (`None`: never).
pub struct Completion {
    pub claimed: Claimed,
    pub result: outcome::Result,
    pub expires_at_ms: i64,
    pub dedup_window_ms: Option<i64>,
}

/// What the batch changes beyond each delivery's own row.
#[derive(Default)]
struct Effects {
    delivered_by_kind: HashMap<&'static str, i64>,
    released: Headroom,
    paused_reason: Option<String>,
    destination_wait: Option<i64>,
    attempts: Attempts,
}

fn next_state(c: &Completion, schedule: &[Duration], now_ms: i64) -> Transition {
    let cx = Context {
        attempt_no: u32::try_from(c.claimed.attempts + 1).unwrap_or(u32::MAX),
        schedule,
        now_ms,
        expires_at_ms: c.expires_at_ms,
        maybe_sent_at: c.claimed.maybe_sent_at,
        dedup_window_ms: c.dedup_window_ms,
        unit: rand::random(),
    };
    transition(&c.result.outcome, &c.result.attempt, &cx)
}

/// Whether the attempt log shows this result: every real attempt, and the unconfirmed
/// end of a takeover; not what was never tried (expired, deferred).
fn logged(outcome: &Outcome) -> bool {
    !matches!(outcome, Outcome::Expired | Outcome::Deferred)
}

/// Applies a batch's results for one destination. Returns what happened.
pub async fn complete(
    db: &Db,
    completions: &[Completion],
    schedule: &[Duration],
    now_ms: i64,
) -> AppResult<Tally> {
    let Some(first) = completions.first().map(|c| &c.claimed) else {
        return Ok(Tally::default());
    };
    let mut tally = Tally::default();
    let mut effects = Effects::default();
    let mut succeeded: Vec<&Completion> = Vec::new();
    let txn = db.begin_write().await?;
    // Stamped through the month fence: a clock still in a billed month counts in the next.
    let now_ms = crate::billing::periods::stamp(&*txn, now_ms).await?;
    for c in completions {
        observe_attempt(c);
        let t = next_state(c, schedule, now_ms);
        if t.status == DeliveryStatus::Succeeded {
            // Successes are recorded together below: one guarded statement per chunk.
            succeeded.push(c);
        } else if queue::complete_one(&*txn, &c.claimed, &t, now_ms).await? {
            count(&mut tally, &mut effects, c, &t);
        } else {
            tally.lease_lost += 1;
        }
    }
    record_successes(&*txn, &succeeded, now_ms, &mut tally, &mut effects).await?;
    apply_effects(&*txn, first, effects, now_ms).await?;
    txn.commit().await?;
    Ok(tally)
}

/// Tallies one applied non-success and collects what it changes elsewhere.
fn count(tally: &mut Tally, effects: &mut Effects, c: &Completion, t: &Transition) {
    if logged(&c.result.outcome) {
        effects.attempts.push(&c.claimed, &c.result);
    }
    let deferred = c.result.outcome == Outcome::Deferred;
    let slot = match t.status {
        DeliveryStatus::Pending if deferred => &mut tally.deferred,
        DeliveryStatus::Pending => &mut tally.retried,
        DeliveryStatus::Paused => &mut tally.paused,
        DeliveryStatus::Failed => &mut tally.failed,
        DeliveryStatus::Dead => &mut tally.dead,
        DeliveryStatus::Unconfirmed => &mut tally.unconfirmed,
        // Successes are recorded together (`record_successes`), not one by one here.
        DeliveryStatus::Succeeded => &mut tally.succeeded,
    };
    *slot += 1;
    let label = match t.status {
        DeliveryStatus::Pending => "retry",
        other => other.as_str(),
    };
    if !deferred {
        crate::metrics::metrics().send(c.claimed.kind.as_str(), label, 1);
    }
    if t.status == DeliveryStatus::Paused {
        effects.paused_reason = t.last_error.clone();
    } else if DeliveryStatus::REPLAYABLE.contains(&t.status) {
        // It ended unsent and nothing will be counted for it: its headroom goes back.
        let period = c.claimed.reserved_period.as_deref();
        effects.released.hold(c.claimed.tenant_id, period);
    }
    if let (
        Outcome::Retry {
            whole_destination: true,
            ..
        },
        Some(at),
    ) = (&c.result.outcome, t.next_attempt_at)
    {
        effects.destination_wait = Some(effects.destination_wait.map_or(at, |w| w.max(at)));
    }
}

async fn record_successes(
    db: &impl ConnectionTrait,
    succeeded: &[&Completion],
    now_ms: i64,
    tally: &mut Tally,
    effects: &mut Effects,
) -> AppResult<()> {
    let metrics = crate::metrics::metrics();
    for chunk in succeeded.chunks(500) {
        let claimed: Vec<&Claimed> = chunk.iter().map(|c| &c.claimed).collect();
        let changed: std::collections::HashSet<_> = queue::complete_succeeded(db, &claimed, now_ms)
            .await?
            .into_iter()
            .collect();
        let n = changed.len();
        tally.succeeded += n;
        tally.lease_lost += chunk.len() - n;
        let kind = chunk[0].claimed.kind.as_str();
        *effects.delivered_by_kind.entry(kind).or_default() += n as i64;
        metrics.send(kind, DeliveryStatus::Succeeded.as_str(), n as u64);
        for c in chunk.iter().filter(|c| changed.contains(&c.claimed.id)) {
            effects.attempts.push(&c.claimed, &c.result);
        }
    }
    Ok(())
}

async fn apply_effects(
    db: &impl ConnectionTrait,
    first: &Claimed,
    effects: Effects,
    now_ms: i64,
) -> AppResult<()> {
    let (tenant_id, destination_id) = (first.tenant_id, first.destination_id);
    effects.attempts.insert(db).await?;
    let period = period_of(now_ms);
    let delivered: i64 = effects.delivered_by_kind.values().sum();
    for (kind, n) in effects.delivered_by_kind {
        metering::add(db, tenant_id, &period, kind, n).await?;
    }
    if delivered > 0 {
        alerts::record_included(db, tenant_id, &period, now_ms).await?;
    }
    queue::release_headroom(db, effects.released).await?;
    if let Some(reason) = effects.paused_reason {
        pause_destination(db, tenant_id, destination_id, &reason, now_ms).await?;
    }
    if let Some(at) = effects.destination_wait {
        hold_destination(db, tenant_id, destination_id, at).await?;
    }
    Ok(())
}

fn observe_attempt(c: &Completion) {
    let kind = c.claimed.kind.as_str();
    if c.result.attempt.http_status.is_some() || c.result.attempt.duration_ms > 0 {
        let attrs = [opentelemetry::KeyValue::new("kind", kind)];
        crate::metrics::metrics()
            .attempt_seconds
            .record(f64::from(c.result.attempt.duration_ms) / 1000.0, &attrs);
    }
}
