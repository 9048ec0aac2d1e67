//! The queue claims a destination's deliveries in `(next_attempt_at, id)` order. The new
//! index `deliveries_queue` ends with `id`, so a claim reads its batch straight off the
//! index instead of sorting the destination's whole backlog (a claim of 1,000 from a
//! 100,000-delivery backlog sorted every waiting row on PostgreSQL, ~65 ms). It replaces
//! `deliveries_by_destination` (the same columns without `id`).
//!
//! On PostgreSQL both steps run CONCURRENTLY, outside a transaction, so applying this to
//! a large `deliveries` table blocks neither ingest nor the queue. Every step is
//! idempotent, so a start interrupted half-way finishes the job on the next start (an
//! index left invalid by an interrupted build is dropped and built again).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const NEW: (&str, &str) = (
    "deliveries_queue",
    "tenant_id, destination_id, status, next_attempt_at, id",
);
const OLD: (&str, &str) = (
    "deliveries_by_destination",
    "tenant_id, destination_id, status, next_attempt_at",
);

/// Builds `build` (if missing or invalid), then drops `drop`.
async fn swap(
    manager: &SchemaManager<'_>,
    build: (&str, &str),
    drop: (&str, &str),
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let (name, columns) = build;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(&format!(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE c.relname = '{name}' AND NOT i.indisvalid) THEN EXECUTE 'DROP INDEX {name}'; END IF; END $$"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON deliveries ({columns})"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX CONCURRENTLY IF EXISTS {}", drop.0))
            .await?;
    } else {
        db.execute_unprepared(&format!(
            "CREATE INDEX IF NOT EXISTS {name} ON deliveries ({columns})"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {}", drop.0))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        swap(manager, NEW, OLD).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        swap(manager, OLD, NEW).await
    }
}
