//! `accept_events`: the ingest use case. Each request is parsed, validated and hashed on
//! its own (`Job`), then handed to the group committer, which commits concurrent
//! requests together: ONE transaction claims their dedup keys, inserts the accepted
//! events and pending deliveries and adds the diagnostics counters (see `group`). A
//! request is answered only after that commit, so "accepted" always means durable.

use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;

use super::committer::Committer;
use super::decide::{Decision, decide, unknown_destinations};
use super::event::{ParseContext, Rejection, ValidatedEvent};
use super::response::IngestResponse;
use super::stored;
use super::summary::observe;
use crate::crypto::Keys;
use crate::dedup::keys::DedupKey;
use crate::destinations::Destination;
use crate::error::AppResult;
use crate::states::ConsentPolicy;
use crate::tenants::TenantContext;

/// One valid event of a request with its stored forms, computed before the commit.
pub struct Parsed {
    pub(super) event: ValidatedEvent,
    pub(super) row_id: Uuid,
    pub(super) payload: String,
    pub(super) sealed: Option<String>,
    pub(super) warnings: String,
}

/// A parsed request waiting for its commit.
pub struct Job {
    pub ctx: TenantContext,
    pub now_ms: i64,
    /// The ingest span's `traceparent`: dispatch spans link to it.
    pub trace: Option<String>,
    pub routing: Routing,
    pub events: Vec<Result<Parsed, Rejection>>,
}

/// Where a request's events may go. `/v1/events` takes the default (every destination
/// of the tenant); the Meta-compatible endpoint narrows it to one pixel (`pixel`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// Only these of the tenant's destinations are considered (`None`: all of them).
    pub only: Option<Vec<Uuid>>,
    /// The request's top-level `test_event_code`: stored with each of its events that
    /// has none of its own, and sent with them to Meta and TikTok (see
    /// `destinations::stored::by_test_code`).
    pub test_event_code: Option<String>,
}

impl Routing {
    /// The destinations of `all` a job considers, when it is narrowed.
    pub(super) fn narrow(&self, all: &[Destination]) -> Option<Vec<Destination>> {
        let only = self.only.as_ref()?;
        Some(
            all.iter()
                .filter(|d| only.contains(&d.id()))
                .cloned()
                .collect(),
        )
    }

    fn annotate(&self, event: &mut ValidatedEvent) {
        if let Some(code) = &self.test_event_code {
            let key = crate::destinations::meta::POSTED_TEST_CODE.to_string();
            (event.extra.entry(key)).or_insert_with(|| Value::String(code.clone()));
        }
    }
}

/// What the committer answers for a job.
pub enum Outcome {
    Done(AppResult<IngestResponse>),
    /// The key's tenant settings changed since the request was authenticated: parse
    /// again with the current ones.
    Stale,
}

impl Job {
    /// Parses, normalizes, hashes and seals every event of a request (no I/O).
    pub fn parse(
        ctx: &TenantContext,
        keys: &Keys,
        raw_events: &[Value],
        routing: Routing,
        now_ms: i64,
    ) -> Job {
        let parse_ctx = ParseContext {
            now_ms,
            require_event_id: ctx.require_event_id,
        };
        let events = raw_events
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let mut event = ValidatedEvent::parse(i, raw, &parse_ctx)?;
                routing.annotate(&mut event);
                Ok(Parsed {
                    // Made at the receipt: the key orders events by when they arrived.
                    row_id: crate::ids::at(now_ms),
                    payload: stored::payload(&event).to_string(),
                    sealed: stored::sealed(&event, keys),
                    warnings: serde_json::to_string(&event.warnings).unwrap_or_default(),
                    event,
                })
            })
            .collect();
        Job {
            ctx: ctx.clone(),
            now_ms,
            trace: crate::telemetry::current_traceparent(),
            routing,
            events,
        }
    }

    /// The first reason an event of this job cannot be taken as sent, before any I/O:
    /// invalid, or naming a destination it cannot go to (`dests`: the tenant's).
    pub fn first_rejection(&self, dests: &[Destination]) -> Option<Rejection> {
        let narrowed = self.routing.narrow(dests);
        let allowed = narrowed.as_deref().unwrap_or(dests);
        self.events
            .iter()
            .enumerate()
            .find_map(|(index, parsed)| match parsed {
                Err(rejection) => Some(rejection.clone()),
                Ok(p) => unknown_destination(index, &p.event, allowed),
            })
    }
}

