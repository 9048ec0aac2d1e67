//! `/app/people`: the tenant's users; owners invite members and remove them (the invite
//! link is shown once on the page that answers).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::PortalUser;
use super::view::{Layout, page};
use crate::accounts::tenant_users::{self, TenantRole, UserIn, UserOut};
use crate::admin::console::error::{ConsoleError, ConsoleResult};
use crate::admin::console::forms::{Form, field};
use crate::admin::console::see_other;
use crate::audit::Change;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "app/people.html")]
struct PeoplePage {
    layout: Layout,
    users: Vec<UserOut>,
    invite_url: Option<String>,
    error: Option<String>,
}

async fn render(
    user: &PortalUser,
    state: &AppState,
    status: StatusCode,
    invite_url: Option<String>,
    error: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let people = PeoplePage {
        layout: Layout::of(state, user).await?,
        users: tenant_users::list(&state.db.conn, user.tenant_id).await?,
        invite_url,
        error,
    };
    Ok(page(status, &people))
}

pub async fn list(user: PortalUser, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    render(&user, &state, StatusCode::OK, None, None).await
}

/// Owners invite members (only admins make owners).
pub async fn invite(
    user: PortalUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let input = UserIn {
        email: field(&post, "email").to_string(),
        role: TenantRole::Member,
    };
    let txn = state.db.begin_write().await?;
    match tenant_users::invite(&*txn, user.tenant_id, &input, state.clock.now_ms()).await {
        Ok((invited, token)) => {
            user.record(
                &txn,
                &state,
                Change::new("tenant_user.invite", "tenant_user", invited.id).after(&invited),
            )
            .await?;
            txn.commit().await?;
            let url = tenant_users::invite_url(&crate::admin::users::base_url(&req), &token);
            render(&user, &state, StatusCode::OK, Some(url), None).await
        }
        Err(e) => {
            drop(txn);
            render(
                &user,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(e.message),
            )
            .await
        }
    }
}

/// Owners remove members of their tenant (not themselves, not other owners).
pub async fn remove(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let txn = state.db.begin_write().await?;
    let target = tenant_users::get(&*txn, user.tenant_id, *id).await?;
    if target.role != TenantRole::Member.as_str() {
        return Err(ConsoleError::Forbidden(
            "owners can remove members only; ask Kickin to remove an owner".into(),
        ));
    }
    let removed = tenant_users::remove(&*txn, user.tenant_id, *id).await?;
    user.record(
        &txn,
        &state,
        Change::new("tenant_user.remove", "tenant_user", *id).before(&removed),
    )
    .await?;
    txn.commit().await?;
    Ok(see_other("/app/people"))
}
