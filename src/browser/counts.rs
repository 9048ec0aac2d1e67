//! Per-day counts the report reads instead of the rows: for each tenant and UTC day, the
//! server events in each category (by the day they reached Kickin), the observations
//! received (`browser`) and those a server event claimed (`browser_claimed`). The matcher
//! changes them by deltas in the transaction that changes the rows.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::matching::Category;

pub const BROWSER: &str = "browser";
pub const BROWSER_CLAIMED: &str = "browser_claimed";

/// Count changes gathered by one matcher step, by (day, metric).
#[derive(Debug, Default)]
pub struct Deltas(BTreeMap<(String, &'static str), i64>);

impl Deltas {
    pub fn add(&mut self, day: &str, metric: &'static str, n: i64) {
        *self.0.entry((day.to_string(), metric)).or_default() += n;
    }

    pub fn category(&mut self, day: &str, category: Category, n: i64) {
        self.add(day, category.as_str(), n);
    }

    /// Writes the non-zero changes in one statement.
    pub async fn apply(self, db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<(), DbErr> {
        let changes: Vec<_> = self.0.into_iter().filter(|(_, n)| *n != 0).collect();
        if changes.is_empty() {
            return Ok(());
        }
        let mut insert = Query::insert();
        insert
            .into_table("dedup_counts")
            .columns(["tenant_id", "day", "metric", "count"]);
        for ((day, metric), n) in changes {
            insert.values_panic([tenant_id.into(), day.into(), metric.into(), n.into()]);
        }
        insert.on_conflict(
            OnConflict::columns(["tenant_id", "day", "metric"])
                .value(
                    "count",
                    Expr::col(("dedup_counts", "count")).add(Expr::cust("excluded.count")),
                )
                .to_owned(),
        );
        db.execute(&insert).await?;
        Ok(())
    }
}

/// The counts of a tenant's days in `[from, to)` (`YYYY-MM-DD`), by day and metric.
pub async fn read(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, BTreeMap<String, i64>>, DbErr> {
    let select = Query::select()
        .columns(["day", "metric", "count"])
        .from("dedup_counts")
        .and_where(Expr::col("tenant_id").eq(tenant_id))
        .and_where(Expr::col("day").gte(from))
        .and_where(Expr::col("day").lt(to))
        .to_owned();
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for row in db.query_all(&select).await? {
        let day: String = row.try_get("", "day")?;
        let metric: String = row.try_get("", "metric")?;
        let count: i64 = row.try_get("", "count")?;
        *out.entry(day).or_default().entry(metric).or_default() += count;
    }
    Ok(out)
}
