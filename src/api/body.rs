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

/// A JSON body deserialized into `T` after whole numbers written with a fraction (`3.0`)
/// become integers: JSON Schema counts `3.0` as an integer, so a client generated from
/// the OpenAPI document may send it for an integer field. Limits and errors are
/// `web::Json`'s (413, 400 naming the field).
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Body<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = json.await?.into_inner();
            crate::whole::normalize(&mut value);
            T::deserialize(value).map(Body).map_err(|e| {
                let message = e.to_string();
                let mut error = AppError::bad_request("invalid_body", message.clone());
                error.field = super::errors::field_in(&message);
                error.into()
            })
        })
    }
}
