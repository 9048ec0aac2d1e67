//! Reading a raw JSON body under a size cap, so oversize and malformed bodies get the
//! contract's JSON errors (413 / 400) instead of framework defaults.

use actix_web::web;
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{AppError, AppResult, ErrorKind};

fn too_large(limit: usize) -> AppError {
    AppError::new(
        ErrorKind::PayloadTooLarge,
        "payload_too_large",
        format!("the request body exceeds {limit} bytes"),
    )
}

/// Reads at most `limit` bytes and parses them as JSON.
pub async fn read_json(
    payload: web::Payload,
    declared: Option<usize>,
    limit: usize,
) -> AppResult<Value> {
    let body = read_bytes(payload, declared, limit).await?;
    serde_json::from_slice(&body).map_err(|e| {
        AppError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })
}

/// Reads at most `limit` bytes (413 beyond).
pub async fn read_bytes(
    mut payload: web::Payload,
    declared: Option<usize>,
    limit: usize,
) -> AppResult<web::BytesMut> {
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            AppError::bad_request("invalid_body", "the request body could not be read")
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn content_length(req: &actix_web::HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
