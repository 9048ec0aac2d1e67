//! The reference ceiling on SQLite: what `bench/ceiling_b*.sql` writes with pgbench on
//! PostgreSQL — one event row (the same ~450-byte payload), one dedup key, one pending
//! delivery per event, `batch` events per transaction — written by a minimal program
//! into a fresh SQLite file with Kickin's durability (WAL, `synchronous=FULL`). SQLite
//! has one writer, so one connection writes.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement, TransactionTrait, Value};

use crate::report::Report;
use kickin::db::Db;

const SCHEMA: [&str; 4] = [
    "CREATE TABLE ev(tenant_id INTEGER, id INTEGER, event_id TEXT, event_name TEXT, event_time INTEGER, payload TEXT, PRIMARY KEY (tenant_id, id))",
    "CREATE TABLE dk(tenant_id INTEGER, destination_id INTEGER, event_name TEXT, event_id TEXT, first_seen INTEGER, PRIMARY KEY (tenant_id, destination_id, event_name, event_id))",
    "CREATE TABLE dl(tenant_id INTEGER, id INTEGER, event_row INTEGER, destination_id INTEGER, status INTEGER, next_attempt_at INTEGER, PRIMARY KEY (tenant_id, id))",
    "CREATE INDEX dl_due ON dl(status, next_attempt_at)",
];

/// The payload of `bench/ceiling.sql`, byte for byte.
const PAYLOAD: &str = r#"{"event_source_url":"https://shop.example/thanks","user_data":{"em":["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"],"ph":["e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"],"client_ip_address":"203.0.113.9","client_user_agent":"Mozilla/5.0 (X11; Linux x86_64)","fbp":"fb.1.1707499000.123"},"custom_data":{"value":129.99,"currency":"USD","order_id":"12345"}}"#;

fn placeholders(rows: usize, per_row: usize) -> String {
    let row = format!("({})", vec!["?"; per_row].join(","));
    vec![row; rows].join(",")
}

async fn exec(db: &impl ConnectionTrait, sql: String, values: Vec<Value>) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// One transaction of `batch` events, numbered from `next`.
async fn write_batch(db: &Db, next: i64, batch: usize, now: i64) -> anyhow::Result<()> {
    let txn = db.conn.begin().await?;
    let ids: Vec<i64> = (next..next + batch as i64).collect();
    let key = |id: &i64| format!("{now}-{id}");
    let dk = ids.iter().flat_map(|id| {
        [
            1.into(),
            1.into(),
            "Purchase".into(),
            key(id).into(),
            now.into(),
        ]
    });
    let sql = format!(
        "INSERT INTO dk VALUES {} ON CONFLICT DO NOTHING",
        placeholders(batch, 5)
    );
    exec(&txn, sql, dk.collect()).await?;
    let ev = ids.iter().flat_map(|id| {
        [
            1.into(),
            (*id).into(),
            key(id).into(),
            "Purchase".into(),
            0.into(),
            PAYLOAD.into(),
        ]
    });
    exec(
        &txn,
        format!("INSERT INTO ev VALUES {}", placeholders(batch, 6)),
        ev.collect(),
    )
    .await?;
    let dl = ids.iter().flat_map(|id| {
        [
            1.into(),
            (*id).into(),
            (*id).into(),
            1.into(),
            0.into(),
            now.into(),
        ]
    });
    exec(
        &txn,
        format!("INSERT INTO dl VALUES {}", placeholders(batch, 6)),
        dl.collect(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn run(
    path: &std::path::Path,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let _ = std::fs::remove_file(path);
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
    for sql in SCHEMA {
        db.conn.execute_unprepared(sql).await?;
    }
    let (started, mut next, mut latencies_us) = (Instant::now(), 0i64, Vec::new());
    while started.elapsed() < duration {
        let t = Instant::now();
        write_batch(&db, next, batch, chrono::Utc::now().timestamp_millis()).await?;
        latencies_us.push(t.elapsed().as_micros() as u64);
        next += batch as i64;
    }
    Ok(Report {
        label: format!(
            "reference ceiling (SQLite): 1 writer × {batch} events per transaction for {duration:?}"
        ),
        duration: started.elapsed(),
        requests: latencies_us.len() as u64,
        events_accepted: next as u64,
        latencies_us,
        ..Report::default()
    })
}
