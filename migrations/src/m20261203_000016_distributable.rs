//! A unique index on a table distributed by tenant must include `tenant_id` (Citus can
//! only enforce uniqueness within one shard). `privacy_deletions` had a second unique
//! index on `id` alone, for the admin lookup by id; its primary key `(tenant_id, id)`
//! already keeps ids unique per tenant and ids are UUIDv7, so the lookup keeps a plain
//! index instead.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "privacy_deletions";
const OLD: &str = "privacy_deletions_by_id";
const NEW: &str = "privacy_deletions_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(OLD).table(Alias::new(TABLE)).to_owned())
            .await?;
        manager.create_index(by_id(NEW).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NEW).table(Alias::new(TABLE)).to_owned())
            .await?;
        manager.create_index(by_id(OLD).unique().to_owned()).await
    }
}

fn by_id(name: &str) -> IndexCreateStatement {
    Index::create()
        .name(name)
        .table(Alias::new(TABLE))
        .col(Alias::new("id"))
        .to_owned()
}
