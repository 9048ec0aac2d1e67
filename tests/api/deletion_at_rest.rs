//! Why the byte check of the deletion tests is real on SQLite: a rewritten row's old
//! bytes stay in the database files unless freed space is zeroed (`secure_delete`, set
//! on every connection by `Db::connect`) *and* the write-ahead log is checkpointed with
//! TRUNCATE. Each measure alone leaves them readable, so a deletion without either
//! would fail the file check of `deletion.rs`. (The person's value sits at the start of
//! the old row: SQLite writes the shorter new row over the old one's end.)

use std::path::Path;

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
use sea_orm::sqlx::{self, Executor};

use kickin::db::Db;

const MARKER: &str = "person-4c1f0e-anna.lind@example.com-hash-9d2b77";

/// The bytes of the database file and its write-ahead log.
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("database file");
    if let Ok(wal) = std::fs::read(format!("{}-wal", path.display())) {
        bytes.extend(wal);
    }
    bytes
}

fn holds(path: &Path, needle: &str) -> bool {
    let bytes = file_bytes(path);
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

const SETUP: [&str; 2] = [
    "CREATE TABLE probe (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)",
    "INSERT INTO probe (payload) VALUES ('{\"em\": \"person-4c1f0e-anna.lind@example.com-hash-9d2b77\", \"custom_data\": \"' || hex(zeroblob(300)) || '\"}')",
];
const REWRITE: &str = "UPDATE probe SET payload = '{\"value\": 1}'";
const TRUNCATE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";

#[tokio::test]
async fn with_secure_delete_the_old_bytes_stay_until_the_log_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("on.db");
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    for sql in SETUP {
        db.conn.execute_unprepared(sql).await.unwrap();
    }
    assert!(db.checkpoint_truncate().await.unwrap());
    assert!(holds(&path, MARKER), "stored in the file");
    db.conn.execute_unprepared(REWRITE).await.unwrap();
    assert!(
        holds(&path, MARKER),
        "before the checkpoint the file still has the old page"
    );
    assert!(db.checkpoint_truncate().await.unwrap());
    assert!(!holds(&path, MARKER), "zeroed and checkpointed: gone");
}

#[tokio::test]
async fn without_secure_delete_the_old_bytes_stay_after_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("off.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("secure_delete", "OFF");
    let pool = SqlitePool::connect_with(options).await.unwrap();
    for sql in SETUP {
        pool.execute(sql).await.unwrap();
    }
    let mode: (i64,) = sqlx::query_as("PRAGMA secure_delete")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode.0, 0, "secure_delete is off");
    pool.execute(TRUNCATE).await.unwrap();
    assert!(holds(&path, MARKER), "stored in the file");
    pool.execute(REWRITE).await.unwrap();
    pool.execute(TRUNCATE).await.unwrap();
    let left: (String,) = sqlx::query_as("SELECT payload FROM probe")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!left.0.contains(MARKER), "the table no longer shows it");
    assert!(
        holds(&path, MARKER),
        "but the file does: a deletion without secure_delete would fail the check"
    );
}
