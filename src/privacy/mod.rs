//! Deleting a person's data. A tenant (or an admin for it) asks by email, phone or
//! external id (`identify`); the request is stored `pending` with the hashes to look
//! for, and a background job (`job`) rewrites, in bounded batches, every stored event
//! carrying one of them (`scrub`), that event's browser observations and its dedup-report
//! row, then makes sure the old bytes are gone from the database files (`at_rest`)
//! before the request is `done`. Event and delivery rows, dedup keys, meters, invoices
//! and reconciliation rows stay: billing remains auditable and dedup keeps working.

pub mod at_rest;
pub mod identify;
pub mod job;
pub mod jobs;
pub mod scrub;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::entities::privacy_deletions;
use crate::error::{AppError, AppResult};
use crate::states::DeletionStatus;

pub use identify::Person;

/// A deletion as the API shows it (never the identifier).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeletionOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Which identifier was given: `em`, `ph` or `external_id`.
    pub field: String,
    pub status: DeletionStatus,
    /// Events whose user data was removed so far.
    pub events: i64,
    pub created_at: String,
    pub completed_at: Option<String>,
}

impl From<privacy_deletions::Model> for DeletionOut {
    fn from(m: privacy_deletions::Model) -> Self {
        DeletionOut {
            id: m.id,
            tenant_id: m.tenant_id,
            field: m.field,
            status: m.status,
            events: m.events,
            created_at: rfc3339(m.created_at),
            completed_at: m.completed_at.map(rfc3339),
        }
    }
}

/// Stores a pending deletion of `person` in `tenant_id`.
pub async fn request(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    person: &Person,
    now_ms: i64,
) -> AppResult<DeletionOut> {
    let row = privacy_deletions::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        field: Set(person.field.name().to_string()),
        hashes: Set(Some(serde_json::to_string(&person.hashes)?)),
        status: Set(DeletionStatus::Pending),
        events: Set(0),
        cursor: Set(None),
        created_at: Set(now_ms),
        updated_at: Set(now_ms),
        scrubbed_at: Set(None),
        scrub_xid: Set(None),
        completed_at: Set(None),
    };
    Ok(row.insert(db).await?.into())
}

/// A deletion of this tenant (another tenant's id is not found).
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> AppResult<DeletionOut> {
    privacy_deletions::Entity::find_by_id((tenant_id, id))
        .one(db)
        .await?
        .map(DeletionOut::from)
        .ok_or_else(|| AppError::not_found("deletion"))
}

/// A deletion of any tenant (the operator's view).
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<DeletionOut> {
    privacy_deletions::Entity::find()
        .filter(privacy_deletions::Column::Id.eq(id))
        .one(db)
        .await?
        .map(DeletionOut::from)
        .ok_or_else(|| AppError::not_found("deletion"))
}

/// A tenant's latest deletions, newest first.
pub async fn recent(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    limit: u64,
) -> AppResult<Vec<DeletionOut>> {
    let rows = privacy_deletions::Entity::find()
        .filter(privacy_deletions::Column::TenantId.eq(tenant_id))
        .order_by_desc(privacy_deletions::Column::CreatedAt)
        .order_by_desc(privacy_deletions::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(DeletionOut::from).collect())
}
