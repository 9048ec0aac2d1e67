use sea_orm::entity::prelude::*;

/// One row per server event (`events` row), with its dedup category.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dedup_matches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_row_id: Uuid,
    pub event_id: String,
    pub event_name: String,
    pub fbp_hash: Option<String>,
    pub event_time: i64,
    pub received_at: i64,
    pub category: String,
    pub browser_row_id: Option<Uuid>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
