//! The one Kickin schema, written with sea-query so it runs unchanged on SQLite and
//! PostgreSQL. Every tenant-owned table leads its primary key and indexes with
//! `tenant_id`, so the data can be distributed by tenant later. Timestamps are
//! `BIGINT` milliseconds since the Unix epoch (UTC): they compare the same way on both
//! databases, which the dedup window and the queue depend on.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_core;
mod m20261128_000002_limits;
mod m20261128_000003_billing;
mod m20261128_000004_audit;
mod m20261129_000005_queue_order;
mod m20261201_000006_attempt_markers;
mod m20261201_000007_admin_sessions;
mod m20261201_000008_billing_history;
mod m20261201_000009_reconciliation_index;
mod m20261201_000010_browser;
mod m20261202_000011_meta_endpoint;
mod m20261202_000012_consent;
mod m20261202_000013_privacy_deletions;
mod m20261203_000014_tenant_users;
mod m20261203_000016_distributable;
mod m20261203_000017_scrub_xid;
mod m20261203_000018_deliveries_by_time;
mod m20261203_000019_events_by_key_range;
mod m20261204_000020_deliveries_unindexed_due;
mod unused_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_core::Migration),
            Box::new(m20261128_000002_limits::Migration),
            Box::new(m20261128_000003_billing::Migration),
            Box::new(m20261128_000004_audit::Migration),
            Box::new(m20261129_000005_queue_order::Migration),
            Box::new(m20261201_000006_attempt_markers::Migration),
            Box::new(m20261201_000007_admin_sessions::Migration),
            Box::new(m20261201_000008_billing_history::Migration),
            Box::new(m20261201_000009_reconciliation_index::Migration),
            Box::new(m20261201_000010_browser::Migration),
            Box::new(m20261202_000011_meta_endpoint::Migration),
            Box::new(m20261202_000012_consent::Migration),
            Box::new(m20261202_000013_privacy_deletions::Migration),
            Box::new(m20261203_000014_tenant_users::Migration),
            Box::new(m20261203_000016_distributable::Migration),
            Box::new(m20261203_000017_scrub_xid::Migration),
            Box::new(m20261203_000018_deliveries_by_time::Migration),
            Box::new(m20261203_000019_events_by_key_range::Migration),
            Box::new(m20261204_000020_deliveries_unindexed_due::Migration),
        ]
    }
}
