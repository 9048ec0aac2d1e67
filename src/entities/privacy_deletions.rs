use sea_orm::entity::prelude::*;

use crate::states::DeletionStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "privacy_deletions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `em`, `ph` or `external_id`: which identifier was given (never the value).
    pub field: String,
    /// The SHA-256 hashes looked for, as a JSON array; emptied before `done`.
    pub hashes: Option<String>,
    pub status: DeletionStatus,
    /// Events whose user data was removed.
    pub events: i64,
    /// The last `events` row id the committed batches went through.
    pub cursor: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Every matching row rewritten (the files may still hold the old bytes).
    pub scrubbed_at: Option<i64>,
    /// PostgreSQL: the full id of the transaction that rewrote the last rows.
    pub scrub_xid: Option<i64>,
    pub completed_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
