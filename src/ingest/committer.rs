//! The group committer: requests queue here after parsing; a collector takes everything
//! waiting (up to a bound) as one group and commits it in one transaction (`group`),
//! with at most `slots` groups committing at once. While a group commits, the next one
//! gathers, so under load many requests share one commit and one fsync; alone, a
//! request commits immediately. Each request's answer is sent only after its commit.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::accept::{Job, Outcome};
use super::group::{Slot, commit_group};
use crate::db::Db;
use crate::error::{AppError, AppResult, ErrorKind};

/// Bounds of one group: requests, and events across them.
const MAX_GROUP_REQUESTS: usize = 256;
const MAX_GROUP_EVENTS: usize = 4000;
/// Requests waiting for a group beyond this make `submit` wait (back-pressure).
const QUEUE: usize = 4096;

struct Pending {
    job: Job,
    reply: oneshot::Sender<Outcome>,
}

pub struct Committer {
    tx: mpsc::Sender<Pending>,
}

impl Committer {
    /// Starts the collector on the current runtime; it ends when the committer is dropped.
    pub fn start(db: Db, slots: usize) -> Arc<Committer> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (carry_tx, carry_rx) = mpsc::unbounded_channel();
        tokio::spawn(collect(db, slots.max(1), rx, carry_tx, carry_rx));
        Arc::new(Committer { tx })
    }

    /// Queues a parsed request and waits for its commit.
    pub async fn submit(&self, job: Job) -> AppResult<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending { job, reply })
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| AppError::internal("the commit of this request did not complete"))
    }
}

fn stopped() -> AppError {
    AppError::new(
        ErrorKind::Unavailable,
        "shutting_down",
        "the server is stopping; retry the request",
    )
}

async fn collect(
    db: Db,
    slots: usize,
    mut rx: mpsc::Receiver<Pending>,
    carry_tx: mpsc::UnboundedSender<Pending>,
    mut carry_rx: mpsc::UnboundedReceiver<Pending>,
) {
    let semaphore = Arc::new(Semaphore::new(slots));
    loop {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            return;
        };
        let mut group = Vec::new();
        let mut events = 0;
        // Deferred requests go first, keeping each tenant's order.
        while let Ok(p) = carry_rx.try_recv() {
            events += p.job.events.len();
            group.push(p);
        }
        if group.is_empty() {
            let first = tokio::select! {
                biased;
                Some(p) = carry_rx.recv() => p,
                p = rx.recv() => match p {
                    Some(p) => p,
                    None => return,
                },
            };
            events += first.job.events.len();
            group.push(first);
        }
        while group.len() < MAX_GROUP_REQUESTS && events < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(p) => {
                    events += p.job.events.len();
                    group.push(p);
                }
                Err(_) => break,
            }
        }
        let (db, carry) = (db.clone(), carry_tx.clone());
        tokio::spawn(async move {
            let (jobs, replies): (Vec<Job>, Vec<_>) =
                group.into_iter().map(|p| (p.job, p.reply)).unzip();
            let slots = commit_group(&db, &jobs).await;
            drop(permit);
            for ((job, reply), slot) in jobs.into_iter().zip(replies).zip(slots) {
                let outcome = match slot {
                    Slot::Done(result) => Outcome::Done(result),
                    Slot::Stale => Outcome::Stale,
                    Slot::Deferred => {
                        let _ = carry.send(Pending { job, reply });
                        continue;
                    }
                };
                // The requester may have gone (client disconnected): the commit stands.
                let _ = reply.send(outcome);
            }
        });
    }
}
