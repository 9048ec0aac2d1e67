//! Reading deliveries and their attempt logs, and replaying failed or dead ones. Tenant
//! routes always pass the caller's tenant; admin routes may look across tenants.

pub mod created;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::{period_of, rfc3339};
use crate::dispatch::queue;
use crate::entities::{deliveries, delivery_attempts, events};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::ingest::lookup::DeliveryOut;
use crate::metering::limits;
use crate::metering::usage::period_end_ms;
use crate::page::{Page, PageQuery};
use crate::states::DeliveryStatus;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct DeliveryFilter {
    /// `pending`, `succeeded`, `failed`, `dead`, `paused` or `unconfirmed`.
    #[param(pattern = "^(pending|succeeded|failed|dead|paused|unconfirmed)$")]
    pub status: Option<String>,
    pub destination_id: Option<Uuid>,
    /// Admin routes only.
    pub tenant_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    pub attempt_no: i32,
    pub started_at: String,
    pub duration_ms: i32,
    pub http_status: Option<i32>,
    /// `delivered`, `retry`, `failed`, `paused`, `unknown` (the answer never came: it
    /// may have arrived) or `unconfirmed` (not sent again after such an attempt).
    pub outcome: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// Meta's `fbtrace_id`.
    pub destination_trace_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    pub tenant_id: Uuid,
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    pub attempts_log: Vec<AttemptOut>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryListItem {
    pub tenant_id: Uuid,
    #[serde(flatten)]
    pub delivery: DeliveryOut,
}

/// Deliveries newest first; `tenant` scopes the list (None = all tenants, admins only).
pub async fn list(
    db: &impl ConnectionTrait,
    tenant: Option<Uuid>,
    filter: &DeliveryFilter,
) -> AppResult<Page<DeliveryListItem>> {
    let page = PageQuery {
        limit: filter.limit,
        cursor: filter.cursor.clone(),
    }
    .parse()?;
    let mut query = deliveries::Entity::find()
        .order_by_desc(deliveries::Column::Id)
        .limit(page.limit + 1);
    if let Some(tenant) = tenant.or(filter.tenant_id) {
        query = query.filter(deliveries::Column::TenantId.eq(tenant));
    }
    if let Some(status) = &filter.status {
        let status = DeliveryStatus::parse(status).ok_or_else(|| {
            AppError::bad_request(
                "invalid_query",
                "status must be pending, succeeded, failed, dead, paused or unconfirmed",
            )
            .with_field("status")
        })?;
        query = query.filter(deliveries::Column::Status.eq(status));
    }
    if let Some(destination) = filter.destination_id {
        query = query.filter(deliveries::Column::DestinationId.eq(destination));
    }
    if let Some(before) = page.before {
        query = query.filter(deliveries::Column::Id.lt(before));
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |d| d.id,
        |d| DeliveryListItem {
            tenant_id: d.tenant_id,
            delivery: d.into(),
        },
    ))
}

async fn find(
    db: &impl ConnectionTrait,
    tenant: Option<Uuid>,
    id: Uuid,
) -> AppResult<deliveries::Model> {
    let mut query = deliveries::Entity::find().filter(deliveries::Column::Id.eq(id));
    if let Some(tenant) = tenant {
        query = query.filter(deliveries::Column::TenantId.eq(tenant));
    }
    query
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("delivery"))
}

/// One delivery with its attempt log.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant: Option<Uuid>,
    id: Uuid,
) -> AppResult<DeliveryDetail> {
    let d = find(db, tenant, id).await?;
    let attempts = delivery_attempts::Entity::find()
        .filter(delivery_attempts::Column::TenantId.eq(d.tenant_id))
        .filter(delivery_attempts::Column::DeliveryId.eq(d.id))
        .order_by_asc(delivery_attempts::Column::Id)
        .all(db)
        .await?;
    let event = events::Entity::find()
        .filter(events::Column::TenantId.eq(d.tenant_id))
        .filter(events::Column::Id.eq(d.event_row_id))
        .one(db)
        .await?;
    Ok(DeliveryDetail {
        tenant_id: d.tenant_id,
        event_id: event.as_ref().map(|e| e.event_id.clone()),
        event_name: event.map(|e| e.event_name),
        delivery: d.into(),
        attempts_log: attempts
            .into_iter()
            .map(|a| AttemptOut {
                attempt_no: a.attempt_no,
                started_at: rfc3339(a.started_at),
                duration_ms: a.duration_ms,
                http_status: a.http_status,
                outcome: a.outcome,
                error_code: a.error_code,
                error_message: a.error_message,
                destination_trace_id: a.destination_trace_id,
            })
            .collect(),
    })
}

