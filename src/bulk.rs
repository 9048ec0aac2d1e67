//! Multi-row inserts with a bounded set of statement texts, so prepared statements are
//! reused: multi-row `VALUES` in a few fixed chunk sizes, or (PostgreSQL, `unnest`) one
//! `INSERT … SELECT … FROM UNNEST($1::uuid[], …)` with one array per column.
//!
//! PostgreSQL arrays here carry no NULL elements, so an optional text column is sent as
//! `""` and turned back into NULL by `NULLIF` (none of these columns holds `""`).

use sea_orm::sea_query::{ArrayType, Value};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;

/// One column's values.
pub enum Col {
    Uuid(Vec<Uuid>),
    Text(Vec<String>),
    /// Text or NULL.
    OptText(Vec<Option<String>>),
    BigInt(Vec<i64>),
    Int(Vec<i32>),
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Col::Uuid(v) => v.len(),
            Col::Text(v) => v.len(),
            Col::OptText(v) => v.len(),
            Col::BigInt(v) => v.len(),
            Col::Int(v) => v.len(),
        }
    }

    fn pg_type(&self) -> &'static str {
        match self {
            Col::Uuid(_) => "uuid[]",
            Col::Text(_) | Col::OptText(_) => "text[]",
            Col::BigInt(_) => "int8[]",
            Col::Int(_) => "int4[]",
        }
    }

    fn pg_array(&self) -> Value {
        fn array(ty: ArrayType, values: Vec<Value>) -> Value {
            Value::Array(ty, Some(Box::new(values)))
        }
        match self {
            Col::Uuid(v) => array(ArrayType::Uuid, v.iter().map(|x| (*x).into()).collect()),
            Col::Text(v) => array(
                ArrayType::String,
                v.iter().map(|x| x.clone().into()).collect(),
            ),
            Col::OptText(v) => array(
                ArrayType::String,
                v.iter()
                    .map(|x| x.clone().unwrap_or_default().into())
                    .collect(),
            ),
            Col::BigInt(v) => array(ArrayType::BigInt, v.iter().map(|x| (*x).into()).collect()),
            Col::Int(v) => array(ArrayType::Int, v.iter().map(|x| (*x).into()).collect()),
        }
    }

    fn value(&self, row: usize) -> Value {
        match self {
            Col::Uuid(v) => v[row].into(),
            Col::Text(v) => v[row].clone().into(),
            Col::OptText(v) => v[row].clone().into(),
            Col::BigInt(v) => v[row].into(),
            Col::Int(v) => v[row].into(),
        }
    }
}

/// The rows of one insert, by column.
pub struct Bulk {
    pub table: &'static str,
    pub columns: Vec<(&'static str, Col)>,
    /// Appended to the statement, e.g. `ON CONFLICT … RETURNING …`.
    pub suffix: String,
    /// PostgreSQL: one `UNNEST` statement instead of fixed-size `VALUES` chunks.
    pub unnest: bool,
}

/// SQLite allows 32,766 bound parameters per statement.
const SQLITE_MAX_PARAMS: usize = 30_000;
/// Rows per SQLite statement, largest first.
const CHUNKS: [usize; 4] = [500, 100, 10, 1];

impl Bulk {
    fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// The statements that insert every row (none when there are no rows).
    pub fn statements(&self, backend: DatabaseBackend) -> Vec<Statement> {
        let rows = self.rows();
        if rows == 0 {
            return Vec::new();
        }
        if backend == DatabaseBackend::Postgres && self.unnest {
            return vec![self.unnest()];
        }
        // A few fixed chunk sizes: each shape is prepared (and cached) once, and the
        // cache holds no statement per distinct row count.
        let widest = (SQLITE_MAX_PARAMS / self.columns.len().max(1)).max(1);
        let mut statements = Vec::new();
        let mut start = 0;
        while start < rows {
            let left = rows - start;
            let size = CHUNKS
                .iter()
                .map(|c| (*c).min(widest))
                .find(|c| *c <= left)
                .unwrap_or(1);
            statements.push(self.values(backend, start..start + size));
            start += size;
        }
        statements
    }

