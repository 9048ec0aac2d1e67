//! Multi-row inserts as ONE statement whose text does not depend on the row count, so it
//! is prepared once and reused: on PostgreSQL `INSERT … SELECT … FROM UNNEST($1::uuid[], …)`
//! with one array per column; on SQLite `INSERT … SELECT … FROM json_each(?)` with the
//! rows as one JSON array of arrays (UUIDs as hex, stored as 16-byte blobs via `unhex`).
//!
//! PostgreSQL arrays here carry no NULL elements, so an optional text column is sent as
//! `""` and turned back into NULL by `NULLIF` (none of these columns holds `""`), and an
//! optional integer as `0` (none of these columns holds `0`: an HTTP status).

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
    /// An integer or NULL.
    OptInt(Vec<Option<i32>>),
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Col::Uuid(v) => v.len(),
            Col::Text(v) => v.len(),
            Col::OptText(v) => v.len(),
            Col::BigInt(v) => v.len(),
            Col::Int(v) => v.len(),
            Col::OptInt(v) => v.len(),
        }
    }

    fn pg_type(&self) -> &'static str {
        match self {
            Col::Uuid(_) => "uuid[]",
            Col::Text(_) | Col::OptText(_) => "text[]",
            Col::BigInt(_) => "int8[]",
            Col::Int(_) | Col::OptInt(_) => "int4[]",
        }
    }

    /// The column as one PostgreSQL array parameter.
    pub(crate) fn pg_array(&self) -> Value {
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
            Col::OptInt(v) => array(
                ArrayType::Int,
                v.iter().map(|x| x.unwrap_or_default().into()).collect(),
            ),
        }
    }

    /// Appends one value as JSON (UUIDs as 32 hex digits, a missing text as `null`),
    /// without allocating: this runs for every column of every row a group inserts.
    fn write_json(&self, row: usize, out: &mut Vec<u8>) {
        let written = match self {
            Col::Uuid(v) => {
                let mut hex = [0u8; uuid::fmt::Simple::LENGTH];
                let hex: &str = v[row].simple().encode_lower(&mut hex);
                serde_json::to_writer(out, hex)
            }
            Col::Text(v) => serde_json::to_writer(out, &v[row]),
            Col::OptText(v) => serde_json::to_writer(out, &v[row]),
            Col::BigInt(v) => serde_json::to_writer(out, &v[row]),
            Col::Int(v) => serde_json::to_writer(out, &v[row]),
            Col::OptInt(v) => serde_json::to_writer(out, &v[row]),
        };
        written.expect("writing JSON to memory cannot fail");
    }

    /// The column as one JSON array, encoded as `write_json` encodes each value.
    pub(crate) fn json_array(&self) -> String {
        let mut out = vec![b'['];
        for row in 0..self.len() {
            if row > 0 {
                out.push(b',');
            }
            self.write_json(row, &mut out);
        }
        out.push(b']');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

/// The rows of one insert, by column.
pub struct Bulk {
    pub table: &'static str,
    pub columns: Vec<(&'static str, Col)>,
    /// Appended to the statement, e.g. `ON CONFLICT … RETURNING …`.
    pub suffix: String,
}

impl Bulk {
    fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// The statement that inserts every row (none when there are no rows).
    pub fn statement(&self, backend: DatabaseBackend) -> Option<Statement> {
        match (self.rows(), backend) {
            (0, _) => None,
            (_, DatabaseBackend::Postgres) => Some(self.unnest()),
            _ => Some(self.json_each()),
        }
    }

    fn unnest(&self) -> Statement {
        let (sql, params) = self.unnest_from(1);
        Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, params)
    }

    /// The PostgreSQL insert with its parameters numbered from `$first`.
    fn unnest_from(&self, first: usize) -> (String, Vec<Value>) {
        let mut select = Vec::new();
        let mut arrays = Vec::new();
        let mut params = Vec::new();
        for (i, (name, col)) in self.columns.iter().enumerate() {
            select.push(match col {
                Col::OptText(_) => format!("NULLIF(u.{name}, '')"),
                Col::OptInt(_) => format!("NULLIF(u.{name}, 0)"),
                _ => format!("u.{name}"),
            });
            arrays.push(format!("${}::{}", first + i, col.pg_type()));
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
        (sql, params)
    }

    fn json_each(&self) -> Statement {
        let select: Vec<String> = (self.columns.iter().enumerate())
            .map(|(i, (_, col))| match col {
                Col::Uuid(_) => format!("unhex(r.v ->> {i})"),
                _ => format!("r.v ->> {i}"),
            })
            .collect();
        let mut json = Vec::with_capacity(self.rows() * 48 * self.columns.len());
        json.push(b'[');
        for row in 0..self.rows() {
            json.extend_from_slice(if row == 0 { b"[" } else { b",[" });
            for (c, (_, col)) in self.columns.iter().enumerate() {
                if c > 0 {
                    json.push(b',');
                }
                col.write_json(row, &mut json);
            }
            json.push(b']');
        }
        json.push(b']');
        let json = String::from_utf8(json).expect("JSON written from UTF-8 strings");
        // Each row is parsed once into JSONB (materialized, so not once per column);
        // `WHERE true` keeps an `ON CONFLICT` suffix from parsing as a join constraint.
        let sql = format!(
            "WITH r AS MATERIALIZED (SELECT jsonb(value) AS v FROM json_each(?)) \
             INSERT INTO {} ({}) SELECT {} FROM r WHERE true{}",
            self.table,
            self.names(),
            select.join(", "),
            self.suffix
        );
        Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, [json.into()])
    }

    /// Runs several inserts (without `RETURNING`) in as few round trips as the database
    /// allows: on PostgreSQL ONE statement, each insert but the last a data-modifying
    /// `WITH` part (each runs exactly once, to completion, in the statement's snapshot:
    /// the parts must not depend on each other's rows); on SQLite, which has no such
    /// parts and no round trips, one after the other. Inserts without rows are left out.
    pub async fn execute_all(db: &impl ConnectionTrait, inserts: Vec<Bulk>) -> Result<(), DbErr> {
        let inserts: Vec<Bulk> = inserts.into_iter().filter(|b| b.rows() > 0).collect();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            for insert in &inserts {
                insert.execute(db).await?;
            }
            return Ok(());
        }
        if let Some(statement) = together(&inserts) {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }

    /// Inserts every row.
    pub async fn execute(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if let Some(statement) = self.statement(db.get_database_backend()) {
            db.execute_raw(statement).await?;
        }
        Ok(())
    }

    /// Inserts every row and returns what the suffix's `RETURNING` yields.
    pub async fn query(&self, db: &impl ConnectionTrait) -> Result<Vec<QueryResult>, DbErr> {
        match self.statement(db.get_database_backend()) {
            Some(statement) => db.query_all_raw(statement).await,
            None => Ok(Vec::new()),
        }
    }
}

/// One PostgreSQL statement running every insert of `inserts` (all with rows).
fn together(inserts: &[Bulk]) -> Option<Statement> {
    let (last, parts) = inserts.split_last()?;
    let mut sql = String::new();
    let mut params = Vec::new();
    for (n, insert) in parts.iter().enumerate() {
        let (part, values) = insert.unnest_from(params.len() + 1);
        sql.push_str(if n == 0 { "WITH " } else { ", " });
        sql.push_str(&format!("w{n} AS ({part})"));
        params.extend(values);
    }
    let (main, values) = last.unnest_from(params.len() + 1);
    if !sql.is_empty() {
        sql.push(' ');
    }
    sql.push_str(&main);
    params.extend(values);
    Some(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        params,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(rows: usize) -> Bulk {
        Bulk {
            table: "t",
            columns: vec![
                ("a", Col::BigInt((0..rows as i64).collect())),
                (
                    "b",
                    Col::OptText((0..rows).map(|i| (i == 1).then(|| "x\"é".into())).collect()),
                ),
                ("c", Col::Uuid((0..rows).map(|_| Uuid::nil()).collect())),
            ],
            suffix: " ON CONFLICT (a) DO NOTHING".into(),
        }
    }

    #[test]
    fn one_statement_of_one_text_whatever_the_row_count() {
        for backend in [DatabaseBackend::Postgres, DatabaseBackend::Sqlite] {
            let few = bulk(3).statement(backend).expect("rows");
            let many = bulk(5000).statement(backend).expect("rows");
            assert_eq!(few.sql, many.sql, "the same text is prepared once");
            assert!(bulk(0).statement(backend).is_none());
        }
        let pg = bulk(3).statement(DatabaseBackend::Postgres).expect("rows");
        assert!(pg.sql.contains("NULLIF(u.b, '')"), "{}", pg.sql);
        let sqlite = bulk(3).statement(DatabaseBackend::Sqlite).expect("rows");
        assert!(
            sqlite
                .sql
                .ends_with("WHERE true ON CONFLICT (a) DO NOTHING"),
            "{}",
            sqlite.sql
        );
        assert!(sqlite.sql.contains("unhex(r.v ->> 2)"), "{}", sqlite.sql);
    }

    #[test]
    fn postgres_runs_several_inserts_as_one_statement_numbering_every_parameter() {
        let statement = together(&[bulk(2), bulk(3), bulk(1)]).expect("inserts");
        let sql = &statement.sql;
        assert!(sql.starts_with("WITH w0 AS (INSERT INTO t "), "{sql}");
        assert!(sql.contains("), w1 AS (INSERT INTO t "), "{sql}");
        assert!(
            sql.contains("UNNEST($7::int8[], $8::text[], $9::uuid[])"),
            "{sql}"
        );
        assert_eq!(sql.matches("INSERT INTO t ").count(), 3, "{sql}");
        assert_eq!(statement.values.expect("parameters").0.len(), 9);
        let alone = together(&[bulk(2)]).expect("one insert");
        assert_eq!(
            alone.sql,
            bulk(2).statement(DatabaseBackend::Postgres).unwrap().sql
        );
        assert!(together(&[]).is_none());
    }

    #[test]
    fn sqlite_rows_travel_as_one_json_array_with_text_escaped() {
        let statement = bulk(2).statement(DatabaseBackend::Sqlite).expect("rows");
        let values = statement.values.expect("one parameter").0;
        assert_eq!(values.len(), 1);
        let Value::String(Some(json)) = &values[0] else {
            panic!("a JSON text parameter: {values:?}");
        };
        let parsed: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
        let nil = "0".repeat(32);
        assert_eq!(
            parsed,
            serde_json::json!([[0, null, nil], [1, "x\"é", nil]])
        );
    }
}