/// Accepts a batch of raw events for a tenant. See the module header for the guarantees.
#[tracing::instrument(name = "ingest", skip_all, fields(tenant_id = %ctx.tenant_id, events = raw_events.len(),
    accepted = tracing::field::Empty, duplicates = tracing::field::Empty, skipped = tracing::field::Empty,
    rejected = tracing::field::Empty))]
pub async fn accept_events(
    committer: &Committer,
    keys: &Keys,
    ctx: &TenantContext,
    raw_events: &[Value],
    routing: Routing,
    now_ms: i64,
) -> AppResult<Outcome> {
    let job = Job::parse(ctx, keys, raw_events, routing, now_ms);
    commit(committer, job).await
}

/// Hands a parsed job to the group committer and records the answer on the current span.
pub async fn commit(committer: &Committer, job: Job) -> AppResult<Outcome> {
    let outcome = committer.submit(job).await?;
    if let Outcome::Done(Ok(response)) = &outcome {
        observe(response);
    }
    Ok(outcome)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Candidate,
    SeenEarlier,
    Skipped(&'static str),
    Queued(Uuid),
    Duplicate,
}

pub(super) struct Planned<'a> {
    pub(super) parsed: &'a Parsed,
    /// One entry per tenant destination, same order as the destination list.
    pub(super) targets: Vec<Target>,
}

impl<'a> Planned<'a> {
    pub(super) fn event(&self) -> &'a ValidatedEvent {
        &self.parsed.event
    }
}

pub(super) fn key_of(event: &ValidatedEvent, destination: &Destination) -> DedupKey {
    DedupKey {
        destination_id: destination.id(),
        event_name: event.event_name.clone(),
        event_id: event.event_id.clone(),
    }
}

/// Decides every destination of one parsed event.
pub(super) fn plan<'a>(
    index: usize,
    parsed: &'a Result<Parsed, Rejection>,
    dests: &[Destination],
    policy: ConsentPolicy,
    now_ms: i64,
) -> Result<Planned<'a>, Rejection> {
    let parsed = parsed.as_ref().map_err(Clone::clone)?;
    if let Some(rejection) = unknown_destination(index, &parsed.event, dests) {
        return Err(rejection);
    }
    let targets = dests
        .iter()
        .map(|d| match decide(&parsed.event, d, policy, now_ms) {
            Decision::Candidate => Target::Candidate,
            Decision::Skipped(reason) => Target::Skipped(reason),
        })
        .collect();
    Ok(Planned { parsed, targets })
}

/// The rejection of event `index` when it names a destination not among `dests`.
fn unknown_destination(
    index: usize,
    event: &ValidatedEvent,
    dests: &[Destination],
) -> Option<Rejection> {
    let j = unknown_destinations(event, dests)?;
    Some(Rejection {
        code: "unknown_destination",
        message: "this destination does not exist in your account".into(),
        field: format!("events[{index}].destinations[{j}]"),
    })
}

/// Marks copies of a key already `seen` (earlier in the request or in the commit group);
/// returns the keys this request claims first.
pub(super) fn first_occurrences(
    planned: &mut [Result<Planned<'_>, Rejection>],
    dests: &[Destination],
    seen: &mut HashSet<DedupKey>,
) -> Vec<(DedupKey, Uuid)> {
    let mut to_claim = Vec::new();
    for p in planned.iter_mut().flatten() {
        for (target, dest) in p.targets.iter_mut().zip(dests) {
            if *target != Target::Candidate {
                continue;
            }
            let key = key_of(&p.parsed.event, dest);
            if seen.insert(key.clone()) {
                to_claim.push((key, p.parsed.row_id));
            } else {
                *target = Target::SeenEarlier;
            }
        }
    }
    to_claim
}

/// Candidates whose key was won are queued; the rest are duplicates. A queued
/// delivery's id is made at `now_ms`, the `created_at` of its row (`crate::ids`).
pub(super) fn resolve(
    planned: &mut [Result<Planned<'_>, Rejection>],
    dests: &[Destination],
    won: &HashSet<DedupKey>,
    now_ms: i64,
) {
    for p in planned.iter_mut().flatten() {
        for (target, dest) in p.targets.iter_mut().zip(dests) {
            *target = match *target {
                Target::Candidate if won.contains(&key_of(&p.parsed.event, dest)) => {
                    Target::Queued(crate::ids::at(now_ms))
                }
                Target::Candidate | Target::SeenEarlier => Target::Duplicate,
                other => other,
            };
        }
    }
}

pub(super) fn is_queued(target: &Target) -> bool {
    matches!(target, Target::Queued(_))
}
