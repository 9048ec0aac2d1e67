//! Meta's test mode: the sample event goes to the pixel's `/events` edge like any
//! other, with a `test_event_code` in the body (the destination's, else
//! `FALLBACK_TEST_CODE`), so Events Manager lists it under Test Events. Meta still
//! processes test events; the sample's fresh event id keeps it apart from real ones.
//! The answer's `messages`, its error (code, subcode, message) and `fbtrace_id` are shown.

use serde_json::Value;

use super::body;
use super::client::{MetaClient, MetaTarget};
use crate::destinations::StoredEvent;
use crate::destinations::test_send::{TestMessage, TestResult, answer, test_code};

impl MetaClient {
    /// Posts the sample event in test mode and reads Meta's answer.
    pub async fn post_test(
        &self,
        target: &MetaTarget<'_>,
        event: &StoredEvent,
        now_ms: i64,
    ) -> TestResult {
        let (code, note) = test_code(target.test_event_code);
        let body = body::request(&[event], Some(code), now_ms);
        let url = format!("{}/{}/{}/events", self.base, self.version, target.pixel_id);
        let sent = self
            .http
            .post(url)
            .query(&[("access_token", target.access_token)])
            .json(&body)
            .send()
            .await;
        let mut result = answer(sent, read).await;
        result.messages.extend(note);
        result
    }
}

/// Meta's error as one message: `code[/subcode]`, its message and the user message.
fn error_message(error: &Value) -> Option<TestMessage> {
    let message = error["message"].as_str()?;
    let code = error["code"]
        .as_i64()
        .map(|c| match error["error_subcode"].as_i64() {
            Some(sub) => format!("{c}/{sub}"),
            None => c.to_string(),
        });
    let text = match error["error_user_msg"].as_str() {
        Some(user) if user != message => format!("{message} — {user}"),
        _ => message.to_string(),
    };
    Some(TestMessage::new(text).code(code))
}

/// Reads Meta's answer to a one-event test request: ok when 2xx and
/// `events_received` is 1.
pub fn read(status: u16, text: &str) -> TestResult {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let trace = body["fbtrace_id"]
        .as_str()
        .or(body["error"]["fbtrace_id"].as_str());
    let received = body["events_received"].as_u64();
    let ok = (200..300).contains(&status) && received == Some(1);
    let mut messages: Vec<TestMessage> = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| TestMessage::new(m.as_str().map_or_else(|| m.to_string(), str::to_string)))
        .collect();
    let summary = match error_message(&body["error"]) {
        Some(error) => error,
        None if ok => TestMessage::new("Meta received the test event (events_received: 1)"),
        None => TestMessage::new(format!(
            "Meta answered HTTP {status} with events_received {}",
            received.map_or("missing".to_string(), |n| n.to_string())
        )),
    };
    messages.push(summary.trace(trace));
    TestResult {
        ok,
        status: Some(status),
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_received_is_ok_with_the_trace_id() {
        let r = read(
            200,
            r#"{"events_received":1,"messages":[],"fbtrace_id":"AbC"}"#,
        );
        assert!(r.ok);
        assert_eq!(r.status, Some(200));
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].trace_id.as_deref(), Some("AbC"));
    }

    #[test]
    fn an_error_is_not_ok_and_names_code_subcode_and_messages() {
        let body = r#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException",
            "code":190,"error_subcode":460,"error_user_msg":"Log in again","fbtrace_id":"X1"}}"#;
        let r = read(400, body);
        assert!(!r.ok);
        assert_eq!(r.status, Some(400));
        let m = &r.messages[0];
        assert_eq!(m.code.as_deref(), Some("190/460"));
        assert_eq!(m.message, "Invalid OAuth access token. — Log in again");
        assert_eq!(m.trace_id.as_deref(), Some("X1"));
    }

    #[test]
    fn a_2xx_without_the_count_is_not_ok() {
        let r = read(200, "not json");
        assert!(!r.ok);
        assert!(r.messages[0].message.contains("events_received missing"));
    }
}
