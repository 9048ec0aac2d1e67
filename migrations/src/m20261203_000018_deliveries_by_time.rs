//! `deliveries_by_status (tenant_id, status, created_at)` served the per-period counts
//! of a tenant's deliveries. A delivery's id is now made at its `created_at` (UUIDv7 of
//! the application clock), so those counts read a range of the primary key instead,
//! and every delivery insert and status change writes one index entry fewer. A list
//! filtered by status uses `deliveries_succeeded (tenant_id, status, …)`.

use sea_orm_migration::prelude::*;

use crate::unused_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "deliveries";
const NAME: &str = "deliveries_by_status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unused_index::drop(manager, TABLE, NAME).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unused_index::restore(manager, TABLE, NAME, &["tenant_id", "status", "created_at"]).await
    }
}
