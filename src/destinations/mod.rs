//! A tenant's destinations: Meta CAPI pixels and GA4 web streams. Public settings are
//! stored as JSON; the credential (access token / API secret) is sealed with AES-256-GCM
//! and is write-only: no response ever carries it. Base URLs come from server
//! configuration only, so tenant settings cannot point Kickin elsewhere.

mod settings;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

pub use settings::{DestinationIn, DestinationPatch, Kind, Settings};

use crate::clock::rfc3339;
use crate::crypto::Keys;
use crate::entities::{deliveries, destinations};
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DestinationOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub name: String,
    /// `active`, `paused` (credentials rejected; deliveries wait) or `disabled`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_event_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_set: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurement_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_secret_set: Option<bool>,
    pub created_at: String,
    pub updated_at: String,
}

/// A destination as the domain uses it, with its public settings parsed.
#[derive(Debug, Clone)]
pub struct Destination {
    pub model: destinations::Model,
    pub kind: Kind,
    pub settings: Settings,
}

impl Destination {
    pub fn from_model(model: destinations::Model) -> AppResult<Self> {
        let kind = Kind::parse(&model.kind)
            .ok_or_else(|| AppError::internal("unknown destination kind stored"))?;
        let settings: Settings = serde_json::from_str(&model.config)?;
        Ok(Self {
            model,
            kind,
            settings,
        })
    }

    pub fn id(&self) -> Uuid {
        self.model.id
    }

    pub fn is_disabled(&self) -> bool {
        self.model.state == "disabled"
    }

    /// The plain credential, for the dispatcher only.
    pub fn credential(&self, keys: &Keys) -> AppResult<String> {
        let bytes = keys
            .open(&self.model.secret)
            .map_err(|_| AppError::internal("destination secret unreadable"))?;
        String::from_utf8(bytes).map_err(|_| AppError::internal("destination secret unreadable"))
    }

