//! Which person a deletion is about: exactly one of `em`, `ph` or `external_id`, raw or
//! already hashed, normalized and hashed exactly as ingest hashes it
//! (`ingest::pii::hash_value`), so the request finds the hashes the events carry.

use serde_json::{Map, Value};

use crate::error::{AppError, AppResult};
use crate::ingest::pii::{self, HashedKey, NormalizeContext};

/// The identifiers a person can be deleted by.
pub const FIELDS: [HashedKey; 3] = [HashedKey::Em, HashedKey::Ph, HashedKey::ExternalId];

/// A validated request: the field given and every hash an event may carry for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub field: HashedKey,
    pub hashes: Vec<String>,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::bad_request("invalid_field", message).with_field(field)
}

/// Reads `{"user_data": {"em" | "ph" | "external_id": "…"}}`: a body of another shape is
/// 400, a value that cannot be an email or phone number 422, each naming the field.
pub fn parse(body: &Value) -> AppResult<Person> {
    let user_data = body
        .get("user_data")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("user_data", "user_data must be an object"))?;
    let (name, value) = only_one(user_data)?;
    let field = HashedKey::from_name(name).expect("checked by only_one");
    let path = format!("user_data.{name}");
    let raw = value
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad(&path, format!("{path} must be a non-empty string")))?;
    if raw.len() > 512 {
        return Err(bad(&path, format!("{path} is too long")));
    }
    Ok(Person {
        field,
        hashes: hashes(field, raw).map_err(|message| {
            AppError::unprocessable("invalid_field", format!("{path}: {message}")).with_field(&path)
        })?,
    })
}

fn only_one(user_data: &Map<String, Value>) -> AppResult<(&str, &Value)> {
    if let Some(other) = user_data
        .keys()
        .find(|k| HashedKey::from_name(k).is_none_or(|key| !FIELDS.contains(&key)))
    {
        return Err(bad(
            format!("user_data.{other}"),
            format!(
                "user_data.{other} cannot identify a person to delete: give em, ph or external_id"
            ),
        ));
    }
    let mut given = user_data.iter();
    match (given.next(), given.next()) {
        (Some((name, value)), None) => Ok((name.as_str(), value)),
        _ => Err(bad(
            "user_data",
            "user_data must hold exactly one of em, ph or external_id",
        )),
    }
}

/// The hashes ingest stores for `raw`. A raw phone of ten digits is stored under two
/// hashes depending on the event's country (`1` is prepended for the US and Canada), so
/// both are looked for.
pub fn hashes(field: HashedKey, raw: &str) -> Result<Vec<String>, String> {
    let plain = pii::hash_value(field, raw, &NormalizeContext::default()).map_err(|e| e.message)?;
    let mut out = vec![plain];
    if field == HashedKey::Ph && !pii::is_sha256_hex(raw.trim()) {
        let us = NormalizeContext {
            country: Some("us".into()),
        };
        let nanp = pii::hash_value(field, raw, &us).map_err(|e| e.message)?;
        if !out.contains(&nanp) {
            out.push(nanp);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_raw_email_is_hashed_as_ingest_hashes_it_and_a_hash_passes_through() {
        let raw = parse(&json!({"user_data": {"em": "  Jane.Doe@Example.com "}})).unwrap();
        assert_eq!(raw.hashes, [pii::sha256_hex("jane.doe@example.com")]);
        let hashed = pii::sha256_hex("jane.doe@example.com").to_uppercase();
        let given = parse(&json!({"user_data": {"em": hashed}})).unwrap();
        assert_eq!(given.hashes, raw.hashes);
    }

    #[test]
    fn a_ten_digit_phone_is_looked_for_with_and_without_the_nanp_prefix() {
        let p = parse(&json!({"user_data": {"ph": "(555) 010-0000"}})).unwrap();
        assert_eq!(
            p.hashes,
            [
                pii::sha256_hex("5550100000"),
                pii::sha256_hex("15550100000")
            ]
        );
        let intl = parse(&json!({"user_data": {"ph": "+44 20 7946 0000"}})).unwrap();
        assert_eq!(intl.hashes, [pii::sha256_hex("442079460000")]);
    }

    #[test]
    fn anything_but_exactly_one_identifier_names_the_field() {
        let field = |body: Value| parse(&body).unwrap_err().field.unwrap();
        assert_eq!(field(json!({})), "user_data");
        assert_eq!(field(json!({"user_data": {}})), "user_data");
        assert_eq!(
            field(json!({"user_data": {"em": "a@b.co", "ph": "5550100"}})),
            "user_data"
        );
        assert_eq!(field(json!({"user_data": {"fn": "jane"}})), "user_data.fn");
        assert_eq!(
            field(json!({"user_data": {"em": "not-an-email"}})),
            "user_data.em"
        );
        assert_eq!(
            field(json!({"user_data": {"external_id": 42}})),
            "user_data.external_id"
        );
        let err = parse(&json!({"user_data": {"em": "secret-value"}})).unwrap_err();
        assert!(!err.message.contains("secret-value"), "{}", err.message);
    }
}