/// A replay takes headroom again under a hard limit (429 when there is none left).
async fn reserve_one(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    now: i64,
) -> AppResult<Option<String>> {
    let plan = crate::plans::for_tenant(db, tenant_id).await?;
    let Some(hard) = limits::hard_limit(plan.as_ref(), &period_of(now)) else {
        return Ok(None);
    };
    let used = limits::lock_used(db, tenant_id, &hard.period).await?;
    if used >= hard.limit {
        let mut e = AppError::new(
            ErrorKind::TooManyRequests,
            "plan_limit_reached",
            "the plan's limit of sends this month is reached",
        );
        e.details = Some(
            serde_json::json!({"limit": hard.limit, "used": used, "resets_at": rfc3339(period_end_ms(&hard.period))}),
        );
        return Err(e);
    }
    limits::add_used(db, tenant_id, &hard.period, 1).await?;
    Ok(Some(hard.period))
}

/// The event's payload, locked against the retention purge until this transaction ends
/// (PostgreSQL; SQLite's single writer serializes the two anyway): a replay never queues
/// a delivery whose payload is gone or about to go. 409 `payload_purged` otherwise.
async fn lock_payload(db: &impl ConnectionTrait, d: &deliveries::Model) -> AppResult<()> {
    let event = events::Entity::find()
        .filter(events::Column::TenantId.eq(d.tenant_id))
        .filter(events::Column::Id.eq(d.event_row_id))
        .lock_exclusive()
        .one(db)
        .await?;
    match event {
        Some(e) if e.purged_at.is_none() => Ok(()),
        _ => Err(AppError::conflict(
            "payload_purged",
            "the event's payload is past the plan's retention and was deleted; it cannot be sent again",
        )),
    }
}

/// Puts a failed, dead or unconfirmed delivery back in the queue with a fresh retry
/// budget. A delivery that succeeded is never sent (or counted) again: 409. Replaying an
/// unconfirmed delivery is the deliberate resend its state asks a person to decide on.
pub async fn replay(
    db: &impl ConnectionTrait,
    tenant: Option<Uuid>,
    id: Uuid,
    now: i64,
) -> AppResult<DeliveryOut> {
    let d = find(db, tenant, id).await?;
    match d.status {
        DeliveryStatus::Succeeded => {
            return Err(AppError::conflict(
                "already_succeeded",
                "this delivery already succeeded; it is never sent twice",
            ));
        }
        DeliveryStatus::Pending | DeliveryStatus::Paused => {
            return Err(AppError::conflict(
                "already_queued",
                "this delivery is still waiting to be sent",
            ));
        }
        DeliveryStatus::Failed | DeliveryStatus::Dead | DeliveryStatus::Unconfirmed => {}
    }
    match crate::destinations::get(db, d.tenant_id, d.destination_id).await {
        Ok(_) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(AppError::conflict(
                "destination_deleted",
                "the destination of this delivery was deleted; it cannot be sent",
            ));
        }
        Err(e) => return Err(e),
    }
    lock_payload(db, &d).await?;
    let reserved_period = reserve_one(db, d.tenant_id, now).await?;
    let requeued = queue::requeue(db, d.tenant_id, d.id, reserved_period, now).await?;
    if !requeued {
        return Err(AppError::conflict(
            "already_queued",
            "this delivery changed meanwhile; read it again",
        ));
    }
    Ok(find(db, tenant, id).await?.into())
}
