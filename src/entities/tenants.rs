use sea_orm::entity::prelude::*;

use crate::states::ConsentPolicy;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub plan_id: Option<Uuid>,
    pub status: String,
    pub require_event_id: bool,
    pub dedup_window_hours: i32,
    pub stripe_customer_id: Option<String>,
    /// Match rate under which a daily dedup alert is recorded, in basis points.
    pub dedup_alert_threshold_bp: i32,
    /// Fill a server event's missing fbp/fbc from its matched browser observation.
    pub browser_enrichment: bool,
    /// Events posted to the Meta-compatible endpoint also go to the other destinations.
    pub meta_endpoint_fanout: bool,
    /// `forward` or `enforce` (advertising destinations only with ad_user_data granted).
    pub consent_policy: ConsentPolicy,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::plans::Entity",
        from = "Column::PlanId",
        to = "super::plans::Column::Id"
    )]
    Plan,
}

impl Related<super::plans::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plan.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