    fn unnest(&self) -> Statement {
        let mut select = Vec::new();
        let mut arrays = Vec::new();
        let mut params = Vec::new();
        for (i, (name, col)) in self.columns.iter().enumerate() {
            select.push(match col {
                Col::OptText(_) => format!("NULLIF(u.{name}, '')"),
                _ => format!("u.{name}"),
            });
            arrays.push(format!("${}::{}", i + 1, col.pg_type()));
            params.push(col.pg_array());
        }
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM UNNEST({}) AS u({}){}",
            self.table,
            self.names(),
            select.join(", "),
            arrays.join(", "),
            self.names(),
            self.suffix
        );
        Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, params)
    }

    fn values(&self, backend: DatabaseBackend, rows: std::ops::Range<usize>) -> Statement {
        let width = self.columns.len();
        let mut params = Vec::with_capacity(rows.len() * width);
        let mut tuples = Vec::with_capacity(rows.len());
        for (i, row) in rows.enumerate() {
            let marks: Vec<String> = (0..width)
                .map(|c| match backend {
                    DatabaseBackend::Postgres => format!("${}", i * width + c + 1),
                    _ => "?".to_string(),
                })
                .collect();
            tuples.push(format!("({})", marks.join(", ")));
            params.extend(self.columns.iter().map(|(_, col)| col.value(row)));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}{}",
            self.table,
            self.names(),
            tuples.join(", "),
            self.suffix
        );
        Statement::from_sql_and_values(backend, sql, params)
    }

    /// Inserts every row.
    pub async fn execute(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        for statement in self.statements(db.get_database_backend()) {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }

    /// Inserts every row and returns what the suffix's `RETURNING` yields.
    pub async fn query(&self, db: &impl ConnectionTrait) -> Result<Vec<QueryResult>, DbErr> {
        let mut out = Vec::new();
        for statement in self.statements(db.get_database_backend()) {
            out.extend(db.query_all_raw(statement).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(rows: usize) -> Bulk {
        Bulk {
            table: "t",
            columns: vec![
                ("a", Col::BigInt((0..rows as i64).collect())),
                ("b", Col::OptText((0..rows).map(|_| None).collect())),
            ],
            suffix: String::new(),
            unnest: false,
        }
    }

    #[test]
    fn unnest_is_one_statement_whatever_the_row_count() {
        let unnest = |rows| Bulk {
            unnest: true,
            ..bulk(rows)
        };
        let few = unnest(3).statements(DatabaseBackend::Postgres);
        let many = unnest(5000).statements(DatabaseBackend::Postgres);
        assert_eq!((few.len(), many.len()), (1, 1));
        assert_eq!(few[0].sql, many[0].sql, "the same text is prepared once");
        assert!(few[0].sql.contains("NULLIF(u.b, '')"), "{}", few[0].sql);
    }

    #[test]
    fn values_come_in_a_few_fixed_shapes_covering_every_row() {
        let statements = bulk(1234).statements(DatabaseBackend::Sqlite);
        let rows: Vec<usize> = statements
            .iter()
            .map(|s| s.values.as_ref().map_or(0, |v| v.0.len()) / 2)
            .collect();
        assert_eq!(rows.iter().sum::<usize>(), 1234, "every row once");
        assert_eq!(
            rows,
            [500, 500, 100, 100, 10, 10, 10, 1, 1, 1, 1],
            "{rows:?}"
        );
        let shapes: std::collections::HashSet<&str> =
            statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(shapes.len(), 4);
        let pg = bulk(2).statements(DatabaseBackend::Postgres);
        assert!(pg[1].sql.contains("($1, $2)"), "{}", pg[1].sql);
        assert!(bulk(0).statements(DatabaseBackend::Sqlite).is_empty());
    }
}
