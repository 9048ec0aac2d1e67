//! The Meta-compatible endpoint: `POST /{version}/{pixel_id}/events` takes Meta's own
//! Conversions API request, so an existing CAPI integration moves to Kickin by changing
//! only its Graph host. `parse` reads the request as Meta does, `ingest::pixel` accepts
//! its events (all or none), `answer` replies in Meta's shapes.

pub mod answer;
mod multipart;
pub mod parse;
pub mod query_token;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};

use self::answer::{MetaError, Received};
use self::parse::Params;
use super::auth::{IngestKey, bearer};
use super::body::{content_length, read_bytes};
use crate::ingest::pixel::{self, PixelOutcome, PixelRequest};
use crate::state::AppState;
use crate::tenants::Scope;

/// The route: `version` has Graph's shape (`v25.0`); any other first segment is not
/// this endpoint.
pub const ROUTE: &str = r"/{version:v\d+\.\d+}/{pixel_id}/events";

#[utoipa::path(post, path = "/{version}/{pixel_id}/events", tag = "meta-compatible",
    description = "Meta's Conversions API request, unchanged: point a CAPI client's Graph host at Kickin. \
        `access_token` (a Kickin API key with scope `ingest`) goes in the query string or the body. \
        One invalid event refuses the whole request and nothing is stored. Errors use Graph's \
        envelope and codes: 104 no token, 190 unknown or revoked key, 200 scope or suspended \
        account, 100 invalid parameter or event (subcode 33: no Meta destination with this pixel \
        id), 17 rate limit, 4 plan limit, 2 unavailable.",
    params(
        ("version" = String, Path, description = "Graph API version, e.g. v25.0"),
        ("pixel_id" = String, Path, description = "The pixel (dataset) id of one of the tenant's Meta destinations"),
        ("access_token" = Option<String>, Query, description = "A Kickin API key with scope ingest (or in the body)"),
    ),
    request_body(description = "Meta's request: `data` (an array of server events, a JSON string of it, \
        or an array of JSON-encoded events), `access_token`, `test_event_code`, `partner_agent`, \
        `namespace_id`, `upload_tag`",
        content(("application/json"), ("application/x-www-form-urlencoded"), ("multipart/form-data"))),
    responses(
        (status = 200, body = Received, description = "Every event valid: taken (duplicates included in events_received)"),
        (status = 400, body = answer::MetaErrorBody, description = "code 104 (no access_token), 190 (unknown or revoked key), 100 (malformed request or invalid event, nothing stored; subcode 33: unknown pixel)"),
        (status = 403, body = answer::MetaErrorBody, description = "code 200: the key lacks the ingest scope, or the account is suspended"),
        (status = 413, body = answer::MetaErrorBody, description = "code 100: the body is over the size limit"),
        (status = 429, body = answer::MetaErrorBody, description = "code 17 (the key's rate limit) or 4 (the plan's hard limit), with Retry-After"),
        (status = 500, body = answer::MetaErrorBody, description = "code 1: internal error"),
        (status = 503, body = answer::MetaErrorBody, description = "code 2: database unavailable; retry"),
    ))]
pub async fn post_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let fbtrace_id = crate::crypto::random_token(8);
    match handle(&state, &req, &path.1, payload, &fbtrace_id).await {
        Ok(received) => HttpResponse::Ok().json(received),
        Err(e) => {
            tracing::info!(code = e.code(), fbtrace_id = %fbtrace_id, error = %e, "meta-compatible request refused");
            e.respond(&fbtrace_id)
        }
    }
}

async fn handle(
    state: &AppState,
    req: &HttpRequest,
    pixel_id: &str,
    payload: web::Payload,
    fbtrace_id: &str,
) -> Result<Received, MetaError> {
    let limit = state.config.max_body_bytes;
    let body = read_bytes(payload, content_length(req), limit).await?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = Params::decode(content_type, req.query_string(), &body)?;
    let mut key = key_of(state, req, &params).await?;
    let request = params.request()?;
    let pixel_request = PixelRequest {
        pixel_id,
        events: &request.data,
        test_event_code: request.test_event_code.as_deref(),
    };
    loop {
        let ctx = key.require(Scope::Ingest)?;
        let now = state.clock.now_ms();
        let (committer, db) = (&state.committer, &state.db.conn);
        let outcome =
            pixel::accept_for_pixel(committer, db, &state.keys, ctx, &pixel_request, now).await;
        match outcome {
            Err(e) => {
                key.forget(state);
                return Err(e.into());
            }
            Ok(PixelOutcome::Stale) => key.refresh(state).await?,
            Ok(PixelOutcome::UnknownPixel) => return Err(MetaError::unknown_pixel(pixel_id)),
            Ok(PixelOutcome::Refused(rejection)) => return Err(MetaError::refused(&rejection)),
            Ok(PixelOutcome::Committed(response)) => {
                return answer::received(&response, fbtrace_id.to_string());
            }
        }
    }
}

/// The key of the request: `access_token` from its body, else its query string (Meta's
/// places for it), else an `Authorization: Bearer` header. It needs the `ingest` scope.
async fn key_of(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<IngestKey, MetaError> {
    let token = params
        .access_token()
        .map(str::to_string)
        .or_else(|| query_token::query_token(req).filter(|t| !t.trim().is_empty()))
        .or_else(|| bearer(req))
        .ok_or_else(MetaError::missing_token)?;
    let key = IngestKey::from_token(state, &token).await?;
    key.require(Scope::Ingest)?;
    Ok(key)
}
