//! The attempt log a completion writes: one row per attempt this worker made, written
//! only for deliveries whose lease-guarded transition (`queue::complete_one`,
//! `queue::complete_succeeded`) held, so a late or duplicate completion leaves no
//! attempt row behind.

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::queue::Claimed;
use crate::destinations::outcome;
use crate::entities::delivery_attempts;
use crate::error::AppResult;

/// The attempt log row of what this worker did.
pub fn attempt_row(c: &Claimed, r: &outcome::Result) -> delivery_attempts::ActiveModel {
    let a = &r.attempt;
    delivery_attempts::ActiveModel {
        tenant_id: Set(c.tenant_id),
        id: Set(Uuid::now_v7()),
        delivery_id: Set(c.id),
        attempt_no: Set(c.attempts + 1),
        started_at: Set(a.started_at),
        duration_ms: Set(a.duration_ms),
        http_status: Set(a.http_status),
        outcome: Set(r.outcome.label().to_string()),
        error_code: Set(a.error_code.clone()),
        error_message: Set(a.error_message.clone()),
        destination_trace_id: Set(a.destination_trace_id.clone()),
    }
}

/// Writes the attempt rows, in chunks that stay under both databases' parameter limits.
pub async fn insert_attempts(
    db: &impl ConnectionTrait,
    rows: Vec<delivery_attempts::ActiveModel>,
) -> AppResult<()> {
    for chunk in rows.chunks(1000) {
        delivery_attempts::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(())
}
