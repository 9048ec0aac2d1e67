//! Deliveries by creation time without an index of their own: a delivery's id is made
//! at its `created_at` (`crate::ids`), so a range of creation times is a range of the
//! primary key `(tenant_id, id)`. Rows made before ids followed the application clock
//! carry the moment of their commit, a little after `created_at`; the key range is
//! widened by `SKEW_MS` for them and `created_at` itself keeps the answer exact.

use sea_orm::sea_query::{Condition, Expr, ExprTrait};

use crate::ids;

/// How far an older row's id may lie from its `created_at` (its group's commit wait
/// and the pool's acquire timeout, seconds at most).
const SKEW_MS: i64 = 3_600_000;

/// Deliveries created at or after `start` and, when given, before `end`.
pub fn between(start: i64, end: Option<i64>) -> Condition {
    let mut c = Condition::all()
        .add(Expr::col("id").gte(ids::first_at(start - SKEW_MS)))
        .add(Expr::col("created_at").gte(start));
    if let Some(end) = end {
        c = c
            .add(Expr::col("id").lt(ids::first_at(end + SKEW_MS)))
            .add(Expr::col("created_at").lt(end));
    }
    c
}
