use sea_orm::entity::prelude::*;

use crate::states::DestinationState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "destinations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub state: DestinationState,
    pub paused_reason: Option<String>,
    /// Throttled by the destination: nothing is sent before this time (ms).
    pub hold_until: Option<i64>,
    /// Public settings as JSON text (pixel id, measurement id, test event code).
    pub config: String,
    /// The credential, sealed with AES-256-GCM.
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
