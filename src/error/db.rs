//! What a database error means to a client, decided by the error's kind and codes, never
//! by its wording where the driver gives a code: a unique constraint becomes the product
//! error of the rule it protects (one table, [`UNIQUE`]); a pool timeout, a busy or
//! locked SQLite, a PostgreSQL lock or statement timeout, a serialization failure or a
//! deadlock becomes 503 `database_unavailable` with `Retry-After`; a NUL byte PostgreSQL
//! cannot store is the client's 400. Anything else is a 500.

use std::ops::Deref;

use sea_orm::sqlx::error::{DatabaseError, Error as SqlxError};
use sea_orm::sqlx::postgres::PgDatabaseError;
use sea_orm::sqlx::sqlite::SqliteError;
use sea_orm::{DbErr, RuntimeErr};

use super::{AppError, ErrorKind};

/// One uniqueness rule of the schema and the error a client gets for breaking it.
pub(super) struct UniqueRule {
    /// The constraint or unique index name PostgreSQL reports.
    pub postgres: &'static str,
    /// The column list SQLite reports (it names columns, not constraints).
    pub sqlite: &'static str,
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub message: &'static str,
}

/// Every unique constraint and unique index in `migrations/` (primary keys aside: they
/// are generated ids, and a clash there is answered as a plain `conflict`).
pub(super) const UNIQUE: &[UniqueRule] = &[
    UniqueRule {
        postgres: "plans_code_key",
        sqlite: "plans.code",
        code: "plan_code_taken",
        field: Some("code"),
        message: "a plan with this code already exists",
    },
    UniqueRule {
        postgres: "admins_email_key",
        sqlite: "admins.email",
        code: "admin_exists",
        field: Some("email"),
        message: "an admin with this email already exists",
    },
    UniqueRule {
        postgres: "api_keys_by_hash",
        sqlite: "api_keys.key_hash",
        code: "api_key_collision",
        field: None,
        message: "the generated key collided with an existing one; issue it again",
    },
    UniqueRule {
        postgres: "invoices_one_per_month",
        sqlite: "invoices.tenant_id, invoices.period",
        code: "invoice_exists",
        field: None,
        message: "this tenant already has an invoice for this month",
    },
    UniqueRule {
        postgres: "tenant_users_email_key",
        sqlite: "tenant_users.email",
        code: "user_exists",
        field: Some("email"),
        message: "a portal user with this email already exists",
    },
    UniqueRule {
        postgres: "tenant_invites_by_hash",
        sqlite: "tenant_invites.token_hash",
        code: "invite_collision",
        field: None,
        message: "the generated invite collided with an existing one; invite again",
    },
];

/// SQLite's only way of naming the columns of a unique violation is its message.
const SQLITE_UNIQUE_PREFIX: &str = "UNIQUE constraint failed: ";

/// The product error of a unique violation on `constraint` (a PostgreSQL name or a
/// SQLite column list); a plain `conflict` when no rule names it.
pub(super) fn unique_violation(constraint: Option<&str>) -> AppError {
    let rule = constraint.and_then(|c| UNIQUE.iter().find(|r| r.postgres == c || r.sqlite == c));
    let Some(rule) = rule else {
        return AppError::conflict("conflict", "a record with these values already exists");
    };
    let error = AppError::conflict(rule.code, rule.message);
    match rule.field {
        Some(field) => error.with_field(field),
        None => error,
    }
}

/// SQLite primary result codes (the low byte of an extended code) that mean another
/// writer holds the database: `SQLITE_BUSY` and `SQLITE_LOCKED`.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// PostgreSQL SQLSTATEs that are transient: lock_not_available (lock_timeout),
/// query_canceled (statement_timeout), serialization_failure, deadlock_detected, and the
/// server shutting down or refusing connections.
const POSTGRES_TRANSIENT: [&str; 7] = [
    "55P03", "57014", "40001", "40P01", "57P01", "57P03", "53300",
];

/// PostgreSQL's character_not_in_repertoire: a NUL byte in text.
const POSTGRES_NUL: &str = "22021";

/// Which driver a database error came from, with its code.
pub(super) enum Code<'a> {
    Sqlite(i64),
    Postgres(&'a str),
}

pub(super) fn is_transient(code: &Code<'_>) -> bool {
    match code {
        Code::Sqlite(extended) => matches!(extended & 0xff, SQLITE_BUSY | SQLITE_LOCKED),
        Code::Postgres(state) => POSTGRES_TRANSIENT.contains(state),
    }
}

pub(super) fn unavailable() -> AppError {
    let mut e = AppError::new(
        ErrorKind::Unavailable,
        "database_unavailable",
        "the database is unavailable, retry shortly",
    );
    e.retry_after = Some(1);
    e
}

/// The client-facing error for a database error (the source is attached by the caller).
pub(super) fn map(err: &DbErr) -> AppError {
    match err {
        // Pool timeouts, a closed pool and connections that cannot be made.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => unavailable(),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            map_sqlx(e)
        }
        _ => AppError::internal("an internal error occurred"),
    }
}

fn map_sqlx(err: &SqlxError) -> AppError {
    match err {
        SqlxError::PoolTimedOut | SqlxError::PoolClosed | SqlxError::Io(_) => unavailable(),
        SqlxError::Database(e) => map_database(e.deref()),
        _ => AppError::internal("an internal error occurred"),
    }
}

fn map_database(err: &dyn DatabaseError) -> AppError {
    let code = code_of(err);
    if err.is_unique_violation() {
        let sqlite_columns = err.message().strip_prefix(SQLITE_UNIQUE_PREFIX);
        return unique_violation(err.constraint().or(sqlite_columns));
    }
    match code {
        Some(code) if is_transient(&code) => unavailable(),
        Some(Code::Postgres(POSTGRES_NUL)) => AppError::bad_request(
            "invalid_input",
            "the request contains a character that cannot be stored (NUL)",
        ),
        _ => AppError::internal("an internal error occurred"),
    }
}

fn code_of(err: &dyn DatabaseError) -> Option<Code<'_>> {
    if let Some(e) = err.try_downcast_ref::<PgDatabaseError>() {
        return Some(Code::Postgres(e.code()));
    }
    if err.try_downcast_ref::<SqliteError>().is_some() {
        return err.code()?.parse().ok().map(Code::Sqlite);
    }
    None
}

#[cfg(test)]
#[path = "db_tests.rs"]
mod tests;
