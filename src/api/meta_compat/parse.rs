//! Reading a Conversions API request as Meta reads it. Parameters come from the query
//! string and the body — JSON, `application/x-www-form-urlencoded` or
//! `multipart/form-data` — the body's winning over the query's. `data` is an array of
//! events, a JSON string holding that array, or an array of JSON-encoded events (the
//! official Python SDK form-encodes `data` as a JSON array of JSON strings). Pure: bytes
//! and strings in, no I/O.

use std::collections::BTreeMap;

use serde_json::Value;

use super::multipart;
use crate::ingest::MAX_EVENTS_PER_REQUEST;

/// Why a request cannot be read: answered as Meta's code 100, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub field: String,
    pub message: String,
}

fn error(field: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        field: field.into(),
        message: message.into(),
    }
}

/// The request's parameters, by name.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, Value>);

/// A Conversions API request: its events and its top-level parameters.
#[derive(Debug, Default, PartialEq)]
pub struct MetaRequest {
    /// The elements of `data`, each one event object.
    pub data: Vec<Value>,
    pub test_event_code: Option<String>,
    pub partner_agent: Option<String>,
    pub namespace_id: Option<String>,
    pub upload_tag: Option<String>,
}

impl Params {
    /// The parameters of a request with this content type, query string and body.
    pub fn decode(
        content_type: Option<&str>,
        query: &str,
        body: &[u8],
    ) -> Result<Self, ParseError> {
        let mut params = Params::default();
        params.extend_pairs(form_pairs(query.as_bytes())?);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(params);
        }
        let mime = content_type.map(|c| c.to_ascii_lowercase());
        match mime
            .as_deref()
            .map(|m| m.split(';').next().unwrap_or("").trim())
        {
            Some("application/json") => params.extend_json(body)?,
            Some("application/x-www-form-urlencoded") => params.extend_pairs(form_pairs(body)?),
            Some("multipart/form-data") => {
                let boundary = multipart::boundary(content_type.unwrap_or_default())
                    .ok_or_else(|| error("body", "a multipart body needs its boundary"))?;
                params.extend_pairs(
                    multipart::fields(body, &boundary).map_err(|m| error("body", m))?,
                );
            }
            // No (or another) content type: a body that opens as a JSON object is one.
            _ if body.trim_ascii_start().starts_with(b"{") => params.extend_json(body)?,
            _ => params.extend_pairs(form_pairs(body)?),
        }
        Ok(params)
    }

    fn extend_pairs(&mut self, pairs: Vec<(String, String)>) {
        self.0
            .extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
    }

    fn extend_json(&mut self, body: &[u8]) -> Result<(), ParseError> {
        match serde_json::from_slice(body) {
            Ok(Value::Object(members)) => {
                self.0.extend(members);
                Ok(())
            }
            Ok(_) => Err(error("body", "the body must be a JSON object")),
            Err(e) => Err(error("body", format!("the body is not valid JSON: {e}"))),
        }
    }

    /// `access_token`, when the parameters carry a non-empty one.
    pub fn access_token(&self) -> Option<&str> {
        self.0
            .get("access_token")?
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The request: `data` and the top-level parameters Meta defines. Others that
    /// clients add (`appsecret_proof`, `upload_id`, `upload_source`, …) are ignored, as
    /// Graph ignores parameters an endpoint does not read.
    pub fn request(&self) -> Result<MetaRequest, ParseError> {
        let data = self
            .0
            .get("data")
            .ok_or_else(|| error("data", "the parameter data is required"))?;
        Ok(MetaRequest {
            data: events(data)?,
            test_event_code: self.text("test_event_code")?,
            partner_agent: self.text("partner_agent")?,
            namespace_id: self.text("namespace_id")?,
            upload_tag: self.text("upload_tag")?,
        })
    }

    /// A string parameter (a number is taken as its decimal text); "" is absent.
    fn text(&self, name: &str) -> Result<Option<String>, ParseError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.len() <= 256 && !s.chars().any(char::is_control) => {
                Ok(Some(s.trim().to_string()))
            }
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(error(
                name,
                format!("{name} must be a string of at most 256 characters"),
            )),
        }
    }
}

fn form_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    serde_html_form::from_bytes(bytes).map_err(|e| {
        error(
            "body",
            format!("the form-encoded parameters cannot be read: {e}"),
        )
    })
}

/// The events of `data` in each of its accepted encodings.
pub fn events(data: &Value) -> Result<Vec<Value>, ParseError> {
    let items = match data {
        Value::Array(items) => items.clone(),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Array(items)) => items,
            Ok(_) => return Err(error("data", "data must be an array of events")),
            Err(e) => {
                return Err(error(
                    "data",
                    format!("data is not a valid JSON array: {e}"),
                ));
            }
        },
        _ => return Err(error("data", "data must be an array of events")),
    };
    if items.is_empty() || items.len() > MAX_EVENTS_PER_REQUEST {
        let message = format!(
            "data must hold 1 to {MAX_EVENTS_PER_REQUEST} events, it holds {}",
            items.len()
        );
        return Err(error("data", message));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| event(i, item))
        .collect()
}

/// One element of `data`: an event object, or a JSON string encoding one.
fn event(index: usize, item: Value) -> Result<Value, ParseError> {
    let field = || format!("data[{index}]");
    match item {
        Value::Object(_) => Ok(item),
        Value::String(text) => match serde_json::from_str(&text) {
            Ok(event @ Value::Object(_)) => Ok(event),
            Ok(_) => Err(error(field(), "each event must be a JSON object")),
            Err(e) => Err(error(field(), format!("the event is not valid JSON: {e}"))),
        },
        _ => Err(error(field(), "each event must be a JSON object")),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
