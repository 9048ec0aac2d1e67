//! The incremental matcher. Each step of a tenant takes the server events (`events`
//! rows) and observations it has not seen yet, grows their connected component
//! (`component`), re-decides it with the pure rules (`matching::assign`) and writes what
//! changed — categories, claims and the per-day counts — in one transaction. A late
//! side re-decides the rows it touches, so the outcome never depends on which side
//! arrived first, and no request ever scans the rows.
//!
//! Server events are read after a per-tenant cursor over `events.id` (UUIDv7). Ingest
//! assigns a row id before its commit, so a row can become visible a little after rows
//! with larger ids: the cursor stays [`SETTLE_MS`] behind the present and rows past it
//! are checked against `dedup_matches` one by one. Steps of one tenant take turns on
//! the cursor row, whichever process runs them.

use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::component::{BrowserRow, Component, ServerRow};
use super::counts::{self, Deltas};
use super::matching::{self, Category, ServerEvent};
use crate::clock::day_of;
use crate::crypto::Keys;
use crate::db::Db;
use crate::entities::{browser_events, dedup_matches, tenants};
use crate::ids;

/// New rows of each side one step takes at most.
pub const BATCH: u64 = 1_000;
/// How long after its id was made an `events` row may still become visible: ingest
/// holds a row between its id and its commit for the group commit and the pool's
/// acquire timeout (5 s) at most; two minutes leave a wide margin.
pub const SETTLE_MS: i64 = 120_000;

/// The cursor moves in steps of at least this much, so an idle tenant is not written
/// on every pass.
const CURSOR_STEP_MS: i64 = 60_000;

/// Runs every tenant until nothing new is left; returns the rows processed.
pub async fn run_once(db: &Db, keys: &Keys, now_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    let ids: Vec<Uuid> = tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .into_tuple()
        .all(&db.conn)
        .await?;
    for tenant_id in ids {
        total += run_tenant(db, keys, tenant_id, now_ms).await?;
    }
    Ok(total)
}

/// Runs one tenant's steps until nothing new is left.
pub async fn run_tenant(db: &Db, keys: &Keys, tenant_id: Uuid, now_ms: i64) -> Result<u64, DbErr> {
    let mut after = None;
    let mut total = 0;
    loop {
        let step = step(db, keys, tenant_id, after, now_ms).await?;
        total += step.processed as u64;
        after = step.last_server.or(after);
        if !step.full {
            return Ok(total);
        }
    }
}

struct Step {
    processed: usize,
    last_server: Option<Uuid>,
    full: bool,
}

/// One transaction: take new rows, re-decide their component, write the changes.
async fn step(
    db: &Db,
    keys: &Keys,
    tenant_id: Uuid,
    after: Option<Uuid>,
    now_ms: i64,
) -> Result<Step, DbErr> {
    let txn = db.begin_write().await?;
    let position = lock_cursor(&*txn, tenant_id, now_ms).await?;
    let from = after.map_or(position, |a| Ord::max(a, position));
    let servers = new_servers(&*txn, keys, tenant_id, from).await?;
    let browsers = new_browsers(&*txn, tenant_id, now_ms).await?;
    let full = servers.len() as u64 == BATCH || browsers.len() as u64 == BATCH;
    let last_server = servers.last().map(|s| s.ev.row_id);
    let processed = servers.len() + browsers.len();
    if !full {
        // Everything visible is processed: rows older than the settle time are all there.
        // Row ids are made from the application clock (`ids::at`), so is the settle time.
        let settled_ms = now_ms - SETTLE_MS;
        if settled_ms - ids::ms_of(position) >= CURSOR_STEP_MS {
            move_cursor(&*txn, tenant_id, ids::first_at(settled_ms), now_ms).await?;
        }
    }
    if processed > 0 {
        decide(&*txn, tenant_id, servers, browsers, now_ms).await?;
    }
    txn.commit().await?;
    Ok(Step {
        processed,
        last_server,
        full,
    })
}

