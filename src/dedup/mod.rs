//! Deduplication keys and the diagnostics they feed (match keys among them).

pub mod diagnostics;
pub mod keys;
pub mod match_keys;
