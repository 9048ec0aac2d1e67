//! The meter: successful unique sends per tenant, UTC month and destination kind. It is
//! incremented only by `add`, and `add` is called only in the transaction that moves
//! deliveries from their lease to `succeeded`.

pub mod alerts;
pub mod limits;
pub mod reconcile;
pub mod usage;

use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// Adds `n` successful sends of `kind` to the tenant's meter for `period` (`YYYY-MM`).
pub async fn add(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
    kind: &str,
    n: i64,
) -> Result<(), DbErr> {
    if n == 0 {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert
        .into_table("usage_meter")
        .columns(["tenant_id", "period", "kind", "counted"])
        .values_panic([tenant_id.into(), period.into(), kind.into(), n.into()])
        .on_conflict(
            OnConflict::columns(["tenant_id", "period", "kind"])
                .value(
                    "counted",
                    Expr::cust("usage_meter.counted + excluded.counted"),
                )
                .to_owned(),
        );
    db.execute(&insert).await?;
    Ok(())
}
