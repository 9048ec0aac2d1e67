use sea_orm::entity::prelude::*;

use crate::states::DeliveryStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_row_id: Uuid,
    pub destination_id: Uuid,
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub lease_token: Option<Uuid>,
    pub last_error: Option<String>,
    pub succeeded_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The month whose hard-limit headroom this delivery holds (hard plans only).
    pub reserved_period: Option<String>,
    /// Set while a worker's send is in flight (from its claim until its completion).
    pub sending_since: Option<i64>,
    /// The start of the earliest attempt whose outcome is unknown (it may have arrived).
    pub maybe_sent_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
