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
    /// A GA4 app stream's app instance id (sealed at rest).
    pub ga4_app_instance_id: Option<String>,
    /// The IP GA4 geolocates the event by (sealed at rest).
    pub ga4_ip_override: Option<String>,
    /// The ingest span's `traceparent`, for linking dispatch spans to it.
    pub trace_context: Option<String>,
}

impl StoredEvent {
    /// The `test_event_code` the event was posted with (a destination's own code wins).
    pub fn test_event_code(&self) -> Option<&str> {
        self.payload[super::meta::POSTED_TEST_CODE].as_str()
    }
}

/// Deliveries of one request: (delivery id, event).
pub type Batch<'e> = Vec<(uuid::Uuid, &'e StoredEvent)>;

/// Events grouped by the `test_event_code` they go with: the destination's own code
/// (`own`) while it is set, else the one the event was posted with. A code is
/// request-level at Meta and TikTok, so each group is its own request.
pub fn by_test_code<'e>(
    events: &[(uuid::Uuid, &'e StoredEvent)],
    own: Option<&'e str>,
) -> Vec<(Option<&'e str>, Batch<'e>)> {
    let mut groups: Vec<(Option<&str>, Batch)> = Vec::new();
    for (id, e) in events {
        let code = own.or_else(|| e.test_event_code());
        match groups.iter_mut().find(|(c, _)| *c == code) {
            Some((_, group)) => group.push((*id, *e)),
            None => groups.push((code, vec![(*id, *e)])),
        }
    }
    groups
}
