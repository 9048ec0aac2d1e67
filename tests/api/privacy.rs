//! Raw PII and plain secrets never reach the database, a response or the key table.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::db_tests;
use crate::support::{Backend, TestApp, spawn};

db_tests!(raw_pii_and_plain_secrets_never_reach_the_database);

/// Every text column of every row of `table`, concatenated.
async fn dump(app: &TestApp, table: &str) -> String {
    let backend = app.state.db.backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            format!("SELECT CAST(row_to_json(t) AS TEXT) AS j FROM {table} t")
        }
        _ => format!("SELECT * FROM {table}"),
    };
    let rows = app
        .state
        .db
        .conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let mut text = String::new();
    for row in rows {
        match backend {
            sea_orm::DatabaseBackend::Postgres => {
                text.push_str(&row.try_get::<String>("", "j").unwrap())
            }
            _ => {
                for col in row.column_names() {
                    if let Ok(v) = row.try_get::<String>("", &col) {
                        text.push_str(&v);
                        text.push('\n');
                    }
                }
            }
        }
    }
    text.to_lowercase()
}

async fn raw_pii_and_plain_secrets_never_reach_the_database(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    app.add_ga4(&tenant).await;
    let mut event = app.purchase("pii-1");
    event["user_data"]["fn"] = json!("Valéry");
    event["user_data"]["ct"] = json!("Springfield");
    event["ga4"]["user_id"] = json!("customer-4711");
    let (status, body) = app.send(&tenant, vec![event]).await;
    assert_eq!(status, 202, "{body}");

    let events = dump(&app, "events").await;
    assert!(
        events.contains("user_data") && events.contains("order_id"),
        "the payload was stored: {events}"
    );
    for raw in [
        "jane.doe@example.com",
        "jane.doe",
        "5550100",
        "010-0000",
        "203.0.113.9",
        "mozilla/5.0",
        "valéry",
        "springfield",
        "customer-4711",
        "123456.7654321",
    ] {
        assert!(!events.contains(raw), "{raw} found in events");
    }
    let destinations = dump(&app, "destinations").await;
    assert!(
        destinations.contains("123456"),
        "public settings are stored"
    );
    for secret in ["eaab-secret-token", "ga4-secret-value"] {
        assert!(
            !destinations.contains(secret),
            "{secret} found in destinations"
        );
    }
    let keys = dump(&app, "api_keys").await;
    assert!(
        !keys.contains(&tenant.key.to_lowercase()),
        "the API key is stored hashed only"
    );

    let (_, list) = app.get("/v1/destinations", Some(&tenant.key)).await;
    let text = list.to_string().to_lowercase();
    assert!(!text.contains("eaab-secret-token") && !text.contains("ga4-secret-value"));
    assert_eq!(list["data"][1]["access_token_set"], true, "{list}");
    assert_eq!(list["data"][0]["api_secret_set"], true, "{list}");
}
