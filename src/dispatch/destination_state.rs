//! Every change of a destination's state, with what it does to the deliveries waiting
//! for it: the tenant's patch (disable, resume, new credentials), deletion, a refused
//! credential that pauses it, Meta throttling that holds the whole pixel.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::queue;
use crate::crypto::Keys;
use crate::destinations::{Destination, DestinationPatch};

use crate::entities::{deliveries, destinations};
use crate::error::{AppError, AppResult};
use crate::states::{DeliveryStatus, DestinationState};

/// Parks a destination whose credentials were refused: its waiting deliveries move to
/// `paused` and burn no retries until the credentials are updated.
pub async fn pause_destination(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
    now_ms: i64,
) -> AppResult<()> {
    destinations::Entity::update_many()
        .col_expr(
            destinations::Column::State,
            Expr::value(DestinationState::Paused),
        )
        .col_expr(
            destinations::Column::PausedReason,
            Expr::value(reason.chars().take(500).collect::<String>()),
        )
        .col_expr(destinations::Column::UpdatedAt, Expr::value(now_ms))
        .filter(destinations::Column::TenantId.eq(tenant_id))
        .filter(destinations::Column::Id.eq(id))
        .filter(destinations::Column::State.eq(DestinationState::Active))
        .exec(db)
        .await?;
    Ok(super::queue::park(db, tenant_id, id, now_ms).await?)
}

/// Meta throttling applies to the whole pixel: no delivery of it — waiting now or
/// accepted meanwhile — is tried before `at`.
pub async fn hold_destination(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    at: i64,
) -> AppResult<()> {
    destinations::Entity::update_many()
        .col_expr(destinations::Column::HoldUntil, Expr::value(at))
        .filter(destinations::Column::TenantId.eq(tenant_id))
        .filter(destinations::Column::Id.eq(id))
        .exec(db)
        .await?;
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(at))
        .filter(deliveries::Column::TenantId.eq(tenant_id))
        .filter(deliveries::Column::DestinationId.eq(id))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Pending))
        .filter(deliveries::Column::NextAttemptAt.lt(at))
        .exec(db)
        .await?;
    Ok(())
}

/// Applies a partial update. New credentials resume a paused destination.
pub async fn update(
    db: &impl ConnectionTrait,
    keys: &Keys,
    current: Destination,
    patch: DestinationPatch,
    now: i64,
) -> AppResult<Destination> {
    // Work from the row as it is now (locked on PostgreSQL), not as the caller read it: a
    // worker may have paused the destination in between.
    let current = match destinations::Entity::find()
        .filter(destinations::Column::TenantId.eq(current.model.tenant_id))
        .filter(destinations::Column::Id.eq(current.model.id))
        .lock_exclusive()
        .one(db)
        .await?
    {
        Some(row) => Destination::from_model(row)?,
        None => return Err(AppError::not_found("destination")),
    };
    let change = patch.apply(current.kind, current.settings.clone())?;
    let mut active: destinations::ActiveModel = current.model.clone().into();
    if let Some(name) = change.name {
        active.name = Set(name);
    }
    active.config = Set(serde_json::to_string(&change.settings)?);
    if let Some(secret) = &change.secret {
        active.secret = Set(keys.seal(secret.as_bytes()));
    }
    let was = current.model.state;
    let state = next_state(change.state, change.secret.is_some(), was);
    if state != DestinationState::Paused {
        active.paused_reason = Set(None);
    }
    active.state = Set(state);
    active.updated_at = Set(now);
    let updated = Destination::from_model(active.update(db).await?)?;
    let (tenant_id, id) = (updated.model.tenant_id, updated.model.id);
    let active = DestinationState::Active;
    match (was == active, state == active) {
        (false, true) => queue::resume(db, tenant_id, id, now).await?,
        (true, false) => queue::park(db, tenant_id, id, now).await?,
        _ => {}
    }
    Ok(updated)
}

/// The state a patch leaves: the one asked for; else new credentials resume a paused
/// destination (the old ones were refused); else unchanged.
fn next_state(
    requested: Option<DestinationState>,
    new_secret: bool,
    was: DestinationState,
) -> DestinationState {
    match (requested, new_secret, was) {
        (Some(requested), _, _) => requested,
        (None, true, DestinationState::Paused) => DestinationState::Active,
        (None, _, was) => was,
    }
}

/// Deletes a destination: it disappears from every API, its history stays for billing,
/// and deliveries still waiting for it end as `failed`.
pub async fn delete(db: &impl ConnectionTrait, current: Destination, now: i64) -> AppResult<()> {
    let (tenant_id, id) = (current.model.tenant_id, current.model.id);
    let mut active: destinations::ActiveModel = current.model.into();
    active.deleted_at = Set(Some(now));
    active.state = Set(DestinationState::Disabled);
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(queue::fail_waiting(db, tenant_id, id, now).await?)
}
