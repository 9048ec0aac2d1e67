//! The two routes a browser key opens: `GET /v1/browser/kickin.js` (and its versioned
//! twin) and `POST /v1/browser/events?key=pk_…`, with CORS for the key's origins only.
//! No other route takes a browser key, and these take no API key.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use serde::Deserialize;

use super::body::{content_length, read_bytes};
use crate::browser::beacon::{self, MAX_BODY_BYTES};
use crate::browser::intake::Rows;
use crate::browser::keys::BrowserKey;
use crate::browser::{origins, script};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct KeyQuery {
    /// The browser key (`pk_…`).
    pub key: Option<String>,
}

fn key_of(req: &HttpRequest) -> Option<String> {
    web::Query::<KeyQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().key)
        .filter(|k| !k.is_empty())
}

async fn resolve(state: &AppState, presented: Option<String>) -> AppResult<BrowserKey> {
    let presented = presented.ok_or_else(|| {
        AppError::unauthorized("send the browser key as ?key=pk_… (see GET /v1/browser-keys)")
    })?;
    state.browser_keys.resolve(&state.db.conn, &presented).await
}

fn script_response(req: &HttpRequest, cache: &'static str) -> HttpResponse {
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(script::matches);
    let mut response = match unchanged {
        true => HttpResponse::NotModified(),
        false => HttpResponse::Ok(),
    };
    response
        .insert_header((header::ETAG, script::etag()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    match unchanged {
        true => response.finish(),
        false => response.body(script::SOURCE),
    }
}

/// A `?key=` on the script URL must be a live browser key (401 otherwise).
async fn check_optional_key(req: &HttpRequest, state: &AppState) -> AppResult<()> {
    if let Some(presented) = key_of(req) {
        resolve(state, Some(presented)).await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1/browser/kickin.js", tag = "browser", params(KeyQuery),
    responses((status = 200, description = "the companion script (ETag, revalidated every 5 minutes)"),
              (status = 304), (status = 401)))]
pub async fn get_script(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    check_optional_key(&req, &state).await?;
    Ok(script_response(&req, "public, max-age=300"))
}

#[utoipa::path(get, path = "/v1/browser/kickin-{version}.js", tag = "browser", params(KeyQuery),
    responses((status = 200, description = "this version of the script, cacheable for a year"),
              (status = 404)))]
pub async fn get_versioned_script(
    req: HttpRequest,
    state: web::Data<AppState>,
    version: web::Path<String>,
) -> AppResult<HttpResponse> {
    if *version != script::version() {
        return Err(AppError::not_found("script version"));
    }
    check_optional_key(&req, &state).await?;
    Ok(script_response(&req, "public, max-age=31536000, immutable"))
}

fn allowed_origin(req: &HttpRequest, key: &BrowserKey) -> AppResult<String> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| origins::allows(&key.allowed_origins, o))
        .map(str::to_string)
        .ok_or_else(|| {
            AppError::forbidden(
                "origin_not_allowed",
                "this page's origin is not in the browser key's allowed_origins",
            )
        })
}

fn cors(builder: &mut HttpResponseBuilder, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        builder.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value));
    }
    builder.insert_header((header::VARY, "Origin"));
}

fn error_with_cors(e: AppError, origin: Option<&str>) -> HttpResponse {
    let mut response = e.error_response();
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// `sendBeacon` sends `text/plain`; `fetch` may send JSON; a bare body is read as JSON.
fn check_content_type(req: &HttpRequest) -> AppResult<()> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default();
    match essence.trim().to_ascii_lowercase().as_str() {
        "text/plain" | "application/json" => Ok(()),
        _ => Err(AppError::bad_request(
            "unsupported_content_type",
            "send the beacon as application/json or text/plain",
        )),
    }
}

#[utoipa::path(post, path = "/v1/browser/events", tag = "browser",
    params(("key" = String, Query, description = "the browser key (`pk_…`)")),
    request_body(content = String, description = "{\"events\": [Observation]} as JSON or text/plain"),
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 413), (status = 429)))]
pub async fn post_beacon(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let key = match resolve(&state, key_of(&req)).await {
        Ok(key) => key,
        Err(e) => return e.error_response(),
    };
    let origin = match allowed_origin(&req, &key) {
        Ok(origin) => origin,
        Err(e) => return e.error_response(),
    };
    match store(&req, &state, &key, payload).await {
        Ok(()) => {
            let mut response = HttpResponse::NoContent();
            cors(&mut response, &origin);
            response.finish()
        }
        Err(e) => error_with_cors(e, Some(&origin)),
    }
}

async fn store(
    req: &HttpRequest,
    state: &AppState,
    key: &BrowserKey,
    payload: web::Payload,
) -> AppResult<()> {
    super::auth::rate_limit_key(state, &key.key_id)?;
    check_content_type(req)?;
    let body = read_bytes(payload, content_length(req), MAX_BODY_BYTES).await?;
    let observations = beacon::parse(&body)?;
    let mut rows = Rows::default();
    rows.push(&state.keys, key, observations, state.clock.now_ms());
    state.intake.submit(rows).await
}

/// The CORS preflight of a beacon sent by `fetch` with a JSON content type.
pub async fn preflight_beacon(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let key = match resolve(&state, key_of(&req)).await {
        Ok(key) => key,
        Err(e) => return e.error_response(),
    };
    match allowed_origin(&req, &key) {
        Ok(origin) => {
            let mut response = HttpResponse::NoContent();
            cors(&mut response, &origin);
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
                .finish()
        }
        Err(e) => e.error_response(),
    }
}
