//! Month-end billing: invoices (one per tenant and month, enforced by a unique index),
//! their lines (prices copied from the plan in force), and lease rows that let exactly
//! one instance run a scheduled job.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
}

fn invoices() -> TableCreateStatement {
    Table::create()
        .table("invoices")
        .col(col("tenant_id").uuid().not_null())
        .col(col("id").uuid().not_null())
        .col(col("period").text().not_null())
        .col(col("currency").text().not_null())
        .col(col("units").big_integer().not_null())
        .col(col("total").big_integer().not_null())
        .col(col("status").text().not_null())
        .col(col("sync_status").text().not_null())
        .col(col("sync_error").text().null())
        .col(col("sync_attempts").integer().not_null())
        .col(col("next_sync_at").big_integer().null())
        .col(col("stripe_invoice_id").text().null())
        .col(col("created_at").big_integer().not_null())
        .col(col("updated_at").big_integer().not_null())
        .primary_key(Index::create().col("tenant_id").col("id"))
        .to_owned()
}

fn invoice_lines() -> TableCreateStatement {
    Table::create()
        .table("invoice_lines")
        .col(col("tenant_id").uuid().not_null())
        .col(col("invoice_id").uuid().not_null())
        .col(col("line_no").integer().not_null())
        .col(col("description").text().not_null())
        .col(col("quantity").big_integer().not_null())
        .col(col("unit_price_per_1000").big_integer().not_null())
        .col(col("amount").big_integer().not_null())
        .col(col("stripe_item_id").text().null())
        .primary_key(
            Index::create()
                .col("tenant_id")
                .col("invoice_id")
                .col("line_no"),
        )
        .to_owned()
}

fn job_leases() -> TableCreateStatement {
    Table::create()
        .table("job_leases")
        .col(col("name").text().not_null().primary_key())
        .col(col("holder").text().not_null())
        .col(col("locked_until").big_integer().not_null())
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(invoices()).await?;
        manager.create_table(invoice_lines()).await?;
        manager.create_table(job_leases()).await?;
        let unique = Index::create()
            .name("invoices_one_per_month")
            .table("invoices")
            .col("tenant_id")
            .col("period")
            .unique()
            .to_owned();
        manager.create_index(unique).await?;
        let by_period = Index::create()
            .name("invoices_by_period")
            .table("invoices")
            .col("period")
            .to_owned();
        manager.create_index(by_period).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["job_leases", "invoice_lines", "invoices"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
