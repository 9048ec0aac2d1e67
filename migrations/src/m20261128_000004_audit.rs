//! The audit log of admin actions: who, what, when, and the record before and after.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table("audit_log")
            .col(ColumnDef::new("id").uuid().not_null().primary_key())
            .col(ColumnDef::new("admin_id").uuid().not_null())
            .col(ColumnDef::new("admin_email").text().not_null())
            .col(ColumnDef::new("action").text().not_null())
            .col(ColumnDef::new("target_type").text().not_null())
            .col(ColumnDef::new("target_id").text().not_null())
            .col(ColumnDef::new("before").text().null())
            .col(ColumnDef::new("after").text().null())
            .col(ColumnDef::new("created_at").big_integer().not_null())
            .to_owned();
        manager.create_table(table).await?;
        let index = Index::create()
            .name("audit_by_time")
            .table("audit_log")
            .col("created_at")
            .to_owned();
        manager.create_index(index).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_log").to_owned())
            .await
    }
}
