//! Storing beacons. Observations are written tenant-scoped, their `fbp`/`fbc` sealed like
//! a server event's identifiers, with a keyed hash of `fbp` for finding the same visitor.
//! A beacon comes with every page view, so beacons waiting at the same moment share one
//! transaction (one commit, one fsync); each beacon is answered after its commit.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::beacon::Observation;
use super::keys::BrowserKey;
use crate::bulk::{Bulk, Col};
use crate::crypto::Keys;
use crate::db::Db;
use crate::error::{AppError, AppResult, ErrorKind};

/// A beacon leaves the page within seconds of the pixel call, so the browser's clock is
/// trusted only this close to the arrival; outside (a wrong device clock), the arrival
/// time stands for the firing time.
pub const CLOCK_TRUST_MS: i64 = 5 * 60_000;
/// Rows one shared transaction takes at most.
const MAX_GROUP_ROWS: usize = 2_000;
const QUEUE: usize = 4_096;

/// Observations ready to insert, by column.
#[derive(Default)]
pub struct Rows {
    tenant_id: Vec<Uuid>,
    id: Vec<Uuid>,
    key_id: Vec<Uuid>,
    event_name: Vec<String>,
    event_id: Vec<Option<String>>,
    fbp_hash: Vec<Option<String>>,
    sealed: Vec<Option<String>>,
    page_url: Vec<String>,
    ts_ms: Vec<i64>,
    fired_at: Vec<i64>,
    received_at: Vec<i64>,
}

/// The firing time the matcher uses (see [`CLOCK_TRUST_MS`]).
pub fn fired_at(ts_ms: i64, received_ms: i64) -> i64 {
    if (received_ms - CLOCK_TRUST_MS..=received_ms).contains(&ts_ms) {
        ts_ms
    } else {
        received_ms
    }
}

impl Rows {
    /// Seals and hashes a beacon's observations (no I/O).
    pub fn push(&mut self, keys: &Keys, key: &BrowserKey, obs: Vec<Observation>, now: i64) {
        for o in obs {
            let mut secret = Map::new();
            for (name, value) in [("fbp", &o.fbp), ("fbc", &o.fbc)] {
                if let Some(v) = value {
                    secret.insert(name.into(), json!(v));
                }
            }
            self.tenant_id.push(key.tenant_id);
            // Ids follow the receipt time: retention purges by id range.
            self.id.push(crate::ids::at(now));
            self.key_id.push(key.key_id);
            self.event_name.push(o.event_name);
            self.event_id.push(o.event_id);
            self.fbp_hash
                .push(o.fbp.as_deref().map(|f| keys.lookup_hash(f)));
            self.sealed
                .push((!secret.is_empty()).then(|| keys.seal_json(&Value::Object(secret))));
            self.page_url.push(o.page_url);
            self.ts_ms.push(o.ts_ms);
            self.fired_at.push(fired_at(o.ts_ms, now));
            self.received_at.push(now);
        }
    }

    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    fn append(&mut self, mut other: Rows) {
        self.tenant_id.append(&mut other.tenant_id);
        self.id.append(&mut other.id);
        self.key_id.append(&mut other.key_id);
        self.event_name.append(&mut other.event_name);
        self.event_id.append(&mut other.event_id);
        self.fbp_hash.append(&mut other.fbp_hash);
        self.sealed.append(&mut other.sealed);
        self.page_url.append(&mut other.page_url);
        self.ts_ms.append(&mut other.ts_ms);
        self.fired_at.append(&mut other.fired_at);
        self.received_at.append(&mut other.received_at);
    }

