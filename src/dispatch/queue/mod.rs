//! The durable queue: which destinations have due work, and claiming a batch of one
//! destination's deliveries with a lease (`locked_until` + `lease_token`) committed at
//! claim time. No transaction is held across a send. PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED`, so several workers never take the same row; on SQLite the
//! claim runs under the process's write gate. Every later change of a delivery's status
//! is in `transitions`, and every release of hard-limit headroom in `headroom`.

mod headroom;
mod transitions;

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use uuid::Uuid;

use crate::db::Db;
use crate::destinations::Kind;

pub use headroom::{Headroom, release_headroom};
pub use transitions::{
    complete_one, complete_succeeded, end_expired, fail_waiting, park, release, requeue, resume,
};

/// A delivery this worker holds a lease on.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub event_row_id: Uuid,
    pub destination_id: Uuid,
    pub kind: Kind,
    pub attempts: i32,
    pub lease_token: Uuid,
    /// The month whose hard-limit headroom the delivery holds, if any.
    pub reserved_period: Option<String>,
    /// The start of the earliest attempt whose outcome is unknown: a recorded one, or a
    /// send found in flight when this claim took the delivery over from a lost lease.
    pub maybe_sent_at: Option<i64>,
}

/// A destination with due work, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DueDestination {
    pub tenant_id: Uuid,
    pub destination_id: Uuid,
}

fn stmt(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => numbered(sql),
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

const DUE: &str =
    "status = 'pending' AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until <= ?)";

/// Destinations with due, unleased deliveries, the longest-waiting first (fair: a
/// destination's backlog does not hide others). Each destination's oldest due delivery
/// is one probe of `deliveries_queue`, so a round costs the number of
/// destinations, not the size of the backlog (grouping the due rows themselves took
/// ~55 ms per round on PostgreSQL at a 100,000-delivery backlog). The probe orders by
/// `(next_attempt_at, id)`, which that index yields (with `MIN(next_attempt_at)`
/// PostgreSQL walked a since-dropped cross-tenant index of all waiting rows instead,
/// ~35 ms for a destination with nothing due). Destinations are only ever soft-deleted, so every
/// delivery's destination row is here.
pub async fn due_destinations(
    db: &Db,
    now_ms: i64,
    limit: u64,
) -> Result<Vec<DueDestination>, DbErr> {
    let sql = format!(
        "WITH oldest AS MATERIALIZED (SELECT d.tenant_id, d.id AS destination_id, \
         (SELECT next_attempt_at FROM deliveries x WHERE x.tenant_id = d.tenant_id \
         AND x.destination_id = d.id AND {DUE} ORDER BY next_attempt_at, id LIMIT 1) AS oldest \
         FROM destinations d) \
         SELECT tenant_id, destination_id FROM oldest WHERE oldest IS NOT NULL ORDER BY oldest LIMIT ?"
    );
    let rows = db
        .conn
        .query_all_raw(stmt(
            db.backend(),
            &sql,
            vec![now_ms.into(), now_ms.into(), (limit as i64).into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DueDestination {
                tenant_id: r.try_get("", "tenant_id")?,
                destination_id: r.try_get("", "destination_id")?,
            })
        })
        .collect()
}

/// Marks a claimed delivery as being sent. A claim that finds the mark already set took
/// the delivery over from a worker whose send never recorded its answer (it crashed or
/// hung past its lease): that send may have reached the destination, so its start
/// becomes `maybe_sent_at`. Both sides of a SET read the row as it was before.
const MARK: &str = "sending_since = ?, maybe_sent_at = COALESCE(maybe_sent_at, sending_since)";

/// Leases up to `limit` due deliveries of one destination until `now + lease_ms`.
pub async fn claim(
    db: &Db,
    due: DueDestination,
    now_ms: i64,
    lease_ms: i64,
    limit: u64,
) -> Result<Vec<Claimed>, DbErr> {
    let token = Uuid::now_v7();
    let returning = "RETURNING tenant_id, id, event_row_id, destination_id, kind, attempts, \
         reserved_period, maybe_sent_at";
    let (sql, values): (String, Vec<Value>) = match db.backend() {
        DatabaseBackend::Postgres => (
            format!(
                "WITH picked AS (SELECT tenant_id, id FROM deliveries WHERE tenant_id = ? AND destination_id = ? AND {DUE} \
                 ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED) \
                 UPDATE deliveries d SET locked_until = ?, lease_token = ?, {MARK} FROM picked \
                 WHERE d.tenant_id = picked.tenant_id AND d.id = picked.id \
                 RETURNING d.tenant_id, d.id, d.event_row_id, d.destination_id, d.kind, d.attempts, \
                 d.reserved_period, d.maybe_sent_at"
            ),
            vec![
                due.tenant_id.into(),
                due.destination_id.into(),
                now_ms.into(),
                now_ms.into(),
                (limit as i64).into(),
                (now_ms + lease_ms).into(),
                token.into(),
                now_ms.into(),
            ],
        ),
        _ => (
            format!(
                "UPDATE deliveries SET locked_until = ?, lease_token = ?, {MARK} WHERE tenant_id = ? AND id IN \
                 (SELECT id FROM deliveries WHERE tenant_id = ? AND destination_id = ? AND {DUE} \
                 ORDER BY next_attempt_at, id LIMIT ?) {returning}"
            ),
            vec![
                (now_ms + lease_ms).into(),
                token.into(),
                now_ms.into(),
                due.tenant_id.into(),
                due.tenant_id.into(),
                due.destination_id.into(),
                now_ms.into(),
                now_ms.into(),
                (limit as i64).into(),
            ],
        ),
    };
    let txn = db.begin_write().await?;
    let rows = txn.query_all_raw(stmt(db.backend(), &sql, values)).await?;
    txn.commit().await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("", "kind")?;
        claimed.push(Claimed {
            tenant_id: r.try_get("", "tenant_id")?,
            id: r.try_get("", "id")?,
            event_row_id: r.try_get("", "event_row_id")?,
            destination_id: r.try_get("", "destination_id")?,
            kind: Kind::parse(&kind)
                .ok_or_else(|| DbErr::Custom(format!("unknown delivery kind {kind}")))?,
            attempts: r.try_get("", "attempts")?,
            lease_token: token,
            reserved_period: r.try_get("", "reserved_period")?,
            maybe_sent_at: r.try_get("", "maybe_sent_at")?,
        });
    }
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(super::numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
    }
}
