//! `POST /v1/events` and `GET /v1/events/{event_id}`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{ApiKey, IngestKey};
use super::body::{content_length, read_json};
use crate::clock::rfc3339;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::ingest::response::LimitHit;
use crate::ingest::{self, IngestResponse, MAX_EVENTS_PER_REQUEST, Outcome, lookup};
use crate::metering::usage::period_end_ms;
use crate::state::AppState;
use crate::tenants::Scope;

/// The `events` array of a request body, checked for shape and size.
fn events_of(body: &Value) -> AppResult<&[Value]> {
    let events = body
        .as_object()
        .and_then(|o| o.get("events"))
        .ok_or_else(|| {
            AppError::bad_request("invalid_body", "the body must be {\"events\": [...]}")
                .with_field("events")
        })?
        .as_array()
        .ok_or_else(|| {
            AppError::bad_request("invalid_body", "events must be an array").with_field("events")
        })?;
    if events.is_empty() {
        return Err(
            AppError::bad_request("invalid_body", "send at least one event").with_field("events"),
        );
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        let message = format!("send at most {MAX_EVENTS_PER_REQUEST} events per request");
        return Err(
            AppError::new(ErrorKind::PayloadTooLarge, "too_many_events", message)
                .with_field("events"),
        );
    }
    Ok(events)
}

/// The request's top-level `test_event_code`, for each of its events without one.
fn test_code_of(body: &Value) -> AppResult<Option<String>> {
    match body.get("test_event_code") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(code))
            if !code.is_empty()
                && code.len() <= 64
                && code.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Ok(Some(code.clone()))
        }
        Some(_) => {
            let message = "test_event_code must be a string of letters and digits";
            Err(AppError::bad_request("invalid_body", message).with_field("test_event_code"))
        }
    }
}

#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(content = Object, description = "{\"events\": [Event, …]} with 1 to 1,000 events"),
    responses((status = 202, body = IngestResponse), (status = 422, body = IngestResponse, description = "every event rejected")),
    security(("api_key" = [])))]
pub async fn post_events(
    mut key: IngestKey,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    key.require(Scope::Ingest)?;
    let body = read_json(payload, content_length(&req), state.config.max_body_bytes).await?;
    let events = events_of(&body)?;
    let routing = ingest::Routing {
        test_event_code: test_code_of(&body)?,
        ..ingest::Routing::default()
    };
    let response = loop {
        let ctx = key.require(Scope::Ingest)?;
        let now = state.clock.now_ms();
        match ingest::accept_events(
            &state.committer,
            &state.keys,
            ctx,
            events,
            routing.clone(),
            now,
        )
        .await?
        {
            Outcome::Done(Err(e)) => {
                key.forget(&state);
                return Err(e);
            }
            Outcome::Done(Ok(response)) => break response,
            Outcome::Stale => key.refresh(&state).await?,
        }
    };
    if let (Some(hit), 0) = (&response.limit_hit, response.accepted) {
        return Err(plan_limit_reached(hit));
    }
    let mut builder = if response.all_rejected() {
        HttpResponse::UnprocessableEntity()
    } else {
        HttpResponse::Accepted()
    };
    Ok(builder.json(response))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventQuery {
    pub event_name: Option<String>,
}

#[utoipa::path(get, path = "/v1/events/{event_id}", tag = "events", params(("event_id" = String, Path), EventQuery),
    responses((status = 200, body = lookup::EventOut), (status = 404)), security(("api_key" = [])))]
pub async fn get_event(
    key: ApiKey,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<EventQuery>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Read)?;
    let event = lookup::find_event(
        &state.db.conn,
        ctx.tenant_id,
        &path,
        query.event_name.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// 429 for a request in which nothing fit the plan's hard limit.
pub(crate) fn plan_limit_reached(hit: &LimitHit) -> AppError {
    let resets_at = rfc3339(period_end_ms(&hit.period));
    let mut e = AppError::new(
        ErrorKind::TooManyRequests,
        "plan_limit_reached",
        format!(
            "the plan's limit of {} sends this month is reached; it resets at {resets_at}",
            hit.limit
        ),
    );
    e.details =
        Some(serde_json::json!({"limit": hit.limit, "used": hit.used, "resets_at": resets_at}));
    e.retry_after = Some(
        ((period_end_ms(&hit.period) - chrono::Utc::now().timestamp_millis()) / 1000).max(1) as u32,
    );
    e
}
