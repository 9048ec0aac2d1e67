//! The rows a commit group writes: every accepted event once, and one pending delivery
//! per queued destination, each table in one bulk insert (`crate::bulk`).

use uuid::Uuid;

use super::accept::{Planned, Target, is_queued};
use super::event::Rejection;
use crate::bulk::{Bulk, Col};
use crate::destinations::Destination;
use crate::states::{DeliveryStatus, DestinationState};

/// What every row of one request shares.
pub(super) struct RowContext<'a> {
    pub(super) tenant_id: Uuid,
    pub(super) reserved_period: Option<&'a str>,
    pub(super) trace: Option<&'a str>,
    pub(super) now_ms: i64,
}

/// Column vectors of the `events` rows.
#[derive(Default)]
struct EventCols {
    tenant_id: Vec<Uuid>,
    id: Vec<Uuid>,
    event_id: Vec<String>,
    event_name: Vec<String>,
    event_time: Vec<i64>,
    received_at: Vec<i64>,
    payload: Vec<String>,
    sealed: Vec<Option<String>>,
    warnings: Vec<String>,
    trace_context: Vec<Option<String>>,
}

/// Column vectors of the `deliveries` rows (the retry columns start NULL).
#[derive(Default)]
struct DeliveryCols {
    tenant_id: Vec<Uuid>,
    id: Vec<Uuid>,
    event_row_id: Vec<Uuid>,
    destination_id: Vec<Uuid>,
    kind: Vec<String>,
    status: Vec<String>,
    attempts: Vec<i32>,
    next_attempt_at: Vec<i64>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    reserved_period: Vec<Option<String>>,
}

#[derive(Default)]
pub(super) struct Rows {
    events: EventCols,
    deliveries: DeliveryCols,
}

impl Rows {
    /// Adds the accepted events of one request and their queued deliveries.
    pub(super) fn add(
        &mut self,
        planned: &[Result<Planned<'_>, Rejection>],
        dests: &[Destination],
        rows: &RowContext<'_>,
    ) {
        for p in planned.iter().flatten() {
            if !p.targets.iter().any(is_queued) {
                continue;
            }
            let (parsed, e) = (p.parsed, &mut self.events);
            e.tenant_id.push(rows.tenant_id);
            e.id.push(parsed.row_id);
            e.event_id.push(parsed.event.event_id.clone());
            e.event_name.push(parsed.event.event_name.clone());
            e.event_time.push(parsed.event.event_time_ms());
            e.received_at.push(rows.now_ms);
            e.payload.push(parsed.payload.clone());
            e.sealed.push(parsed.sealed.clone());
            e.warnings.push(parsed.warnings.clone());
            e.trace_context.push(rows.trace.map(str::to_string));
            for (target, dest) in p.targets.iter().zip(dests) {
                if let Target::Queued(delivery_id) = target {
                    self.add_delivery(*delivery_id, parsed.row_id, dest, rows);
                }
            }
        }
    }

    fn add_delivery(
        &mut self,
        id: Uuid,
        event_row_id: Uuid,
        dest: &Destination,
        rows: &RowContext<'_>,
    ) {
        let (d, now_ms) = (&mut self.deliveries, rows.now_ms);
        // A paused destination's deliveries wait in `paused` until its credentials are fixed.
        let status = if dest.model.state == DestinationState::Paused {
            DeliveryStatus::Paused
        } else {
            DeliveryStatus::Pending
        };
        d.tenant_id.push(rows.tenant_id);
        d.id.push(id);
        d.event_row_id.push(event_row_id);
        d.destination_id.push(dest.id());
        d.kind.push(dest.kind.as_str().to_string());
        d.status.push(status.as_str().to_string());
        d.attempts.push(0);
        d.next_attempt_at
            .push(dest.model.hold_until.map_or(now_ms, |h| h.max(now_ms)));
        d.created_at.push(now_ms);
        d.updated_at.push(now_ms);
        d.reserved_period
            .push(rows.reserved_period.map(str::to_string));
    }

    /// The two inserts: events, then deliveries.
    pub(super) fn into_bulks(self) -> [Bulk; 2] {
        let (e, d) = (self.events, self.deliveries);
        let events = Bulk {
            table: "events",
            columns: vec![
                ("tenant_id", Col::Uuid(e.tenant_id)),
                ("id", Col::Uuid(e.id)),
                ("event_id", Col::Text(e.event_id)),
                ("event_name", Col::Text(e.event_name)),
                ("event_time", Col::BigInt(e.event_time)),
                ("received_at", Col::BigInt(e.received_at)),
                ("payload", Col::Text(e.payload)),
                ("sealed", Col::OptText(e.sealed)),
                ("warnings", Col::Text(e.warnings)),
                ("trace_context", Col::OptText(e.trace_context)),
            ],
            suffix: String::new(),
        };
        let deliveries = Bulk {
            table: "deliveries",
            columns: vec![
                ("tenant_id", Col::Uuid(d.tenant_id)),
                ("id", Col::Uuid(d.id)),
                ("event_row_id", Col::Uuid(d.event_row_id)),
                ("destination_id", Col::Uuid(d.destination_id)),
                ("kind", Col::Text(d.kind)),
                ("status", Col::Text(d.status)),
                ("attempts", Col::Int(d.attempts)),
                ("next_attempt_at", Col::BigInt(d.next_attempt_at)),
                ("created_at", Col::BigInt(d.created_at)),
                ("updated_at", Col::BigInt(d.updated_at)),
                ("reserved_period", Col::OptText(d.reserved_period)),
            ],
            suffix: String::new(),
        };
        [events, deliveries]
    }
}
