//! `/app/deliveries`: this tenant's deliveries filtered by status and destination, one
//! delivery's attempt log, and replay of a failed or dead one (owners).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::PortalUser;
use super::view::{Layout, When, page, when};
use crate::admin::console::error::ConsoleResult;
use crate::admin::console::forms::Form;
use crate::admin::console::see_other;
use crate::admin::console::traffic::uuid_or_none;
use crate::audit::Change;
use crate::deliveries::{self, DeliveryDetail, DeliveryFilter, DeliveryListItem};
use crate::destinations::{self, Destination};
use crate::state::AppState;
use crate::states::DeliveryStatus;

const PAGE_SIZE: u64 = 50;

#[derive(Template)]
#[template(path = "app/deliveries.html")]
struct ListPage {
    layout: Layout,
    status: String,
    destination_id: String,
    statuses: &'static [DeliveryStatus],
    destinations: Vec<Destination>,
    deliveries: Vec<(DeliveryListItem, When)>,
    next_cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "app/delivery.html")]
struct ShowPage {
    layout: Layout,
    d: DeliveryDetail,
    created: When,
}

#[derive(Deserialize)]
pub struct Query {
    status: Option<String>,
    destination_id: Option<String>,
    cursor: Option<String>,
}

pub async fn list(
    user: PortalUser,
    state: web::Data<AppState>,
    q: web::Query<Query>,
) -> ConsoleResult<HttpResponse> {
    let status = q.status.clone().filter(|s| !s.is_empty());
    let filter = DeliveryFilter {
        status: status.clone(),
        destination_id: uuid_or_none("destination_id", &q.destination_id)?,
        tenant_id: None,
        limit: Some(PAGE_SIZE),
        cursor: q.cursor.clone(),
    };
    let found = deliveries::list(&state.db.conn, Some(user.tenant_id), &filter).await?;
    let now = state.clock.now_ms();
    let list_page = ListPage {
        layout: Layout::of(&state, &user).await?,
        status: status.unwrap_or_default(),
        destination_id: q.destination_id.clone().unwrap_or_default(),
        statuses: DeliveryStatus::ALL,
        destinations: destinations::all_for_tenant(&state.db.conn, user.tenant_id).await?,
        deliveries: found
            .data
            .into_iter()
            .map(|d| {
                let w = when(&d.delivery.created_at, now);
                (d, w)
            })
            .collect(),
        next_cursor: found.next_cursor,
    };
    Ok(page(actix_web::http::StatusCode::OK, &list_page))
}

pub async fn show(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let d = deliveries::get(&state.db.conn, Some(user.tenant_id), *id).await?;
    let show_page = ShowPage {
        layout: Layout::of(&state, &user).await?,
        created: when(&d.delivery.created_at, state.clock.now_ms()),
        d,
    };
    Ok(page(actix_web::http::StatusCode::OK, &show_page))
}

pub async fn replay(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let txn = state.db.begin_write().await?;
    let delivery =
        deliveries::replay(&*txn, Some(user.tenant_id), *id, state.clock.now_ms()).await?;
    user.record(
        &txn,
        &state,
        Change::new("delivery.replay", "delivery", *id).after(&delivery),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other(&format!("/app/deliveries/{id}")))
}
