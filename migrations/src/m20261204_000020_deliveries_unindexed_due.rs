//! `deliveries_due (status, next_attempt_at)`, across all tenants, served only the
//! expiry pass (every 30 s). That pass now probes each destination's waiting rows
//! through `deliveries_queue (tenant_id, destination_id, status, next_attempt_at, id)`,
//! which the queue claim reads anyway, so every delivery insert and every status change
//! writes one index entry fewer, and no index of `deliveries` crosses tenants any more.

use sea_orm_migration::prelude::*;

use crate::unused_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "deliveries";
const NAME: &str = "deliveries_due";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unused_index::drop(manager, TABLE, NAME).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unused_index::restore(manager, TABLE, NAME, &["status", "next_attempt_at"]).await
    }
}
