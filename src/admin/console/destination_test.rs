//! "Send test event" on the tenant page: one sample event to a destination in its test
//! mode, the result shown on the page rendered in answer to the post (ok, the
//! destination's status and messages), recorded in the audit log. CSRF and the writer
//! role as every console form; the per-destination limit answers 429 on the page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::error::ConsoleResult;
use super::forms::{Form, record};
use super::session::ConsoleAdmin;
use super::tenants::after_test;
use crate::destinations::test_send::{self, TestResult};
use crate::destinations::{self, Destination};
use crate::error::ErrorKind;
use crate::state::AppState;
use crate::states::DestinationState;

/// A test send's result as the tenant page shows it.
pub struct TestView {
    pub(crate) destination: String,
    pub(crate) ok: bool,
    /// `HTTP 400`, or `no answer`.
    pub(crate) status: String,
    pub(crate) messages: Vec<String>,
    /// What to do next, where the result alone does not say.
    pub(crate) hint: Option<String>,
}

impl TestView {
    pub(crate) fn of(destination: &Destination, result: &TestResult) -> Self {
        let paused = destination.model.state == DestinationState::Paused;
        let hint = (result.ok && paused).then(|| {
            "The test went through, but the destination stays paused: save new \
             credentials or set it active to resume its deliveries."
                .to_string()
        });
        TestView {
            destination: destination.model.name.clone(),
            ok: result.ok,
            status: result
                .status
                .map_or("no answer".to_string(), |s| format!("HTTP {s}")),
            messages: result.messages.iter().map(|m| m.line()).collect(),
            hint,
        }
    }
}

pub async fn send(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    post: web::Form<Form>,
) -> ConsoleResult<HttpResponse> {
    admin.check_write(&post)?;
    let destination = destinations::get_any(&state.db.conn, *id).await?;
    let tenant_id = destination.model.tenant_id;
    let result = match state
        .test_sends
        .run(&state.keys, &state.clock, &destination)
        .await
    {
        Ok(result) => result,
        Err(e) if e.kind == ErrorKind::TooManyRequests => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            return after_test(&admin, &state, tenant_id, status, None, Some(e.message)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let txn = state.db.begin_write().await?;
    let change = test_send::audit_change(&destination, &result);
    record(&txn, &state, &admin, change).await?;
    txn.commit().await?;
    let view = TestView::of(&destination, &result);
    after_test(&admin, &state, tenant_id, StatusCode::OK, Some(view), None).await
}
