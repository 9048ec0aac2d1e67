//! The browser side of deduplication. Meta dedups a pixel event and a server event only
//! when both carry the same event_name and event_id within 48 hours; half of the ways
//! to get that wrong live in the page, so Kickin watches both sides.
//!
//! - `keys`, `origins`: public browser keys (`pk_…`) and the origins they accept.
//! - `script`: `kickin.js`, served to the tenant's pages.
//! - `beacon`, `intake`: what the script sends, validated and stored (identifiers sealed).
//! - `matching` (pure rules), `component`, `matcher` (the incremental job), `counts`:
//!   every server event's category, kept up to date as either side arrives.
//! - `report`, `alerts`: the dedup report and the match-rate alerts.
//! - `enrich`: optional fbp/fbc enrichment of server events before dispatch.
//! - `purge`, `jobs`: retention and the background loops.

pub mod alerts;
pub mod beacon;
pub mod component;
pub mod counts;
pub mod enrich;
pub mod intake;
pub mod jobs;
pub mod keys;
pub mod matcher;
pub mod matching;
pub mod origins;
pub mod purge;
pub mod report;
pub mod script;
