//! GA4's test mode is its validation server: the same request as `/mp/collect`, with
//! the same query (`measurement_id` or `firebase_app_id`, `api_secret`), posted to
//! `/debug/mp/collect` on the global GA4 base (`KICKIN_GA4_API_BASE`): Google documents
//! no validation server on the EU host, so EU destinations are validated there too. Its
//! events never reach reports. It answers 200 with `{"validationMessages": [...]}`
//! (`fieldPath`, `description`, `validationCode`); none means GA4 would keep the event.
//! It does not check the API secret, so a test cannot prove that one right.

use serde_json::Value;

use super::body;
use super::client::{Ga4Client, Ga4Target};
use crate::destinations::StoredEvent;
use crate::destinations::test_send::{TestMessage, TestResult, answer};

pub const DEBUG_PATH: &str = "/debug/mp/collect";

impl Ga4Client {
    /// Posts the sample event to the validation server and reads its messages.
    pub async fn post_test(&self, target: &Ga4Target<'_>, event: &StoredEvent) -> TestResult {
        let (stream_key, id_key) = target.stream.keys();
        let id = target.stream.event_id(event).unwrap_or_default();
        let body = body::request(id_key, id, event.ga4_user_id.as_deref(), &[event]);
        let query = [
            (stream_key, target.stream.id()),
            ("api_secret", target.api_secret),
        ];
        let sent = self
            .http
            .post(format!("{}{DEBUG_PATH}", self.base))
            .query(&query)
            .json(&body)
            .send()
            .await;
        answer(sent, read).await
    }
}

fn validation_message(m: &Value) -> TestMessage {
    TestMessage::new(m["description"].as_str().unwrap_or("no description"))
        .code(m["validationCode"].as_str())
        .field(m["fieldPath"].as_str())
}

/// Reads the validation server's answer: ok when 2xx with no validation messages.
pub fn read(status: u16, text: &str) -> TestResult {
    let failed = |message: String| TestResult {
        ok: false,
        status: Some(status),
        messages: vec![TestMessage::new(message)],
    };
    if !(200..300).contains(&status) {
        return failed(format!("GA4's validation server answered HTTP {status}"));
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let Some(list) = body["validationMessages"].as_array() else {
        return failed("GA4's validation server answered without validationMessages".into());
    };
    let messages: Vec<TestMessage> = list.iter().map(validation_message).collect();
    TestResult {
        ok: messages.is_empty(),
        status: Some(status),
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_validation_messages_is_ok() {
        let r = read(200, r#"{"validationMessages": []}"#);
        assert!(r.ok);
        assert_eq!(r.status, Some(200));
        assert!(r.messages.is_empty());
    }

    #[test]
    fn validation_messages_are_shown_with_field_and_code() {
        let r = read(
            200,
            r#"{"validationMessages": [{"fieldPath": "events", "description":
            "Event at index: [0] has invalid name [_x].", "validationCode": "NAME_INVALID"}]}"#,
        );
        assert!(!r.ok);
        let m = &r.messages[0];
        assert_eq!(m.field.as_deref(), Some("events"));
        assert_eq!(m.code.as_deref(), Some("NAME_INVALID"));
        assert!(m.message.contains("invalid name"));
    }

    #[test]
    fn another_status_or_shape_is_not_ok() {
        assert_eq!(read(404, "").status, Some(404));
        assert!(!read(404, "").ok);
        assert!(!read(200, "{}").ok);
    }
}
