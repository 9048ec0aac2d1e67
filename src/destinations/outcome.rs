//! What one attempt to send a delivery came to. Destination results are not errors but
//! outcomes the worker acts on.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The destination took it: meter it.
    Delivered,
    /// Try again later (`after` = the destination's own wait hint, if any; `whole_destination`
    /// = the hint applies to every delivery of the destination, e.g. Meta throttling).
    Retry {
        after: Option<Duration>,
        whole_destination: bool,
    },
    /// Permanent: never retried, never metered.
    Fail,
    /// The credential was rejected: park the destination until its credentials change.
    Pause,
    /// Not sent: the destination no longer accepts an event this old.
    Expired,
    /// The request may have reached the destination, but its answer is not known (a
    /// timeout after the request was written, a reset connection, a truncated answer).
    /// Resent only where the destination deduplicates the resend.
    Unknown,
    /// Not sent: an earlier attempt's outcome is unknown and the destination would count
    /// a resend as a second conversion. Ends the delivery `unconfirmed`.
    Unconfirmed,
    /// Not sent within this claim (its lease would run out first): back to the queue at
    /// once, burning no attempt.
    Deferred,
}

/// The log line of one attempt (`delivery_attempts`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempt {
    pub started_at: i64,
    pub duration_ms: i32,
    pub http_status: Option<i32>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub destination_trace_id: Option<String>,
}

/// An outcome with its attempt record.
#[derive(Debug, Clone, PartialEq)]
pub struct Result {
    pub outcome: Outcome,
    pub attempt: Attempt,
}

impl Outcome {
    /// A transient failure where nothing can have reached the destination.
    pub fn retry() -> Self {
        Outcome::Retry {
            after: None,
            whole_destination: false,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry { .. } => "retry",
            Outcome::Fail => "failed",
            Outcome::Pause => "paused",
            Outcome::Expired => "expired",
            Outcome::Unknown => "unknown",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::Deferred => "deferred",
        }
    }
}
