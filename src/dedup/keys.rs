//! The dedup key `(tenant, destination, event_name, event_id)`, compared byte for byte.
//! A key is claimed with one `INSERT … ON CONFLICT DO UPDATE … WHERE expired RETURNING`:
//! a returned row means the key was new (or its window had passed), no row means a
//! duplicate. The database's unique constraint decides, never a read-then-write, so two
//! racing requests on two nodes cannot both win.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::bulk::{Bulk, Col};

/// One key to claim for one (event, destination).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupKey {
    pub destination_id: Uuid,
    pub event_name: String,
    pub event_id: String,
}

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
    let insert = Bulk {
        table: "dedup_keys",
        columns: vec![
            (
                "tenant_id",
                Col::Uuid(sorted.iter().map(|c| c.tenant_id).collect()),
            ),
            (
                "destination_id",
                Col::Uuid(sorted.iter().map(|c| c.key.destination_id).collect()),
            ),
            (
                "event_name",
                Col::Text(sorted.iter().map(|c| c.key.event_name.clone()).collect()),
            ),
            (
                "event_id",
                Col::Text(sorted.iter().map(|c| c.key.event_id.clone()).collect()),
            ),
            (
                "event_row_id",
                Col::Uuid(sorted.iter().map(|c| c.event_row_id).collect()),
            ),
            (
                "seen_at",
                Col::BigInt(sorted.iter().map(|c| c.now_ms).collect()),
            ),
            (
                "expires_at",
                Col::BigInt(sorted.iter().map(|c| c.expires_at).collect()),
            ),
        ],
        // A stored key is taken over only once expired by this claim's own time.
        suffix: " ON CONFLICT (tenant_id, destination_id, event_name, event_id) DO UPDATE SET \
                 event_row_id = excluded.event_row_id, seen_at = excluded.seen_at, \
                 expires_at = excluded.expires_at WHERE dedup_keys.expires_at <= excluded.seen_at \
                 RETURNING destination_id, event_name, event_id"
            .to_string(),
    };
    let mut won = HashSet::with_capacity(claims.len());
    for row in insert.query(db).await? {
        won.insert(DedupKey {
            destination_id: row.try_get("", "destination_id")?,
            event_name: row.try_get("", "event_name")?,
            event_id: row.try_get("", "event_id")?,
        });
    }
    Ok(won)
}
