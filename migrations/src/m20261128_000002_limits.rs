//! Plan limits: per-tenant, per-month reservations for hard limits (`quota_usage`), the
//! period a delivery's reservation belongs to, and usage alerts recorded once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn quota_usage() -> TableCreateStatement {
    Table::create()
        .table("quota_usage")
        .col(ColumnDef::new("tenant_id").uuid().not_null())
        .col(ColumnDef::new("period").text().not_null())
        .col(ColumnDef::new("used").big_integer().not_null())
        .primary_key(Index::create().col("tenant_id").col("period"))
        .to_owned()
}

fn usage_alerts() -> TableCreateStatement {
    Table::create()
        .table("usage_alerts")
        .col(ColumnDef::new("tenant_id").uuid().not_null())
        .col(ColumnDef::new("period").text().not_null())
        .col(ColumnDef::new("kind").text().not_null())
        .col(ColumnDef::new("threshold").integer().not_null())
        .col(ColumnDef::new("limit_value").big_integer().not_null())
        .col(ColumnDef::new("used").big_integer().not_null())
        .col(ColumnDef::new("created_at").big_integer().not_null())
        .primary_key(
            Index::create()
                .col("tenant_id")
                .col("period")
                .col("kind")
                .col("threshold"),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(quota_usage()).await?;
        manager.create_table(usage_alerts()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .add_column(ColumnDef::new("reserved_period").text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .drop_column("reserved_period")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("usage_alerts").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("quota_usage").to_owned())
            .await
    }
}
