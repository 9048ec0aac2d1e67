//! The rows a commit group writes: every accepted event once, and one pending delivery
//! per queued destination, inserted in multi-row statements.

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::accept::{Planned, Target, is_queued};
use super::event::Rejection;
use crate::destinations::Destination;
use crate::entities::{deliveries, events};
use crate::error::AppResult;

/// Rows per statement: keeps bound parameters below SQLite's and PostgreSQL's limits.
const INSERT_CHUNK: usize = 1000;

/// What every row of one request shares.
pub(super) struct RowContext<'a> {
    pub(super) tenant_id: Uuid,
    pub(super) reserved_period: Option<&'a str>,
    pub(super) trace: Option<&'a str>,
    pub(super) now_ms: i64,
}

#[derive(Default)]
pub(super) struct Rows {
    events: Vec<events::ActiveModel>,
    deliveries: Vec<deliveries::ActiveModel>,
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
            let parsed = p.parsed;
            self.events.push(events::ActiveModel {
                tenant_id: Set(rows.tenant_id),
                id: Set(parsed.row_id),
                event_id: Set(parsed.event.event_id.clone()),
                event_name: Set(parsed.event.event_name.clone()),
                event_time: Set(parsed.event.event_time_ms()),
                received_at: Set(rows.now_ms),
                payload: Set(parsed.payload.clone()),
                sealed: Set(parsed.sealed.clone()),
                warnings: Set(parsed.warnings.clone()),
                trace_context: Set(rows.trace.map(str::to_string)),
                purged_at: Set(None),
            });
            for (target, dest) in p.targets.iter().zip(dests) {
                if let Target::Queued(delivery_id) = target {
                    self.deliveries
                        .push(delivery_row(*delivery_id, parsed.row_id, dest, rows));
                }
            }
        }
    }

    pub(super) async fn insert(self, db: &impl ConnectionTrait) -> AppResult<()> {
        for chunk in self.events.chunks(INSERT_CHUNK) {
            events::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        for chunk in self.deliveries.chunks(INSERT_CHUNK) {
            deliveries::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }
}

fn delivery_row(
    id: Uuid,
    event_row_id: Uuid,
    dest: &Destination,
    rows: &RowContext<'_>,
) -> deliveries::ActiveModel {
    let now_ms = rows.now_ms;
    // A paused destination's deliveries wait in `paused` until its credentials are fixed.
    let status = if dest.model.state == "paused" {
        "paused"
    } else {
        "pending"
    };
    deliveries::ActiveModel {
        tenant_id: Set(rows.tenant_id),
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
        reserved_period: Set(rows.reserved_period.map(str::to_string)),
    }
}
