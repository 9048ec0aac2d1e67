//! The deletion job: each pass takes the pending requests oldest first and, for each,
//! commits batches of at most `BATCH` candidate events. A batch rewrites the events
//! that carry one of the request's hashes, the events of the same browser visitor
//! (`fbp`), and the browser observations and dedup-report rows tied to them, and
//! advances the request's cursor and count in the same transaction: a crash loses at
//! most the batch in flight, and a rerun goes on from the last committed cursor (an
//! event already rewritten is not counted again). Once every batch ran, the request
//! forgets its hashes; `at_rest` then removes the old bytes from the files and the
//! request is `done`.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Condition, Expr, ExprTrait, LockType, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::{at_rest, scrub};
use crate::crypto::Keys;
use crate::db::Db;
use crate::entities::privacy_deletions;
use crate::states::DeletionStatus;

/// Candidate events one transaction reads at most.
pub const BATCH: u64 = 500;
/// Batches one request gets per pass before the next request's turn.
const BATCHES_PER_PASS: usize = 20;
/// Requests one pass takes.
const REQUESTS_PER_PASS: u64 = 10;

/// One pass: scrub what is pending, then finish what is scrubbed. Returns the number of
/// requests worked on.
pub async fn run_once(db: &Db, keys: &Keys, now_ms: i64) -> Result<u64, DbErr> {
    let pending = privacy_deletions::Entity::find()
        .filter(privacy_deletions::Column::Status.eq(DeletionStatus::Pending))
        .order_by_asc(privacy_deletions::Column::CreatedAt)
        .limit(REQUESTS_PER_PASS)
        .all(&db.conn)
        .await?;
    let mut worked = 0;
    for request in &pending {
        if request.scrubbed_at.is_none() {
            for _ in 0..BATCHES_PER_PASS {
                if step(db, keys, request.tenant_id, request.id, now_ms, BATCH).await? {
                    break;
                }
            }
            worked += 1;
        }
    }
    Ok(worked + at_rest::finish(db, now_ms).await?)
}

/// A candidate event: its row id, payload, sealed identifiers and event id.
struct Candidate {
    id: Uuid,
    payload: String,
    sealed: Option<String>,
    event_id: String,
}

/// One batch of at most `batch` candidate events of one request, committed on its own
/// (a pass repeats it with `BATCH`). Returns true when the request has no batch left.
/// Public so that a process stopped between batches can be reproduced.
pub async fn step(
    db: &Db,
    keys: &Keys,
    tenant_id: Uuid,
    id: Uuid,
    now_ms: i64,
    batch: u64,
) -> Result<bool, DbErr> {
    let txn = db.begin_write().await?;
    let request = privacy_deletions::Entity::find_by_id((tenant_id, id))
        .lock_exclusive()
        .one(&*txn)
        .await?;
    let Some(request) = request else {
        return Ok(true);
    };
    let Some(hashes) = request.hashes.as_deref() else {
        return Ok(true);
    };
    let hashes: Vec<String> =
        serde_json::from_str(hashes).map_err(|e| DbErr::Custom(e.to_string()))?;
    let candidates = candidates(&*txn, tenant_id, request.cursor, &hashes, batch).await?;
    let last = candidates.last().map(|c| c.id);
    let mut people: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| {
            serde_json::from_str(&c.payload).is_ok_and(|p: Value| scrub::carries(&p, &hashes))
        })
        .collect();
    let visitors = visitors(keys, &people);
    people.extend(same_visitor(&*txn, tenant_id, &visitors, &people).await?);
    let mut rewritten: i64 = 0;
    for event in &people {
        rewritten += rewrite_event(&*txn, tenant_id, event).await?;
    }
    let ids: Vec<Uuid> = people.iter().map(|c| c.id).collect();
    let event_ids: BTreeSet<String> = people.iter().map(|c| c.event_id.clone()).collect();
    forget_browser(&*txn, tenant_id, &ids, &event_ids, &visitors).await?;
    let done = last.is_none();
    let mut update = Query::update()
        .table("privacy_deletions")
        .value("events", Expr::col("events").add(rewritten))
        .value("updated_at", now_ms)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    match last {
        Some(last) => update.value("cursor", last),
        None => update
            .value("hashes", Option::<String>::None)
            .value("scrubbed_at", now_ms)
            .value("scrub_xid", at_rest::scrub_xid(txn.get_database_backend())),
    };
    txn.execute(&update).await?;
    txn.commit().await?;
    Ok(done)
}

