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
//!   pending for the next pass. It runs only once no transaction that began before the
//!   rows were rewritten is still open (such a snapshot could still see, and so would
//!   keep, the old rows). WAL segments, archives, replicas and backups are outside
//!   the tables: they keep old bytes until they are recycled or expire.

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
    let Some(last_scrub) = scrubbed.iter().filter_map(|d| d.scrubbed_at).max() else {
        return Ok(0);
    };
    if !remove_old_bytes(db, last_scrub).await? {
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

/// True once the old bytes of the rows rewritten until `scrubbed_at` are gone from the
/// database files.
pub async fn remove_old_bytes(db: &Db, scrubbed_at: i64) -> Result<bool, DbErr> {
    match db.backend() {
        DatabaseBackend::Postgres if older_snapshots(db, scrubbed_at).await? => Ok(false),
        DatabaseBackend::Postgres => rewrite_tables(db).await,
        _ => db.checkpoint_truncate().await,
    }
}

/// When the last batch of a deletion was rewritten, as `scrubbed_at` records it: on
/// PostgreSQL the database's own clock at that statement, so it compares with
/// `pg_stat_activity.xact_start` without assuming the application's clock agrees; on
/// SQLite (where only its presence matters) the application's time.
pub fn scrub_time(backend: DatabaseBackend, now_ms: i64) -> Expr {
    match backend {
        DatabaseBackend::Postgres => {
            Expr::cust("(extract(epoch FROM clock_timestamp()) * 1000)::bigint")
        }
        _ => Expr::val(now_ms),
    }
}

/// A transaction that began up to this long after the last rewrite's statement may still
/// have taken its snapshot before that rewrite committed.
const COMMIT_MARGIN_MS: i64 = 2_000;

/// Whether a transaction of this database may hold a snapshot from before the rewrite
/// committed: it may still see the old rows, and `VACUUM FULL` copies rows some snapshot
/// can see.
async fn older_snapshots(db: &Db, scrubbed_at: i64) -> Result<bool, DbErr> {
    let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
        AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL \
        AND xact_start < to_timestamp(($1 + $2) / 1000.0)";
    let values = [scrubbed_at.into(), COMMIT_MARGIN_MS.into()];
    let stmt = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
    let row = db.conn.query_one_raw(stmt).await?;
    let older: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(older > 0)
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
