//! `events_by_received (tenant_id, received_at)` served only the retention purge. An
//! event's row id is now made at its receipt (UUIDv7 of the application clock), so the
//! purge reads a range of the primary key instead, and every event insert writes one
//! index entry fewer.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "events";
const NAME: &str = "events_by_received";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop = Index::drop().name(NAME).table(Alias::new(TABLE)).to_owned();
        manager.drop_index(drop).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = Index::create()
            .name(NAME)
            .table(Alias::new(TABLE))
            .col(Alias::new("tenant_id"))
            .col(Alias::new("received_at"))
            .to_owned();
        manager.create_index(create).await
    }
}
