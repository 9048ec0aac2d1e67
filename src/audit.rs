//! The audit log: every admin action (console or admin API) with who did it, what it
//! touched, when, and the record before and after. Secrets never appear: callers pass
//! the public view of a record (e.g. `DestinationOut`, whose credentials are write-only).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::db::WriteTxn;
use crate::entities::audit_log;
use crate::error::AppResult;
use crate::page::{Page, PageRequest};

/// Who acted.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: Uuid,
    pub admin_email: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub at: String,
}

/// One action: what was done to which record, and its public view before and after.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    pub fn new(action: &str, target_type: &str, target_id: impl ToString) -> Self {
        Change {
            action: action.into(),
            target_type: target_type.into(),
            target_id: target_id.to_string(),
            ..Change::default()
        }
    }
    pub fn before(mut self, view: &impl Serialize) -> Self {
        self.before = serde_json::to_value(view).ok();
        self
    }
    pub fn after(mut self, view: &impl Serialize) -> Self {
        self.after = serde_json::to_value(view).ok();
        self
    }
}

/// Records one action, in the write transaction of the change itself: the change and its
/// entry commit together or not at all.
pub async fn record(txn: &WriteTxn, actor: &Actor, change: Change, now: i64) -> AppResult<()> {
    let entry = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        admin_id: Set(actor.id),
        admin_email: Set(actor.email.clone()),
        action: Set(change.action),
        target_type: Set(change.target_type),
        target_id: Set(change.target_id),
        before: Set(change.before.map(|v| v.to_string())),
        after: Set(change.after.map(|v| v.to_string())),
        created_at: Set(now),
    };
    entry.insert(&**txn).await?;
    Ok(())
}

/// Entries newest first, filtered by admin email and/or action prefix.
pub async fn list(
    db: &impl ConnectionTrait,
    admin: Option<&str>,
    action: Option<&str>,
    page: PageRequest,
) -> AppResult<Page<Entry>> {
    let mut query = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(page.limit + 1);
    if let Some(admin) = admin.filter(|a| !a.is_empty()) {
        query = query.filter(audit_log::Column::AdminEmail.eq(admin.to_lowercase()));
    }
    if let Some(action) = action.filter(|a| !a.is_empty()) {
        query = query.filter(audit_log::Column::Action.starts_with(action));
    }
    if let Some(before) = page.before {
        query = query.filter(audit_log::Column::Id.lt(before));
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |e| e.id,
        |e| Entry {
            id: e.id,
            admin_email: e.admin_email,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            before: e.before,
            after: e.after,
            at: rfc3339(e.created_at),
        },
    ))
}
