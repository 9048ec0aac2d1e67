use sea_orm::entity::prelude::*;

use crate::states::LimitMode;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub monthly_fee: i64,
    pub tier_mode: String,
    pub tiers: String,
    pub limit_mode: LimitMode,
    pub hard_limit: Option<i64>,
    pub max_destinations: Option<i32>,
    pub max_api_keys: Option<i32>,
    pub retention_days: i32,
    pub archived_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
