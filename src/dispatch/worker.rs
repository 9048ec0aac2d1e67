//! The dispatcher: claim due work per destination, send, complete. `run_once` is one
//! round (tests drive the queue with it, without sleeping); `run` is the loop `serve`
//! starts, which keeps one batch in flight per destination, so a slow or failing
//! destination never holds up the others, and stops claiming on shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use super::clients::ga4::{Ga4Client, Ga4Target};
use super::clients::meta::{MetaClient, MetaTarget};
use super::clients::{self, Budget, meta};
use super::complete::{Completion, Tally, complete};
use super::outcome::{self, Attempt, Outcome};
use super::payload::{self, StoredEvent};
use super::queue::{self, Claimed, DueDestination};
use super::resend;
use super::retry::expires_at;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Keys;
use crate::db::Db;
use crate::destinations::{self, Destination, Kind};
use crate::error::{AppResult, ErrorKind};
use crate::ingest::decide::max_age_ms;

/// The default lease (`KICKIN_LEASE_SECONDS`): a crashed worker's deliveries are retaken after it.
pub const LEASE_MS: i64 = 120_000;
const META_BATCH: u64 = meta::MAX_BATCH as u64;
/// GA4 requests go one `client_id` group at a time: 16 × the 5 s timeout stays well
/// inside the default lease.
const GA4_BATCH: u64 = 16;
const DESTINATIONS_PER_ROUND: u64 = 16;
/// Batches of one destination sent at the same time: enough to hide a slow response,
/// few enough that one destination cannot take every worker slot.
const BATCHES_PER_DESTINATION: usize = 4;
const IDLE_POLL: Duration = Duration::from_millis(250);
/// A further request of a claim starts only if it can time out and be recorded before
/// the lease ends: one send timeout plus this much room for the completion.
const COMPLETION_ROOM_MS: i64 = 5_000;

pub struct Dispatcher {
    db: Db,
    keys: Keys,
    clock: Clock,
    meta: MetaClient,
    ga4: Ga4Client,
    schedule: Vec<Duration>,
    lease_ms: i64,
    /// Lease time a further request of a claim needs left (see `COMPLETION_ROOM_MS`).
    send_budget_ms: i64,
    /// Batches in flight per destination (at most `BATCHES_PER_DESTINATION`).
    in_flight: Mutex<HashMap<Uuid, usize>>,
}

