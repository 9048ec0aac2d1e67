//! Answering as Meta does: `{"events_received", "messages", "fbtrace_id"}` on success,
//! Graph's error envelope otherwise. Graph answers client errors with HTTP 400 and tells
//! them apart by `error.code`, which is what Meta's SDKs and CAPI plugins read:
//!
//! | situation | HTTP | code | subcode |
//! | --- | --- | --- | --- |
//! | no `access_token` | 400 | 104 | |
//! | unknown or revoked key | 400 | 190 | |
//! | key without the `ingest` scope; tenant suspended | 403 | 200 | |
//! | unreadable body, `data` missing or malformed, an invalid event | 400 | 100 | |
//! | no Meta destination with this pixel id | 400 | 100 | 33 |
//! | body over the size limit | 413 | 100 | |
//! | the key's rate limit | 429 | 17 | |
//! | the plan's hard limit reached | 429 | 4 | |
//! | database unavailable | 503 | 2 | |
//! | internal error | 500 | 1 | |

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;
use serde_json::json;

use super::parse::ParseError;
use crate::error::{AppError, ErrorKind};
use crate::ingest::{IngestResponse, Rejection};

/// The success body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Valid events of the request, duplicates included.
    pub events_received: usize,
    /// Notes on the events (late events, names that differ from a standard one only by
    /// case, events left out by the plan's limit), each naming its `data[i]`.
    pub messages: Vec<String>,
    pub fbtrace_id: String,
}

/// A refusal in Graph's error envelope.
#[derive(Debug, Clone)]
pub struct MetaError {
    status: StatusCode,
    code: u32,
    subcode: Option<u32>,
    message: String,
    user_title: &'static str,
    user_msg: String,
    transient: bool,
    retry_after: Option<u32>,
}

/// Graph's error envelope, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MetaErrorBody {
    /// `{"message", "type": "OAuthException", "code", "error_subcode", "error_user_title",
    /// "error_user_msg", "is_transient", "fbtrace_id"}`
    #[schema(value_type = Object)]
    pub error: serde_json::Value,
}

impl MetaError {
    fn new(status: StatusCode, code: u32, title: &'static str, message: String) -> Self {
        MetaError {
            status,
            code,
            subcode: None,
            user_msg: message.clone(),
            message,
            user_title: title,
            transient: false,
            retry_after: None,
        }
    }

    fn invalid(title: &'static str, field: &str, message: &str) -> Self {
        let detail = format!("{field}: {message}");
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            100,
            title,
            format!("Invalid parameter: {detail}"),
        );
        e.user_msg = detail;
        e
    }

    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            104,
            "Missing access token",
            "An access token is required to request this resource: send a Kickin API key as access_token".into(),
        )
    }

    /// The tenant has no Meta destination with this pixel id (Graph's "object does not exist").
    pub fn unknown_pixel(pixel_id: &str) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            100,
            "Unknown pixel",
            format!(
                "Unsupported post request. Object with ID '{pixel_id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"
            ),
        );
        e.subcode = Some(33);
        e.user_msg = format!(
            "this account has no Meta destination with pixel id {pixel_id}: add one, or post to its pixel id"
        );
        e
    }

    /// One event is invalid; the request was refused whole. Names it as `data[i].field`.
    pub fn refused(rejection: &Rejection) -> Self {
        let field = match rejection.field.strip_prefix("events") {
            Some(rest) => format!("data{rest}"),
            None => rejection.field.clone(),
        };
        let message = format!(
            "{} ({}); nothing was stored",
            rejection.message, rejection.code
        );
        Self::invalid("Invalid event", &field, &message)
    }

    /// Kickin's own errors, in Graph's codes (see the module header).
    pub fn from_app(e: &AppError) -> Self {
        let (status, code, title) = match (e.kind, e.code) {
            (ErrorKind::Unauthorized, _) => (400, 190, "Invalid access token"),
            (ErrorKind::Forbidden, _) => (403, 200, "Permissions error"),
            (ErrorKind::TooManyRequests, "plan_limit_reached") => (429, 4, "Plan limit reached"),
            (ErrorKind::TooManyRequests, _) => (429, 17, "Request limit reached"),
            (ErrorKind::PayloadTooLarge, _) => (413, 100, "Request too large"),
            (ErrorKind::Unavailable, _) => (503, 2, "Service temporarily unavailable"),
            (ErrorKind::Internal, _) => (500, 1, "Unknown error"),
            _ => (400, 100, "Invalid parameter"),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let message = match code {
            190 => format!("Invalid OAuth access token: {}", e.message),
            _ => e.message.clone(),
        };
        let mut out = Self::new(status, code, title, message);
        // A plan limit holds until the month ends: not worth a quick retry.
        out.transient = matches!(code, 1 | 2 | 17);
        out.retry_after = e.retry_after;
        out
    }

    pub fn code(&self) -> u32 {
        self.code
    }

    pub fn respond(&self, fbtrace_id: &str) -> HttpResponse {
        let body = json!({"error": {
            "message": self.message, "type": "OAuthException", "code": self.code,
            "error_subcode": self.subcode, "is_transient": self.transient,
            "error_user_title": self.user_title, "error_user_msg": self.user_msg,
            "fbtrace_id": fbtrace_id}});
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        response.json(body)
    }
}

impl From<ParseError> for MetaError {
    fn from(e: ParseError) -> Self {
        MetaError::invalid("Invalid parameter", &e.field, &e.message)
    }
}

impl From<AppError> for MetaError {
    fn from(e: AppError) -> Self {
        MetaError::from_app(&e)
    }
}

/// The answer for a committed request: refused when the plan's hard limit left none
/// of its events in (429, code 4, as `/v1/events` answers 429 `plan_limit_reached`).
pub fn received(response: &IngestResponse, fbtrace_id: String) -> Result<Received, MetaError> {
    if let (Some(hit), 0) = (&response.limit_hit, response.accepted) {
        return Err(MetaError::from_app(
            &crate::api::events::plan_limit_reached(hit),
        ));
    }
    let mut messages = Vec::new();
    for r in &response.results {
        for w in &r.warnings {
            messages.push(format!("data[{}]: {} ({})", r.index, w.message, w.code));
        }
        if let Some(e) = &r.error {
            messages.push(format!("data[{}]: {} ({})", r.index, e.message, e.code));
        }
    }
    Ok(Received {
        events_received: response.results.len() - response.rejected,
        messages,
        fbtrace_id,
    })
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(#{}) {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_the_event_by_its_place_in_data() {
        let e = MetaError::refused(&Rejection {
            code: "missing_field",
            message: "event_time is required".into(),
            field: "events[2].event_time".into(),
        });
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, 100));
        assert!(
            e.user_msg.starts_with("data[2].event_time: "),
            "{}",
            e.user_msg
        );
        assert!(e.message.contains("data[2].event_time"), "{}", e.message);
    }

    #[test]
    fn kickin_errors_map_to_graph_codes() {
        let code = |e: AppError| MetaError::from_app(&e).code;
        assert_eq!(code(AppError::unauthorized("revoked")), 190);
        assert_eq!(code(AppError::forbidden("insufficient_scope", "x")), 200);
        let limit = AppError::new(ErrorKind::TooManyRequests, "plan_limit_reached", "x");
        assert_eq!(code(limit), 4);
        let rate = AppError::new(ErrorKind::TooManyRequests, "rate_limited", "x");
        assert_eq!(code(rate), 17);
        assert_eq!(code(AppError::new(ErrorKind::Unavailable, "db", "x")), 2);
        assert_eq!(MetaError::unknown_pixel("42").subcode, Some(33));
    }
}
