//! `deliveries_by_status (tenant_id, status, created_at)` served the per-period counts
//! of a tenant's deliveries. A delivery's id is now made at its `created_at` (UUIDv7 of
//! the application clock), so those counts read a range of the primary key instead,
//! and every delivery insert and status change writes one index entry fewer. A list
//! filtered by status uses `deliveries_succeeded (tenant_id, status, …)`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "deliveries";
const NAME: &str = "deliveries_by_status";

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
            .col(Alias::new("status"))
            .col(Alias::new("created_at"))
            .to_owned();
        manager.create_index(create).await
    }
}
