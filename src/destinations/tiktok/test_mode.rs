//! TikTok's test mode: the sample event goes to `event/track/` like any other, with a
//! top-level `test_event_code` (the destination's, else `FALLBACK_TEST_CODE`), so
//! Events Manager shows it under Test Events. TikTok answers HTTP 200 with its envelope:
//! `code` 0 is success, anything else is shown with its `message` and `request_id`.

use serde_json::Value;

use super::body;
use super::client::{TRACK_PATH, TiktokClient, TiktokTarget};
use crate::destinations::StoredEvent;
use crate::destinations::test_send::{TestMessage, TestResult, answer, test_code};

/// 20001 PARTIAL_OK: taken, with a warning (dispatch counts it delivered too).
const PARTIAL_OK: i64 = 20001;

impl TiktokClient {
    /// Posts the sample event in test mode and reads TikTok's envelope.
    pub async fn post_test(
        &self,
        target: &TiktokTarget<'_>,
        event: &StoredEvent,
        now_ms: i64,
    ) -> TestResult {
        let (code, note) = test_code(target.test_event_code);
        let body = body::request(&[event], target.pixel_code, Some(code), now_ms);
        let sent = self
            .http
            .post(format!("{}{TRACK_PATH}", self.base))
            .header("Access-Token", target.access_token)
            .json(&body)
            .send()
            .await;
        let mut result = answer(sent, read).await;
        result.messages.extend(note);
        result
    }
}

/// Reads TikTok's answer: ok when the envelope's `code` is 0 (or 20001) on a 2xx.
pub fn read(status: u16, text: &str) -> TestResult {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let Some(code) = body.as_object().and_then(|o| o.get("code")?.as_i64()) else {
        return TestResult {
            ok: false,
            status: Some(status),
            messages: vec![TestMessage::new(format!(
                "TikTok answered HTTP {status} without its JSON envelope"
            ))],
        };
    };
    let message = body["message"].as_str().unwrap_or("no message");
    TestResult {
        ok: (200..300).contains(&status) && (code == 0 || code == PARTIAL_OK),
        status: Some(status),
        messages: vec![
            TestMessage::new(message)
                .code(Some(code.to_string()))
                .trace(body["request_id"].as_str()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_zero_is_ok_and_any_other_code_is_shown() {
        let ok = read(
            200,
            r#"{"code":0,"message":"OK","request_id":"R1","data":{}}"#,
        );
        assert!(ok.ok);
        assert_eq!(ok.messages[0].code.as_deref(), Some("0"));
        assert_eq!(ok.messages[0].trace_id.as_deref(), Some("R1"));
        let refused = read(
            200,
            r#"{"code":40105,"message":"Access token is incorrect or has been revoked."}"#,
        );
        assert!(!refused.ok);
        assert_eq!(refused.status, Some(200));
        assert_eq!(refused.messages[0].code.as_deref(), Some("40105"));
    }

    #[test]
    fn a_gateway_page_is_not_ok() {
        let r = read(502, "<html>502 Bad Gateway</html>");
        assert!(!r.ok);
        assert_eq!(r.status, Some(502));
    }
}
