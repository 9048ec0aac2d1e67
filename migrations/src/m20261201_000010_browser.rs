//! The browser side of deduplication: public browser keys (with their allowed origins),
//! browser observations (what the pixel was told, beaconed by `kickin.js`), one row per
//! server event with its dedup category and paired observation, per-day counts the
//! report reads, the matcher's per-tenant cursor over `events`, daily match-rate alerts,
//! and the two tenant settings (`dedup_alert_threshold`, `browser_enrichment`).
//!
//! Every table leads its keys with `tenant_id`. Observations are looked up by event id
//! and by visitor (`fbp_hash`, the keyed hash of the `_fbp` cookie, never the cookie).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().to_owned()
}
fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}
fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}
fn millis(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
fn millis_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
fn pk(cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    for col in cols {
        index.col(*col);
    }
    index.primary().to_owned()
}

const TABLES: [&str; 6] = [
    "dedup_alerts",
    "dedup_cursors",
    "dedup_counts",
    "dedup_matches",
    "browser_events",
    "browser_keys",
];

fn browser_keys() -> TableCreateStatement {
    Table::create()
        .table("browser_keys")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(text("key"))
        .col(text("allowed_origins"))
        .col(millis("created_at"))
        .col(millis_null("revoked_at"))
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

/// `id` is a UUIDv7 of the receipt time, so retention purges by key range.
fn browser_events() -> TableCreateStatement {
    Table::create()
        .table("browser_events")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(id("key_id"))
        .col(text("event_name"))
        .col(text_null("event_id"))
        .col(text_null("fbp_hash"))
        .col(text_null("sealed"))
        .col(text("page_url"))
        .col(millis("ts_ms"))
        .col(millis("fired_at"))
        .col(millis("received_at"))
        .col(millis_null("processed_at"))
        .col(ColumnDef::new("claimed_by").uuid().null())
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

fn dedup_matches() -> TableCreateStatement {
    Table::create()
        .table("dedup_matches")
        .col(id("tenant_id"))
        .col(id("event_row_id"))
        .col(text("event_id"))
        .col(text("event_name"))
        .col(text_null("fbp_hash"))
        .col(millis("event_time"))
        .col(millis("received_at"))
        .col(text("category"))
        .col(ColumnDef::new("browser_row_id").uuid().null())
        .col(millis("updated_at"))
        .primary_key(&mut pk(&["tenant_id", "event_row_id"]))
        .to_owned()
}

fn dedup_counts() -> TableCreateStatement {
    Table::create()
        .table("dedup_counts")
        .col(id("tenant_id"))
        .col(text("day"))
        .col(text("metric"))
        .col(ColumnDef::new("count").big_integer().not_null())
        .primary_key(&mut pk(&["tenant_id", "day", "metric"]))
        .to_owned()
}

fn dedup_cursors() -> TableCreateStatement {
    Table::create()
        .table("dedup_cursors")
        .col(id("tenant_id").primary_key())
        .col(id("position"))
        .col(millis("updated_at"))
        .to_owned()
}

fn dedup_alerts() -> TableCreateStatement {
    Table::create()
        .table("dedup_alerts")
        .col(id("tenant_id"))
        .col(text("day"))
        .col(ColumnDef::new("server_events").big_integer().not_null())
        .col(ColumnDef::new("matched").big_integer().not_null())
        .col(ColumnDef::new("threshold_bp").integer().not_null())
        .col(millis("created_at"))
        .primary_key(&mut pk(&["tenant_id", "day"]))
        .to_owned()
}

fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    index.to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("browser_keys_by_key", "browser_keys", &["key"])
            .unique()
            .to_owned(),
        index(
            "browser_keys_by_tenant",
            "browser_keys",
            &["tenant_id", "created_at"],
        ),
        index(
            "browser_events_unprocessed",
            "browser_events",
            &["tenant_id", "processed_at", "id"],
        ),
        index(
            "browser_events_by_event_id",
            "browser_events",
            &["tenant_id", "event_id"],
        ),
        index(
            "browser_events_by_visitor",
            "browser_events",
            &["tenant_id", "fbp_hash", "event_name", "fired_at"],
        ),
        index(
            "browser_events_by_claim",
            "browser_events",
            &["tenant_id", "claimed_by", "received_at"],
        ),
        index(
            "dedup_matches_by_event_id",
            "dedup_matches",
            &["tenant_id", "event_id"],
        ),
        index(
            "dedup_matches_by_visitor",
            "dedup_matches",
            &["tenant_id", "fbp_hash", "event_name", "event_time"],
        ),
        index(
            "dedup_matches_by_category",
            "dedup_matches",
            &["tenant_id", "category", "received_at"],
        ),
        index(
            "dedup_matches_by_received",
            "dedup_matches",
            &["tenant_id", "received_at"],
        ),
    ]
}

/// SQLite alters one column per statement.
fn tenant_columns() -> [ColumnDef; 2] {
    [
        ColumnDef::new("dedup_alert_threshold_bp")
            .integer()
            .not_null()
            .default(8000)
            .to_owned(),
        ColumnDef::new("browser_enrichment")
            .boolean()
            .not_null()
            .default(false)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            browser_keys(),
            browser_events(),
            dedup_matches(),
            dedup_counts(),
            dedup_cursors(),
            dedup_alerts(),
        ] {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        for mut column in tenant_columns() {
            let alter = Table::alter()
                .table("tenants")
                .add_column(&mut column)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["browser_enrichment", "dedup_alert_threshold_bp"] {
            let alter = Table::alter().table("tenants").drop_column(name).to_owned();
            manager.alter_table(alter).await?;
        }
        for table in TABLES {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
