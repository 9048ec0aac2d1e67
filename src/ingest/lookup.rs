//! Reading an event back: `GET /v1/events/{event_id}` shows the stored event (hashed
//! user data only) and each of its deliveries.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::entities::{deliveries, events};
use crate::error::{AppError, AppResult};
use crate::states::DeliveryStatus;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventOut {
    pub id: Uuid,
    pub event_id: String,
    pub event_name: String,
    pub event_time: i64,
    pub received_at: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub warnings: serde_json::Value,
    pub deliveries: Vec<DeliveryOut>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    pub destination_id: Uuid,
    pub kind: String,
    /// `pending`, `succeeded`, `failed`, `dead`, `paused` or `unconfirmed` (an attempt's
    /// outcome is unknown and a resend could be counted twice: not resent, not counted).
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub succeeded_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

impl From<deliveries::Model> for DeliveryOut {
    fn from(d: deliveries::Model) -> Self {
        let waiting = d.status == DeliveryStatus::Pending;
        DeliveryOut {
            id: d.id,
            destination_id: d.destination_id,
            kind: d.kind,
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error,
            succeeded_at: d.succeeded_at.map(rfc3339),
            next_attempt_at: waiting.then(|| rfc3339(d.next_attempt_at)),
            created_at: rfc3339(d.created_at),
        }
    }
}

/// The newest stored event of this tenant with this `event_id` (and name, when given).
pub async fn find_event(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    event_id: &str,
    event_name: Option<&str>,
) -> AppResult<EventOut> {
    let mut query = events::Entity::find()
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(events::Column::EventId.eq(event_id));
    if let Some(name) = event_name {
        query = query.filter(events::Column::EventName.eq(name));
    }
    let event = query
        .order_by_desc(events::Column::ReceivedAt)
        .order_by_desc(events::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    let deliveries = deliveries::Entity::find()
        .filter(deliveries::Column::TenantId.eq(tenant_id))
        .filter(deliveries::Column::EventRowId.eq(event.id))
        .order_by_asc(deliveries::Column::Id)
        .all(db)
        .await?;
    Ok(EventOut {
        id: event.id,
        event_id: event.event_id,
        event_name: event.event_name,
        event_time: event.event_time / 1000,
        received_at: rfc3339(event.received_at),
        payload: serde_json::from_str(&event.payload)?,
        warnings: serde_json::from_str(&event.warnings)?,
        deliveries: deliveries.into_iter().map(DeliveryOut::from).collect(),
    })
}
