//! Housekeeping loops of one shape (`periodically`): purge expired dedup keys, purge
//! event payloads past the plan's retention (keeping the identity billing and audit need,
//! with no PII), end deliveries that waited past their destination's age limit
//! (`dispatch::expiry`), purge expired admin sessions, recompute hard-limit reservations so a crash never leaks headroom, and
//! keep the planner's statistics of the queue's tables fresh after a burst.

use std::future::Future;
use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, LockType, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, MS_PER_DAY};
use crate::db::Db;
use crate::entities::{plans, tenants};
use crate::metering::limits;
use crate::period::Period;

/// Runs `task` every `every` until `shutdown`, logging what it did.
pub async fn periodically<F, Fut>(
    name: &'static str,
    every: Duration,
    shutdown: CancellationToken,
    mut task: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, DbErr>>,
{
    loop {
        match task().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(task = name, affected = n, "housekeeping"),
            Err(err) => tracing::warn!(task = name, error = %err, "housekeeping failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// True when this process holds the named job's lease for this pass: with several
/// processes on one database, each pass runs on exactly one of them.
pub async fn leader(
    db: &Db,
    job: &str,
    holder: &str,
    now_ms: i64,
    every: Duration,
) -> Result<bool, DbErr> {
    let txn = db.begin_write().await?;
    let until = now_ms + every.as_millis() as i64 - 1_000;
    let taken = crate::billing::scheduler::try_lease(
        &*txn,
        &format!("housekeeping:{job}"),
        holder,
        now_ms,
        until,
    )
    .await?;
    txn.commit().await?;
    Ok(taken)
}

/// What a leased loop needs: each pass runs on the one process holding the job's lease.
#[derive(Clone)]
pub struct Leased {
    db: Db,
    clock: Clock,
    holder: String,
    shutdown: CancellationToken,
}

impl Leased {
    pub fn new(db: Db, clock: Clock, shutdown: CancellationToken) -> Self {
        let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Self {
            db,
            clock,
            holder,
            shutdown,
        }
    }

    /// Runs `task(db, now)` every `every`, on this process only for the passes whose lease
    /// (`name`) it holds.
    pub fn spawn<F, Fut>(&self, name: &'static str, every: Duration, task: F) -> JoinHandle<()>
    where
        F: Fn(Db, i64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, DbErr>> + Send + 'static,
    {
        let Leased {
            db,
            clock,
            holder,
            shutdown,
        } = self.clone();
        tokio::spawn(periodically(name, every, shutdown, move || {
            let (db, now, holder) = (db.clone(), clock.now_ms(), holder.clone());
            let run = task(db.clone(), now);
            async move {
                if !leader(&db, name, &holder, now, every).await? {
                    return Ok(0);
                }
                run.await
            }
        }))
    }
}

/// Starts the loops: the purges, repairs and statistics refresh (one process at a time) and the sampling
/// of queue metrics (every process, for its own exporter).
pub fn spawn(db: Db, clock: Clock, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let sampler = {
        let (db, clock) = (db.clone(), clock.clone());
        tokio::spawn(periodically(
            "sample_metrics",
            Duration::from_secs(15),
            shutdown.clone(),
            move || {
                let (db, now) = (db.clone(), clock.now_ms());
                async move {
                    crate::metrics::metrics()
                        .sample(&db.conn, now)
                        .await
                        .map(|_| 0)
                }
            },
        ))
    };
    let postgres = db.backend() == sea_orm::DatabaseBackend::Postgres;
    let leased = Leased::new(db, clock, shutdown);
    let minutes = |m: u64| Duration::from_secs(60 * m);
    let mut loops = vec![
        leased.spawn("purge_dedup_keys", minutes(10), |db, now| async move {
            purge_dedup_keys(&db, now).await
        }),
        leased.spawn("purge_payloads", minutes(60), |db, now| async move {
            purge_payloads(&db, now).await
        }),
        leased.spawn(
            "expire_waiting_deliveries",
            crate::dispatch::expiry::EVERY,
            |db, now| async move { crate::dispatch::expiry::expire_waiting(&db, now).await },
        ),
        leased.spawn("purge_admin_sessions", minutes(10), |db, now| async move {
            let purged = async {
                let admins = crate::accounts::sessions::purge_expired(&db, now).await?;
                let portal = crate::accounts::portal_sessions::purge_expired(&db, now).await?;
                Ok::<_, crate::error::AppError>(admins + portal)
            };
            purged.await.map_err(|e| DbErr::Custom(e.to_string()))
        }),
        leased.spawn(
            "release_stale_reservations",
            minutes(5),
            |db, now| async move { release_stale_reservations(&db, now).await },
        ),
        sampler,
    ];
    // SQLite plans the queue's statements the same way whatever the row counts.
    if postgres {
        loops.push(leased.spawn(
            "refresh_statistics",
            Duration::from_secs(5),
            |db, _| async move { crate::statistics::refresh(&db).await },
        ));
    }
    loops
}

/// Deletes dedup keys whose window has passed (they no longer block anything).
pub async fn purge_dedup_keys(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    for tenant in tenants::Entity::find().all(&db.conn).await? {
        let delete = Query::delete()
            .from_table("dedup_keys")
            .and_where(Expr::col("tenant_id").eq(tenant.id))
            .and_where(Expr::col("expires_at").lte(now_ms))
            .to_owned();
        let txn = db.begin_write().await?;
        total += txn.execute(&delete).await?.rows_affected();
        txn.commit().await?;
    }
    Ok(total)
}

/// Events whose payload one purge transaction empties at most (bounded locks and WAL).
const PURGE_BATCH: u64 = 1_000;
const NOTHING_WAITS: &str = "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = events.tenant_id \
     AND d.event_row_id = events.id AND d.status IN ('pending', 'paused'))";

/// Empties payloads older than the tenant plan's `retention_days` (30 without a plan) once
/// no delivery of the event is waiting: the event keeps its id, name and times.
pub async fn purge_payloads(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    for tenant in tenants::Entity::find().all(&db.conn).await? {
        let retention_days = match tenant.plan_id {
            Some(id) => plans::Entity::find_by_id(id)
                .one(&db.conn)
                .await?
                .map_or(30, |p| p.retention_days),
            None => 30,
        };
        let cutoff = now_ms - i64::from(retention_days) * MS_PER_DAY;
        let mut after = uuid::Uuid::nil();
        loop {
            let (purged, last) = purge_batch(db, tenant.id, cutoff, after, now_ms).await?;
            total += purged;
            match last {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    Ok(total)
}

/// An event's row id is made at its receipt (`ids::at(received_at)`; rows stored before
/// that took theirs a moment after it), so "received before the cutoff" is a range of
/// the primary key and no index on `received_at` is written with every event.
///
/// One batch, in two steps so a replay cannot slip between them: lock the candidate
/// events (a replay locks its event too before queueing its delivery), then empty those
/// that still have no waiting delivery — checked by a statement that starts after the
/// locks are held, so it sees every replay that committed first. Returns the number
/// purged and the last candidate id when there may be more.
async fn purge_batch(
    db: &Db,
    tenant_id: uuid::Uuid,
    cutoff: i64,
    after: uuid::Uuid,
    now_ms: i64,
) -> Result<(u64, Option<uuid::Uuid>), DbErr> {
    let candidates = Query::select()
        .column("id")
        .from("events")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").gt(after))
        .and_where(Expr::col("id").lt(crate::ids::first_at(cutoff)))
        .and_where(Expr::col("purged_at").is_null())
        .and_where(Expr::cust(NOTHING_WAITS))
        .order_by("id", Order::Asc)
        .limit(PURGE_BATCH)
        .lock(LockType::Update)
        .to_owned();
    let txn = db.begin_write().await?;
    let ids: Vec<uuid::Uuid> = txn
        .query_all(&candidates)
        .await?
        .iter()
        .map(|r| r.try_get("", "id"))
        .collect::<Result<_, _>>()?;
    let Some(last) = ids.last().copied() else {
        txn.commit().await?;
        return Ok((0, None));
    };
    let more = ids.len() as u64 == PURGE_BATCH;
    let update = Query::update()
        .table("events")
        .value("payload", "{}")
        .value("sealed", Option::<String>::None)
        .value("purged_at", now_ms)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").is_in(ids))
        .and_where(Expr::col("purged_at").is_null())
        .and_where(Expr::cust(NOTHING_WAITS))
        .to_owned();
    let purged = txn.execute(&update).await?.rows_affected();
    txn.commit().await?;
    Ok((purged, more.then_some(last)))
}

/// Recomputes this and last month's reservations from the deliveries that hold them.
pub async fn release_stale_reservations(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let this = Period::of(now_ms);
    let (this, last) = (this.to_string(), this.previous().to_string());
    let txn = db.begin_write().await?;
    let n = limits::recompute(&*txn, &this).await? + limits::recompute(&*txn, &last).await?;
    txn.commit().await?;
    Ok(n)
}
