//! What one batch's results change on its destination: a refused credential pauses it,
//! Meta throttling holds the whole pixel.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::{deliveries, destinations};
use crate::error::AppResult;
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
