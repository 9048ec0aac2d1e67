//! Fitting a request into the plan's hard limit, inside the ingest transaction: events
//! are taken in order while their queued deliveries fit the headroom; the rest are
//! rejected with `plan_limit_reached`, and the dedup keys they had just claimed are
//! given back (so the same events are new again once there is room).

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::accept::{Planned, Target, is_queued, key_of};
use super::event::Rejection;
use super::response::LimitHit;
use crate::dedup::keys::DedupKey;
use crate::destinations::Destination;
use crate::metering::{alerts, limits};

/// Applies the limit; reserves the headroom taken. Returns the figures when events were refused.
pub(super) async fn enforce(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    planned: &mut [Result<Planned<'_>, Rejection>],
    dests: &[Destination],
    hard: &limits::HardLimit,
    used: i64,
    now_ms: i64,
) -> Result<Option<LimitHit>, DbErr> {
    let mut room = Ord::max(hard.limit - used, 0);
    let mut reserved = 0;
    let mut refused = Vec::new();
    for (index, slot) in planned.iter_mut().enumerate() {
        let Ok(p) = slot else { continue };
        let queued = p.targets.iter().filter(|t| is_queued(t)).count() as i64;
        if queued == 0 {
            continue;
        }
        if queued <= room {
            room -= queued;
            reserved += queued;
            continue;
        }
        for (target, dest) in p.targets.iter().zip(dests) {
            if let Target::Queued(_) = target {
                refused.push((key_of(p.event(), dest), p.parsed.row_id));
            }
        }
        *slot = Err(Rejection {
            code: "plan_limit_reached",
            message: format!(
                "the plan's limit of {} sends this month is reached",
                hard.limit
            ),
            field: format!("events[{index}]"),
        });
    }
    for (key, row_id) in &refused {
        release_key(db, tenant_id, key, *row_id).await?;
    }
    limits::add_used(db, tenant_id, &hard.period, reserved).await?;
    alerts::record(
        db,
        tenant_id,
        &hard.period,
        "hard_limit",
        hard.limit,
        used + reserved,
        now_ms,
    )
    .await?;
    Ok((!refused.is_empty()).then(|| LimitHit {
        limit: hard.limit,
        used: used + reserved,
        period: hard.period.clone(),
    }))
}

async fn release_key(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    key: &DedupKey,
    row_id: Uuid,
) -> Result<(), DbErr> {
    let delete = Query::delete()
        .from_table("dedup_keys")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("destination_id").eq(key.destination_id))
        .and_where(Expr::col("event_name").eq(key.event_name.as_str()))
        .and_where(Expr::col("event_id").eq(key.event_id.as_str()))
        .and_where(Expr::col("event_row_id").eq(row_id))
        .to_owned();
    db.execute(&delete).await?;
    Ok(())
}
