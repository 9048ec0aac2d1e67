//! Which destinations an event goes to, before dedup: each destination is either a
//! candidate (its dedup key decides queued vs duplicate) or skipped with a reason.
//! Pure: the caller supplies the time.

use uuid::Uuid;

use super::event::ValidatedEvent;
use crate::destinations::{Destination, EventFacts};
use crate::states::ConsentPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Candidate,
    Skipped(&'static str),
}

/// What a destination's rules look at.
pub fn facts(event: &ValidatedEvent) -> EventFacts<'_> {
    EventFacts {
        event_name: &event.event_name,
        action_source: &event.action_source,
        has_user_data: !event.user_data.is_empty(),
        has_ga4_client_id: event.ga4.client_id.is_some(),
        has_ga4_app_instance_id: event.ga4.app_instance_id.is_some(),
        hashed: &event.user_data.hashed,
        identifiers: &event.user_data.identifiers,
        extra: &event.extra,
    }
}

/// Decides one destination for one event under the tenant's consent policy.
pub fn decide(
    event: &ValidatedEvent,
    destination: &Destination,
    policy: ConsentPolicy,
    now_ms: i64,
) -> Decision {
    if event
        .destinations
        .as_ref()
        .is_some_and(|ids| !ids.contains(&destination.id()))
    {
        return Decision::Skipped("destination_filter");
    }
    if destination.is_disabled() {
        return Decision::Skipped("destination_disabled");
    }
    let spec = destination.spec();
    // The same limit the worker applies: never queue what it would not send.
    if event.event_time_ms() < spec.too_old_before(now_ms) {
        return Decision::Skipped("too_old");
    }
    if policy == ConsentPolicy::Enforce
        && spec.needs_ad_consent()
        && !event.consent.ad_user_data_granted()
    {
        return Decision::Skipped("consent_denied");
    }
    match spec.skip_reason(&facts(event), &destination.settings) {
        Some(reason) => Decision::Skipped(reason),
        None => Decision::Candidate,
    }
}

/// Ids listed in an event's `destinations` that the tenant does not have (by position).
pub fn unknown_destinations(event: &ValidatedEvent, known: &[Destination]) -> Option<usize> {
    let ids: &[Uuid] = event.destinations.as_deref()?;
    ids.iter()
        .position(|id| !known.iter().any(|d| d.id() == *id))
}
