//! The dedup key `(tenant, destination, event_name, event_id)`, compared byte for byte.
//! A key is claimed with one `INSERT … ON CONFLICT DO UPDATE … WHERE expired RETURNING`:
//! a returned row means the key was new (or its window had passed), no row means a
//! duplicate. The database's unique constraint decides, never a read-then-write, so two
//! racing requests on two nodes cannot both win.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// One key to claim for one (event, destination).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupKey {
    pub destination_id: Uuid,
    pub event_name: String,
    pub event_id: String,
}

/// Rows per statement: keeps bound parameters far below SQLite's and PostgreSQL's limits.
const CHUNK: usize = 500;

/// One key to claim: its tenant, the event row it points to, and when (the key expires
/// `window` after `now_ms`).
#[derive(Debug, Clone)]
pub struct Claim {
    pub tenant_id: Uuid,
    pub key: DedupKey,
    pub event_row_id: Uuid,
    pub now_ms: i64,
    pub expires_at: i64,
}

/// Claims keys (of one or several tenants). Keys must be distinct; they are claimed in
/// sorted order so concurrent transactions lock rows in the same order and cannot
/// deadlock. A stored key is taken over only when it expired by the claim's own
/// `now_ms` (`excluded.seen_at`). Returns the keys this call won.
#[tracing::instrument(name = "dedup.claim", skip_all, fields(keys = claims.len()))]
pub async fn claim(
    db: &impl ConnectionTrait,
    claims: &[Claim],
) -> Result<HashSet<DedupKey>, DbErr> {
    let mut sorted: Vec<&Claim> = claims.iter().collect();
    sorted.sort_by(|a, b| (a.tenant_id, &a.key).cmp(&(b.tenant_id, &b.key)));
    let mut won = HashSet::with_capacity(claims.len());
    for chunk in sorted.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert.into_table("dedup_keys").columns([
            "tenant_id",
            "destination_id",
            "event_name",
            "event_id",
            "event_row_id",
            "seen_at",
            "expires_at",
        ]);
        for c in chunk {
            insert.values_panic([
                c.tenant_id.into(),
                c.key.destination_id.into(),
                c.key.event_name.clone().into(),
                c.key.event_id.clone().into(),
                c.event_row_id.into(),
                c.now_ms.into(),
                c.expires_at.into(),
            ]);
        }
        insert
            .on_conflict(
                OnConflict::columns(["tenant_id", "destination_id", "event_name", "event_id"])
                    .update_columns(["event_row_id", "seen_at", "expires_at"])
                    .action_and_where(
                        Expr::col(("dedup_keys", "expires_at")).lte(Expr::cust("excluded.seen_at")),
                    )
                    .to_owned(),
            )
            .returning(Query::returning().columns(["destination_id", "event_name", "event_id"]));
        for row in db.query_all(&insert).await? {
            won.insert(DedupKey {
                destination_id: row.try_get("", "destination_id")?,
                event_name: row.try_get("", "event_name")?,
                event_id: row.try_get("", "event_id")?,
            });
        }
    }
    Ok(won)
}
