//! The guarded row updates a completion makes: each changes a delivery only while this
//! worker still holds its lease and the delivery is still pending, so a late or
//! duplicate completion — or one whose lease passed to another worker — changes nothing
//! and leaves no attempt row behind.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::outcome;
use super::queue::Claimed;
use super::transition::Transition;
use crate::entities::{deliveries, delivery_attempts};
use crate::error::AppResult;

/// Applies one delivery's transition. True when this worker's lease still held.
pub async fn apply_one(
    db: &impl ConnectionTrait,
    c: &Claimed,
    t: &Transition,
    now_ms: i64,
) -> AppResult<bool> {
    let mut update = deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(t.status))
        .col_expr(
            deliveries::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            deliveries::Column::LeaseToken,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            deliveries::Column::SendingSince,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            deliveries::Column::LastError,
            Expr::value(t.last_error.clone()),
        )
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now_ms));
    if t.counts_attempt {
        update = update.col_expr(deliveries::Column::Attempts, Expr::value(c.attempts + 1));
    }
    if let Some(at) = t.next_attempt_at {
        update = update.col_expr(deliveries::Column::NextAttemptAt, Expr::value(at));
    }
    if t.maybe_sent_at != c.maybe_sent_at {
        update = update.col_expr(
            deliveries::Column::MaybeSentAt,
            Expr::value(t.maybe_sent_at),
        );
    }
    let result = update
        .filter(deliveries::Column::TenantId.eq(c.tenant_id))
        .filter(deliveries::Column::Id.eq(c.id))
        .filter(deliveries::Column::LeaseToken.eq(c.lease_token))
        .filter(deliveries::Column::Status.eq("pending"))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks deliveries of one tenant `succeeded` in one statement per lease, guarded like
/// `apply_one`. Returns the ids actually changed: only those are metered and logged.
pub async fn apply_succeeded(
    db: &impl ConnectionTrait,
    claimed: &[&Claimed],
    now_ms: i64,
) -> AppResult<Vec<Uuid>> {
    let mut changed = Vec::with_capacity(claimed.len());
    let mut by_token: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for c in claimed {
        by_token.entry(c.lease_token).or_default().push(c.id);
    }
    let Some(first) = claimed.first() else {
        return Ok(changed);
    };
    for (token, ids) in by_token {
        let update = Query::update()
            .table("deliveries")
            .value("status", "succeeded")
            .value("succeeded_at", now_ms)
            .value("attempts", Expr::cust("attempts + 1"))
            .value("locked_until", Option::<i64>::None)
            .value("lease_token", Option::<Uuid>::None)
            .value("sending_since", Option::<i64>::None)
            .value("last_error", Option::<String>::None)
            .value("updated_at", now_ms)
            .and_where(Expr::col("tenant_id").eq(first.tenant_id))
            .and_where(Expr::col("lease_token").eq(token))
            .and_where(Expr::col("status").eq("pending"))
            .and_where(Expr::col("id").is_in(ids))
            .returning_col("id")
            .to_owned();
        for row in db.query_all(&update).await? {
            changed.push(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(changed)
}

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
