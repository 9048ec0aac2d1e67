//! Normalization and hashing of the customer-information fields that Kickin
//! forwards to the Meta Conversions API as `user_data`.
//!
//! This module owns:
//! - the rules that turn a raw value (email, phone, name, date of birth, city,
//!   state, ZIP, country, external id, gender) into the canonical form Meta
//!   documents for its customer information parameters;
//! - SHA-256 hashing of that canonical form as lowercase hex;
//! - recognising values that arrive already hashed (64 hex characters), which
//!   pass through lowercased instead of being hashed a second time;
//! - the reference tables used by those rules (ISO 3166-1 countries, US states).
//!
//! Errors describe what is wrong with a value but never echo the value itself,
//! because it is personal data.
//!
//! Limitation: text is not Unicode-normalized (no NFC). Letters keep their
//! accents, and combining marks are preserved, so a decomposed `e` + U+0301
//! hashes differently from a precomposed `é`.

use std::error::Error;
use std::fmt;

use chrono::Datelike;
use sha2::{Digest, Sha256};

/// Which Meta `user_data` key is being normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashedKey {
    Em,
    Ph,
    Fn,
    Ln,
    Ge,
    Db,
    Ct,
    St,
    Zp,
    Country,
    ExternalId,
}

impl HashedKey {
    /// Every key, in Meta's documentation order.
    pub const ALL: [HashedKey; 11] = [
        HashedKey::Em,
        HashedKey::Ph,
        HashedKey::Fn,
        HashedKey::Ln,
        HashedKey::Ge,
        HashedKey::Db,
        HashedKey::Ct,
        HashedKey::St,
        HashedKey::Zp,
        HashedKey::Country,
        HashedKey::ExternalId,
    ];

    /// Looks a key up by its Meta field name (`"em"`, `"external_id"`, ...).
    /// The match is exact: names are lowercase.
    pub fn from_name(name: &str) -> Option<HashedKey> {
        HashedKey::ALL.into_iter().find(|key| key.name() == name)
    }

    /// The Meta field name of this key.
    pub fn name(self) -> &'static str {
        match self {
            HashedKey::Em => "em",
            HashedKey::Ph => "ph",
            HashedKey::Fn => "fn",
            HashedKey::Ln => "ln",
            HashedKey::Ge => "ge",
            HashedKey::Db => "db",
            HashedKey::Ct => "ct",
            HashedKey::St => "st",
            HashedKey::Zp => "zp",
            HashedKey::Country => "country",
            HashedKey::ExternalId => "external_id",
        }
    }
}

/// Facts about the event that change how a field is normalized.
#[derive(Debug, Clone, Default)]
pub struct NormalizeContext {
    /// The event's country as a normalized ISO 3166-1 alpha-2 code
    /// (lowercase), if it carries one.
    pub country: Option<String>,
}

impl NormalizeContext {
    fn country_is(&self, code: &str) -> bool {
        self.country
            .as_deref()
            .is_some_and(|country| country.trim().eq_ignore_ascii_case(code))
    }
}

/// A value that cannot be normalized. The message names the field and the
/// problem, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiError {
    /// A human sentence saying what is wrong.
    pub message: String,
}

impl PiiError {
    fn invalid(key: HashedKey, problem: &str) -> PiiError {
        PiiError {
            message: format!("{} {problem}", key.name()),
        }
    }
}

impl fmt::Display for PiiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for PiiError {}

/// SHA-256 of the UTF-8 bytes of `input`, as 64 lowercase hex characters.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}

/// Whether `s` is exactly 64 hex characters (either case), i.e. looks like a
/// SHA-256 digest. Surrounding whitespace is not tolerated.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Normalizes `raw` into the canonical form Meta expects for `key`.
///
/// A value that is already a SHA-256 hex digest is returned lowercased,
/// without further normalization.
pub fn normalize(key: HashedKey, raw: &str, ctx: &NormalizeContext) -> Result<String, PiiError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(PiiError::invalid(key, "is empty"));
    }
    if is_sha256_hex(value) {
        return Ok(value.to_ascii_lowercase());
    }
    let normalized = normalize_plain(key, value, ctx)?;
    if normalized.is_empty() {
        return Err(PiiError::invalid(
            key,
            "has nothing left after normalization",
        ));
    }
    Ok(normalized)
}

/// Normalizes `raw` for `key` and returns the SHA-256 hex digest of the result.
///
/// A value that is already a 64-hex SHA-256 digest passes through, lowercased.
pub fn hash_value(key: HashedKey, raw: &str, ctx: &NormalizeContext) -> Result<String, PiiError> {
    let normalized = normalize(key, raw, ctx)?;
    if is_sha256_hex(raw.trim()) {
        Ok(normalized)
    } else {
        Ok(sha256_hex(&normalized))
    }
}

fn normalize_plain(
    key: HashedKey,
    value: &str,
    ctx: &NormalizeContext,
) -> Result<String, PiiError> {
    match key {
        HashedKey::Em => normalize_email(value),
        HashedKey::Ph => normalize_phone(value, ctx),
        HashedKey::Fn | HashedKey::Ln | HashedKey::Ct => Ok(keep_letters(value)),
        HashedKey::Ge => normalize_gender(value),
        HashedKey::Db => normalize_birth_date(value),
        HashedKey::St => Ok(normalize_state(value, ctx)),
        HashedKey::Zp => Ok(normalize_zip(value, ctx)),
        HashedKey::Country => normalize_country(value),
        HashedKey::ExternalId => Ok(value.to_lowercase()),
    }
}

