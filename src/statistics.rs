//! Fresh planner statistics for the queue's tables (PostgreSQL). Autovacuum analyzes a
//! table only once 10 % of it changed and its next pass comes round (a minute by
//! default): right after a burst the planner can still believe a tenant has a few
//! hundred deliveries while 100,000 wait, and then reads the whole backlog for every
//! claimed batch (a 100,000-delivery drain ran at ~6,500 sends/s on stale statistics and
//! at ~10,700 after ANALYZE). `refresh` analyzes each table that changed by more than a
//! fifth since its last analyze; housekeeping runs it every few seconds. SQLite plans
//! these statements the same way whatever the row counts, so it has nothing to do there.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use crate::db::Db;

/// The tables whose size swings with a burst.
const TABLES: [&str; 4] = ["deliveries", "events", "dedup_keys", "delivery_attempts"];
/// Changes below this never trigger an analyze (autovacuum handles small tables).
const MIN_CHANGES: f64 = 5_000.0;
const FRACTION: f64 = 0.2;

/// Whether a table with `rows` rows as last analyzed (negative: never) and `changed`
/// rows changed since needs a new analyze.
pub fn stale(rows: f64, changed: i64) -> bool {
    changed as f64 > MIN_CHANGES.max(rows.max(0.0) * FRACTION)
}

/// Analyzes the stale tables; returns how many it analyzed.
pub async fn refresh(db: &Db) -> Result<u64, DbErr> {
    if db.backend() != DatabaseBackend::Postgres {
        return Ok(0);
    }
    let list = TABLES.map(|t| format!("'{t}'")).join(", ");
    let sql = format!(
        "SELECT s.relname::text AS name, c.reltuples::float8 AS rows, s.n_mod_since_analyze AS changed \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE s.schemaname = current_schema() AND s.relname IN ({list})"
    );
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await?;
    let mut analyzed = 0;
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let (rows, changed): (f64, i64) = (row.try_get("", "rows")?, row.try_get("", "changed")?);
        // Only names from TABLES come back from the query above.
        if stale(rows, changed) && TABLES.contains(&name.as_str()) {
            db.conn
                .execute_unprepared(&format!("ANALYZE {name}"))
                .await?;
            analyzed += 1;
        }
    }
    Ok(analyzed)
}

#[cfg(test)]
mod tests {
    use super::stale;

    #[test]
    fn a_table_is_stale_after_a_fifth_of_it_changed_and_never_for_a_few_rows() {
        assert!(!stale(-1.0, 4_000), "a few thousand rows are not worth it");
        assert!(stale(-1.0, 100_000), "never analyzed, a burst arrived");
        assert!(stale(300.0, 100_000), "a burst into a small table");
        assert!(!stale(1_000_000.0, 150_000), "15 % of a large table");
        assert!(stale(1_000_000.0, 250_000), "25 % of a large table");
    }
}
