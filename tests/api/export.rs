//! The reconciliation CSV of an invoice: streamed page by page, complete and in order,
//! one row per billed send, tenant text that looks like a formula neutralized.

use futures_util::TryStreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::db_tests;
use crate::mocks::meta::MetaMock;
use crate::support::{Backend, Tenant, TestApp, column, spawn_with};

db_tests!(
    formula_looking_event_names_and_ids_are_neutralized_in_the_export,
    an_export_longer_than_one_chunk_is_complete_and_in_order,
    the_export_index_migration_goes_down_and_up_again,
);

/// An app whose Meta destination answers, and a tenant on a plan with `events` sent
/// and delivered this month.
async fn delivered(backend: Backend, events: &[(&str, &str)]) -> (TestApp, MetaMock, Tenant) {
    let meta = MetaMock::start().await;
    meta.add_token("EAAB-secret-token");
    let uri = meta.uri();
    let app = spawn_with(backend, &[("KICKIN_META_API_BASE", uri.as_str())]).await;
    let plan = json!({"code": "flat", "name": "Flat", "currency": "usd", "monthly_fee": 0,
        "tier_mode": "graduated", "tiers": [{"up_to": null, "price_per_1000": 10}],
        "limit_mode": "soft", "hard_limit": null});
    let (status, plan) = app.admin(Method::POST, "/plans", Some(plan)).await;
    assert_eq!(status, 201, "{plan}");
    let tenant = app.create_tenant(json!({"plan_id": plan["id"]})).await;
    app.add_meta(&tenant).await;
    let events: Vec<Value> = events
        .iter()
        .map(|(name, id)| {
            let mut e = app.purchase(id);
            e["event_name"] = json!(name);
            e
        })
        .collect();
    let (status, body) = app.send(&tenant, events).await;
    assert_eq!(status, 202, "{body}");
    app.drain().await;
    (app, meta, tenant)
}

/// Closes the month, bills it and returns the tenant's invoice.
async fn invoice(app: &TestApp, tenant: &Tenant) -> Value {
    let period = crate::billing::next_month(app).await;
    let run = json!({"period": period});
    let (status, report) = app.admin(Method::POST, "/billing/runs", Some(run)).await;
    assert_eq!(status, 200, "{report}");
    let (_, list) = app
        .admin(
            Method::GET,
            &format!("/invoices?period={period}&tenant_id={}", tenant.id),
            None,
        )
        .await;
    list["data"][0].clone()
}

/// The export over HTTP: the body and whether it came without a length (streamed).
async fn download(app: &TestApp, invoice_id: &str) -> (String, bool) {
    let resp = app
        .client
        .get(format!(
            "{}/admin/api/invoices/{invoice_id}/reconciliation.csv",
            app.base
        ))
        .bearer_auth(app.token())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let streamed = resp.content_length().is_none();
    (resp.text().await.unwrap(), streamed)
}

fn records(csv: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn formula_looking_event_names_and_ids_are_neutralized_in_the_export(backend: Backend) {
    let events = [
        ("=HYPERLINK(\"https://evil.example\",\"x\")", "plain-1"),
        ("Purchase", "+1-555-0100"),
        ("Purchase", "-2+3"),
        ("Purchase", "@SUM(A1:A9)"),
        ("Purchase", "order-5"),
    ];
    let (app, _meta, tenant) = delivered(backend, &events).await;
    let invoice = invoice(&app, &tenant).await;
    let (csv, streamed) = download(&app, invoice["id"].as_str().unwrap()).await;
    assert!(streamed, "sent as a stream, not one sized body");
    let rows = records(&csv);
    assert_eq!(
        rows.len() as i64,
        invoice["units"].as_i64().unwrap(),
        "one row per billed send"
    );
    assert_eq!(rows.len(), 5);
    let cells: Vec<(String, String)> = rows.iter().map(|r| (r[2].clone(), r[3].clone())).collect();
    for (name, id) in events {
        let expect = |v: &str| match v.starts_with(['=', '+', '-', '@']) {
            true => format!("'{v}"),
            false => v.to_string(),
        };
        assert!(
            cells.contains(&(expect(name), expect(id))),
            "{name} / {id} in {cells:?}"
        );
    }
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell}"
            );
        }
    }
}

async fn an_export_longer_than_one_chunk_is_complete_and_in_order(backend: Backend) {
    let ids: Vec<String> = (0..25).map(|i| format!("order-{i}")).collect();
    let events: Vec<(&str, &str)> = ids.iter().map(|id| ("Purchase", id.as_str())).collect();
    let (app, _meta, tenant) = delivered(backend, &events).await;
    let invoice = invoice(&app, &tenant).await;
    let (whole, _) = download(&app, invoice["id"].as_str().unwrap()).await;
    let rows = records(&whole);
    assert_eq!(rows.len() as i64, invoice["units"].as_i64().unwrap());
    let mut exported: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    exported.sort();
    let tenant_id = uuid::Uuid::parse_str(&tenant.id).unwrap();
    let sql = "SELECT id FROM deliveries WHERE tenant_id = ? AND status = 'succeeded'";
    let mut succeeded: Vec<String> =
        column::<uuid::Uuid>(&app.state.db.conn, sql, vec![tenant_id.into()], "id")
            .await
            .iter()
            .map(uuid::Uuid::to_string)
            .collect();
    succeeded.sort();
    assert_eq!(exported, succeeded, "every succeeded delivery, once");
    assert_eq!(exported.len(), 25);
    let times: Vec<&String> = rows.iter().map(|r| &r[4]).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in order of success time"
    );
    let model = kickin::billing::invoices::get_model(
        &app.state.db.conn,
        invoice["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap();
    // Pages of 7 (25 = 7 + 7 + 7 + 4) and of 5 (an exact multiple: the last page is empty).
    for (chunk, pieces) in [(7, 4), (5, 5)] {
        let stream = kickin::billing::export::reconciliation_csv(
            app.state.db.conn.clone(),
            model.clone(),
            chunk,
        )
        .await
        .unwrap();
        let parts: Vec<Vec<u8>> = stream.try_collect().await.unwrap();
        assert_eq!(parts.len(), pieces, "one piece per page of {chunk}");
        let joined = String::from_utf8(parts.concat()).unwrap();
        assert_eq!(
            joined, whole,
            "paged by {chunk}: the same rows in the same order"
        );
    }
}

async fn the_export_index_migration_goes_down_and_up_again(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    let app = crate::support::spawn(backend).await;
    let db = &app.state.db.conn;
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'deliveries'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'",
    };
    let indexed = || async {
        column::<String>(db, sql, vec![], "name")
            .await
            .contains(&"deliveries_succeeded".to_string())
    };
    assert!(indexed().await);
    let steps = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261201_000009_reconciliation_index")
        .unwrap()
        + 1;
    Migrator::down(db, Some(steps as u32)).await.unwrap();
    assert!(!indexed().await, "down drops the index");
    Migrator::up(db, None).await.unwrap();
    assert!(indexed().await, "up builds it again");
}
