//! HTTP rendering of `AppError` and of actix's own extractor errors: every 4xx/5xx body
//! is `{"error": {"code", "message", "field"?}}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

use crate::error::{AppError, ErrorKind};

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        if let Some(field) = &self.field {
            body.insert("field".into(), json!(field));
        }
        if let Some(Value::Object(details)) = &self.details {
            body.extend(details.clone());
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        if self.kind == ErrorKind::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(json!({ "error": body }))
    }
}

/// The member named in a serde message (`missing field \`name\``), if any.
pub(crate) fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_string())
}

/// JSON bodies that do not parse or do not fit the expected shape: 400 naming the field.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let app = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => AppError::new(
            ErrorKind::PayloadTooLarge,
            "payload_too_large",
            "the request body is too large",
        ),
        E::ContentType => AppError::bad_request(
            "unsupported_content_type",
            "send the body as application/json",
        ),
        E::Deserialize(inner) if inner.is_data() => {
            let message = inner.to_string();
            let mut e = AppError::bad_request("invalid_body", message.clone());
            e.field = field_in(&message);
            e
        }
        E::Deserialize(inner) => AppError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {inner}"),
        ),
        _ => AppError::bad_request("invalid_body", "the request body could not be read"),
    };
    app.into()
}

pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let message = err.to_string();
    let mut e = AppError::bad_request("invalid_query", message.clone());
    e.field = field_in(&message);
    e.into()
}

pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    AppError::not_found("resource").into()
}

/// Nothing is routed here: 405 with `Allow` when the path is a documented one asked with
/// a method it does not allow, else 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let allowed = crate::openapi::allowed_methods(req.path()).unwrap_or_default();
    // No documented path, or one whose method is allowed but whose values the route
    // refuses (a version not shaped like Graph's): nothing is here.
    if allowed.is_empty() || allowed.iter().any(|m| m == req.method().as_str()) {
        return Err(AppError::not_found("route"));
    }
    let allow = allowed.join(", ");
    Ok(HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow.clone()))
        .json(json!({"error": {
            "code": "method_not_allowed",
            "message": format!("{} is not allowed here; allowed: {allow}", req.method()),
        }})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_in("missing field `code` at line 1 column 2").as_deref(),
            Some("code")
        );
        assert_eq!(field_in("expected a string"), None);
    }
}
