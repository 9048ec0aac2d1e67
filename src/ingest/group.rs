//! One commit for a group of concurrent requests (group commit). Inside ONE transaction:
//! confirm each request's API key and tenant settings, load the tenants' destinations
//! and plans, decide every event, claim all dedup keys in one statement, apply hard
//! limits, insert events and deliveries, and add the diagnostics counters. Everything
//! commits or nothing does, and no request is answered before the commit.
//!
//! Requests of the group are decided in arrival order, exactly as if they had been
//! committed one after another: a key claimed by an earlier request of the group is a
//! duplicate for a later one. A tenant with a hard limit has at most one request per
//! group (the others are deferred to the next group), so refusals and key releases of
//! one request never interleave with another's claims.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use uuid::Uuid;

use super::accept::{Job, Planned, first_occurrences, plan, resolve};
use super::event::Rejection;
use super::limit;
use super::response::IngestResponse;
use super::rows::{RowContext, Rows};
use super::summary::{count_into, respond};
use crate::bulk::Bulk;
use crate::clock::{MS_PER_HOUR, day_of, period_of};
use crate::db::Db;
use crate::dedup::diagnostics::{CounterRows, Counters};
use crate::dedup::keys::{self, Claim};
use crate::destinations::{self, Destination};
use crate::error::{AppResult, ErrorKind};
use crate::metering::limits::{self, HardLimit};
use crate::plans::Plan;
use crate::tenants::auth::{self, KeyState};

/// The answer for one job of a group.
pub(super) enum Slot {
    Done(AppResult<IngestResponse>),
    /// The key's tenant settings changed: parse again.
    Stale,
    /// Another request of the same hard-limited tenant is in this group: next group.
    Deferred,
}

/// Commits a group; when the group as a whole fails for a reason other than the
/// database being unavailable, each request is retried alone so that one bad request
/// cannot fail the others.
pub(super) async fn commit_group(db: &Db, jobs: &[Job]) -> Vec<Slot> {
    match try_group(db, jobs).await {
        Ok(slots) => slots,
        Err(e) if jobs.len() == 1 || e.kind == ErrorKind::Unavailable => {
            jobs.iter().map(|_| Slot::Done(Err(e.clone()))).collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = jobs.len(), "group commit failed; committing its requests one by one");
            let mut slots = Vec::with_capacity(jobs.len());
            for job in jobs {
                let alone = try_group(db, std::slice::from_ref(job)).await;
                slots.push(match alone {
                    Ok(mut one) => one.pop().unwrap_or(Slot::Stale),
                    Err(e) => Slot::Done(Err(e)),
                });
            }
            slots
        }
    }
}

/// A job that passed the key check, with its decisions.
struct Work<'a> {
    index: usize,
    job: &'a Job,
    dests: &'a [Destination],
    hard: Option<HardLimit>,
    planned: Vec<Result<Planned<'a>, Rejection>>,
}