/// The tenant's cursor, locked for this step (created at the start of time).
async fn lock_cursor(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    now_ms: i64,
) -> Result<Uuid, DbErr> {
    let create = Query::insert()
        .into_table("dedup_cursors")
        .columns(["tenant_id", "position", "updated_at"])
        .values_panic([tenant_id.into(), Uuid::nil().into(), now_ms.into()])
        .on_conflict(OnConflict::column("tenant_id").do_nothing().to_owned())
        .to_owned();
    db.execute(&create).await?;
    let select = Query::select()
        .column("position")
        .from("dedup_cursors")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .lock(LockType::Update)
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|r| r.try_get("", "position"))
        .transpose()?
        .ok_or_else(|| DbErr::RecordNotFound("dedup cursor".into()))
}

async fn move_cursor(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    position: Uuid,
    now_ms: i64,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("dedup_cursors")
        .value("position", position)
        .value("updated_at", now_ms)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// `events` rows after `from` without a `dedup_matches` row, oldest first.
async fn new_servers(
    db: &impl ConnectionTrait,
    keys: &Keys,
    tenant_id: Uuid,
    from: Uuid,
) -> Result<Vec<ServerRow>, DbErr> {
    let seen = Query::select()
        .expr(Expr::val(1))
        .from_as("dedup_matches", "d")
        .and_where(Expr::col(("d", "tenant_id")).equals(("e", "tenant_id")))
        .and_where(Expr::col(("d", "event_row_id")).equals(("e", "id")))
        .to_owned();
    let select = Query::select()
        .columns([
            ("e", "id"),
            ("e", "event_id"),
            ("e", "event_name"),
            ("e", "event_time"),
            ("e", "received_at"),
            ("e", "sealed"),
        ])
        .from_as("events", "e")
        .and_where(Expr::col(("e", "tenant_id")).eq(tenant_id))
        .and_where(Expr::col(("e", "id")).gt(from))
        .and_where(Expr::exists(seen).not())
        .order_by(("e", "id"), Order::Asc)
        .limit(BATCH)
        .to_owned();
    let mut out = Vec::new();
    for row in db.query_all(&select).await? {
        let sealed: Option<String> = row.try_get("", "sealed")?;
        let fbp = sealed
            .and_then(|s| keys.open_json(&s).ok())
            .and_then(|v| v["user_data"]["fbp"].as_str().map(|f| keys.lookup_hash(f)));
        let received_at: i64 = row.try_get("", "received_at")?;
        out.push(ServerRow {
            ev: ServerEvent {
                row_id: row.try_get("", "id")?,
                event_name: row.try_get("", "event_name")?,
                event_id: row.try_get("", "event_id")?,
                fbp,
                event_time_ms: row.try_get("", "event_time")?,
                received_at_ms: received_at,
            },
            category: Category::ServerOnly,
            partner: None,
            day: day_of(received_at),
            new: true,
        });
    }
    Ok(out)
}

/// Observations not processed yet, oldest first, marked processed.
async fn new_browsers(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    now_ms: i64,
) -> Result<Vec<BrowserRow>, DbErr> {
    use browser_events::Column as C;
    let rows = browser_events::Entity::find()
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::ProcessedAt.is_null())
        .order_by_asc(C::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    for chunk in ids.chunks(500) {
        let mark = Query::update()
            .table("browser_events")
            .value("processed_at", now_ms)
            .and_where(Expr::col("tenant_id").eq(tenant_id))
            .and_where(Expr::col("id").is_in(chunk.iter().copied()))
            .to_owned();
        db.execute(&mark).await?;
    }
    Ok(rows
        .into_iter()
        .map(|m| BrowserRow {
            new: true,
            ..BrowserRow::from(m)
        })
        .collect())
}

/// Re-decides the component of the new rows and writes every change.
async fn decide(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    servers: Vec<ServerRow>,
    browsers: Vec<BrowserRow>,
    now_ms: i64,
) -> Result<(), DbErr> {
    let mut comp = Component::default();
    let seed_s: Vec<Uuid> = servers.iter().map(|s| s.ev.row_id).collect();
    let seed_b: Vec<Uuid> = browsers.iter().map(|b| b.ev.row_id).collect();
    comp.servers
        .extend(servers.into_iter().map(|s| (s.ev.row_id, s)));
    comp.browsers
        .extend(browsers.into_iter().map(|b| (b.ev.row_id, b)));
    comp.grow(db, tenant_id, seed_s, seed_b).await?;
    let (pinned_s, pinned_b) = comp.pinned();
    let free_s: Vec<ServerEvent> = (comp.servers.values())
        .filter(|s| !pinned_s.contains(&s.ev.row_id))
        .map(|s| s.ev.clone())
        .collect();
    let free_b: Vec<_> = (comp.browsers.values())
        .filter(|b| !pinned_b.contains(&b.ev.row_id))
        .map(|b| b.ev.clone())
        .collect();
    let outcome = matching::assign(&free_s, &free_b);
    let mut deltas = Deltas::default();
    let mut inserts = Vec::new();
    for s in comp.servers.values() {
        let (category, partner) = match outcome.servers.get(&s.ev.row_id) {
            Some(&decided) => decided,
            None => (s.category, s.partner),
        };
        if s.new {
            deltas.category(&s.day, category, 1);
            inserts.push(new_match(tenant_id, s, category, partner, now_ms));
        } else if (category, partner) != (s.category, s.partner) {
            deltas.category(&s.day, s.category, -1);
            deltas.category(&s.day, category, 1);
            update_match(db, tenant_id, s.ev.row_id, category, partner, now_ms).await?;
        }
    }
    for b in comp.browsers.values() {
        let claimed_by = outcome
            .browsers
            .get(&b.ev.row_id)
            .copied()
            .unwrap_or(b.claimed_by);
        if b.new {
            deltas.add(&b.day, counts::BROWSER, 1);
        }
        let was = if b.new { None } else { b.claimed_by };
        deltas.add(
            &b.day,
            counts::BROWSER_CLAIMED,
            i64::from(claimed_by.is_some()) - i64::from(was.is_some()),
        );
        if claimed_by != b.claimed_by {
            update_claim(db, tenant_id, b.ev.row_id, claimed_by).await?;
        }
    }
    for chunk in inserts.chunks(500) {
        dedup_matches::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    deltas.apply(db, tenant_id).await
}

fn new_match(
    tenant_id: Uuid,
    s: &ServerRow,
    category: Category,
    partner: Option<Uuid>,
    now_ms: i64,
) -> dedup_matches::ActiveModel {
    use sea_orm::Set;
    dedup_matches::ActiveModel {
        tenant_id: Set(tenant_id),
        event_row_id: Set(s.ev.row_id),
        event_id: Set(s.ev.event_id.clone()),
        event_name: Set(s.ev.event_name.clone()),
        fbp_hash: Set(s.ev.fbp.clone()),
        event_time: Set(s.ev.event_time_ms),
        received_at: Set(s.ev.received_at_ms),
        category: Set(category.as_str().to_string()),
        browser_row_id: Set(partner),
        updated_at: Set(now_ms),
    }
}

async fn update_match(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    row_id: Uuid,
    category: Category,
    partner: Option<Uuid>,
    now_ms: i64,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("dedup_matches")
        .value("category", category.as_str())
        .value("browser_row_id", partner)
        .value("updated_at", now_ms)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("event_row_id").eq(row_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

async fn update_claim(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    row_id: Uuid,
    claimed_by: Option<Uuid>,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("browser_events")
        .value("claimed_by", claimed_by)
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("id").eq(row_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}
