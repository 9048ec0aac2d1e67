//! "This column is one of these ids" with ONE statement text whatever the number of ids,
//! so the statement is prepared once and its plan reused: on PostgreSQL
//! `col = ANY($n)` with the ids as one `uuid[]`; on SQLite
//! `col IN (SELECT unhex(value) FROM json_each(?))` with the ids as one JSON array of hex
//! (UUIDs are stored there as 16-byte blobs). An `IN ($1, $2, …)` list has a text per
//! length: a worker's batches and a group's tenants vary in size, so each length was
//! planned again and pushed other statements out of the connection's statement cache.

use sea_orm::DatabaseBackend;
use sea_orm::sea_query::extension::postgres::PgFunc;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, IntoColumnRef};
use uuid::Uuid;

use crate::bulk::Col;

/// `col` is one of `ids`, the ids encoded as `Bulk` encodes a UUID column.
pub fn any_of(
    backend: DatabaseBackend,
    col: impl IntoColumnRef,
    ids: impl IntoIterator<Item = Uuid>,
) -> Expr {
    let ids = Col::Uuid(ids.into_iter().collect());
    match backend {
        DatabaseBackend::Postgres => Expr::col(col).eq(PgFunc::any(Expr::val(ids.pg_array()))),
        _ => {
            let list = Expr::cust_with_values(
                "(SELECT unhex(value) FROM json_each(?))",
                [ids.json_array()],
            );
            Expr::col(col).binary(BinOper::In, list)
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    use super::*;

    fn select(backend: DatabaseBackend, n: u128) -> (String, usize) {
        let ids = (0..n).map(Uuid::from_u128);
        let query = Query::select()
            .column("id")
            .from("t")
            .and_where(Expr::col("tenant_id").eq(Uuid::nil()))
            .and_where(any_of(backend, "id", ids))
            .to_owned();
        let (sql, values) = match backend {
            DatabaseBackend::Postgres => query.build(PostgresQueryBuilder),
            _ => query.build(SqliteQueryBuilder),
        };
        (sql, values.0.len())
    }

    #[test]
    fn the_statement_text_does_not_depend_on_how_many_ids() {
        for backend in [DatabaseBackend::Postgres, DatabaseBackend::Sqlite] {
            let (one, params) = select(backend, 1);
            let (many, _) = select(backend, 500);
            assert_eq!(one, many, "one text, prepared once");
            assert_eq!(params, 2, "the tenant and the list: {one}");
        }
        let (pg, _) = select(DatabaseBackend::Postgres, 3);
        assert!(pg.ends_with(r#""id" = ANY($2)"#), "{pg}");
    }
}