#[tracing::instrument(name = "ingest.commit", skip_all, fields(requests = jobs.len()))]
async fn try_group(db: &Db, jobs: &[Job]) -> AppResult<Vec<Slot>> {
    let txn = db.begin_write().await?;
    let mut slots: Vec<Option<Slot>> = Vec::with_capacity(jobs.len());
    let key_ids: Vec<Uuid> = unique(jobs.iter().map(|j| j.ctx.key_id));
    let current = auth::current(&*txn, &key_ids).await?;
    let mut plan_of: HashMap<Uuid, Plan> = HashMap::new();
    for job in jobs {
        let (state, plan) = match current.get(&job.ctx.key_id) {
            Some(c) => (c.state.clone(), c.plan.as_ref()),
            None => (KeyState::Revoked, None),
        };
        slots.push(match state {
            KeyState::Active(current) if current == job.ctx => {
                if let Some(plan) = plan
                    && let Entry::Vacant(slot) = plan_of.entry(plan.id)
                {
                    slot.insert(Plan::from_model(plan.clone())?);
                }
                None
            }
            other => Some(match other.into_result() {
                Err(e) => Slot::Done(Err(e)),
                Ok(_) => Slot::Stale,
            }),
        });
    }
    let live = |i: &usize| slots[*i].is_none();
    let tenant_ids = unique((0..jobs.len()).filter(live).map(|i| jobs[i].ctx.tenant_id));
    let dests = destinations::all_for_tenants(&*txn, &tenant_ids).await?;
    let of_tenant = |id: &Uuid| dests.get(id).map_or(&[][..], Vec::as_slice);
    let narrowed: Vec<Option<Vec<Destination>>> = (jobs.iter())
        .map(|j| j.routing.narrow(of_tenant(&j.ctx.tenant_id)))
        .collect();

    let mut work = Vec::new();
    let mut hard_tenants: BTreeMap<Uuid, String> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut claims = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        if slots[index].is_some() {
            continue;
        }
        let (tenant_id, now_ms) = (job.ctx.tenant_id, job.now_ms);
        let tenant_plan = job.ctx.plan_id.and_then(|id| plan_of.get(&id));
        let hard = limits::hard_limit(tenant_plan, &period_of(now_ms));
        if let Some(h) = &hard
            && hard_tenants.insert(tenant_id, h.period.clone()).is_some()
        {
            slots[index] = Some(Slot::Deferred);
            continue;
        }
        let dests = narrowed[index]
            .as_deref()
            .unwrap_or_else(|| of_tenant(&tenant_id));
        let mut planned: Vec<_> = (job.events.iter().enumerate())
            .map(|(i, parsed)| plan(i, parsed, dests, job.ctx.consent_policy, now_ms))
            .collect();
        let expires_at = now_ms + i64::from(job.ctx.dedup_window_hours) * MS_PER_HOUR;
        for (key, event_row_id) in first_occurrences(&mut planned, dests, &mut seen) {
            claims.push(Claim {
                tenant_id,
                key,
                event_row_id,
                now_ms,
                expires_at,
            });
        }
        work.push(Work {
            index,
            job,
            dests,
            hard,
            planned,
        });
    }

    // Quota rows first, in tenant order: this serializes a tenant's hard-limited requests
    // across groups and processes, and concurrent groups lock in the same order.
    let mut used = HashMap::new();
    for (tenant_id, period) in &hard_tenants {
        used.insert(
            *tenant_id,
            limits::lock_used(&*txn, *tenant_id, period).await?,
        );
    }
    let won = keys::claim(&*txn, &claims).await?;
    let mut rows = Rows::default();
    let mut counters: BTreeMap<(Uuid, String), Counters> = BTreeMap::new();
    let mut limit_hits = Vec::with_capacity(work.len());
    for w in &mut work {
        let (tenant_id, now_ms) = (w.job.ctx.tenant_id, w.job.now_ms);
        resolve(&mut w.planned, w.dests, &won, now_ms);
        let hit = match (&w.hard, used.get(&tenant_id)) {
            (Some(hard), Some(used)) => {
                let planned = &mut w.planned;
                limit::enforce(&*txn, tenant_id, planned, w.dests, hard, *used, now_ms).await?
            }
            _ => None,
        };
        limit_hits.push(hit);
        let context = RowContext {
            tenant_id,
            reserved_period: w.hard.as_ref().map(|h| h.period.as_str()),
            trace: w.job.trace.as_deref(),
            now_ms,
        };
        rows.add(&w.planned, w.dests, &context);
        let day_counters = counters.entry((tenant_id, day_of(now_ms))).or_default();
        count_into(day_counters, &w.planned, w.dests);
    }
    // Events, deliveries and counters depend on nothing of each other: one round trip.
    let mut counter_rows = CounterRows::default();
    for ((tenant_id, day), c) in &counters {
        counter_rows.add(*tenant_id, day, c);
    }
    let [events, deliveries] = rows.into_bulks();
    let inserts = vec![events, deliveries, counter_rows.into_bulk()];
    Bulk::execute_all(&*txn, inserts).await?;
    txn.commit().await?;

    for (w, hit) in work.into_iter().zip(limit_hits) {
        let mut response = respond(w.planned, w.dests);
        response.limit_hit = hit;
        slots[w.index] = Some(Slot::Done(Ok(response)));
    }
    Ok(slots
        .into_iter()
        .map(|s| s.unwrap_or(Slot::Stale))
        .collect())
}

/// Distinct values, sorted.
fn unique<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = values.collect();
    v.sort();
    v.dedup();
    v
}
