//! One integration-test binary: each test starts the real app on port 0 with its own
//! database (a temp SQLite file, or a fresh PostgreSQL database when
//! `KICKIN_TEST_POSTGRES_URL` is set) and talks to it over HTTP.

mod browser_support;
mod mocks;
mod support;

mod admin;
mod beacons;
mod billing;
mod billing_rules;
mod consent;
mod console;
mod console_dedup;
mod console_forms;
mod console_sessions;
mod dedup;
mod dedup_report;
mod deletion;
mod deletion_at_rest;
mod deletion_snapshots;
mod delivery_periods;
mod destination_test;
mod dispatch;
mod dispatch_crash;
mod dispatch_edges;
mod distributable;
mod enrichment;
mod errors;
mod event_fields;
mod export;
mod faults;
mod group_commit;
mod ingest;
mod isolation;
mod leases;
mod limits;
mod logins;
mod malformed;
mod match_keys;
mod meta_endpoint;
mod meta_sdk;
mod portal;
mod portal_access;
mod portal_flows;
mod portal_pages;
mod privacy;
mod queue;
mod snapshot;
mod states;
mod tiktok;
mod tiktok_mock;
mod unknown_outcome;
mod waiting;
