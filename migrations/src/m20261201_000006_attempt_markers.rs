//! Two markers on each delivery that let the queue tell "nothing was sent" from "the
//! outcome is unknown", so a resend never creates a second conversion at a destination
//! that cannot deduplicate it:
//! - `sending_since`: set when a worker claims the delivery to send it, cleared by the
//!   completion. Found set by another worker's claim (the lease ran out), it means a send
//!   may have started and its answer was never recorded (a crash or a hang mid-send).
//! - `maybe_sent_at`: the start of the earliest attempt that may have reached the
//!   destination without its answer being known; the destination's dedup window for a
//!   resend is measured from it. Cleared only by a deliberate replay.
//!
//! Both are nullable without a default, so adding them rewrites nothing on PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 2] = ["sending_since", "maybe_sent_at"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("deliveries")
                        .add_column(ColumnDef::new(column).big_integer().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("deliveries")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
