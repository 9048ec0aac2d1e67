//! `events_by_received (tenant_id, received_at)` served only the retention purge. An
//! event's row id is now made at its receipt (UUIDv7 of the application clock), so the
//! purge reads a range of the primary key instead, and every event insert writes one
//! index entry fewer.

use sea_orm_migration::prelude::*;

use crate::unused_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "events";
const NAME: &str = "events_by_received";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unused_index::drop(manager, TABLE, NAME).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unused_index::restore(manager, TABLE, NAME, &["tenant_id", "received_at"]).await
    }
}
