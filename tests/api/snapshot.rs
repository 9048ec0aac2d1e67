//! Answers made of several reads (`/v1/usage`: counted and pending) read one snapshot,
//! so a batch completing between two reads can never show its deliveries as neither
//! pending nor counted.

use sea_orm::ConnectionTrait;

use crate::db_tests;
use crate::dispatch::world;
use crate::support::{Backend, column};

db_tests!(a_snapshot_keeps_its_view_while_deliveries_complete);

async fn succeeded(db: &impl ConnectionTrait) -> i64 {
    let sql = "SELECT COUNT(*) AS n FROM deliveries WHERE status = 'succeeded'";
    column::<i64>(db, sql, vec![], "n").await[0]
}

async fn a_snapshot_keeps_its_view_while_deliveries_complete(backend: Backend) {
    let w = world(backend, "10s").await;
    let app = &w.app;
    let first = (0..3).map(|i| app.purchase(&format!("s-{i}"))).collect();
    app.send(&w.tenant, first).await;
    app.drain().await;

    let snapshot = app.state.db.begin_snapshot().await.unwrap();
    assert_eq!(succeeded(&snapshot).await, 3);
    let more = (3..5).map(|i| app.purchase(&format!("s-{i}"))).collect();
    app.send(&w.tenant, more).await;
    assert_eq!(
        app.drain().await,
        2,
        "two more complete while the snapshot is open"
    );
    assert_eq!(
        succeeded(&snapshot).await,
        3,
        "the snapshot still sees its state"
    );
    assert_eq!(succeeded(&app.state.db.conn).await, 5);
    snapshot.commit().await.unwrap();

    let (_, usage) = app.get("/v1/usage", Some(&w.tenant.key)).await;
    assert_eq!(
        (usage["counted"].as_i64(), usage["pending"].as_i64()),
        (Some(5), Some(0))
    );
}