    fn bulk(self) -> Bulk {
        Bulk {
            table: "browser_events",
            columns: vec![
                ("tenant_id", Col::Uuid(self.tenant_id)),
                ("id", Col::Uuid(self.id)),
                ("key_id", Col::Uuid(self.key_id)),
                ("event_name", Col::Text(self.event_name)),
                ("event_id", Col::OptText(self.event_id)),
                ("fbp_hash", Col::OptText(self.fbp_hash)),
                ("sealed", Col::OptText(self.sealed)),
                ("page_url", Col::Text(self.page_url)),
                ("ts_ms", Col::BigInt(self.ts_ms)),
                ("fired_at", Col::BigInt(self.fired_at)),
                ("received_at", Col::BigInt(self.received_at)),
            ],
            suffix: String::new(),
        }
    }

    /// Inserts the rows in one write transaction.
    pub async fn insert(self, db: &Db) -> Result<(), sea_orm::DbErr> {
        let txn = db.begin_write().await?;
        self.bulk().execute(&*txn).await?;
        txn.commit().await
    }
}

struct Pending {
    rows: Rows,
    reply: oneshot::Sender<Result<(), String>>,
}

/// The shared-transaction writer of beacons.
pub struct Intake {
    tx: mpsc::Sender<Pending>,
}

impl Intake {
    /// Starts the writer on the current runtime; it ends when the intake is dropped.
    pub fn start(db: Db) -> Arc<Intake> {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(db, rx));
        Arc::new(Intake { tx })
    }

    /// Queues a beacon's rows and waits for their commit.
    pub async fn submit(&self, rows: Rows) -> AppResult<()> {
        let (reply, answer) = oneshot::channel();
        let unavailable = |why: &str| {
            AppError::new(
                ErrorKind::Unavailable,
                "database_unavailable",
                format!("the beacon could not be stored ({why}); it may be sent again"),
            )
        };
        self.tx
            .send(Pending { rows, reply })
            .await
            .map_err(|_| unavailable("shutting down"))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(unavailable("database error")),
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut rows = first.rows;
        let mut replies = vec![first.reply];
        while rows.len() < MAX_GROUP_ROWS {
            let Ok(next) = rx.try_recv() else { break };
            rows.append(next.rows);
            replies.push(next.reply);
        }
        let n = rows.len();
        let result = rows.insert(&db).await.map_err(|e| {
            tracing::warn!(error = %e, rows = n, "storing browser observations failed");
            e.to_string()
        });
        crate::metrics::metrics().observations(n as u64, result.is_ok());
        for reply in replies {
            let _ = reply.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_clock_is_trusted_only_close_to_the_arrival() {
        let now = 1_764_590_000_000;
        assert_eq!(fired_at(now - 1_000, now), now - 1_000);
        assert_eq!(fired_at(now - CLOCK_TRUST_MS, now), now - CLOCK_TRUST_MS);
        assert_eq!(fired_at(now - CLOCK_TRUST_MS - 1, now), now, "clock behind");
        assert_eq!(fired_at(now + 30_000, now), now, "clock ahead");
    }

    #[test]
    fn identifiers_are_sealed_and_the_visitor_hashed() {
        let keys = Keys::derive("a-secret-key-that-is-long-enough-000");
        let key = BrowserKey {
            tenant_id: Uuid::now_v7(),
            key_id: Uuid::now_v7(),
            allowed_origins: vec![],
        };
        let obs = Observation {
            event_name: "Purchase".into(),
            event_id: None,
            fbp: Some("fb.1.1.123".into()),
            fbc: Some("fb.1.1.AbC".into()),
            page_url: "https://shop.example/".into(),
            ts_ms: 1,
        };
        let mut rows = Rows::default();
        rows.push(&keys, &key, vec![obs], 1_764_590_000_000);
        let sealed = rows.sealed[0].clone().unwrap();
        assert!(!sealed.contains("123") && !sealed.contains("AbC"));
        assert_eq!(
            keys.open_json(&sealed).unwrap(),
            json!({"fbp": "fb.1.1.123", "fbc": "fb.1.1.AbC"})
        );
        assert_eq!(rows.fbp_hash[0], Some(keys.lookup_hash("fb.1.1.123")));
    }
}
