//! A tenant's requests to delete a person's data (`privacy_deletions`). A request holds
//! the hashes it looks for only while it runs (`hashes` is emptied before it is
//! `done`), the position its batches reached (`cursor`, so a rerun after a crash goes on
//! where the last committed batch ended), how many events lost their user data, and
//! when its rows were rewritten (`scrubbed_at`) and when the old bytes were gone from
//! the database files (`completed_at`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "privacy_deletions";

fn millis_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(TABLE)
            .col(ColumnDef::new("tenant_id").uuid().not_null())
            .col(ColumnDef::new("id").uuid().not_null())
            .col(ColumnDef::new("field").text().not_null())
            .col(ColumnDef::new("hashes").text().null())
            .col(ColumnDef::new("status").text().not_null())
            .col(ColumnDef::new("events").big_integer().not_null().default(0))
            .col(ColumnDef::new("cursor").uuid().null())
            .col(ColumnDef::new("created_at").big_integer().not_null())
            .col(ColumnDef::new("updated_at").big_integer().not_null())
            .col(millis_null("scrubbed_at"))
            .col(millis_null("completed_at"))
            .primary_key(Index::create().col("tenant_id").col("id"))
            .to_owned();
        manager.create_table(table).await?;
        let by_id = Index::create()
            .name("privacy_deletions_by_id")
            .table(TABLE)
            .col("id")
            .unique()
            .to_owned();
        manager.create_index(by_id).await?;
        let waiting = Index::create()
            .name("privacy_deletions_by_status")
            .table(TABLE)
            .col("status")
            .col("created_at")
            .to_owned();
        manager.create_index(waiting).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).to_owned())
            .await
    }
}