    pub fn to_out(&self) -> DestinationOut {
        let m = &self.model;
        let meta = self.kind == Kind::MetaCapi;
        DestinationOut {
            id: m.id,
            tenant_id: m.tenant_id,
            kind: m.kind.clone(),
            name: m.name.clone(),
            state: m.state.clone(),
            paused_reason: m.paused_reason.clone(),
            pixel_id: self.settings.pixel_id.clone(),
            test_event_code: self.settings.test_event_code.clone(),
            access_token_set: meta.then_some(!m.secret.is_empty()),
            measurement_id: self.settings.measurement_id.clone(),
            api_secret_set: (!meta).then_some(!m.secret.is_empty()),
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

fn live(tenant_id: Uuid) -> sea_orm::Select<destinations::Entity> {
    destinations::Entity::find()
        .filter(destinations::Column::TenantId.eq(tenant_id))
        .filter(destinations::Column::DeletedAt.is_null())
}

/// Every live destination of a tenant, oldest first (the order results list them in).
pub async fn all_for_tenant(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> AppResult<Vec<Destination>> {
    let rows = live(tenant_id)
        .order_by_asc(destinations::Column::Id)
        .all(db)
        .await?;
    rows.into_iter().map(Destination::from_model).collect()
}

/// Every live destination of each of `tenant_ids`, oldest first per tenant.
pub async fn all_for_tenants(
    db: &impl ConnectionTrait,
    tenant_ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, Vec<Destination>>> {
    let rows = destinations::Entity::find()
        .filter(destinations::Column::TenantId.is_in(tenant_ids.iter().copied()))
        .filter(destinations::Column::DeletedAt.is_null())
        .order_by_asc(destinations::Column::Id)
        .all(db)
        .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<Destination>> =
        tenant_ids.iter().map(|t| (*t, Vec::new())).collect();
    for row in rows {
        let tenant_id = row.tenant_id;
        out.entry(tenant_id)
            .or_default()
            .push(Destination::from_model(row)?);
    }
    Ok(out)
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<DestinationOut>> {
    let mut query = live(tenant_id)
        .order_by_desc(destinations::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.before {
        query = query.filter(destinations::Column::Id.lt(before));
    }
    let rows: AppResult<Vec<Destination>> = query
        .all(db)
        .await?
        .into_iter()
        .map(Destination::from_model)
        .collect();
    Ok(Page::from_rows(rows?, page, |d| d.id(), |d| d.to_out()))
}

pub async fn count(db: &impl ConnectionTrait, tenant_id: Uuid) -> AppResult<u64> {
    Ok(live(tenant_id).count(db).await?)
}

/// One destination of one tenant; another tenant's id answers 404.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> AppResult<Destination> {
    let row = live(tenant_id)
        .filter(destinations::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("destination"))?;
    Destination::from_model(row)
}

/// Finds a destination by id alone (admin routes), returning it with its tenant.
pub async fn get_any(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Destination> {
    let row = destinations::Entity::find()
        .filter(destinations::Column::Id.eq(id))
        .filter(destinations::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("destination"))?;
    Destination::from_model(row)
}

pub async fn create(
    db: &impl ConnectionTrait,
    keys: &Keys,
    tenant_id: Uuid,
    input: DestinationIn,
    now: i64,
) -> AppResult<Destination> {
    let (kind, name, settings, secret) = input.validate()?;
    let plan = crate::billing::plans::for_tenant(db, tenant_id).await?;
    if let Some(max) = plan.and_then(|p| p.model.max_destinations)
        && count(db, tenant_id).await? >= max as u64
    {
        return Err(AppError::unprocessable(
            "destination_limit_reached",
            format!("the plan allows {max} destinations; delete one or change plan"),
        ));
    }
    let model = destinations::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(Uuid::now_v7()),
        kind: Set(kind.as_str().to_string()),
        name: Set(name),
        state: Set("active".into()),
        paused_reason: Set(None),
        hold_until: Set(None),
        config: Set(serde_json::to_string(&settings)?),
        secret: Set(keys.seal(secret.as_bytes())),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(db)
    .await?;
    Destination::from_model(model)
}

/// Applies a partial update. New credentials resume a paused destination.
pub async fn update(
    db: &impl ConnectionTrait,
    keys: &Keys,
    current: Destination,
    patch: DestinationPatch,
    now: i64,
) -> AppResult<Destination> {
    // Work from the row as it is now (locked on PostgreSQL), not as the caller read it: a
    // worker may have paused the destination in between.
    let current = match destinations::Entity::find()
        .filter(destinations::Column::TenantId.eq(current.model.tenant_id))
        .filter(destinations::Column::Id.eq(current.model.id))
        .lock_exclusive()
        .one(db)
        .await?
    {
        Some(row) => Destination::from_model(row)?,
        None => return Err(AppError::not_found("destination")),
    };
    let change = patch.apply(current.kind, current.settings.clone())?;
    let mut active: destinations::ActiveModel = current.model.clone().into();
    if let Some(name) = change.name {
        active.name = Set(name);
    }
    active.config = Set(serde_json::to_string(&change.settings)?);
    if let Some(secret) = &change.secret {
        active.secret = Set(keys.seal(secret.as_bytes()));
    }
    let state = match (
        change.state.as_deref(),
        change.secret.is_some(),
        current.model.state.as_str(),
    ) {
        (Some(requested), _, _) => requested.to_string(),
        (None, true, "paused") => "active".to_string(),
        (None, _, state) => state.to_string(),
    };
    if state != "paused" {
        active.paused_reason = Set(None);
    }
    let was_active = current.model.state == "active";
    active.state = Set(state.clone());
    active.updated_at = Set(now);
    let updated = Destination::from_model(active.update(db).await?)?;
    let (tenant_id, id) = (updated.model.tenant_id, updated.model.id);
    match (was_active, state.as_str()) {
        (false, "active") => {
            set_waiting_status(db, tenant_id, id, "paused", "pending", now).await?
        }
        (true, _) if state != "active" => {
            set_waiting_status(db, tenant_id, id, "pending", "paused", now).await?
        }
        _ => {}
    }
    Ok(updated)
}

/// Moves a destination's waiting deliveries between `pending` and `paused`. Resumed
/// deliveries are due at once. A delivery a worker is sending right now keeps its lease:
/// its own completion decides (taking the lease away would let a resume send it again
/// while the first send may still arrive). A lapsed lease is cleared, but its in-flight
/// mark stays, so the next claim knows that send's outcome is unknown.
pub async fn set_waiting_status(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    from: &str,
    to: &str,
    now: i64,
) -> AppResult<()> {
    let mut update = deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(to))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            deliveries::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            deliveries::Column::LeaseToken,
            Expr::value(Option::<Uuid>::None),
        );
    if to == "pending" {
        update = update.col_expr(deliveries::Column::NextAttemptAt, Expr::value(now));
    }
    update
        .filter(deliveries::Column::TenantId.eq(tenant_id))
        .filter(deliveries::Column::DestinationId.eq(id))
        .filter(deliveries::Column::Status.eq(from))
        .filter(
            deliveries::Column::LockedUntil
                .is_null()
                .or(deliveries::Column::LockedUntil.lte(now)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a destination: it disappears from every API, its history stays for billing,
/// and deliveries still waiting for it end as `failed`.
pub async fn delete(db: &impl ConnectionTrait, current: Destination, now: i64) -> AppResult<()> {
    let (tenant_id, id) = (current.model.tenant_id, current.model.id);
    let mut active: destinations::ActiveModel = current.model.into();
    active.deleted_at = Set(Some(now));
    active.state = Set("disabled".into());
    active.updated_at = Set(now);
    active.update(db).await?;
    fail_waiting(db, tenant_id, id, now).await
}

/// Ends the waiting deliveries of a deleted destination as `failed` and gives their
/// hard-limit headroom back (also used by workers that find a destination gone).
/// A delivery whose send is in flight is left to that send's completion.
pub async fn fail_waiting(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    now: i64,
) -> AppResult<()> {
    // One statement decides which deliveries fail, and only those give headroom back: a
    // delivery that succeeds meanwhile is neither failed nor released.
    let failed = deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value("failed"))
        .col_expr(
            deliveries::Column::LastError,
            Expr::value("destination deleted"),
        )
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::TenantId.eq(tenant_id))
        .filter(deliveries::Column::DestinationId.eq(id))
        .filter(deliveries::Column::Status.is_in(["pending", "paused"]))
        // A send in flight completes on its own; a retry it asks for ends here next round.
        .filter(
            deliveries::Column::LockedUntil
                .is_null()
                .or(deliveries::Column::LockedUntil.lte(now)),
        )
        .exec_with_returning(db)
        .await?;
    let mut by_period: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for period in failed.into_iter().filter_map(|d| d.reserved_period) {
        *by_period.entry(period).or_default() += 1;
    }
    for (period, n) in by_period {
        crate::metering::limits::add_used(db, tenant_id, &period, -n).await?;
    }
    Ok(())
}
