//! The audit log (filterable) and admin management (owners only).

use actix_web::{HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use sea_orm::{EntityTrait, QueryOrder};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::forms::{Form, field, record};
use super::session::ConsoleAdmin;
use super::{Layout, see_other};
use crate::accounts::{self, Role};
use crate::audit::{self, Change, Entry};
use crate::clock::rfc3339;
use crate::entities::admins;
use crate::page::PageQuery;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    admin: String,
    action: String,
    entries: Vec<Entry>,
    next_cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "admins.html")]
struct AdminsPage {
    layout: Layout,
    admins: Vec<(String, String, String)>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    admin: Option<String>,
    action: Option<String>,
    cursor: Option<String>,
}

pub async fn audit(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> ConsoleResult<impl Responder> {
    let page = PageQuery {
        limit: Some(100),
        cursor: q.cursor.clone(),
    }
    .parse()?;
    let list = audit::list(
        &state.db.conn,
        q.admin.as_deref(),
        q.action.as_deref(),
        page,
    )
    .await?;
    Ok(AuditPage {
        layout: Layout::of(&admin),
        admin: q.admin.clone().unwrap_or_default(),
        action: q.action.clone().unwrap_or_default(),
        entries: list.data,
        next_cursor: list.next_cursor,
    })
}

fn owner_only(admin: &ConsoleAdmin) -> ConsoleResult<()> {
    if admin.role == Role::Owner {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden("only owners manage admins".into()))
    }
}

async fn admins_page(
    admin: &ConsoleAdmin,
    state: &AppState,
    error: Option<String>,
) -> ConsoleResult<AdminsPage> {
    let rows = admins::Entity::find()
        .order_by_asc(admins::Column::Email)
        .all(&state.db.conn)
        .await?;
    let admins = rows
        .into_iter()
        .map(|a| (a.email, a.role, rfc3339(a.created_at)))
        .collect();
    Ok(AdminsPage {
        layout: Layout::of(admin),
        admins,
        error,
    })
}

pub async fn list(admin: ConsoleAdmin, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    owner_only(&admin)?;
    let page = admins_page(&admin, &state, None).await?;
    Ok(super::html(actix_web::http::StatusCode::OK, &page))
}

pub async fn create(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    owner_only(&admin)?;
    // An unknown or missing role is refused, not read as "admin": the select offers
    // exactly the roles there are.
    let Some(role) = Role::parse(field(&post, "role")) else {
        let page = admins_page(
            &admin,
            &state,
            Some("role: choose admin, viewer or owner".into()),
        )
        .await?;
        return Ok(super::html(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        ));
    };
    let txn = state.db.begin_write().await?;
    match accounts::create(
        &*txn,
        field(&post, "email"),
        field(&post, "password"),
        role,
        state.clock.now_ms(),
    )
    .await
    {
        Ok(created) => {
            let view = serde_json::json!({"email": created.email, "role": created.role});
            record(
                &txn,
                &state,
                &admin,
                Change::new("admin.create", "admin", created.id).after(&view),
            )
            .await?;
            txn.commit().await?;
            Ok(see_other("/admin/admins"))
        }
        Err(e) => {
            drop(txn);
            let page = admins_page(&admin, &state, Some(e.message)).await?;
            Ok(super::html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            ))
        }
    }
}
