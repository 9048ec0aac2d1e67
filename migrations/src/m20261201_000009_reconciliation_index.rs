//! The reconciliation export pages through a tenant's succeeded deliveries of a month by
//! keyset on `(succeeded_at, id)`. The index `deliveries_succeeded` has exactly that
//! order after `tenant_id, status`, so each page of an export of millions of rows is a
//! short index range scan instead of a sort of the tenant's whole history.
//!
//! On PostgreSQL it is built CONCURRENTLY, outside a transaction, so applying this to a
//! large `deliveries` table blocks neither ingest nor the queue; an index left invalid by
//! an interrupted build is dropped and built again on the next start.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "deliveries_succeeded";
const COLUMNS: &str = "tenant_id, status, succeeded_at, id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(&format!(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 WHERE c.relname = '{NAME}' AND NOT i.indisvalid) THEN EXECUTE 'DROP INDEX {NAME}'; END IF; END $$"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON deliveries ({COLUMNS})"
            ))
            .await?;
        } else {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {NAME} ON deliveries ({COLUMNS})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let concurrently = match db.get_database_backend() {
            DatabaseBackend::Postgres => "CONCURRENTLY ",
            _ => "",
        };
        db.execute_unprepared(&format!("DROP INDEX {concurrently}IF EXISTS {NAME}"))
            .await?;
        Ok(())
    }
}
