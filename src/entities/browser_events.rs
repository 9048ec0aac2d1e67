use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "browser_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// UUIDv7 of the receipt time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub key_id: Uuid,
    pub event_name: String,
    pub event_id: Option<String>,
    /// Keyed hash of the `_fbp` cookie, for finding the same visitor.
    pub fbp_hash: Option<String>,
    /// `{"fbp", "fbc"}` sealed.
    pub sealed: Option<String>,
    /// Origin and path only.
    pub page_url: String,
    /// The browser's clock when the pixel fired, as sent.
    pub ts_ms: i64,
    /// `ts_ms` trusted only within a few minutes of the receipt.
    pub fired_at: i64,
    pub received_at: i64,
    pub processed_at: Option<i64>,
    /// The `events` row id of the server event that claimed this observation.
    pub claimed_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
