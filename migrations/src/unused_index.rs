//! Dropping an index nothing reads any more (the rows it ordered are now found another
//! way), and building it back when the migration is rolled back.

use sea_orm_migration::prelude::*;

/// Drops `table`'s index `name`.
pub async fn drop(manager: &SchemaManager<'_>, table: &str, name: &str) -> Result<(), DbErr> {
    let drop = Index::drop().name(name).table(Alias::new(table)).to_owned();
    manager.drop_index(drop).await
}

/// Builds `table`'s index `name` on `columns` again.
pub async fn restore(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    columns: &[&str],
) -> Result<(), DbErr> {
    let mut create = Index::create()
        .name(name)
        .table(Alias::new(table))
        .to_owned();
    for column in columns {
        create.col(Alias::new(*column));
    }
    manager.create_index(create).await
}
