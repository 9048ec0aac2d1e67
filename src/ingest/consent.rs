//! The event's `consent`: the visitor's choice for `ad_user_data` and
//! `ad_personalization` (`granted` or `denied`, each optional). GA4 receives it as its
//! request-level `consent`; under the tenant policy `enforce`, advertising destinations
//! take only events whose `ad_user_data` is granted (see `decide`).

use serde_json::{Map, Value, json};

use super::event::{Fields, Rejection};

const MEMBERS: [&str; 2] = ["ad_user_data", "ad_personalization"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Granted,
    Denied,
}

impl Choice {
    fn parse(s: &str) -> Option<Choice> {
        match s {
            "granted" => Some(Choice::Granted),
            "denied" => Some(Choice::Denied),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Choice::Granted => "granted",
            Choice::Denied => "denied",
        }
    }
}

/// What the visitor chose; a member not given is `None` (no choice known).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consent {
    pub ad_user_data: Option<Choice>,
    pub ad_personalization: Option<Choice>,
}

impl Consent {
    /// Whether the visitor agreed to their data being used for ads: only an explicit
    /// `granted` counts (no consent given counts as none).
    pub fn ad_user_data_granted(&self) -> bool {
        self.ad_user_data == Some(Choice::Granted)
    }

    pub fn is_empty(&self) -> bool {
        self.ad_user_data.is_none() && self.ad_personalization.is_none()
    }

    /// The stored form: `{"ad_user_data": "granted", …}` with the members given.
    pub fn to_json(self) -> Value {
        let mut out = Map::new();
        for (name, choice) in MEMBERS
            .iter()
            .zip([self.ad_user_data, self.ad_personalization])
        {
            if let Some(c) = choice {
                out.insert((*name).into(), json!(c.as_str()));
            }
        }
        Value::Object(out)
    }
}

pub(super) fn parse(f: &Fields) -> Result<Consent, Rejection> {
    if let Some(unknown) = f.obj.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        let message =
            format!("{unknown} is not a consent field (ad_user_data, ad_personalization)");
        return Err(f.reject(unknown, "unknown_field", message));
    }
    let choice = |name: &str| match f.obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if Choice::parse(s).is_some() => Ok(Choice::parse(s)),
        Some(_) => Err(f.invalid(name, format!("{name} must be \"granted\" or \"denied\""))),
    };
    Ok(Consent {
        ad_user_data: choice("ad_user_data")?,
        ad_personalization: choice("ad_personalization")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: Value) -> Result<Consent, Rejection> {
        let obj = v.as_object().unwrap().clone();
        let f = Fields {
            obj: &obj,
            path: "events[2].consent".into(),
        };
        parse(&f)
    }

    #[test]
    fn both_choices_are_read_and_stored_as_given() {
        let c = parsed(json!({"ad_user_data": "granted", "ad_personalization": "denied"})).unwrap();
        assert!(c.ad_user_data_granted());
        assert_eq!(c.ad_personalization, Some(Choice::Denied));
        assert_eq!(
            c.to_json(),
            json!({"ad_user_data": "granted", "ad_personalization": "denied"})
        );
    }

    #[test]
    fn a_missing_ad_user_data_is_not_a_grant() {
        let c = parsed(json!({"ad_personalization": "granted"})).unwrap();
        assert!(!c.ad_user_data_granted());
        assert_eq!(c.to_json(), json!({"ad_personalization": "granted"}));
        assert!(!Consent::default().ad_user_data_granted());
    }

    #[test]
    fn a_bad_value_or_an_unknown_member_names_the_field() {
        let upper = parsed(json!({"ad_user_data": "GRANTED"})).unwrap_err();
        assert_eq!(upper.field, "events[2].consent.ad_user_data");
        assert_eq!(upper.code, "invalid_field");
        let number = parsed(json!({"ad_personalization": 1})).unwrap_err();
        assert_eq!(number.field, "events[2].consent.ad_personalization");
        let unknown = parsed(json!({"analytics_storage": "granted"})).unwrap_err();
        assert_eq!(unknown.field, "events[2].consent.analytics_storage");
        assert_eq!(unknown.code, "unknown_field");
    }
}
