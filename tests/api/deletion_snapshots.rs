//! PostgreSQL: a deletion is `done` only once no snapshot can still see the person's old
//! rows, because `VACUUM FULL` copies every row version such a snapshot could see. A
//! transaction of another database that began before the rewrite counts (every
//! snapshot taken while it runs reaches back to it), and so does a snapshot of this
//! database taken after the rewrite while such a transaction ran.

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::{self, Connection, PgConnection};
use serde_json::json;

use crate::deletion::{ANNA, await_done, delete, deletion, event, file_bytes, holds, run_pass};
use crate::dispatch::world;
use crate::support::Backend;

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL")
}

async fn run(conn: &mut PgConnection, sql: &'static str) {
    sqlx::raw_sql(sql).execute(&mut *conn).await.expect(sql);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_waits_until_no_snapshot_anywhere_can_see_the_old_rows() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres(server_url) = backend.clone() else {
        unreachable!()
    };
    let w = world(backend, "10s").await;
    let (app, tenant) = (&w.app, &w.tenant);
    let (status, body) = app.send(tenant, vec![event(app, "anna-1", &ANNA)]).await;
    assert_eq!((status, &body["accepted"]), (202, &json!(1)), "{body}");
    let secret = ANNA.em_hash();

    // A transaction of another database on the same server, begun before the rewrite.
    let mut elsewhere = connect(&server_url).await;
    run(&mut elsewhere, "BEGIN; SELECT pg_current_xact_id()").await;
    let id = delete(app, tenant, json!({"em": ANNA.em})).await;
    for _ in 0..3 {
        run_pass(app).await;
    }
    let d = deletion(app, tenant, &id).await;
    assert_eq!(
        (&d["status"], &d["events"]),
        (&json!("pending"), &json!(1)),
        "{d}"
    );

    // A snapshot of this database taken after the rewrite, while that one still ran.
    let mut here = connect(&app.state.config.database_url).await;
    run(&mut here, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1").await;
    run(&mut elsewhere, "COMMIT").await;
    let db = &app.state.db.conn;
    db.execute_unprepared("VACUUM (FULL) events").await.unwrap();
    assert!(
        holds(&file_bytes(app).await, &secret),
        "the later snapshot keeps the old row through a rewrite of the table"
    );
    for _ in 0..3 {
        run_pass(app).await;
    }
    let d = deletion(app, tenant, &id).await;
    assert_eq!(
        d["status"], "pending",
        "not done while a snapshot sees the old row: {d}"
    );

    run(&mut here, "COMMIT").await;
    let done = await_done(app, tenant, &id).await;
    assert_eq!(done["events"], 1, "{done}");
    assert!(
        !holds(&file_bytes(app).await, &secret),
        "the files still hold the person's hash once the deletion is done"
    );
}
