//! Database connection for SQLite (embedded default) and PostgreSQL (production),
//! migrations, readiness, and the write gate: SQLite has one writer, so write
//! transactions of one process take turns instead of failing with `SQLITE_BUSY`.

use std::sync::Arc;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, IsolationLevel, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Clone, Debug)]
pub struct Db {
    pub conn: DatabaseConnection,
    gate: Option<Arc<Mutex<()>>>,
}

/// A write transaction; on SQLite it also holds the process's write gate until it ends.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Db {
    /// Connects with durable settings: SQLite in WAL mode with `synchronous=FULL`, so an
    /// acknowledged write survives a crash; a bounded acquire timeout answers 503, not a hang.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(5))
            .max_connections(if url.starts_with("sqlite:") { 8 } else { 32 })
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Freed space is zeroed: a rewritten row's old bytes leave the file.
                    .pragma("secure_delete", "ON")
            });
        let conn = Database::connect(options).await?;
        let gate = (conn.get_database_backend() == DatabaseBackend::Sqlite)
            .then(|| Arc::new(Mutex::new(())));
        Ok(Self { conn, gate })
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// Begins a write transaction (taking the SQLite write gate first).
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let gate = match &self.gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        // On SQLite the write lock is taken at BEGIN (IMMEDIATE): a transaction that
        // reads first and writes later could otherwise fail to upgrade its snapshot when
        // another process wrote in between (SQLITE_BUSY_SNAPSHOT, not retried).
        let options = TransactionOptions {
            sqlite_transaction_mode: gate.as_ref().map(|_| SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        let txn = self.conn.begin_with_options(options).await?;
        Ok(WriteTxn { txn, _gate: gate })
    }

    /// Begins a read-only transaction whose reads all see one snapshot (PostgreSQL:
    /// REPEATABLE READ; SQLite: a read transaction in WAL mode), for answers made of
    /// several reads that must agree with each other.
    pub async fn begin_snapshot(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = match self.backend() {
            DatabaseBackend::Postgres => TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                ..TransactionOptions::default()
            },
            _ => TransactionOptions::default(),
        };
        self.conn.begin_with_options(options).await
    }

    /// SQLite: copies the write-ahead log into the database file and truncates it, so
    /// no page image of an overwritten row remains in the log. False when a reader's
    /// older snapshot kept it from completing (try again later). Other backends: true.
    pub async fn checkpoint_truncate(&self) -> Result<bool, DbErr> {
        let Some(gate) = &self.gate else {
            return Ok(true);
        };
        let _writer = gate.lock().await;
        let row = self
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ))
            .await?;
        let busy: i32 = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 1,
        };
        Ok(busy == 0)
    }

    /// Ready = reachable and no migration pending.
    pub async fn is_ready(&self) -> bool {
        if self.conn.execute_unprepared("SELECT 1").await.is_err() {
            return false;
        }
        matches!(Migrator::get_pending_migrations(&self.conn).await, Ok(pending) if pending.is_empty())
    }
}
