//! `/app/destinations`: the tenant's destinations with their pause reasons; owners add
//! them, save new credentials, change their state and send a test event — through the
//! same domain functions as `/v1/destinations` and the console.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::PortalUser;
use super::view::{Layout, form_error, page};
use crate::admin::console::destination_test::TestView;
use crate::admin::console::error::ConsoleResult;
use crate::admin::console::forms::{Form, field};
use crate::admin::console::see_other;
use crate::admin::console::tenants::{KindChoice, destination_patch, kind_choices};
use crate::destinations::test_send;
use crate::destinations::{self, DestinationIn, DestinationOut};
use crate::error::ErrorKind;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "app/destinations.html")]
struct ListPage {
    layout: Layout,
    destinations: Vec<DestinationOut>,
    kinds: Vec<KindChoice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "app/destination.html")]
struct ShowPage {
    layout: Layout,
    d: DestinationOut,
    test: Option<TestView>,
    error: Option<String>,
}

async fn render_list(
    user: &PortalUser,
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let all = destinations::all_for_tenant(&state.db.conn, user.tenant_id).await?;
    let list_page = ListPage {
        layout: Layout::of(state, user).await?,
        destinations: all.iter().map(|d| d.to_out()).collect(),
        kinds: kind_choices(),
        error,
    };
    Ok(page(status, &list_page))
}

async fn render_one(
    user: &PortalUser,
    state: &AppState,
    id: Uuid,
    status: StatusCode,
    test: Option<TestView>,
    error: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let d = destinations::get(&state.db.conn, user.tenant_id, id).await?;
    let show_page = ShowPage {
        layout: Layout::of(state, user).await?,
        d: d.to_out(),
        test,
        error,
    };
    Ok(page(status, &show_page))
}

pub async fn list(user: PortalUser, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    render_list(&user, &state, StatusCode::OK, None).await
}

pub async fn show(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    render_one(&user, &state, *id, StatusCode::OK, None, None).await
}

pub async fn create(
    user: PortalUser,
    state: web::Data<AppState>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let input = DestinationIn::with_target(
        field(&post, "kind"),
        field(&post, "name"),
        field(&post, "target"),
        field(&post, "secret"),
    );
    let txn = state.db.begin_write().await?;
    match destinations::create(
        &*txn,
        &state.keys,
        user.tenant_id,
        input,
        state.clock.now_ms(),
    )
    .await
    {
        Ok(d) => {
            let change = crate::audit::Change::new("destination.create", "destination", d.id())
                .after(&d.to_out());
            user.record(&txn, &state, change).await?;
            txn.commit().await?;
            Ok(see_other(&format!("/app/destinations/{}", d.id())))
        }
        Err(e) => {
            drop(txn);
            render_list(
                &user,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form_error(&e)),
            )
            .await
        }
    }
}

/// New credentials and/or a new state (a paused destination resumes with new credentials).
pub async fn update(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let current = destinations::get(&state.db.conn, user.tenant_id, *id).await?;
    let before = current.to_out();
    let patch = destination_patch(&post, current.kind);
    let txn = state.db.begin_write().await?;
    match crate::dispatch::destination_state::update(
        &*txn,
        &state.keys,
        current,
        patch,
        state.clock.now_ms(),
    )
    .await
    {
        Ok(updated) => {
            let change = crate::audit::Change::new("destination.update", "destination", *id)
                .before(&before)
                .after(&updated.to_out());
            user.record(&txn, &state, change).await?;
            txn.commit().await?;
            Ok(see_other(&format!("/app/destinations/{id}")))
        }
        Err(e) => {
            drop(txn);
            render_one(
                &user,
                &state,
                *id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(form_error(&e)),
            )
            .await
        }
    }
}

pub async fn test(
    user: PortalUser,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    user.check_manage(&post)?;
    let destination = destinations::get(&state.db.conn, user.tenant_id, *id).await?;
    let result = match state
        .test_sends
        .run(&state.keys, &state.clock, &destination)
        .await
    {
        Ok(result) => result,
        Err(e) if e.kind == ErrorKind::TooManyRequests => {
            return render_one(
                &user,
                &state,
                *id,
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(e.message),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let txn = state.db.begin_write().await?;
    user.record(&txn, &state, test_send::audit_change(&destination, &result))
        .await?;
    txn.commit().await?;
    let view = TestView::of(&destination, &result);
    render_one(&user, &state, *id, StatusCode::OK, Some(view), None).await
}
