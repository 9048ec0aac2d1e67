//! Core schema: plans, admins, tenants, API keys, destinations, events, dedup keys,
//! deliveries (with the retry-queue columns), delivery attempts, the usage meter and
//! diagnostic counters.

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
fn int(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().to_owned()
}
fn int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().null().to_owned()
}
fn pk(cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    for col in cols {
        index.col(*col);
    }
    index.primary().to_owned()
}
fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    index.to_owned()
}

const TABLES: [&str; 11] = [
    "diagnostic_counts",
    "usage_meter",
    "delivery_attempts",
    "deliveries",
    "dedup_keys",
    "events",
    "destinations",
    "api_keys",
    "tenants",
    "admins",
    "plans",
];

fn plans() -> TableCreateStatement {
    Table::create()
        .table("plans")
        .col(id("id").primary_key())
        .col(text("code").unique_key())
        .col(text("name"))
        .col(text("currency"))
        .col(ColumnDef::new("monthly_fee").big_integer().not_null())
        .col(text("tier_mode"))
        .col(text("tiers"))
        .col(text("limit_mode"))
        .col(ColumnDef::new("hard_limit").big_integer().null())
        .col(int_null("max_destinations"))
        .col(int_null("max_api_keys"))
        .col(int("retention_days"))
        .col(millis_null("archived_at"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .to_owned()
}

fn admins() -> TableCreateStatement {
    Table::create()
        .table("admins")
        .col(id("id").primary_key())
        .col(text("email").unique_key())
        .col(text("password_hash"))
        .col(text("role"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .col(millis_null("disabled_at"))
        .to_owned()
}

fn tenants() -> TableCreateStatement {
    Table::create()
        .table("tenants")
        .col(id("id").primary_key())
        .col(text("name"))
        .col(ColumnDef::new("plan_id").uuid().null())
        .col(text("status"))
        .col(ColumnDef::new("require_event_id").boolean().not_null())
        .col(int("dedup_window_hours"))
        .col(text_null("stripe_customer_id"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .foreign_key(
            ForeignKey::create()
                .name("tenants_plan_fk")
                .from("tenants", "plan_id")
                .to("plans", "id"),
        )
        .to_owned()
}

fn api_keys() -> TableCreateStatement {
    Table::create()
        .table("api_keys")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(text("name"))
        .col(text("prefix"))
        .col(text("key_hash"))
        .col(text("scopes"))
        .col(millis("created_at"))
        .col(millis_null("last_used_at"))
        .col(millis_null("revoked_at"))
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

fn destinations() -> TableCreateStatement {
    Table::create()
        .table("destinations")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(text("kind"))
        .col(text("name"))
        .col(text("state"))
        .col(text_null("paused_reason"))
        .col(millis_null("hold_until"))
        .col(text("config"))
        .col(text("secret"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .col(millis_null("deleted_at"))
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

fn events() -> TableCreateStatement {
    Table::create()
        .table("events")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(text("event_id"))
        .col(text("event_name"))
        .col(millis("event_time"))
        .col(millis("received_at"))
        .col(text("payload"))
        .col(text_null("sealed"))
        .col(text("warnings"))
        .col(text_null("trace_context"))
        .col(millis_null("purged_at"))
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

fn dedup_keys() -> TableCreateStatement {
    Table::create()
        .table("dedup_keys")
        .col(id("tenant_id"))
        .col(id("destination_id"))
        .col(text("event_name"))
        .col(text("event_id"))
        .col(id("event_row_id"))
        .col(millis("seen_at"))
        .col(millis("expires_at"))
        .primary_key(&mut pk(&[
            "tenant_id",
            "destination_id",
            "event_name",
            "event_id",
        ]))
        .to_owned()
}

fn deliveries() -> TableCreateStatement {
    Table::create()
        .table("deliveries")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(id("event_row_id"))
        .col(id("destination_id"))
        .col(text("kind"))
        .col(text("status"))
        .col(int("attempts"))
        .col(millis("next_attempt_at"))
        .col(millis_null("locked_until"))
        .col(ColumnDef::new("lease_token").uuid().null())
        .col(text_null("last_error"))
        .col(millis_null("succeeded_at"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

fn delivery_attempts() -> TableCreateStatement {
    Table::create()
        .table("delivery_attempts")
        .col(id("tenant_id"))
        .col(id("id"))
        .col(id("delivery_id"))
        .col(int("attempt_no"))
        .col(millis("started_at"))
        .col(int("duration_ms"))
        .col(int_null("http_status"))
        .col(text("outcome"))
        .col(text_null("error_code"))
        .col(text_null("error_message"))
        .col(text_null("destination_trace_id"))
        .primary_key(&mut pk(&["tenant_id", "id"]))
        .to_owned()
}

fn usage_meter() -> TableCreateStatement {
    Table::create()
        .table("usage_meter")
        .col(id("tenant_id"))
        .col(text("period"))
        .col(text("kind"))
        .col(ColumnDef::new("counted").big_integer().not_null())
        .primary_key(&mut pk(&["tenant_id", "period", "kind"]))
        .to_owned()
}

fn diagnostic_counts() -> TableCreateStatement {
    Table::create()
        .table("diagnostic_counts")
        .col(id("tenant_id"))
        .col(text("day"))
        .col(text("code"))
        .col(text("destination_id"))
        .col(text("detail"))
        .col(ColumnDef::new("count").big_integer().not_null())
        .primary_key(&mut pk(&[
            "tenant_id",
            "day",
            "code",
            "destination_id",
            "detail",
        ]))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("api_keys_by_hash", "api_keys", &["key_hash"])
            .unique()
            .to_owned(),
        index(
            "api_keys_by_tenant",
            "api_keys",
            &["tenant_id", "created_at"],
        ),
        index(
            "destinations_by_tenant",
            "destinations",
            &["tenant_id", "created_at"],
        ),
        index(
            "events_by_key",
            "events",
            &["tenant_id", "event_id", "event_name", "received_at"],
        ),
        index(
            "events_by_received",
            "events",
            &["tenant_id", "received_at"],
        ),
        index(
            "dedup_keys_by_expiry",
            "dedup_keys",
            &["tenant_id", "expires_at"],
        ),
        index(
            "deliveries_by_event",
            "deliveries",
            &["tenant_id", "event_row_id"],
        ),
        index(
            "deliveries_by_status",
            "deliveries",
            &["tenant_id", "status", "created_at"],
        ),
        // The queue claims due work across tenants; see README "Past one machine".
        index(
            "deliveries_due",
            "deliveries",
            &["status", "next_attempt_at"],
        ),
        index(
            "deliveries_by_destination",
            "deliveries",
            &["tenant_id", "destination_id", "status", "next_attempt_at"],
        ),
        index(
            "attempts_by_delivery",
            "delivery_attempts",
            &["tenant_id", "delivery_id", "attempt_no"],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            plans(),
            admins(),
            tenants(),
            api_keys(),
            destinations(),
            events(),
            dedup_keys(),
            deliveries(),
            delivery_attempts(),
            usage_meter(),
            diagnostic_counts(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
