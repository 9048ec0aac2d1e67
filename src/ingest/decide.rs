//! Which destinations an event goes to, before dedup: each destination is either a
//! candidate (its dedup key decides queued vs duplicate) or skipped with a reason.
//! Pure: the caller supplies the time.

use uuid::Uuid;

use super::event::ValidatedEvent;
use super::names;
use crate::clock::{MS_PER_DAY, MS_PER_HOUR};
use crate::destinations::{Destination, Kind};

/// Meta refuses events older than 7 days.
pub const META_MAX_AGE_MS: i64 = 7 * MS_PER_DAY;
/// GA4 accepts events backdated up to 72 hours.
pub const GA4_MAX_AGE_MS: i64 = 72 * MS_PER_HOUR;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Candidate,
    Skipped(&'static str),
}

pub fn max_age_ms(kind: Kind) -> i64 {
    match kind {
        Kind::MetaCapi => META_MAX_AGE_MS,
        Kind::Ga4Mp => GA4_MAX_AGE_MS,
    }
}

/// Decides one destination for one event.
pub fn decide(event: &ValidatedEvent, destination: &Destination, now_ms: i64) -> Decision {
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
    // The same safety margin the worker applies: never queue what it would not send.
    if event.event_time_ms()
        < now_ms - max_age_ms(destination.kind) + crate::dispatch::retry::EXPIRY_MARGIN_MS
    {
        return Decision::Skipped("too_old");
    }
    match destination.kind {
        Kind::Ga4Mp if event.ga4.client_id.is_none() => Decision::Skipped("missing_client_id"),
        Kind::Ga4Mp if names::ga4_name(&event.event_name).is_none() => {
            Decision::Skipped("invalid_ga4_event_name")
        }
        Kind::MetaCapi if event.user_data.is_empty() => Decision::Skipped("missing_user_data"),
        _ => Decision::Candidate,
    }
}

/// Ids listed in an event's `destinations` that the tenant does not have (by position).
pub fn unknown_destinations(event: &ValidatedEvent, known: &[Destination]) -> Option<usize> {
    let ids: &[Uuid] = event.destinations.as_deref()?;
    ids.iter()
        .position(|id| !known.iter().any(|d| d.id() == *id))
}
