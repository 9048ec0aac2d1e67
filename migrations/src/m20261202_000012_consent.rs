//! The tenant setting `consent_policy` (`forward` by default, or `enforce`): under
//! `enforce`, an event without `ad_user_data: granted` is skipped for advertising
//! destinations (`consent_denied`) and still goes to GA4 with its consent. Stored as
//! text, like the other states.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMN: &str = "consent_policy";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table("tenants")
            .add_column(
                ColumnDef::new(COLUMN)
                    .text()
                    .not_null()
                    .default("forward")
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
