//! What Meta refuses an event for beyond its own shape (spec §1.3–1.4), decided at
//! ingest so such an event is skipped for Meta with a reason instead of failing later:
//! too little customer information to match, a website event without the browser's
//! user agent, an app event without its `app_data`, a business-messaging event without
//! its channel's ids.

use serde_json::Value;

use super::body::NOT_META;
use crate::destinations::spec::EventFacts;

/// `messaging_channel` values, with the `user_data` ids Meta needs for each.
pub const MESSAGING_CHANNELS: [(&str, [&str; 2]); 3] = [
    ("whatsapp", ["whatsapp_business_account_id", "ctwa_clid"]),
    ("messenger", ["page_id", "page_scoped_user_id"]),
    ("instagram", ["ig_account_id", "ig_sid"]),
];
/// What an app event's `app_data` must hold.
const APP_REQUIRED: [&str; 3] = [
    "advertiser_tracking_enabled",
    "application_tracking_enabled",
    "extinfo",
];
/// Meta's minimum matching rule (Graph v13+): customer information made only of one of
/// these sets, or of part of one, cannot be matched.
const TOO_LITTLE: [&[&str]; 4] = [
    &["ct", "country", "st", "zp", "ge", "client_user_agent"],
    &["db", "client_user_agent"],
    &["fn", "ge"],
    &["ln", "ge"],
];

/// The reason Meta cannot take the event, if any.
pub fn missing(event: &EventFacts) -> Option<&'static str> {
    if insufficient(event) {
        return Some("insufficient_user_data");
    }
    let has = |key: &str| event.identifiers.contains_key(key);
    match event.action_source {
        "website" if !has("client_user_agent") => Some("missing_client_user_agent"),
        "app" => {
            let app = event.extra.get("app_data");
            let complete = app.is_some_and(|a| APP_REQUIRED.iter().all(|k| a.get(k).is_some()));
            (!complete).then_some("missing_app_data")
        }
        "business_messaging" => {
            let channel = event.extra.get("messaging_channel").and_then(Value::as_str);
            match MESSAGING_CHANNELS.iter().find(|(c, _)| Some(*c) == channel) {
                None => Some("missing_messaging_channel"),
                Some((_, ids)) if ids.iter().all(|k| has(k)) => None,
                Some(_) => Some("missing_messaging_ids"),
            }
        }
        _ => None,
    }
}

/// True when what Meta would receive of the customer information falls under its
/// minimum matching rule (an empty set included).
fn insufficient(event: &EventFacts) -> bool {
    let keys: Vec<&str> = (event.hashed.keys())
        .chain(event.identifiers.keys())
        .map(String::as_str)
        .filter(|k| !NOT_META.contains(k))
        .collect();
    keys.is_empty()
        || TOO_LITTLE
            .iter()
            .any(|set| keys.iter().all(|k| set.contains(k)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    struct Event {
        hashed: BTreeMap<String, Value>,
        identifiers: BTreeMap<String, String>,
        extra: BTreeMap<String, Value>,
    }

    impl Event {
        fn new(hashed: &[&str], identifiers: &[&str], extra: Value) -> Event {
            Event {
                hashed: hashed.iter().map(|k| (k.to_string(), json!("h"))).collect(),
                identifiers: identifiers
                    .iter()
                    .map(|k| (k.to_string(), "v".into()))
                    .collect(),
                extra: serde_json::from_value(extra).unwrap(),
            }
        }
        fn missing(&self, source: &str) -> Option<&'static str> {
            missing(&EventFacts {
                event_name: "Purchase",
                action_source: source,
                has_user_data: true,
                has_ga4_client_id: false,
                has_ga4_app_instance_id: false,
                hashed: &self.hashed,
                identifiers: &self.identifiers,
                extra: &self.extra,
            })
        }
    }

    #[test]
    fn customer_information_under_metas_minimum_is_insufficient() {
        let weak = Event::new(&["fn", "ge"], &[], json!({}));
        assert_eq!(weak.missing("phone_call"), Some("insufficient_user_data"));
        let ua_only = Event::new(&["db"], &["client_user_agent"], json!({}));
        assert_eq!(ua_only.missing("website"), Some("insufficient_user_data"));
        let tiktok_only = Event::new(&[], &["ttp"], json!({}));
        assert_eq!(
            tiktok_only.missing("website"),
            Some("insufficient_user_data")
        );
        let email = Event::new(&["em", "ge"], &[], json!({}));
        assert_eq!(email.missing("physical_store"), None);
    }

    #[test]
    fn a_website_event_needs_the_user_agent() {
        assert_eq!(
            Event::new(&["em"], &[], json!({})).missing("website"),
            Some("missing_client_user_agent")
        );
        assert_eq!(
            Event::new(&["em"], &["client_user_agent"], json!({})).missing("website"),
            None
        );
    }

    #[test]
    fn an_app_event_needs_its_app_data() {
        let none = Event::new(&["em"], &[], json!({}));
        assert_eq!(none.missing("app"), Some("missing_app_data"));
        let partial = Event::new(
            &["em"],
            &[],
            json!({"app_data": {"advertiser_tracking_enabled": true}}),
        );
        assert_eq!(partial.missing("app"), Some("missing_app_data"));
        let full = json!({"app_data": {"advertiser_tracking_enabled": true,
            "application_tracking_enabled": false, "extinfo": ["a2"]}});
        assert_eq!(Event::new(&["em"], &[], full).missing("app"), None);
    }

    #[test]
    fn a_business_messaging_event_needs_its_channel_and_the_channels_ids() {
        let whatsapp = json!({"messaging_channel": "whatsapp"});
        let ids = ["whatsapp_business_account_id", "ctwa_clid"];
        assert_eq!(
            Event::new(&["ph"], &ids, whatsapp.clone()).missing("business_messaging"),
            None
        );
        assert_eq!(
            Event::new(&["ph"], &["ctwa_clid"], whatsapp).missing("business_messaging"),
            Some("missing_messaging_ids")
        );
        assert_eq!(
            Event::new(&["ph"], &ids, json!({})).missing("business_messaging"),
            Some("missing_messaging_channel")
        );
        let messenger = json!({"messaging_channel": "messenger"});
        let page = ["page_id", "page_scoped_user_id"];
        assert_eq!(
            Event::new(&[], &page, messenger).missing("business_messaging"),
            None
        );
    }
}
