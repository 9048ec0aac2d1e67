//! Property suite for the event parser and the PII normalizer: 100,000 generated cases
//! each. Whatever the input, nothing panics; an invalid event is a rejection with a code
//! and the path of the field at fault; every hash is 64 lowercase hex characters.

use kickin::ingest::pii::{self, HashedKey, NormalizeContext};
use kickin::ingest::{ParseContext, ValidatedEvent};
use proptest::prelude::*;
use serde_json::{Value, json};

const CASES: u32 = 100_000;
const NOW_MS: i64 = 1_795_000_000_000;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("event_id".to_string()),
        Just("event_name".to_string()),
        Just("event_time".to_string()),
        Just("action_source".to_string()),
        Just("event_source_url".to_string()),
        Just("user_data".to_string()),
        Just("custom_data".to_string()),
        Just("ga4".to_string()),
        Just("destinations".to_string()),
        Just("em".to_string()),
        Just("ph".to_string()),
        Just("db".to_string()),
        Just("country".to_string()),
        Just("client_ip_address".to_string()),
        Just("value".to_string()),
        Just("contents".to_string()),
        Just("client_id".to_string()),
        "[a-z_]{1,10}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (NOW_MS / 1000 - 10 * 86_400..NOW_MS / 1000 + 3_600).prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("website"),
            Just("Purchase"),
            Just("https://x.test/"),
            Just("a@b.co"),
            Just("+1 555 0100")
        ]
        .prop_map(|s| json!(s)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_and_rejections_name_their_field(raw in value(), index in 0usize..1000, require in any::<bool>()) {
        let ctx = ParseContext { now_ms: NOW_MS, require_event_id: require };
        match ValidatedEvent::parse(index, &raw, &ctx) {
            Ok(event) => {
                prop_assert!(!event.event_name.is_empty());
                prop_assert!(event.event_time_ms() <= NOW_MS + 10 * 60 * 1000);
                for hashed in event.user_data.hashed.values() {
                    let all: Vec<&Value> = match hashed { Value::Array(a) => a.iter().collect(), v => vec![v] };
                    for h in all {
                        prop_assert!(h.as_str().is_some_and(pii::is_sha256_hex), "{h}");
                    }
                }
            }
            Err(rejection) => {
                prop_assert!(!rejection.code.is_empty());
                prop_assert!(!rejection.message.is_empty());
                let prefix = format!("events[{index}]");
                prop_assert!(rejection.field.starts_with(&prefix), "{} vs {}", rejection.field, prefix);
            }
        }
    }

    #[test]
    fn the_normalizer_never_panics_and_hashes_are_lowercase_hex(raw in ".{0,40}", k in 0usize..11, country in prop::option::of("[a-z]{2}")) {
        let ctx = NormalizeContext { country };
        if let Ok(hash) = pii::hash_value(HashedKey::ALL[k], &raw, &ctx) {
            prop_assert_eq!(hash.len(), 64);
            prop_assert!(hash.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
    }
}
