//! `user_data`: contact fields are normalized and SHA-256 hashed here, at the edge, so
//! raw PII never reaches storage; identifiers destinations need as sent (IP address,
//! user agent, click and browser ids) are kept apart so storage can seal them. A raw
//! phone is also hashed in E.164 with its `+`, as TikTok (and Google) hash it: Meta's
//! hash has no `+`, and a hash cannot be turned into the other.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::event::{Fields, Rejection};
use super::pii::{self, HashedKey, NormalizeContext};

/// Identifiers destinations take unhashed (`ttp` and `ttclid` are TikTok's).
pub const PLAIN_KEYS: [&str; 17] = [
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "page_id",
    "page_scoped_user_id",
    "ctwa_clid",
    "ig_account_id",
    "ig_sid",
    "whatsapp_business_account_id",
    "anon_id",
    "madid",
    "ttp",
    "ttclid",
];
const MAX_VALUES_PER_KEY: usize = 10;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserData {
    /// Hashed contact fields: a 64-hex string, or an array of them.
    pub hashed: BTreeMap<String, Value>,
    /// Unhashed identifiers, to be sealed at rest.
    pub identifiers: BTreeMap<String, String>,
    /// The same fields hashed under another destination's rules: `ph_e164` (TikTok,
    /// raw values only) and `ga4_user_data` (Google's `user_data` object).
    pub alt_hashed: BTreeMap<String, Value>,
}

impl UserData {
    pub fn is_empty(&self) -> bool {
        self.hashed.is_empty() && self.identifiers.is_empty()
    }
}

pub(super) fn parse(f: &Fields) -> Result<UserData, Rejection> {
    for key in f.obj.keys() {
        if HashedKey::from_name(key).is_none() && !PLAIN_KEYS.contains(&key.as_str()) {
            return Err(f.reject(
                key,
                "unknown_field",
                format!("{key} is not a user_data field"),
            ));
        }
    }
    let ctx = NormalizeContext {
        country: country_hint(f.obj),
    };
    let mut data = UserData::default();
    for key in HashedKey::ALL {
        if let Some(value) = f.obj.get(key.name()).filter(|v| !v.is_null())
            && let Some(hashed) = hash_member(f, key, value, &ctx)?
        {
            data.hashed.insert(key.name().to_string(), hashed);
        }
    }
    if let Some(e164) = f.obj.get("ph").and_then(|v| e164_hashes(v, &ctx)) {
        data.alt_hashed.insert("ph_e164".into(), e164);
    }
    if let Some(ga4) = super::ga4_user_data::hashes(f.obj, &ctx) {
        data.alt_hashed.insert("ga4_user_data".into(), ga4);
    }
    for key in PLAIN_KEYS {
        if let Some(value) = f.string(key, 1024)? {
            if key == "client_ip_address" && value.parse::<std::net::IpAddr>().is_err() {
                return Err(f.invalid(key, "client_ip_address must be an IPv4 or IPv6 address"));
            }
            data.identifiers.insert(key.to_string(), value.to_string());
        }
    }
    Ok(data)
}

/// Raw phone numbers hashed in E.164 with the `+` (TikTok, Google); numbers that came
/// hashed have no such form. Runs after `ph` itself was validated.
fn e164_hashes(value: &Value, ctx: &NormalizeContext) -> Option<Value> {
    let one = |raw: &str| {
        let raw = raw.trim();
        if raw.is_empty() || pii::is_sha256_hex(raw) {
            return None;
        }
        let digits = pii::normalize(HashedKey::Ph, raw, ctx).ok()?;
        Some(Value::String(pii::sha256_hex(&format!("+{digits}"))))
    };
    match value {
        Value::String(s) => one(s),
        Value::Array(items) => {
            let hashes: Vec<Value> = items.iter().filter_map(|v| one(v.as_str()?)).collect();
            (!hashes.is_empty()).then_some(Value::Array(hashes))
        }
        _ => None,
    }
}

/// The normalized country, used by phone, state and ZIP rules. A bad country is
/// reported when `country` itself is hashed, so it is ignored here.
fn country_hint(obj: &Map<String, Value>) -> Option<String> {
    let raw = match obj.get("country")? {
        Value::String(s) => s.as_str(),
        Value::Array(items) => items.first()?.as_str()?,
        _ => return None,
    };
    if pii::is_sha256_hex(raw.trim()) {
        return None;
    }
    pii::normalize(HashedKey::Country, raw, &NormalizeContext::default()).ok()
}

fn hash_member(
    f: &Fields,
    key: HashedKey,
    value: &Value,
    ctx: &NormalizeContext,
) -> Result<Option<Value>, Rejection> {
    let name = key.name();
    match value {
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => hash_one(f, name, key, s, ctx).map(|h| Some(Value::String(h))),
        Value::Array(items) if items.len() > MAX_VALUES_PER_KEY => Err(f.invalid(
            name,
            format!("{name} takes at most {MAX_VALUES_PER_KEY} values"),
        )),
        Value::Array(items) => {
            let mut hashes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("{name}[{i}]");
                let s = item
                    .as_str()
                    .ok_or_else(|| f.invalid(&path, format!("{path} must be a string")))?;
                hashes.push(Value::String(hash_one(f, &path, key, s, ctx)?));
            }
            Ok((!hashes.is_empty()).then_some(Value::Array(hashes)))
        }
        _ => Err(f.invalid(
            name,
            format!("{name} must be a string or an array of strings"),
        )),
    }
}

fn hash_one(
    f: &Fields,
    path: &str,
    key: HashedKey,
    raw: &str,
    ctx: &NormalizeContext,
) -> Result<String, Rejection> {
    if raw.len() > 512 {
        return Err(f.invalid(path, format!("{path} is too long")));
    }
    pii::hash_value(key, raw, ctx).map_err(|e| f.invalid(path, format!("{path}: {}", e.message)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(user_data: Value) -> UserData {
        let obj = user_data.as_object().unwrap().clone();
        let f = Fields {
            obj: &obj,
            path: "events[0].user_data".into(),
        };
        parse(&f).unwrap()
    }

    #[test]
    fn a_raw_phone_is_also_hashed_in_e164_with_its_plus() {
        // TikTok's published example: "(+1)2133734253" → "+12133734253".
        let data = parsed(json!({"ph": "(+1)2133734253"}));
        assert_eq!(
            data.alt_hashed["ph_e164"],
            json!("9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd")
        );
        // Meta's hash is of the digits without the `+`: a different value.
        assert_eq!(data.hashed["ph"], json!(pii::sha256_hex("12133734253")));
        assert_ne!(data.hashed["ph"], data.alt_hashed["ph_e164"]);
    }

    #[test]
    fn a_hashed_phone_has_no_e164_form_and_tiktok_ids_are_sealed_identifiers() {
        let hashed = "a".repeat(64);
        let data = parsed(
            json!({"ph": [hashed, "+44 20 7946 0000"], "ttp": "ttp-cookie", "ttclid": "E.C.P.x"}),
        );
        assert_eq!(
            data.alt_hashed["ph_e164"],
            json!([pii::sha256_hex("+442079460000")])
        );
        assert_eq!(data.identifiers["ttp"], "ttp-cookie");
        assert_eq!(data.identifiers["ttclid"], "E.C.P.x");
        let only_hashed = parsed(json!({"ph": "b".repeat(64)}));
        assert!(only_hashed.alt_hashed.is_empty());
    }
}
