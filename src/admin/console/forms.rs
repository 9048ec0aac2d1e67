//! Reading url-encoded forms (repeated fields allowed; typed posts through
//! `serde_html_form`) and audit recording for console actions.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use super::error::ConsoleError;
use super::session::{CSRF_FIELD, ConsoleAdmin};
use crate::audit::{self, Change};
use crate::db::WriteTxn;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub type Form = Vec<(String, String)>;

/// The first value of a field, trimmed ("" when absent).
pub fn field<'a>(form: &'a Form, name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// Every value of a repeated field, in order.
pub fn fields<'a>(form: &'a Form, name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .collect()
}

/// Records a console action in the audit log, within the action's transaction.
pub async fn record(
    txn: &WriteTxn,
    state: &AppState,
    admin: &ConsoleAdmin,
    change: Change,
) -> AppResult<()> {
    audit::record(txn, &admin.actor(), change, state.clock.now_ms()).await
}

/// A console form post read into `T` with `serde_html_form`: a field the post does not
/// carry is `None` (or an empty `Vec`), never a default, so a handler can tell "left
/// alone" from "cleared". The CSRF token travels beside the typed fields.
pub struct Posted<T> {
    pub form: T,
    csrf: Vec<(String, String)>,
}

impl<T> Posted<T> {
    /// The CSRF field as `ConsoleAdmin::check_write` reads it.
    pub fn csrf(&self) -> &[(String, String)] {
        &self.csrf
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Posted<T> {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| malformed(&e.to_string()))?;
            let pairs: Vec<(String, String)> =
                serde_html_form::from_bytes(&body).map_err(|e| malformed(&e.to_string()))?;
            let csrf = pairs.into_iter().filter(|(k, _)| k == CSRF_FIELD).collect();
            let form = serde_html_form::from_bytes(&body).map_err(|e| malformed(&e.to_string()))?;
            Ok(Posted { form, csrf })
        })
    }
}

fn malformed(why: &str) -> ConsoleError {
    ConsoleError::App(AppError::bad_request(
        "invalid_form",
        format!("the form could not be read: {why}"),
    ))
}

/// A whole-number field as posted: absent → `None` (leave it), present → it must parse.
pub fn number<T: std::str::FromStr>(name: &str, value: Option<&str>) -> AppResult<Option<T>> {
    match value.map(str::trim) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid(name, format!("{name} must be a whole number"))),
    }
}

/// A checkbox that follows a hidden `false` field of the same name: the box adds `true`
/// when ticked, so an unticked box posts `false`, and a post without the field (a form
/// that does not show the box) changes nothing.
pub fn checkbox(name: &str, values: &[String]) -> AppResult<Option<bool>> {
    match values.last().map(|v| v.trim()) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(AppError::invalid(
            name,
            format!("{name} must be true or false"),
        )),
    }
}

/// A refused form's message, naming the field when there is one.
pub fn form_error(e: &AppError) -> String {
    match &e.field {
        Some(f) => format!("{f}: {}", e.message),
        None => e.message.clone(),
    }
}
