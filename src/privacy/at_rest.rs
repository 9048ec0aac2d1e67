//! Making sure rewritten rows are gone from the database files, not only from the
//! tables, before a deletion is `done`.
//!
//! - SQLite: every connection runs with `secure_delete=ON` (`db::Db::connect`), so the
//!   space an updated or deleted row leaves is overwritten with zeros; the old page
//!   images still in the write-ahead log are removed by a `wal_checkpoint(TRUNCATE)`.
//!   A reader holding an older snapshot keeps the checkpoint from completing: the
//!   deletion then stays pending and the next pass tries again.
//! - PostgreSQL: an UPDATE leaves the old tuple in the heap, and plain `VACUUM` only
//!   marks its space reusable (its bytes stay in the page until something overwrites
//!   them). `VACUUM FULL` writes the tables anew and drops the old files. It holds an
//!   exclusive lock on each table while it rewrites it, so one rewrite serves every
//!   deletion finished by then, it waits at most `SET_LOCK_TIMEOUT` for the lock (ingest is
//!   never stuck behind a queued rewrite for long), and a timeout leaves the deletions
//!   pending for the next pass. It copies every row version some snapshot of this
//!   database could still see, so it runs only once none can see the old rows: no
//!   transaction of any database that is as old as the rewrite (`scrub_xid`) is still
//!   running (the rewrite's own snapshot would reach back to it), and no other
//!   connection to this database holds a snapshot from before the rewrite committed.
//!   Transaction ids decide this, not start times: a transaction begun after the
//!   rewrite takes a snapshot as old as the oldest transaction then running anywhere.
//!   WAL segments, archives, replicas and backups are outside the tables: they keep
//!   old bytes until they are recycled or expire.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, Statement,
};

use crate::db::Db;
use crate::entities::privacy_deletions;
use crate::states::DeletionStatus;

/// The tables a deletion rewrites, written anew on PostgreSQL.
const VACUUM_FULL: &str = "VACUUM (FULL) events, browser_events, dedup_matches, privacy_deletions";
/// How long the rewrite waits for a table's lock.
const SET_LOCK_TIMEOUT: &str = "SET lock_timeout = '5s'";

/// Marks `done` every pending deletion whose rows are all rewritten, once the old bytes
/// are gone from the files. Returns how many were finished.
pub async fn finish(db: &Db, now_ms: i64) -> Result<u64, DbErr> {
    let scrubbed = privacy_deletions::Entity::find()
        .filter(privacy_deletions::Column::Status.eq(DeletionStatus::Pending))
        .filter(privacy_deletions::Column::ScrubbedAt.is_not_null())
        .all(&db.conn)
        .await?;
    if scrubbed.is_empty() {
        return Ok(0);
    }
    let last_xid = scrubbed.iter().filter_map(|d| d.scrub_xid).max();
    if !remove_old_bytes(db, last_xid).await? {
        return Ok(0);
    }
    let done = Query::update()
        .table("privacy_deletions")
        .value("status", DeletionStatus::Done.as_str())
        .value("completed_at", now_ms)
        .value("updated_at", now_ms)
        .and_where(Expr::col("id").is_in(scrubbed.iter().map(|d| d.id)))
        .and_where(Expr::col("status").eq(DeletionStatus::Pending.as_str()))
        .to_owned();
    let txn = db.begin_write().await?;
    let n = txn.execute(&done).await?.rows_affected();
    txn.commit().await?;
    tracing::info!(deletions = n, "privacy deletions done");
    Ok(n)
}

/// True once the old bytes of the rows rewritten by transactions up to `scrub_xid` (on
/// PostgreSQL; SQLite records none) are gone from the database files.
pub async fn remove_old_bytes(db: &Db, scrub_xid: Option<i64>) -> Result<bool, DbErr> {
    match (db.backend(), scrub_xid) {
        (DatabaseBackend::Postgres, Some(xid)) if older_snapshots(db, xid).await? => Ok(false),
        (DatabaseBackend::Postgres, _) => rewrite_tables(db).await,
        _ => db.checkpoint_truncate().await,
    }
}

/// The full id of the transaction rewriting a deletion's last rows (`scrub_xid`): on
/// PostgreSQL the writing transaction's own; SQLite has none.
pub fn scrub_xid(backend: DatabaseBackend) -> Expr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust("pg_current_xact_id()::text::bigint"),
        _ => Expr::val(Option::<i64>::None),
    }
}

/// Whether some snapshot could still see rows as they were before transaction
/// `scrub_xid` rewrote them: a transaction of any database at least as old is still
/// running (every snapshot taken now, the rewrite's own included, reaches back to it),
/// or another connection to this database holds a snapshot (or is a transaction) from
/// before it committed. `backend_xmin`/`backend_xid` are 32-bit ids, compared by their
/// age, which orders them the way PostgreSQL itself does.
async fn older_snapshots(db: &Db, scrub_xid: i64) -> Result<bool, DbErr> {
    let sql = "SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint <= $1 \
        OR EXISTS (SELECT 1 FROM pg_stat_activity \
            WHERE datname = current_database() AND pid <> pg_backend_pid() \
            AND (age(backend_xmin) >= age(($1 % 4294967296)::text::xid) \
                OR age(backend_xid) >= age(($1 % 4294967296)::text::xid)))) AS older";
    let stmt = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, [scrub_xid.into()]);
    match db.conn.query_one_raw(stmt).await? {
        Some(row) => row.try_get("", "older"),
        None => Err(DbErr::Custom("the snapshot query returned no row".into())),
    }
}

async fn rewrite_tables(db: &Db) -> Result<bool, DbErr> {
    let pool = db.conn.get_postgres_connection_pool();
    let err = |e: sea_orm::sqlx::Error| DbErr::Custom(e.to_string());
    let mut conn = pool.acquire().await.map_err(err)?;
    sea_orm::sqlx::raw_sql(SET_LOCK_TIMEOUT)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    let outcome = sea_orm::sqlx::raw_sql(VACUUM_FULL)
        .execute(&mut *conn)
        .await;
    sea_orm::sqlx::raw_sql("RESET lock_timeout")
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    match outcome {
        Ok(_) => Ok(true),
        // 55P03 lock_not_available: another transaction held a table; next pass.
        Err(sea_orm::sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
            tracing::warn!("privacy deletion: tables busy, the rewrite waits for the next pass");
            Ok(false)
        }
        Err(e) => Err(err(e)),
    }
}
