//! The queue's two reads: which destinations have due work (every one of them, the
//! longest-waiting first, whatever another destination's backlog) and which of a
//! destination's deliveries a claim takes (the oldest, in `(next_attempt_at, id)` order,
//! none of them leased twice), and the planner statistics refresh that keeps those
//! reads cheap on PostgreSQL after a burst.

use kickin::dispatch::queue::{self, DueDestination};
use kickin::dispatch::worker::LEASE_MS;
use sea_orm::{ConnectionTrait, DatabaseBackend};
use serde_json::json;
use uuid::Uuid;

use crate::db_tests;
use crate::dispatch::world;
use crate::support::{Backend, TestApp, column};

db_tests!(
    every_destination_with_due_work_is_found_oldest_first,
    a_claim_takes_the_oldest_unleased_deliveries_in_id_order,
    a_burst_gets_the_queue_tables_analyzed_once,
    the_queue_index_migration_goes_down_and_up_again,
);

fn due(tenant: &str, destination: &str) -> DueDestination {
    DueDestination {
        tenant_id: tenant.parse().unwrap(),
        destination_id: destination.parse().unwrap(),
    }
}

async fn due_now(app: &TestApp) -> Vec<DueDestination> {
    queue::due_destinations(&app.state.db, app.clock.now_ms(), 16)
        .await
        .unwrap()
}

/// A destination's pending delivery ids, oldest first (UUIDv7: creation order).
async fn pending_ids(app: &TestApp, tenant: &str) -> Vec<Uuid> {
    let sql = "SELECT id FROM deliveries WHERE tenant_id = ? AND status = 'pending' ORDER BY next_attempt_at, id";
    let tenant: Uuid = tenant.parse().unwrap();
    column(&app.state.db.conn, sql, vec![tenant.into()], "id").await
}

async fn every_destination_with_due_work_is_found_oldest_first(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let events = (0..30).map(|i| app.purchase(&format!("big-{i}"))).collect();
    app.send(&w.tenant, events).await;
    app.clock.advance_ms(1_000);
    let small = app.create_tenant(json!({})).await;
    let small_meta = app.add_meta(&small).await;
    app.send(&small, vec![app.purchase("small-1")]).await;
    let idle = app.create_tenant(json!({})).await;
    app.add_meta(&idle).await;

    let (big, little) = (due(&w.tenant.id, &w.meta_id), due(&small.id, &small_meta));
    assert_eq!(
        due_now(app).await,
        [big, little],
        "the older backlog first; idle destinations never"
    );
    let db = &app.state.db;
    let leased = queue::claim(db, big, app.clock.now_ms(), LEASE_MS, 1_000)
        .await
        .unwrap();
    assert_eq!(leased.len(), 30);
    assert_eq!(
        due_now(app).await,
        [little],
        "a fully leased backlog is not due"
    );
    app.clock.advance_ms(LEASE_MS + 1);
    assert_eq!(
        due_now(app).await,
        [big, little],
        "due again once its lease has passed"
    );
}

async fn a_claim_takes_the_oldest_unleased_deliveries_in_id_order(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    // One request: 25 deliveries with the same next_attempt_at, ordered by id alone.
    let events = (0..25).map(|i| app.purchase(&format!("c-{i}"))).collect();
    app.send(&w.tenant, events).await;
    app.clock.advance_ms(1);
    app.send(&w.tenant, vec![app.purchase("later")]).await;
    let all = pending_ids(app, &w.tenant.id).await;
    assert_eq!(all.len(), 26);

    let (db, d, now) = (
        &app.state.db,
        due(&w.tenant.id, &w.meta_id),
        app.clock.now_ms(),
    );
    let first = queue::claim(db, d, now, LEASE_MS, 10).await.unwrap();
    let second = queue::claim(db, d, now, LEASE_MS, 10).await.unwrap();
    let third = queue::claim(db, d, now, LEASE_MS, 10).await.unwrap();
    let ids = |c: &[queue::Claimed]| c.iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(&first), all[..10]);
    assert_eq!(ids(&second), all[10..20]);
    assert_eq!(ids(&third), all[20..], "the later delivery comes last");
    assert!(
        queue::claim(db, d, now, LEASE_MS, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is leased twice"
    );
    let tokens: std::collections::HashSet<_> = [&first, &second, &third]
        .iter()
        .map(|c| c[0].lease_token)
        .collect();
    assert_eq!(tokens.len(), 3, "each claim has its own lease token");
}

async fn a_burst_gets_the_queue_tables_analyzed_once(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let db = &app.state.db;
    if db.backend() != DatabaseBackend::Postgres {
        assert_eq!(
            kickin::statistics::refresh(db).await.unwrap(),
            0,
            "nothing to do on SQLite"
        );
        return;
    }
    // A burst of 6,000 dedup keys, written straight to the table; its statistics are
    // flushed by the writing session itself, so the refresh sees them at once.
    let tenant: Uuid = w.tenant.id.parse().unwrap();
    let burst = format!(
        "INSERT INTO dedup_keys (tenant_id, destination_id, event_name, event_id, event_row_id, seen_at, expires_at) \
         SELECT '{tenant}', '{tenant}', 'Purchase', 'burst-' || n, '{tenant}', 0, 0 FROM generate_series(1, 6000) AS n; \
         SELECT pg_stat_force_next_flush();"
    );
    db.conn.execute_unprepared(&burst).await.unwrap();
    let analyzed_count = || async {
        let sql = "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'dedup_keys'";
        column::<i64>(&db.conn, sql, vec![], "analyze_count").await[0]
    };
    let before = analyzed_count().await;
    assert!(kickin::statistics::refresh(db).await.unwrap() >= 1);
    assert_eq!(
        analyzed_count().await,
        before + 1,
        "dedup_keys was analyzed"
    );
    kickin::statistics::refresh(db).await.unwrap();
    assert_eq!(
        analyzed_count().await,
        before + 1,
        "and not again while fresh"
    );
}

async fn delivery_indexes(app: &TestApp) -> Vec<String> {
    let db = &app.state.db.conn;
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'deliveries' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' ORDER BY 1"
        }
    };
    column(db, sql, vec![], "name").await
}

async fn the_queue_index_migration_goes_down_and_up_again(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    let w = world(backend, "10s").await;
    let app = &w.app;
    let has = |names: &[String], name: &str| names.iter().any(|n| n == name);
    let up = delivery_indexes(app).await;
    assert!(
        has(&up, "deliveries_queue") && !has(&up, "deliveries_by_destination"),
        "{up:?}"
    );

    // Down to just before the queue index, however many migrations came after it.
    let steps = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261129_000005_queue_order")
        .unwrap()
        + 1;
    Migrator::down(&app.state.db.conn, Some(steps as u32))
        .await
        .unwrap();
    let down = delivery_indexes(app).await;
    assert!(
        has(&down, "deliveries_by_destination") && !has(&down, "deliveries_queue"),
        "{down:?}"
    );
    Migrator::up(&app.state.db.conn, None).await.unwrap();
    assert_eq!(
        delivery_indexes(app).await,
        up,
        "the same indexes as the first time"
    );

    app.send(&w.tenant, vec![app.purchase("after-migration")])
        .await;
    assert_eq!(app.drain().await, 1, "the queue works on the rebuilt index");
}
