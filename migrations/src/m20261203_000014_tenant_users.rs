//! The customer portal's people: tenant users (owner or member of one tenant), their
//! invites (only a hash of the token is stored; single use, expiring) and their
//! server-side sessions (one row per signed-in session, as for admins).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn owned_by(
    table: &'static str,
    column: &'static str,
    parent: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{table}_{parent}_fk"))
        .from(table, column)
        .to(parent, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn users() -> TableCreateStatement {
    Table::create()
        .table("tenant_users")
        .col(ColumnDef::new("id").uuid().not_null().primary_key())
        .col(ColumnDef::new("tenant_id").uuid().not_null())
        .col(ColumnDef::new("email").text().not_null().unique_key())
        .col(ColumnDef::new("role").text().not_null())
        .col(ColumnDef::new("password_hash").text().null())
        .col(ColumnDef::new("created_at").big_integer().not_null())
        .col(ColumnDef::new("updated_at").big_integer().not_null())
        .foreign_key(&mut owned_by("tenant_users", "tenant_id", "tenants"))
        .to_owned()
}

fn invites() -> TableCreateStatement {
    Table::create()
        .table("tenant_invites")
        .col(ColumnDef::new("id").uuid().not_null().primary_key())
        .col(ColumnDef::new("user_id").uuid().not_null())
        .col(ColumnDef::new("token_hash").text().not_null())
        .col(ColumnDef::new("created_at").big_integer().not_null())
        .col(ColumnDef::new("expires_at").big_integer().not_null())
        .col(ColumnDef::new("used_at").big_integer().null())
        .foreign_key(&mut owned_by("tenant_invites", "user_id", "tenant_users"))
        .to_owned()
}

fn sessions() -> TableCreateStatement {
    Table::create()
        .table("tenant_user_sessions")
        .col(ColumnDef::new("id").uuid().not_null().primary_key())
        .col(ColumnDef::new("user_id").uuid().not_null())
        .col(ColumnDef::new("created_at").big_integer().not_null())
        .col(ColumnDef::new("expires_at").big_integer().not_null())
        .col(ColumnDef::new("revoked_at").big_integer().null())
        .foreign_key(&mut owned_by(
            "tenant_user_sessions",
            "user_id",
            "tenant_users",
        ))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [users(), invites(), sessions()] {
            manager.create_table(table).await?;
        }
        let indexes = [
            ("tenant_users_by_tenant", "tenant_users", "tenant_id", false),
            (
                "tenant_invites_by_hash",
                "tenant_invites",
                "token_hash",
                true,
            ),
            (
                "tenant_user_sessions_by_user",
                "tenant_user_sessions",
                "user_id",
                false,
            ),
        ];
        for (name, table, col, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(table).col(col);
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["tenant_user_sessions", "tenant_invites", "tenant_users"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
