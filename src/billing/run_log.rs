//! The last outcome of each month's billing run (`billing_runs`): `done` once every
//! tenant with a plan has an invoice, else `retrying` with the time of the next attempt,
//! backing off by attempt. The scheduler re-runs the months that are due; a run started
//! by hand counts as an attempt too.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// Waits before re-running a month that left tenants without an invoice, by attempt
/// (the last one repeats): short at first for a passing database hiccup, then hours
/// for a fault someone has to fix.
const RETRY_MINUTES: [i64; 5] = [5, 15, 60, 180, 720];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Done,
    Retrying,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::Retrying => "retrying",
        }
    }
}

/// The wait before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff_ms(attempts: i32) -> i64 {
    let i = usize::try_from(Ord::max(attempts, 1) - 1).unwrap_or(0);
    RETRY_MINUTES[i.min(RETRY_MINUTES.len() - 1)] * 60_000
}

async fn attempts(db: &impl ConnectionTrait, period: &str) -> Result<i32, DbErr> {
    let select = Query::select()
        .column("attempts")
        .from("billing_runs")
        .and_where(Expr::col("period").eq(period))
        .to_owned();
    match db.query_one(&select).await? {
        Some(row) => row.try_get("", "attempts"),
        None => Ok(0),
    }
}

/// Records a run of `period` that left `failed` tenants without an invoice. Returns
/// when it will be retried (none: the month is done).
pub async fn record(
    db: &impl ConnectionTrait,
    period: &str,
    failed: usize,
    now_ms: i64,
) -> Result<Option<i64>, DbErr> {
    let (status, attempts, next) = if failed == 0 {
        (RunStatus::Done, 0, None)
    } else {
        let attempts = attempts(db, period).await? + 1;
        (
            RunStatus::Retrying,
            attempts,
            Some(now_ms + backoff_ms(attempts)),
        )
    };
    let mut upsert = Query::insert();
    upsert
        .into_table("billing_runs")
        .columns([
            "period",
            "status",
            "attempts",
            "failed",
            "next_attempt_at",
            "updated_at",
        ])
        .values_panic([
            period.into(),
            status.as_str().into(),
            attempts.into(),
            i32::try_from(failed).unwrap_or(i32::MAX).into(),
            next.into(),
            now_ms.into(),
        ])
        .on_conflict(
            OnConflict::column("period")
                .update_columns([
                    "status",
                    "attempts",
                    "failed",
                    "next_attempt_at",
                    "updated_at",
                ])
                .to_owned(),
        );
    db.execute(&upsert).await?;
    Ok(next)
}

/// Whether `period` still needs a run at `now_ms`: never run, or its retry is due.
pub async fn needs_run(
    db: &impl ConnectionTrait,
    period: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let select = Query::select()
        .columns(["status", "next_attempt_at"])
        .from("billing_runs")
        .and_where(Expr::col("period").eq(period))
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok(true);
    };
    let status: String = row.try_get("", "status")?;
    let next: Option<i64> = row.try_get("", "next_attempt_at")?;
    Ok(status == RunStatus::Retrying.as_str() && next.is_some_and(|at| at <= now_ms))
}

/// Months whose run left tenants without an invoice and whose retry is due.
pub async fn due(db: &impl ConnectionTrait, now_ms: i64) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("period")
        .from("billing_runs")
        .and_where(Expr::col("status").eq(RunStatus::Retrying.as_str()))
        .and_where(Expr::col("next_attempt_at").lte(now_ms))
        .order_by("period", sea_orm::sea_query::Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| r.try_get("", "period"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_then_repeat_the_longest_wait() {
        let minutes: Vec<i64> = (1..=7).map(|a| backoff_ms(a) / 60_000).collect();
        assert_eq!(minutes, [5, 15, 60, 180, 720, 720, 720]);
    }
}
