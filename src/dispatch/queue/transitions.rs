//! Every change of a delivery's status, and every release of hard-limit headroom, in one
//! place. Each keeps its guard: a worker's completion changes a delivery only while that
//! worker still holds the lease and the delivery is still pending, so a late or
//! duplicate completion changes nothing; a change made from outside a worker (park,
//! resume, fail, expire) leaves a delivery a worker holds to that worker; a replay
//! requeues only a final delivery that may be sent again.

use std::collections::HashMap;

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryTrait};
use uuid::Uuid;

use super::Claimed;
use super::headroom::{Headroom, release_headroom};
use crate::db::Db;
use crate::dispatch::transition::{EXPIRED, Transition, UNCONFIRMED};
use crate::entities::deliveries::{self, Column as C};
use crate::id_list::any_of;
use crate::states::DeliveryStatus::{self, Dead, Failed, Paused, Pending, Succeeded, Unconfirmed};

type Update = sea_orm::UpdateMany<deliveries::Entity>;

/// Whether a send may still be in flight when a lease is cleared. A worker's own
/// completion (or release) knows its send ended and clears the in-flight mark; a lapsed
/// lease cleared from outside keeps the mark, so the next claim knows that send's
/// outcome is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Send {
    Ended,
    MaybeInFlight,
}

/// The one way a lease is cleared.
fn unleased(update: Update, send: Send) -> Update {
    let update = update
        .col_expr(C::LockedUntil, Expr::value(Option::<i64>::None))
        .col_expr(C::LeaseToken, Expr::value(Option::<Uuid>::None));
    match send {
        Send::Ended => update.col_expr(C::SendingSince, Expr::value(Option::<i64>::None)),
        Send::MaybeInFlight => update,
    }
}

/// Rows no worker holds right now: never leased, or their lease has lapsed.
fn not_held(now_ms: i64) -> sea_orm::sea_query::Condition {
    sea_orm::sea_query::Condition::any()
        .add(C::LockedUntil.is_null())
        .add(C::LockedUntil.lte(now_ms))
}

fn update(status: DeliveryStatus, now_ms: i64) -> Update {
    deliveries::Entity::update_many()
        .col_expr(C::Status, Expr::value(status))
        .col_expr(C::UpdatedAt, Expr::value(now_ms))
}

