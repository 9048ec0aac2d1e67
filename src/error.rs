//! The one error type of the service layer. It carries a semantic kind (mapped to an HTTP
//! status by the web layer), a stable snake_case `code`, a human message and, where one
//! input is at fault, its `field` path. Database errors are mapped once, in [`db`]; the
//! database error they came from stays attached as the `source`, so logs show the cause
//! while the client sees only the clean body.

mod db;

use std::sync::Arc;

use sea_orm::DbErr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// Something that existed once and is no more (a used or expired invite).
    Gone,
    PayloadTooLarge,
    Unprocessable,
    TooManyRequests,
    Unavailable,
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds a client should wait before retrying (429, 503).
    pub retry_after: Option<u32>,
    /// Extra members merged into the `error` object (e.g. plan limit figures).
    pub details: Option<serde_json::Value>,
    /// The database error behind this one (never shown to the client).
    pub source: Option<Arc<DbErr>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            details: None,
            source: None,
        }
    }
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }
    /// A request that is well-formed but invalid in one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, "invalid_field", message).with_field(field)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, "unauthorized", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }
    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal", message)
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        let err = Arc::new(err);
        let mut mapped = db::map(&err);
        match mapped.kind {
            ErrorKind::Unavailable => tracing::warn!(error = ?err, "database unavailable"),
            ErrorKind::Internal => tracing::error!(error = ?err, "database error"),
            _ => {}
        }
        mapped.source = Some(err);
        mapped
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        tracing::error!(error = %err, "serialization error");
        AppError::internal("an internal error occurred")
    }
}
