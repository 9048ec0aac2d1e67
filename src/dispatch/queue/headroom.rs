//! Hard-limit headroom given back by deliveries that ended without a send (failed, dead,
//! unconfirmed): the one place a reservation is released, so `quota_usage.used` only
//! ever drops for a delivery a transition has just ended.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::metering::limits;

/// Hard-limit headroom held by deliveries that ended without a send, by tenant and month.
#[derive(Debug, Default)]
pub struct Headroom(HashMap<(Uuid, String), i64>);

impl Headroom {
    /// Notes one ended delivery; one that reserved nothing (a soft plan) holds nothing.
    pub fn hold(&mut self, tenant_id: Uuid, reserved_period: Option<&str>) {
        if let Some(period) = reserved_period {
            *self.0.entry((tenant_id, period.to_string())).or_default() += 1;
        }
    }
}

/// Gives the headroom back: nothing will be counted for those deliveries.
pub async fn release_headroom(db: &impl ConnectionTrait, headroom: Headroom) -> Result<(), DbErr> {
    for ((tenant_id, period), n) in headroom.0 {
        limits::add_used(db, tenant_id, &period, -n).await?;
    }
    Ok(())
}
