//! On PostgreSQL a deletion records the id of the transaction that rewrote its last
//! rows (`scrub_xid`, a full 64-bit transaction id; null on SQLite). `VACUUM FULL` keeps
//! an old row version while any snapshot that counts for the table could still see it,
//! and whether one can is decided by transaction ids, not by when a transaction began:
//! a transaction begun after the rewrite may still hold a snapshot older than it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "privacy_deletions";
const COLUMN: &str = "scrub_xid";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(COLUMN).big_integer().null().to_owned();
        let alter = Table::alter().table(TABLE).add_column(column).to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter().table(TABLE).drop_column(COLUMN).to_owned();
        manager.alter_table(alter).await
    }
}
