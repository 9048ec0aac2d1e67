//! The dispatcher: claim due work per destination, send, complete. `run_once` is one
//! round (tests drive the queue with it, without sleeping); `run` is the loop `serve`
//! starts, which keeps one batch in flight per destination, so a slow or failing
//! destination never holds up the others, and stops claiming on shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::queue;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Keys;
use crate::db::Db;
use crate::destinations::send::Senders;
use crate::error::AppResult;

/// The default lease (`KICKIN_LEASE_SECONDS`): a crashed worker's deliveries are retaken after it.
pub const LEASE_MS: i64 = 120_000;
const DESTINATIONS_PER_ROUND: u64 = 16;
/// Batches of one destination sent at the same time: enough to hide a slow response,
/// few enough that one destination cannot take every worker slot.
const BATCHES_PER_DESTINATION: usize = 4;
const IDLE_POLL: Duration = Duration::from_millis(250);
/// A further request of a claim starts only if it can time out and be recorded before
/// the lease ends: one send timeout plus this much room for the completion.
const COMPLETION_ROOM_MS: i64 = 5_000;

pub struct Dispatcher {
    pub(super) db: Db,
    pub(super) keys: Keys,
    pub(super) clock: Clock,
    pub(super) senders: Senders,
    pub(super) schedule: Vec<Duration>,
    pub(super) lease_ms: i64,
    /// Lease time a further request of a claim needs left (see `COMPLETION_ROOM_MS`).
    pub(super) send_budget_ms: i64,
    /// Batches in flight per destination (at most `BATCHES_PER_DESTINATION`).
    in_flight: Mutex<HashMap<Uuid, usize>>,
}

impl Dispatcher {
    pub fn new(db: Db, keys: Keys, clock: Clock, config: &Config) -> Self {
        Dispatcher {
            senders: Senders::new(config),
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
}
