//! Deduplication keys and the diagnostics they feed.

pub mod diagnostics;
pub mod keys;
