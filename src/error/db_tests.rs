use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::error::Error as SqlxError;
use sea_orm::{
    ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr,
    RuntimeErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use super::{Code, UNIQUE, is_transient, unique_violation};
use crate::error::{AppError, ErrorKind};

#[test]
fn each_unique_constraint_maps_to_its_product_error_on_both_databases() {
    let expected = [
        (
            "plans_code_key",
            "plans.code",
            "plan_code_taken",
            Some("code"),
        ),
        (
            "admins_email_key",
            "admins.email",
            "admin_exists",
            Some("email"),
        ),
        (
            "api_keys_by_hash",
            "api_keys.key_hash",
            "api_key_collision",
            None,
        ),
        (
            "invoices_one_per_month",
            "invoices.tenant_id, invoices.period",
            "invoice_exists",
            None,
        ),
        (
            "tenant_users_email_key",
            "tenant_users.email",
            "user_exists",
            Some("email"),
        ),
        (
            "tenant_invites_by_hash",
            "tenant_invites.token_hash",
            "invite_collision",
            None,
        ),
    ];
    assert_eq!(UNIQUE.len(), expected.len(), "every rule is checked here");
    for (postgres, sqlite, code, field) in expected {
        for name in [postgres, sqlite] {
            let e = unique_violation(Some(name));
            assert_eq!((e.kind, e.code), (ErrorKind::Conflict, code), "{name}");
            assert_eq!(e.field.as_deref(), field, "{name}");
        }
    }
}

#[test]
fn an_unnamed_unique_violation_is_a_plain_conflict() {
    for name in [
        None,
        Some("deliveries_pkey"),
        Some("deliveries.tenant_id, deliveries.id"),
    ] {
        let e = unique_violation(name);
        assert_eq!(
            (e.kind, e.code, e.field),
            (ErrorKind::Conflict, "conflict", None)
        );
    }
}

#[test]
fn busy_locked_timeouts_serialization_and_deadlocks_are_transient() {
    // SQLITE_BUSY, BUSY_SNAPSHOT, BUSY_TIMEOUT, SQLITE_LOCKED, LOCKED_SHAREDCACHE.
    for code in [5, 517, 773, 6, 262] {
        assert!(is_transient(&Code::Sqlite(code)), "{code}");
    }
    for state in ["55P03", "57014", "40001", "40P01"] {
        assert!(is_transient(&Code::Postgres(state)), "{state}");
    }
    // Unique/primary key (2067, 1555), a constraint (19), a missing table (42P01).
    for code in [2067, 1555, 19, 1] {
        assert!(!is_transient(&Code::Sqlite(code)), "{code}");
    }
    for state in ["23505", "42P01", "22021"] {
        assert!(!is_transient(&Code::Postgres(state)), "{state}");
    }
}

fn assert_unavailable(e: &AppError) {
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Unavailable, "database_unavailable"),
        "{e:?}"
    );
    assert_eq!(e.retry_after, Some(1));
}

#[test]
fn pool_timeouts_answer_503_and_keep_their_source() {
    let acquire = AppError::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
    assert_unavailable(&acquire);
    assert!(matches!(
        acquire.source.as_deref(),
        Some(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
    ));
    let sqlx = DbErr::Query(RuntimeErr::SqlxError(Arc::new(SqlxError::PoolTimedOut)));
    let e = AppError::from(sqlx);
    assert_unavailable(&e);
    assert!(
        std::error::Error::source(&e).is_some(),
        "the cause chain reaches the pool error"
    );
    assert!(
        !format!("{e}").contains("pool"),
        "the client's message stays clean: {e}"
    );
}

#[test]
fn other_database_errors_are_internal() {
    let e = AppError::from(DbErr::Query(RuntimeErr::Internal("bad".into())));
    assert_eq!((e.kind, e.code), (ErrorKind::Internal, "internal"));
    assert!(e.source.is_some());
}

async fn sqlite(path: &std::path::Path) -> DatabaseConnection {
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
    options.sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
        o.busy_timeout(Duration::ZERO)
            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
    });
    Database::connect(options).await.expect("sqlite")
}

#[tokio::test]
async fn a_busy_sqlite_answers_503_and_a_duplicate_names_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let (first, second) = (sqlite(&path).await, sqlite(&path).await);
    first
        .execute_unprepared("CREATE TABLE plans (code TEXT NOT NULL UNIQUE)")
        .await
        .unwrap();
    first
        .execute_unprepared("INSERT INTO plans VALUES ('growth')")
        .await
        .unwrap();
    let duplicate = first
        .execute_unprepared("INSERT INTO plans VALUES ('growth')")
        .await
        .unwrap_err();
    let e = AppError::from(duplicate);
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("plan_code_taken", Some("code"))
    );

    let immediate = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    let holder = first.begin_with_options(immediate).await.unwrap();
    let busy = second
        .execute_unprepared("INSERT INTO plans VALUES ('starter')")
        .await
        .unwrap_err();
    assert_unavailable(&AppError::from(busy));
    holder.rollback().await.unwrap();
}

/// PostgreSQL's lock and statement timeouts, when a server is configured for tests.
#[tokio::test]
async fn postgres_lock_and_statement_timeouts_answer_503() {
    let Ok(url) = std::env::var("KICKIN_TEST_POSTGRES_URL") else {
        eprintln!("KICKIN_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return;
    };
    let db = Database::connect(url.as_str()).await.expect("postgres");
    let key = uuid::Uuid::new_v4().as_u64_pair().0 as i64;
    let lock = format!("SELECT pg_advisory_xact_lock({key})");
    let holder = db.begin().await.unwrap();
    holder.execute_unprepared(&lock).await.unwrap();
    let waiter = db.begin().await.unwrap();
    waiter
        .execute_unprepared("SET LOCAL lock_timeout = '50ms'")
        .await
        .unwrap();
    let timed_out = waiter.execute_unprepared(&lock).await.unwrap_err();
    assert_unavailable(&AppError::from(timed_out));
    waiter.rollback().await.unwrap();
    holder.rollback().await.unwrap();

    let slow = db.begin().await.unwrap();
    slow.execute_unprepared("SET LOCAL statement_timeout = '50ms'")
        .await
        .unwrap();
    let canceled = slow
        .execute_unprepared("SELECT pg_sleep(5)")
        .await
        .unwrap_err();
    assert_unavailable(&AppError::from(canceled));
}