impl Dispatcher {
    pub fn new(db: Db, keys: Keys, clock: Clock, config: &Config) -> Self {
        let http = clients::http_client(config.send_timeout);
        Dispatcher {
            meta: MetaClient {
                http: http.clone(),
                base: config.meta_api_base.clone(),
                version: config.meta_api_version.clone(),
            },
            ga4: Ga4Client {
                http,
                base: config.ga4_api_base.clone(),
            },
            schedule: config.retry_schedule.clone(),
            lease_ms: config.lease_ms,
            send_budget_ms: config.send_timeout.as_millis() as i64 + COMPLETION_ROOM_MS,
            db,
            keys,
            clock,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// One round: every destination with due work gets one batch. Returns the number of
    /// deliveries processed.
    pub async fn run_once(self: &Arc<Self>) -> AppResult<usize> {
        let due =
            queue::due_destinations(&self.db, self.clock.now_ms(), DESTINATIONS_PER_ROUND).await?;
        let mut processed = 0;
        for d in due {
            processed += self.process(d).await?.total();
        }
        Ok(processed)
    }

    /// Runs rounds until `shutdown`, then lets in-flight batches finish.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        while !shutdown.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            let started = self.start_round(&mut tasks).await;
            if started == 0 {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            } else {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    Some(_) = tasks.join_next() => {}
                }
            }
        }
        tracing::info!(
            in_flight = tasks.len(),
            "dispatcher stopping: finishing in-flight sends"
        );
        while tasks.join_next().await.is_some() {}
    }

    async fn start_round(self: &Arc<Self>, tasks: &mut JoinSet<()>) -> usize {
        let busy = self.in_flight.lock().expect("in-flight map").len() as u64;
        let due = match queue::due_destinations(
            &self.db,
            self.clock.now_ms(),
            DESTINATIONS_PER_ROUND + busy,
        )
        .await
        {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = %err, "claiming due destinations failed");
                return 0;
            }
        };
        let mut started = 0;
        for d in due {
            {
                let mut in_flight = self.in_flight.lock().expect("in-flight map");
                let n = in_flight.entry(d.destination_id).or_insert(0);
                if *n >= BATCHES_PER_DESTINATION {
                    continue;
                }
                *n += 1;
            }
            started += 1;
            let this = self.clone();
            tasks.spawn(async move {
                if let Err(err) = this.process(d).await {
                    tracing::warn!(error = %err, destination = %d.destination_id, "dispatch batch failed");
                }
                let mut in_flight = this.in_flight.lock().expect("in-flight map");
                if let Some(n) = in_flight.get_mut(&d.destination_id) {
                    *n -= 1;
                    if *n == 0 {
                        in_flight.remove(&d.destination_id);
                    }
                }
            });
        }
        started
    }

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
            batch_limit(destination.kind),
        )
        .await?;
        if claimed.is_empty() {
            return Ok(Tally::default());
        }
        // The last moment a request may start and still complete inside the lease.
        let deadline = self.clock.now_ms() + self.lease_ms - self.send_budget_ms;
        let ids: Vec<Uuid> = claimed.iter().map(|c| c.event_row_id).collect();
        let events = match payload::load(&self.db.conn, &self.keys, due.tenant_id, &ids).await {
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
        let destination = match destinations::get(&self.db.conn, due.tenant_id, due.destination_id)
            .await
        {
            Ok(d) => d,
            Err(err) if err.kind == ErrorKind::NotFound => {
                let txn = self.db.begin_write().await?;
                destinations::fail_waiting(&*txn, due.tenant_id, due.destination_id, now).await?;
                txn.commit().await?;
                return Ok(None);
            }
            Err(err) => {
                crate::metrics::metrics().dispatch_error("read_destination");
                return Err(err);
            }
        };
        if destination.model.state != "active" {
            let txn = self.db.begin_write().await?;
            destinations::set_waiting_status(
                &*txn,
                due.tenant_id,
                due.destination_id,
                "pending",
                "paused",
                now,
            )
            .await?;
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
        let max_age = max_age_ms(destination.kind);
        let mut completions = Vec::with_capacity(claimed.len());
        let mut to_send: Vec<(Uuid, &StoredEvent)> = Vec::new();
        let mut by_id = HashMap::new();
        for c in claimed {
            let Some(event) = events.get(&c.event_row_id) else {
                completions.push(local(c, Outcome::Fail, PAYLOAD_MISSING, now, None));
                continue;
            };
            let expires = expires_at(event.event_time_ms, max_age);
            let window = resend::dedup_window_ms(destination.kind, event);
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
        match destination.kind {
            Kind::MetaCapi => {
                let target = MetaTarget {
                    pixel_id: destination.settings.pixel_id.as_deref().unwrap_or_default(),
                    access_token: credential,
                    test_event_code: destination.settings.test_event_code.as_deref(),
                };
                self.meta.send(&target, to_send, &budget).await
            }
            Kind::Ga4Mp => {
                let target = Ga4Target {
                    measurement_id: destination
                        .settings
                        .measurement_id
                        .as_deref()
                        .unwrap_or_default(),
                    api_secret: credential,
                };
                self.ga4.send(&target, to_send, &budget).await
            }
        }
    }
}

fn batch_limit(kind: Kind) -> u64 {
    match kind {
        Kind::MetaCapi => META_BATCH,
        Kind::Ga4Mp => GA4_BATCH,
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
