//! The deletion form of a tenant's page: the operator picks the identifier (email,
//! phone or external id), gives its value (raw or hashed), and the request is stored
//! with its audit entry exactly as the admin API stores it — the entry names the field,
//! never the value. The page then lists it with its status.

use actix_web::{HttpResponse, web};
use serde_json::json;
use uuid::Uuid;

use super::error::ConsoleResult;
use super::forms::{Form, field, record};
use super::session::ConsoleAdmin;
use super::{see_other, tenants};
use crate::audit::Change;
use crate::error::AppResult;
use crate::privacy::{self, DeletionOut, identify};
use crate::state::AppState;

/// `POST /admin/tenants/{id}/privacy/deletions` with `field` and `value`.
pub async fn create(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let body = json!({"user_data": {field(&post, "field"): field(&post, "value")}});
    let stored = match identify::parse(&body) {
        Ok(person) => store(&admin, &state, *id, &person).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(_) => Ok(see_other(&format!("/admin/tenants/{}#deletions", *id))),
        Err(e) => tenants::failed(&admin, &state, *id, e).await,
    }
}

async fn store(
    admin: &ConsoleAdmin,
    state: &AppState,
    tenant_id: Uuid,
    person: &privacy::Person,
) -> AppResult<DeletionOut> {
    let txn = state.db.begin_write().await?;
    let tenant = crate::tenants::get(&*txn, tenant_id).await?;
    let created = privacy::request(&*txn, tenant.id, person, state.clock.now_ms()).await?;
    let change =
        Change::new("privacy.deletion.create", "privacy_deletion", created.id).after(&created);
    record(&txn, state, admin, change).await?;
    txn.commit().await?;
    Ok(created)
}
