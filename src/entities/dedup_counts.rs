use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dedup_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// `YYYY-MM-DD` (UTC) of the receipt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    /// A server category, `browser` or `browser_claimed`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: String,
    pub count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
