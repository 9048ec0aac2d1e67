//! GA4's user-provided data (`user_data` of a Measurement Protocol request), hashed at
//! ingest with Google's normalization, which differs from Meta's: Google removes the
//! dots before the `@` of `gmail.com`/`googlemail.com` addresses, hashes phones in
//! E.164 with their `+`, and keeps the inner spaces of names. A Meta hash cannot be
//! turned into Google's, so both are computed from the raw value and only hashes are
//! stored. Values that arrive hashed pass through as given.
//! Source: developers.google.com/analytics/devguides/collection/ga4/uid-data.

use serde_json::{Map, Value, json};

use super::pii::{self, HashedKey, NormalizeContext};

/// `sha256_email_address` and `sha256_phone_number` take up to 10 values, as Kickin's
/// own `em` and `ph` do.
const MAX_VALUES: usize = 10;

/// The raw strings of a member (one or a list), blanks dropped.
fn raw_values(v: Option<&Value>) -> Vec<&str> {
    let items: Vec<&Value> = match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    (items.into_iter())
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(MAX_VALUES)
        .collect()
}

/// Google's email normalization: trimmed, lowercase, and for Gmail addresses no dots
/// before the `@`.
pub fn normalize_email(raw: &str) -> String {
    let email = raw.trim().to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain @ ("gmail.com" | "googlemail.com"))) => {
            format!("{}@{domain}", local.replace('.', ""))
        }
        _ => email,
    }
}

/// Google's name normalization: digits and symbols removed, lowercase, trimmed.
pub fn normalize_name(raw: &str) -> String {
    let kept: String = (raw.chars().flat_map(char::to_lowercase))
        .filter(|c| c.is_alphabetic() || c.is_whitespace())
        .collect();
    kept.trim().to_string()
}

/// A hash of `raw` under `normalize`, or the given hash as it came.
fn hash_with(raw: &str, normalize: impl Fn(&str) -> String) -> Option<String> {
    if pii::is_sha256_hex(raw) {
        return Some(raw.to_ascii_lowercase());
    }
    let normalized = normalize(raw);
    (!normalized.is_empty()).then(|| pii::sha256_hex(&normalized))
}

fn phone_hash(raw: &str, ctx: &NormalizeContext) -> Option<String> {
    // A number that came hashed was hashed without knowing Google's rule: not reusable.
    if pii::is_sha256_hex(raw) {
        return None;
    }
    let digits = pii::normalize(HashedKey::Ph, raw, ctx).ok()?;
    Some(pii::sha256_hex(&format!("+{digits}")))
}

/// The GA4 `user_data` object for an event's already-validated `user_data`, or `None`
/// when it has nothing GA4 takes.
pub(super) fn hashes(obj: &Map<String, Value>, ctx: &NormalizeContext) -> Option<Value> {
    let mut out = Map::new();
    let emails: Vec<String> = (raw_values(obj.get("em")).into_iter())
        .filter_map(|e| hash_with(e, normalize_email))
        .collect();
    if !emails.is_empty() {
        out.insert("sha256_email_address".into(), json!(emails));
    }
    let phones: Vec<String> = (raw_values(obj.get("ph")).into_iter())
        .filter_map(|p| phone_hash(p, ctx))
        .collect();
    if !phones.is_empty() {
        out.insert("sha256_phone_number".into(), json!(phones));
    }
    let mut address = Map::new();
    for (key, google) in [("fn", "sha256_first_name"), ("ln", "sha256_last_name")] {
        let first = raw_values(obj.get(key)).into_iter().next();
        if let Some(hash) = first.and_then(|n| hash_with(n, normalize_name)) {
            address.insert(google.into(), json!(hash));
        }
    }
    if !address.is_empty() {
        out.insert("address".into(), json!([address]));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(v: Value) -> Value {
        hashes(v.as_object().unwrap(), &NormalizeContext::default()).unwrap()
    }

    /// Google's rule (uid-data: "Remove all periods (.) that precede the domain name in
    /// gmail.com and googlemail.com email addresses"), after trimming and lowercasing.
    #[test]
    fn gmail_and_googlemail_addresses_lose_the_dots_before_the_at() {
        assert_eq!(
            normalize_email(" John.Q.Doe@Gmail.com "),
            "johnqdoe@gmail.com"
        );
        assert_eq!(normalize_email("a.b@googlemail.com"), "ab@googlemail.com");
        assert_eq!(
            normalize_email("Jane.Doe@Example.com"),
            "jane.doe@example.com"
        );
        let data = of(json!({"em": ["John.Doe@gmail.com", "Jane.Doe@Example.com"]}));
        assert_eq!(
            data["sha256_email_address"],
            json!([
                pii::sha256_hex("johndoe@gmail.com"),
                pii::sha256_hex("jane.doe@example.com")
            ])
        );
        // Meta keeps the dots: its hash of the same Gmail address differs.
        let meta = pii::hash_value(HashedKey::Em, "John.Doe@gmail.com", &Default::default());
        assert_ne!(data["sha256_email_address"][0], json!(meta.unwrap()));
    }

    /// TikTok's published email example (" ALICE_abc@gmail.com " →
    /// 848a7714…bb4f, spec §6.2) has no dots, so Google's hash is the same value.
    #[test]
    fn the_published_email_example_hashes_to_its_published_value() {
        let data = of(json!({"em": " ALICE_abc@gmail.com "}));
        assert_eq!(
            data["sha256_email_address"],
            json!(["848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"])
        );
    }

    /// uid-data: "Remove all non-digit characters, Add + prefix"; TikTok's published
    /// example "(+1)2133734253" → "+12133734253" → 9f7ec22d…2fd (spec §6.2).
    #[test]
    fn a_phone_is_hashed_in_e164_with_its_plus() {
        let data = of(json!({"ph": "(+1)2133734253"}));
        assert_eq!(
            data["sha256_phone_number"],
            json!(["9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"])
        );
        let hashed = of(json!({"ph": "c".repeat(64), "em": "D".repeat(64)}));
        assert!(
            hashed.get("sha256_phone_number").is_none(),
            "a Meta phone hash is not Google's"
        );
        assert_eq!(hashed["sha256_email_address"], json!(["d".repeat(64)]));
    }

    /// uid-data for sha256_first_name/last_name: "Remove digits and symbol characters,
    /// Lowercase, Remove leading and trailing spaces"; inner spaces stay.
    #[test]
    fn names_keep_inner_spaces_and_lose_digits_and_symbols() {
        assert_eq!(normalize_name("  Mary Ann2! "), "mary ann");
        let data = of(json!({"fn": "Mary Ann", "ln": ["O'Neil"]}));
        assert_eq!(
            data["address"],
            json!([{"sha256_first_name": pii::sha256_hex("mary ann"),
                    "sha256_last_name": pii::sha256_hex("oneil")}])
        );
        assert!(hashes(&Map::new(), &NormalizeContext::default()).is_none());
    }
}
