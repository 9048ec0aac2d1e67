use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub period: String,
    pub currency: String,
    pub units: i64,
    pub total: i64,
    pub status: String,
    pub sync_status: crate::states::SyncStatus,
    pub sync_error: Option<String>,
    pub sync_attempts: i32,
    pub next_sync_at: Option<i64>,
    pub stripe_invoice_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
