//! Reading url-encoded forms (repeated fields allowed) and audit recording for console actions.

use super::session::ConsoleAdmin;
use crate::audit::{self, Change};
use crate::error::AppResult;
use crate::startup::AppState;

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

/// A number field: empty → None; anything else must parse.
pub fn optional_number<T: std::str::FromStr>(form: &Form, name: &str) -> Result<Option<T>, String> {
    match field(form, name) {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} must be a whole number")),
    }
}

pub async fn record(state: &AppState, admin: &ConsoleAdmin, change: Change) -> AppResult<()> {
    audit::record(&state.db.conn, &admin.actor(), change, state.clock.now_ms()).await
}
