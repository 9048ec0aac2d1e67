//! Event ingestion: parse and validate (`event`), hash user data (`user_data`, `pii`),
//! decide per destination (`decide`), and commit events, dedup keys and pending
//! deliveries of concurrent requests together (`accept`, `committer`, `group`).
//! `pixel` is the same for a Meta Conversions API request to one pixel (all or nothing).

pub mod accept;
pub mod committer;
pub mod consent;
mod custom_data;
pub mod decide;
pub mod event;
mod ga4_fields;
mod ga4_user_data;
mod group;
mod limit;
pub mod lookup;
pub mod meta_fields;
pub mod pii;
pub mod pixel;
pub mod response;
mod rows;
mod stored;
mod summary;
pub mod user_data;

pub use accept::{Outcome, Routing, accept_events};
pub use committer::Committer;
pub use event::{ParseContext, Rejection, ValidatedEvent, Warning};
pub use response::IngestResponse;

/// The most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;
