//! Kickin: multi-tenant server-side conversion tracking. Events come in with API keys,
//! are deduplicated per tenant and destination, queued for Meta CAPI and GA4 MP, and only
//! successful unique sends are metered.
//!
//! Domain modules (`tenants`, `destinations`, `ingest`, `dedup`, `billing`, `accounts`)
//! never import actix; the web layers (`api`, `admin`) stay thin on top of them.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod audit;
pub mod billing;
pub mod bootstrap;
pub mod browser;
pub mod bulk;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dedup;
pub mod deliveries;
pub mod demo;
pub mod destinations;
pub mod dispatch;
pub mod entities;
pub mod error;
pub mod housekeeping;
pub mod id_list;
pub mod ids;
pub mod ingest;
pub mod metering;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod period;
pub mod plans;
pub mod portal;
pub mod privacy;
pub mod startup;
pub mod state;
pub mod states;
pub mod statistics;
pub mod stats;
pub mod telemetry;
pub mod tenant_stats;
pub mod tenants;
pub mod whole;