/// Records a worker's transition other than success. True when its lease still held.
pub async fn complete_one(
    db: &impl ConnectionTrait,
    c: &Claimed,
    t: &Transition,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let mut update = unleased(update(t.status, now_ms), Send::Ended)
        .col_expr(C::LastError, Expr::value(t.last_error.clone()));
    if t.counts_attempt {
        update = update.col_expr(C::Attempts, Expr::value(c.attempts + 1));
    }
    if let Some(at) = t.next_attempt_at {
        update = update.col_expr(C::NextAttemptAt, Expr::value(at));
    }
    if t.maybe_sent_at != c.maybe_sent_at {
        update = update.col_expr(C::MaybeSentAt, Expr::value(t.maybe_sent_at));
    }
    let result = update
        .filter(C::TenantId.eq(c.tenant_id))
        .filter(C::Id.eq(c.id))
        .filter(C::LeaseToken.eq(c.lease_token))
        .filter(C::Status.eq(Pending))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks deliveries of one tenant `succeeded`, one statement per lease, guarded like
/// `complete_one`. Returns the ids actually changed: only those are metered and logged.
pub async fn complete_succeeded(
    db: &impl ConnectionTrait,
    claimed: &[&Claimed],
    now_ms: i64,
) -> Result<Vec<Uuid>, DbErr> {
    let mut changed = Vec::with_capacity(claimed.len());
    let Some(first) = claimed.first() else {
        return Ok(changed);
    };
    let mut by_token: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for c in claimed {
        by_token.entry(c.lease_token).or_default().push(c.id);
    }
    for (token, ids) in by_token {
        let mut statement = unleased(update(Succeeded, now_ms), Send::Ended)
            .col_expr(C::SucceededAt, Expr::value(now_ms))
            .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
            .col_expr(C::LastError, Expr::value(Option::<String>::None))
            .filter(C::TenantId.eq(first.tenant_id))
            .filter(C::LeaseToken.eq(token))
            .filter(C::Status.eq(Pending))
            .filter(any_of(db.get_database_backend(), C::Id, ids))
            .into_query();
        statement.returning_col(C::Id);
        for row in db.query_all(&statement).await? {
            changed.push(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(changed)
}

/// Gives back a claim none of whose deliveries was sent (loading the batch failed): due
/// again at once, with no in-flight mark that would read as a send of unknown outcome.
pub async fn release(db: &Db, claimed: &[Claimed]) -> Result<(), DbErr> {
    let Some(first) = claimed.first() else {
        return Ok(());
    };
    let release = unleased(deliveries::Entity::update_many(), Send::Ended)
        .filter(C::TenantId.eq(first.tenant_id))
        .filter(C::LeaseToken.eq(first.lease_token))
        .filter(any_of(db.backend(), C::Id, claimed.iter().map(|c| c.id)));
    let txn = db.begin_write().await?;
    release.exec(&*txn).await?;
    txn.commit().await
}

/// Parks a destination's waiting deliveries (`pending` → `paused`): they burn no retries
/// until it is resumed.
pub async fn park(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    destination_id: Uuid,
    now_ms: i64,
) -> Result<(), DbErr> {
    move_waiting(db, (tenant_id, destination_id), Pending, Paused, now_ms).await
}

/// Resumes a destination's parked deliveries (`paused` → `pending`), due at once.
pub async fn resume(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    destination_id: Uuid,
    now_ms: i64,
) -> Result<(), DbErr> {
    move_waiting(db, (tenant_id, destination_id), Paused, Pending, now_ms).await
}

/// A delivery a worker is sending right now keeps its lease: its own completion decides
/// (taking the lease away would let a resume send it again while the first send may
/// still arrive). A lapsed lease is cleared, but its in-flight mark stays.
async fn move_waiting(
    db: &impl ConnectionTrait,
    (tenant_id, destination_id): (Uuid, Uuid),
    from: DeliveryStatus,
    to: DeliveryStatus,
    now_ms: i64,
) -> Result<(), DbErr> {
    let mut update = unleased(update(to, now_ms), Send::MaybeInFlight);
    if to == Pending {
        update = update.col_expr(C::NextAttemptAt, Expr::value(now_ms));
    }
    update
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::DestinationId.eq(destination_id))
        .filter(C::Status.eq(from))
        .filter(not_held(now_ms))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends the waiting deliveries of a deleted destination as `failed` and gives their
/// hard-limit headroom back. A delivery whose send is in flight is left to that send's
/// completion; a retry it asks for ends here next round.
pub async fn fail_waiting(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    destination_id: Uuid,
    now_ms: i64,
) -> Result<(), DbErr> {
    // One statement decides which deliveries fail, and only those give headroom back: a
    // delivery that succeeds meanwhile is neither failed nor released.
    let failed = update(Failed, now_ms)
        .col_expr(C::LastError, Expr::value("destination deleted"))
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::DestinationId.eq(destination_id))
        .filter(C::Status.is_in(DeliveryStatus::WAITING))
        .filter(not_held(now_ms))
        .exec_with_returning(db)
        .await?;
    let mut headroom = Headroom::default();
    for d in &failed {
        headroom.hold(d.tenant_id, d.reserved_period.as_deref());
    }
    release_headroom(db, headroom).await
}

/// Ends the waiting deliveries among `candidates` (a select of one tenant's ids past
/// their age limit): `dead` as expired, or `unconfirmed` when an earlier attempt's outcome is
/// unknown; never sent, never counted, their headroom given back. Returns the status
/// each one ended in.
pub async fn end_expired(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    candidates: SelectStatement,
    now_ms: i64,
) -> Result<Vec<DeliveryStatus>, DbErr> {
    let unknown = || Expr::col(C::MaybeSentAt).is_not_null();
    let ended = CaseStatement::new()
        .case(unknown(), Unconfirmed)
        .finally(Dead);
    let reason = CaseStatement::new()
        .case(unknown(), UNCONFIRMED)
        .finally(EXPIRED);
    let mut statement = unleased(deliveries::Entity::update_many(), Send::MaybeInFlight)
        .col_expr(C::Status, ended.into())
        .col_expr(C::LastError, reason.into())
        .col_expr(C::UpdatedAt, Expr::value(now_ms))
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::Id.in_subquery(candidates))
        .filter(C::Status.is_in(DeliveryStatus::WAITING))
        .filter(not_held(now_ms))
        .into_query();
    statement.returning(sea_orm::sea_query::Query::returning().columns([
        C::TenantId,
        C::Status,
        C::ReservedPeriod,
    ]));
    let mut headroom = Headroom::default();
    let mut statuses = Vec::new();
    for row in db.query_all(&statement).await? {
        statuses.push(row.try_get::<DeliveryStatus>("", "status")?);
        let period: Option<String> = row.try_get("", "reserved_period")?;
        headroom.hold(row.try_get("", "tenant_id")?, period.as_deref());
    }
    release_headroom(db, headroom).await?;
    Ok(statuses)
}

/// Puts a final, replayable delivery back in the queue: due at `now_ms`, a fresh retry
/// budget, no record of an earlier send, holding `reserved_period`'s headroom. False
/// when it is no longer replayable (it changed meanwhile).
pub async fn requeue(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    reserved_period: Option<String>,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let result = unleased(update(Pending, now_ms), Send::Ended)
        .col_expr(C::ReservedPeriod, Expr::value(reserved_period))
        .col_expr(C::Attempts, Expr::value(0))
        .col_expr(C::NextAttemptAt, Expr::value(now_ms))
        .col_expr(C::MaybeSentAt, Expr::value(Option::<i64>::None))
        .filter(C::TenantId.eq(tenant_id))
        .filter(C::Id.eq(id))
        .filter(C::Status.is_in(DeliveryStatus::REPLAYABLE))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