fn normalize_email(value: &str) -> Result<String, PiiError> {
    let email = value.to_lowercase();
    if looks_like_email(&email) {
        Ok(email)
    } else {
        Err(PiiError::invalid(
            HashedKey::Em,
            "is not an email address shaped like local@domain.tld",
        ))
    }
}

fn looks_like_email(email: &str) -> bool {
    if email.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && !l.contains('@'))
}

fn normalize_phone(value: &str, ctx: &NormalizeContext) -> Result<String, PiiError> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Err(PiiError::invalid(
            HashedKey::Ph,
            "contains no usable digits",
        ));
    }
    let nanp = ctx.country_is("us") || ctx.country_is("ca");
    let number = if significant.len() == 10 && nanp {
        format!("1{significant}")
    } else {
        significant.to_string()
    };
    if !(7..=15).contains(&number.len()) {
        return Err(PiiError::invalid(
            HashedKey::Ph,
            "must have between 7 and 15 digits including the country code",
        ));
    }
    Ok(number)
}

/// Lowercases and keeps only letters (any script) plus combining marks, so
/// accents survive while spaces, digits, punctuation and symbols are dropped.
fn keep_letters(value: &str) -> String {
    value
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|&c| c.is_alphabetic() || is_combining_mark(c))
        .collect()
}

fn is_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

fn normalize_gender(value: &str) -> Result<String, PiiError> {
    match value.to_lowercase().as_str() {
        "f" | "female" | "woman" => Ok("f".to_string()),
        "m" | "male" | "man" => Ok("m".to_string()),
        _ => Err(PiiError::invalid(
            HashedKey::Ge,
            "is not a recognised gender (expected f, m, female, male, woman or man)",
        )),
    }
}

fn normalize_birth_date(value: &str) -> Result<String, PiiError> {
    let (year, month, day) = parse_date_parts(value).ok_or_else(|| {
        PiiError::invalid(
            HashedKey::Db,
            "is not a date in a supported format (YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD or MM/DD/YYYY)",
        )
    })?;
    validate_date(year, month, day, chrono::Utc::now().year())?;
    Ok(format!("{year:04}{month:02}{day:02}"))
}

/// Splits a date into (year, month, day) without validating the ranges.
fn parse_date_parts(value: &str) -> Option<(i32, u32, u32)> {
    if value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            value[..4].parse().ok()?,
            value[4..6].parse().ok()?,
            value[6..].parse().ok()?,
        ));
    }
    let separator = value.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
    let parts: Vec<&str> = value.split(separator).collect();
    let [first, second, third] = parts.as_slice() else {
        return None;
    };
    if ![first, second, third]
        .iter()
        .all(|p| (1..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (a, b, c): (u32, u32, u32) = (
        first.parse().ok()?,
        second.parse().ok()?,
        third.parse().ok()?,
    );
    match (first.len(), second.len(), third.len()) {
        (4, 1..=2, 1..=2) => Some((i32::try_from(a).ok()?, b, c)),
        (1..=2, 1..=2, 4) if a > 12 => Some((i32::try_from(c).ok()?, b, a)),
        (1..=2, 1..=2, 4) => Some((i32::try_from(c).ok()?, a, b)),
        _ => None,
    }
}

fn validate_date(year: i32, month: u32, day: u32, current_year: i32) -> Result<(), PiiError> {
    if !(1900..=current_year).contains(&year) {
        return Err(PiiError::invalid(
            HashedKey::Db,
            "has a year outside 1900 to the current year",
        ));
    }
    if !(1..=12).contains(&month) {
        return Err(PiiError::invalid(
            HashedKey::Db,
            "has a month outside 1 to 12",
        ));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(PiiError::invalid(
            HashedKey::Db,
            "has a day that does not exist in its month",
        ));
    }
    Ok(())
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn normalize_state(value: &str, ctx: &NormalizeContext) -> String {
    let letters = keep_letters(value);
    let us_or_unknown = ctx.country.is_none() || ctx.country_is("us");
    match regions::us_state_code(&letters) {
        Some(code) if us_or_unknown => code.to_string(),
        _ => letters,
    }
}

fn normalize_zip(value: &str, ctx: &NormalizeContext) -> String {
    let compact: String = value
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect();
    if is_zip_plus_four(&compact) || ctx.country_is("us") {
        compact
            .chars()
            .filter(char::is_ascii_digit)
            .take(5)
            .collect()
    } else {
        compact.replace('-', "")
    }
}

fn is_zip_plus_four(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes[5] == b'-'
        && bytes[..5].iter().chain(&bytes[6..]).all(u8::is_ascii_digit)
}

fn normalize_country(value: &str) -> Result<String, PiiError> {
    let lookup_key = regions::country_lookup_key(value);
    regions::country_code(&lookup_key)
        .map(str::to_string)
        .ok_or_else(|| {
            PiiError::invalid(
                HashedKey::Country,
                "is not a recognised ISO 3166-1 country code or English country name",
            )
        })
}

mod regions;

#[cfg(test)]
mod tests;
