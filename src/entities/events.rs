use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: String,
    pub event_name: String,
    pub event_time: i64,
    pub received_at: i64,
    /// The event with user data already hashed, as JSON text.
    pub payload: String,
    /// Identifiers that cannot be hashed (IP, user agent, click ids), sealed.
    pub sealed: Option<String>,
    pub warnings: String,
    pub trace_context: Option<String>,
    pub purged_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
