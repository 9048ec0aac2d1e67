//! The per-event answer of `POST /v1/events` (shapes fixed by API.md).

use serde::Serialize;
use uuid::Uuid;

use super::event::Warning;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IngestResponse {
    /// Set when events were refused for the plan's hard limit.
    #[serde(skip)]
    pub limit_hit: Option<LimitHit>,
    pub accepted: usize,
    pub duplicates: usize,
    pub skipped: usize,
    pub rejected: usize,
    pub results: Vec<EventResult>,
}

/// The hard limit figures a refused request reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitHit {
    pub limit: i64,
    pub used: i64,
    pub period: String,
}

impl IngestResponse {
    /// 422 when every event was rejected, otherwise 202.
    pub fn all_rejected(&self) -> bool {
        self.rejected == self.results.len()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventResult {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// `accepted`, `duplicate`, `skipped` or `rejected`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliveryResult>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryResult {
    pub destination_id: Uuid,
    pub kind: &'static str,
    /// `queued`, `duplicate` or `skipped`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The queued delivery, readable at `GET /v1/deliveries/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
