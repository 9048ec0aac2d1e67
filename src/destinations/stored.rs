//! An accepted event as a destination's client reads it: what ingest stored, with the
//! sealed identifiers opened (in memory only, for the request).

use serde_json::{Map, Value};

/// An event ready to be turned into a destination's request.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event_id: String,
    pub event_name: String,
    pub event_time_ms: i64,
    /// `events.payload`: hashed user data, custom data, action source, …
    pub payload: Value,
    /// Unhashed identifiers (IP, user agent, fbc, fbp, ttp, ttclid, …).
    pub identifiers: Map<String, Value>,
    pub ga4_client_id: Option<String>,
    pub ga4_user_id: Option<String>,
    /// The ingest span's `traceparent`, for linking dispatch spans to it.
    pub trace_context: Option<String>,
}
