//! A tenant's destinations — Meta CAPI pixels, GA4 web streams, TikTok pixels — and
//! everything Kickin knows about each kind, one module per kind behind `Spec`. Public
//! settings are stored as JSON; the credential (access token / API secret) is sealed
//! with AES-256-GCM and is write-only: no response ever carries it. Base URLs come from
//! server configuration only, so tenant settings cannot point Kickin elsewhere.

pub mod ga4;
mod kind;
pub mod meta;
pub mod outcome;
pub mod send;
mod settings;
pub mod spec;
mod stored;
pub mod test_send;
pub mod tiktok;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

pub use kind::Kind;
pub use meta::names::case_mismatch;
pub use settings::{Change, DestinationIn, DestinationPatch, Settings};
pub use spec::{EventFacts, Spec};
pub use stored::StoredEvent;

use crate::clock::rfc3339;
use crate::crypto::Keys;
use crate::entities::destinations;
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};
use crate::states::DestinationState;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DestinationOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub name: String,
    /// `active`, `paused` (credentials rejected; deliveries wait) or `disabled`.
    pub state: DestinationState,
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
    /// GA4 app streams: the Firebase app id, in place of `measurement_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firebase_app_id: Option<String>,
    /// GA4: `eu` when events go to Google's EU collection endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_secret_set: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_code: Option<String>,
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

    pub fn spec(&self) -> &'static dyn Spec {
        self.kind.spec()
    }

    pub fn id(&self) -> Uuid {
        self.model.id
    }

    pub fn is_disabled(&self) -> bool {
        self.model.state == DestinationState::Disabled
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
        let secret = self.spec().fields().secret;
        let set = |field: &str| (secret == field).then_some(!m.secret.is_empty());
        DestinationOut {
            id: m.id,
            tenant_id: m.tenant_id,
            kind: m.kind.clone(),
            name: m.name.clone(),
            state: m.state,
            paused_reason: m.paused_reason.clone(),
            pixel_id: self.settings.pixel_id.clone(),
            test_event_code: self.settings.test_event_code.clone(),
            access_token_set: set("access_token"),
            measurement_id: self.settings.measurement_id.clone(),
            firebase_app_id: self.settings.firebase_app_id.clone(),
            endpoint: self.settings.endpoint.clone(),
            api_secret_set: set("api_secret"),
            pixel_code: self.settings.pixel_code.clone(),
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
        // An `IN` list, not `id_list::any_of`: a group has few tenants (few texts), and
        // on a small `destinations` table PostgreSQL's generic plan for `= ANY($1)` is a
        // sequential scan it rejects, so it would plan the statement again every time.
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
    let settings::New {
        kind,
        name,
        settings,
        secret,
    } = input.validate()?;
    let plan = crate::plans::for_tenant(db, tenant_id).await?;
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
        state: Set(DestinationState::Active),
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
