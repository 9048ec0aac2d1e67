//! What month-end billing needs to price a month after the fact and to know it is done:
//! `plan_assignments` (every plan a tenant had, from when; backfilled from each
//! tenant's current plan as of its creation, the only history there is), `meter_periods`
//! (a month's fence row: completions lock it shared, the billing run closes it) and
//! `billing_runs` (each month's last run: failures left and when it is retried).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
}

fn plan_assignments() -> TableCreateStatement {
    // One row per change; two changes in the same millisecond keep the later one.
    Table::create()
        .table("plan_assignments")
        .col(col("tenant_id").uuid().not_null())
        .col(col("effective_from").big_integer().not_null())
        .col(col("plan_id").uuid().null())
        .primary_key(Index::create().col("tenant_id").col("effective_from"))
        .to_owned()
}

fn meter_periods() -> TableCreateStatement {
    Table::create()
        .table("meter_periods")
        .col(col("period").text().not_null().primary_key())
        .col(col("closed_at").big_integer().null())
        .to_owned()
}

fn billing_runs() -> TableCreateStatement {
    Table::create()
        .table("billing_runs")
        .col(col("period").text().not_null().primary_key())
        .col(col("status").text().not_null())
        .col(col("attempts").integer().not_null())
        .col(col("failed").integer().not_null())
        .col(col("next_attempt_at").big_integer().null())
        .col(col("updated_at").big_integer().not_null())
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(plan_assignments()).await?;
        manager.create_table(meter_periods()).await?;
        manager.create_table(billing_runs()).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO plan_assignments (tenant_id, effective_from, plan_id) \
                 SELECT id, created_at, plan_id FROM tenants WHERE plan_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["billing_runs", "meter_periods", "plan_assignments"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
