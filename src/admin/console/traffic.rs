//! Deliveries: filter by tenant, status and destination; one delivery's attempt log;
//! replay of a failed or dead delivery.

use actix_web::{HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleResult;
use super::forms::{Form, record};
use super::session::ConsoleAdmin;
use super::{Layout, see_other};
use crate::audit::Change;
use crate::deliveries::{self, DeliveryDetail, DeliveryFilter};
use crate::error::AppError;
use crate::state::AppState;
use crate::states::DeliveryStatus;

pub struct Row {
    id: Uuid,
    short: String,
    tenant_id: Uuid,
    tenant_short: String,
    kind: String,
    status: DeliveryStatus,
    attempts: i32,
    last_error: String,
    created_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "deliveries.html")]
struct ListPage {
    layout: Layout,
    tenant_id: String,
    status: String,
    destination_id: String,
    statuses: &'static [DeliveryStatus],
    deliveries: Vec<Row>,
    next_cursor: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "delivery.html")]
struct ShowPage {
    layout: Layout,
    d: DeliveryDetail,
    event: String,
}

#[derive(Deserialize)]
pub struct Query {
    tenant_id: Option<String>,
    status: Option<String>,
    destination_id: Option<String>,
    cursor: Option<String>,
}

pub fn uuid_or_none(field: &str, v: &Option<String>) -> Result<Option<Uuid>, AppError> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Uuid::parse_str(v).map(Some).map_err(|_| {
            AppError::bad_request("invalid_query", format!("{field} is not an id"))
                .with_field(field)
        }),
    }
}

pub async fn list(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> ConsoleResult<impl Responder> {
    let status = q.status.clone().filter(|s| !s.is_empty());
    let filter = DeliveryFilter {
        status: status.clone(),
        destination_id: uuid_or_none("destination_id", &q.destination_id)?,
        tenant_id: uuid_or_none("tenant_id", &q.tenant_id)?,
        limit: Some(100),
        cursor: q.cursor.clone(),
    };
    let page = deliveries::list(&state.db.conn, None, &filter).await?;
    let rows = page
        .data
        .into_iter()
        .map(|d| Row {
            short: d.delivery.id.to_string()[..13].to_string(),
            id: d.delivery.id,
            tenant_short: d.tenant_id.to_string()[..8].to_string(),
            tenant_id: d.tenant_id,
            kind: d.delivery.kind,
            status: d.delivery.status,
            attempts: d.delivery.attempts,
            last_error: d.delivery.last_error.unwrap_or_default(),
            created_at: d.delivery.created_at,
        })
        .collect();
    Ok(ListPage {
        layout: Layout::of(&admin),
        tenant_id: q.tenant_id.clone().unwrap_or_default(),
        status: status.unwrap_or_default(),
        destination_id: q.destination_id.clone().unwrap_or_default(),
        statuses: DeliveryStatus::ALL,
        deliveries: rows,
        next_cursor: page.next_cursor,
    })
}

pub async fn show(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<impl Responder> {
    let d = deliveries::get(&state.db.conn, None, *id).await?;
    let event = format!(
        "{} / {}",
        d.event_name.clone().unwrap_or_default(),
        d.event_id.clone().unwrap_or_default()
    );
    Ok(ShowPage {
        layout: Layout::of(&admin),
        d,
        event,
    })
}

pub async fn replay(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let txn = state.db.begin_write().await?;
    let delivery = deliveries::replay(&*txn, None, *id, state.clock.now_ms()).await?;
    record(
        &txn,
        &state,
        &admin,
        Change::new("delivery.replay", "delivery", *id).after(&delivery),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other(&format!("/admin/deliveries/{id}")))
}
