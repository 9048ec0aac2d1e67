//! Server-side admin sessions: one row per signed-in session (its id is the token's
//! `jti`), so logging out, a password change or a role change ends a session before its
//! token expires.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table("admin_sessions")
            .col(ColumnDef::new("id").uuid().not_null().primary_key())
            .col(ColumnDef::new("admin_id").uuid().not_null())
            .col(ColumnDef::new("created_at").big_integer().not_null())
            .col(ColumnDef::new("expires_at").big_integer().not_null())
            .col(ColumnDef::new("revoked_at").big_integer().null())
            .foreign_key(
                ForeignKey::create()
                    .name("admin_sessions_admin_fk")
                    .from("admin_sessions", "admin_id")
                    .to("admins", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        manager.create_table(table).await?;
        // Ending all of an admin's sessions looks them up by admin; the purge by expiry.
        for (name, col) in [
            ("admin_sessions_by_admin", "admin_id"),
            ("admin_sessions_by_expiry", "expires_at"),
        ] {
            let index = Index::create()
                .name(name)
                .table("admin_sessions")
                .col(col)
                .to_owned();
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("admin_sessions").to_owned())
            .await
    }
}
