//! The tenant setting of the Meta-compatible endpoint: `meta_endpoint_fanout` (default
//! off). Off, an event posted to `/{version}/{pixel_id}/events` goes only to the
//! tenant's Meta destination with that pixel id; on, to its other destinations too.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMN: &str = "meta_endpoint_fanout";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table("tenants")
            .add_column(
                ColumnDef::new(COLUMN)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            )
            .to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table("tenants")
            .drop_column(COLUMN)
            .to_owned();
        manager.alter_table(alter).await
    }
}
