//! What a committed request reports: the per-event answer, the diagnostics counters,
//! the ingest span's fields and the event metrics.

use std::collections::HashMap;

use super::accept::{Planned, Target, is_queued};
use super::event::{Rejection, Warning};
use super::response::{DeliveryResult, ErrorBody, EventResult, IngestResponse};
use crate::dedup::diagnostics::Counters;
use crate::dedup::match_keys;
use crate::destinations::Destination;

fn event_status(targets: &[Target]) -> &'static str {
    if targets.iter().any(is_queued) {
        "accepted"
    } else if targets.contains(&Target::Duplicate) {
        "duplicate"
    } else {
        "skipped"
    }
}

/// Adds one request's decisions to the counters of its tenant and day.
pub(super) fn count_into<'a>(
    c: &mut Counters<'a>,
    planned: &[Result<Planned<'a>, Rejection>],
    dests: &[Destination],
) {
    for p in planned {
        c.add("received", None, "");
        let p = match p {
            Err(rejection) => {
                c.add("rejected", None, rejection.code);
                continue;
            }
            Ok(p) => p,
        };
        let status = event_status(&p.targets);
        c.add(
            if status == "duplicate" {
                "duplicate_event"
            } else if status == "skipped" {
                "skipped_event"
            } else {
                status
            },
            None,
            "",
        );
        for w in &p.event().warnings {
            c.add("warning", None, &w.code);
            if w.code == "event_name_case" {
                c.add("event_name_case", None, &p.event().event_name);
            }
        }
        let mut kinds: Vec<&'static str> = (p.targets.iter().zip(dests))
            .filter(|(target, _)| is_queued(target))
            .map(|(_, dest)| dest.kind.as_str())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        match_keys::count(c, p.event(), &kinds);
        for (target, dest) in p.targets.iter().zip(dests) {
            match target {
                Target::Queued(_) => c.add("queued", Some(dest.id()), ""),
                Target::Duplicate => c.add("duplicate", Some(dest.id()), ""),
                Target::Skipped(reason) => c.add("skipped", Some(dest.id()), reason),
                Target::Candidate | Target::SeenEarlier => {}
            }
        }
    }
}

/// Span fields and metrics of a committed request.
pub(super) fn observe(response: &IngestResponse) {
    let span = tracing::Span::current();
    span.record("accepted", response.accepted);
    span.record("duplicates", response.duplicates);
    span.record("skipped", response.skipped);
    span.record("rejected", response.rejected);
    let metrics = crate::metrics::metrics();
    for result in &response.results {
        let reason = result.error.as_ref().map(|e| e.code).unwrap_or_default();
        metrics.event(result.status, reason);
        for d in result
            .deliveries
            .iter()
            .flatten()
            .filter(|d| d.status == "skipped")
        {
            let attrs = [
                opentelemetry::KeyValue::new("kind", d.kind),
                opentelemetry::KeyValue::new("reason", d.reason.unwrap_or_default()),
            ];
            metrics.skipped_destinations.add(1, &attrs);
        }
    }
}

pub(super) fn respond(
    planned: Vec<Result<Planned<'_>, Rejection>>,
    dests: &[Destination],
) -> IngestResponse {
    let mut tally: HashMap<&'static str, usize> = HashMap::new();
    let results: Vec<EventResult> = planned
        .into_iter()
        .enumerate()
        .map(|(index, p)| {
            let result = match p {
                Err(r) => rejected(index, r),
                Ok(p) => answered(index, p, dests),
            };
            *tally.entry(result.status).or_default() += 1;
            result
        })
        .collect();
    IngestResponse {
        limit_hit: None,
        accepted: tally.get("accepted").copied().unwrap_or(0),
        duplicates: tally.get("duplicate").copied().unwrap_or(0),
        skipped: tally.get("skipped").copied().unwrap_or(0),
        rejected: tally.get("rejected").copied().unwrap_or(0),
        results,
    }
}

fn rejected(index: usize, r: Rejection) -> EventResult {
    EventResult {
        index,
        event_id: None,
        event_name: None,
        status: "rejected",
        deliveries: None,
        warnings: Vec::new(),
        error: Some(ErrorBody {
            code: r.code,
            message: r.message,
            field: Some(r.field),
        }),
    }
}

fn answered(index: usize, p: Planned<'_>, dests: &[Destination]) -> EventResult {
    let status = event_status(&p.targets);
    let deliveries: Vec<DeliveryResult> = p
        .targets
        .iter()
        .zip(dests)
        .map(|(target, dest)| {
            let (status, reason, delivery_id) = match *target {
                Target::Queued(id) => ("queued", None, Some(id)),
                Target::Skipped(reason) => ("skipped", Some(reason), None),
                _ => ("duplicate", None, None),
            };
            DeliveryResult {
                destination_id: dest.id(),
                kind: dest.kind.as_str(),
                status,
                reason,
                delivery_id,
            }
        })
        .collect();
    let mut warnings = p.event().warnings.clone();
    if dests.is_empty() {
        warnings.push(Warning {
            code: "no_destinations".into(),
            message: "this account has no destinations yet: the event was not forwarded".into(),
        });
    }
    EventResult {
        index,
        event_id: Some(p.event().event_id.clone()),
        event_name: Some(p.event().event_name.clone()),
        status,
        deliveries: Some(deliveries),
        warnings,
        error: None,
    }
}