/// The next events after `cursor` whose payload text holds one of the hashes (checked
/// exactly by the caller).
async fn candidates(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    cursor: Option<Uuid>,
    hashes: &[String],
    batch: u64,
) -> Result<Vec<Candidate>, DbErr> {
    let mut any = Condition::any();
    for hash in hashes {
        any = any.add(Expr::col("payload").like(format!("%{hash}%")));
    }
    let query = Query::select()
        .columns(["id", "payload", "sealed", "event_id"])
        .from("events")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").gt(cursor.unwrap_or_default()))
        .cond_where(any)
        .order_by("id", Order::Asc)
        .limit(batch)
        .lock(LockType::Update)
        .to_owned();
    rows(db.query_all(&query).await?)
}

fn rows(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<Candidate>, DbErr> {
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                id: r.try_get("", "id")?,
                payload: r.try_get("", "payload")?,
                sealed: r.try_get("", "sealed")?,
                event_id: r.try_get("", "event_id")?,
            })
        })
        .collect()
}

/// The keyed hashes of the `fbp` cookies the events were sent with (as the browser side
/// stores them).
fn visitors(keys: &Keys, events: &[Candidate]) -> BTreeSet<String> {
    (events.iter())
        .filter_map(|c| keys.open_json(c.sealed.as_deref()?).ok())
        .filter_map(|s| s["user_data"]["fbp"].as_str().map(|f| keys.lookup_hash(f)))
        .collect()
}

/// Other events of the same browser visitor (found through the dedup-report rows).
async fn same_visitor(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    visitors: &BTreeSet<String>,
    known: &[Candidate],
) -> Result<Vec<Candidate>, DbErr> {
    if visitors.is_empty() {
        return Ok(Vec::new());
    }
    let rows_of_visitor = Query::select()
        .column("event_row_id")
        .from("dedup_matches")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("fbp_hash").is_in(visitors.iter().cloned()))
        .to_owned();
    let query = Query::select()
        .columns(["id", "payload", "sealed", "event_id"])
        .from("events")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").in_subquery(rows_of_visitor))
        .and_where(Expr::col("id").is_not_in(known.iter().map(|c| c.id)))
        .lock(LockType::Update)
        .to_owned();
    rows(db.query_all(&query).await?)
}

/// Rewrites one event without the person's data; 1 when it had some, else 0.
async fn rewrite_event(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    event: &Candidate,
) -> Result<i64, DbErr> {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let stripped = scrub::strip(&payload);
    if stripped.is_none() && event.sealed.is_none() {
        return Ok(0);
    }
    let mut update = Query::update()
        .table("events")
        .value("sealed", Option::<String>::None)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").eq(event.id))
        .to_owned();
    if let Some(stripped) = stripped {
        update.value("payload", stripped.to_string());
    }
    db.execute(&update).await?;
    Ok(1)
}

/// Removes the visitor from the browser observations tied to the events (claimed by
/// them, of the same event id, or of the same visitor) and from their dedup-report rows.
async fn forget_browser(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
    event_ids: &BTreeSet<String>,
    visitors: &BTreeSet<String>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let matches = Query::update()
        .table("dedup_matches")
        .value("fbp_hash", Option::<String>::None)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("event_row_id").is_in(ids.iter().copied()))
        .to_owned();
    db.execute(&matches).await?;
    let tied = Condition::any()
        .add(Expr::col("claimed_by").is_in(ids.iter().copied()))
        .add(Expr::col("event_id").is_in(event_ids.iter().cloned()))
        .add(Expr::col("fbp_hash").is_in(visitors.iter().cloned()));
    let observations = Query::update()
        .table("browser_events")
        .value("fbp_hash", Option::<String>::None)
        .value("sealed", Option::<String>::None)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(
            Expr::col("fbp_hash")
                .is_not_null()
                .or(Expr::col("sealed").is_not_null()),
        )
        .cond_where(tied)
        .to_owned();
    db.execute(&observations).await?;
    Ok(())
}
