//! One batch of one destination: check the destination may be sent to, claim a batch
//! (marking it in flight), decide locally what must not be sent (missing payload, too
//! old, an earlier send of unknown outcome a resend would double), send the rest within
//! the claim's budget and record every result in one completion.

use std::collections::HashMap;

use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use super::complete::{Completion, Tally, complete};
use super::payload;
use super::queue::{self, Claimed, DueDestination};
use super::resend;
use super::worker::Dispatcher;
use crate::destinations::outcome::{self, Attempt, Outcome};
use crate::destinations::send::Budget;
use crate::destinations::spec::Target;
use crate::destinations::{self, Destination, StoredEvent};
use crate::error::{AppResult, ErrorKind};
use crate::states::DestinationState;

impl Dispatcher {
    /// Claims one batch of a destination, sends it and records the results.
    pub async fn process(&self, due: DueDestination) -> AppResult<Tally> {
        let Some(destination) = self.destination(due).await? else {
            return Ok(Tally::default());
        };
        // Everything that can fail before the send is done before the claim marks one.
        let credential = destination.credential(&self.keys)?;
        let claimed = queue::claim(
            &self.db,
            due,
            self.clock.now_ms(),
            self.lease_ms,
            destination.spec().claim_limit(),
        )
        .await?;
        if claimed.is_empty() {
            return Ok(Tally::default());
        }
        // The last moment a request may start and still complete inside the lease.
        let deadline = self.clock.now_ms() + self.lease_ms - self.send_budget_ms;
        let ids: Vec<Uuid> = claimed.iter().map(|c| c.event_row_id).collect();
        let events =
            match payload::load_enriched(&self.db.conn, &self.keys, due.tenant_id, &ids).await {
                Ok(events) => events,
                Err(err) => {
                    // Nothing was sent: give the claim back rather than leave a mark that
                    // would read as a send of unknown outcome.
                    queue::release(&self.db, &claimed).await?;
                    return Err(err);
                }
            };
        let span = tracing::info_span!("dispatch.attempt", destination_id = %due.destination_id,
            kind = destination.kind.as_str(), deliveries = claimed.len(), succeeded = tracing::field::Empty,
            retried = tracing::field::Empty, failed = tracing::field::Empty);
        // Follow one event across the queue: this span links to each event's ingest span.
        for context in events
            .values()
            .filter_map(|e| e.trace_context.as_deref())
            .filter_map(crate::telemetry::parse_traceparent)
        {
            span.add_link(context);
        }
        let completions = self
            .send(&destination, &credential, claimed, &events, deadline)
            .instrument(span.clone())
            .await?;
        let tally = complete(&self.db, &completions, &self.schedule, self.clock.now_ms())
            .instrument(span.clone())
            .await?;
        span.record("succeeded", tally.succeeded);
        span.record("retried", tally.retried);
        span.record("failed", tally.failed + tally.dead + tally.unconfirmed);
        tracing::info!(parent: &span, destination = %due.destination_id, kind = destination.kind.as_str(), ?tally, "dispatch batch done");
        Ok(tally)
    }

    /// The destination, when its deliveries may be sent now. A destination that is gone
    /// fails its waiting deliveries; one that is paused or disabled parks them. Any other
    /// error reading it leaves them waiting: a database that cannot answer is not a
    /// destination that does not exist.
    async fn destination(&self, due: DueDestination) -> AppResult<Option<Destination>> {
        let now = self.clock.now_ms();
        let destination =
            match destinations::get(&self.db.conn, due.tenant_id, due.destination_id).await {
                Ok(d) => d,
                Err(err) if err.kind == ErrorKind::NotFound => {
                    let txn = self.db.begin_write().await?;
                    queue::fail_waiting(&*txn, due.tenant_id, due.destination_id, now).await?;
                    txn.commit().await?;
                    return Ok(None);
                }
                Err(err) => {
                    crate::metrics::metrics().dispatch_error("read_destination");
                    return Err(err);
                }
            };
        if destination.model.state != DestinationState::Active {
            let txn = self.db.begin_write().await?;
            queue::park(&*txn, due.tenant_id, due.destination_id, now).await?;
            txn.commit().await?;
            return Ok(None);
        }
        Ok(Some(destination))
    }

    async fn send(
        &self,
        destination: &Destination,
        credential: &str,
        claimed: Vec<Claimed>,
        events: &HashMap<Uuid, StoredEvent>,
        deadline: i64,
    ) -> AppResult<Vec<Completion>> {
        let now = self.clock.now_ms();
        let spec = destination.spec();
        let mut completions = Vec::with_capacity(claimed.len());
        let mut to_send: Vec<(Uuid, &StoredEvent)> = Vec::new();
        let mut by_id = HashMap::new();
        for c in claimed {
            let Some(event) = events.get(&c.event_row_id) else {
                completions.push(local(c, Outcome::Fail, PAYLOAD_MISSING, now, None));
                continue;
            };
            let expires = spec.expires_at(event.event_time_ms);
            let window = spec.resend_window_ms(event);
            if now >= expires {
                completions.push(local(c, Outcome::Expired, TOO_OLD, expires, window));
            } else if !resend::may_send(window, c.maybe_sent_at, now) {
                completions.push(local(c, Outcome::Unconfirmed, UNKNOWN, expires, window));
            } else {
                to_send.push((c.id, event));
                by_id.insert(c.id, (c, expires, window));
            }
        }
        if to_send.is_empty() {
            return Ok(completions);
        }
        let results = self.post(destination, credential, &to_send, deadline).await;
        for (id, result) in results {
            if let Some((claimed, expires_at_ms, dedup_window_ms)) = by_id.remove(&id) {
                completions.push(Completion {
                    claimed,
                    result,
                    expires_at_ms,
                    dedup_window_ms,
                });
            }
        }
        Ok(completions)
    }

    async fn post(
        &self,
        destination: &Destination,
        credential: &str,
        to_send: &[(Uuid, &StoredEvent)],
        deadline: i64,
    ) -> Vec<(Uuid, outcome::Result)> {
        let budget = Budget {
            clock: &self.clock,
            deadline_ms: deadline,
        };
        let target = Target {
            settings: &destination.settings,
            credential,
        };
        self.senders
            .get(destination.kind)
            .send(&target, to_send, &budget)
            .await
    }
}

const PAYLOAD_MISSING: (&str, &str) = ("payload_missing", "the event payload is no longer stored");
const TOO_OLD: (&str, &str) = ("expired", "too old to send");
const UNKNOWN: (&str, &str) = (
    "outcome_unknown",
    "an earlier attempt may have reached the destination (its answer was never recorded) \
     and a resend would not be deduplicated",
);

/// A completion decided without sending.
fn local(
    claimed: Claimed,
    outcome: Outcome,
    (code, message): (&str, &str),
    expires_at_ms: i64,
    dedup_window_ms: Option<i64>,
) -> Completion {
    let attempt = Attempt {
        started_at: claimed.maybe_sent_at.unwrap_or_default(),
        error_code: Some(code.into()),
        error_message: Some(message.into()),
        ..Attempt::default()
    };
    Completion {
        claimed,
        result: outcome::Result { outcome, attempt },
        expires_at_ms,
        dedup_window_ms,
    }
}
