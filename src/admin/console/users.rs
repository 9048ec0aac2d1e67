//! The tenant page's "Invite user" form: the same invite as
//! `POST /admin/api/tenants/{id}/users`, its link shown once on the answering page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::Layout;
use super::error::ConsoleResult;
use super::forms::{Form, field, record};
use super::session::ConsoleAdmin;
use crate::accounts::tenant_users::{self, TenantRole, UserIn};
use crate::audit::Change;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "invited.html")]
struct InvitedPage {
    layout: Layout,
    tenant_id: Uuid,
    email: String,
    role: &'static str,
    invite_url: String,
}

pub async fn invite(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let role = TenantRole::parse(field(&post, "role"))
        .ok_or_else(|| AppError::invalid("role", "role must be owner or member"))?;
    let input = UserIn {
        email: field(&post, "email").to_string(),
        role,
    };
    let txn = state.db.begin_write().await?;
    let (user, token) = tenant_users::invite(&*txn, *id, &input, state.clock.now_ms()).await?;
    let change = Change::new("tenant_user.invite", "tenant_user", user.id).after(&user);
    record(&txn, &state, &admin, change).await?;
    txn.commit().await?;
    let page = InvitedPage {
        layout: Layout::of(&admin),
        tenant_id: *id,
        email: user.email,
        role: role.as_str(),
        invite_url: tenant_users::invite_url(&crate::admin::users::base_url(&req), &token),
    };
    Ok(super::html(StatusCode::CREATED, &page))
}
