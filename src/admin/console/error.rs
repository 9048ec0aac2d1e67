//! Console errors as pages: anonymous → 303 to the login page; 403, 404 and others as a
//! small HTML page with the message.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("log in first")]
    Login,
    /// Anonymous in the customer portal: to its own login page.
    #[error("log in first")]
    PortalLogin,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    App(#[from] AppError),
}

impl From<sea_orm::DbErr> for ConsoleError {
    fn from(err: sea_orm::DbErr) -> Self {
        ConsoleError::App(err.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::Login | ConsoleError::PortalLogin => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let login = match self {
            ConsoleError::Login => Some("/admin/login"),
            ConsoleError::PortalLogin => Some("/app/login"),
            _ => None,
        };
        if let Some(login) = login {
            return HttpResponse::SeeOther()
                .insert_header((LOCATION, login))
                .finish();
        }
        let message = match self {
            ConsoleError::App(e) => e.message.clone(),
            other => other.to_string(),
        };
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        };
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(page.render().unwrap_or_else(|_| message.clone()))
    }
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;
