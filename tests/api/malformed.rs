//! Bad input: whatever the body, the answer is a 4xx JSON error, never a 500, and
//! nothing is written.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

use crate::db_tests;
use crate::support::{Backend, spawn};

db_tests!(
    malformed_bodies_get_a_4xx_json_error,
    random_events_are_rejected_one_by_one_with_a_field,
    oversize_bodies_and_batches_are_refused,
);

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("event_name"),
            Just("event_time"),
            Just("user_data"),
            Just("em")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("event_name".to_string()),
                    Just("event_time".to_string()),
                    Just("event_id".to_string()),
                    Just("user_data".to_string()),
                    Just("em".to_string()),
                    Just("ga4".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("sample").current())
        .collect()
}

async fn malformed_bodies_get_a_4xx_json_error(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let mut bodies: Vec<Vec<u8>> = samples(prop::collection::vec(any::<u8>(), 0..200), 60);
    bodies.extend(
        samples(json_value(), 60)
            .into_iter()
            .filter(|v| v.get("events").is_none())
            .map(|v| v.to_string().into_bytes()),
    );
    for fixed in [
        "",
        "{",
        "{\"events\": 5}",
        "{\"events\": []}",
        "[]",
        "null",
        "{\"events\": {}}",
    ] {
        bodies.push(fixed.as_bytes().to_vec());
    }
    for body in bodies {
        let (status, answer) = app.post_raw(&tenant.key, body.clone()).await;
        assert!(
            (400..500).contains(&status),
            "{status} for {:?}",
            String::from_utf8_lossy(&body)
        );
        let code = answer["error"]["code"].as_str().unwrap_or_default();
        assert!(
            !code.is_empty(),
            "no error code for {:?}: {answer}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(app.count_rows("events", &tenant.id).await, 0);
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, 200, "the server is still up");
}

async fn random_events_are_rejected_one_by_one_with_a_field(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    for events in samples(prop::collection::vec(json_value(), 1..8), 40) {
        let n = events.len();
        let (status, body) = app
            .post_json("/v1/events", Some(&tenant.key), json!({"events": events}))
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["rejected"], n);
        for result in body["results"].as_array().unwrap() {
            let field = result["error"]["field"].as_str().unwrap();
            assert!(
                field.starts_with(&format!("events[{}]", result["index"])),
                "{result}"
            );
        }
    }
    assert_eq!(app.count_rows("events", &tenant.id).await, 0);
}

async fn oversize_bodies_and_batches_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let tenant = app.create_tenant(json!({})).await;
    app.add_meta(&tenant).await;
    let huge = format!(
        "{{\"events\": [{{\"event_name\": \"{}\"}}]}}",
        "x".repeat(1_100_000)
    );
    let (status, body) = app.post_raw(&tenant.key, huge.into_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let events: Vec<Value> = (0..1001)
        .map(|i| json!({"event_id": i.to_string()}))
        .collect();
    let (status, body) = app
        .post_json("/v1/events", Some(&tenant.key), json!({"events": events}))
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "too_many_events");
    assert_eq!(body["error"]["field"], "events");
}
