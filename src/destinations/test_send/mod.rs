//! "Send test event": one sample Purchase sent to a destination in its test mode — Meta
//! and TikTok with a `test_event_code`, GA4 to its validation server — and the answer as
//! `{ok, status, messages}`. A test send is never deduplicated, stored, queued, metered
//! or held against a plan limit: nothing here touches the database. Each kind's module
//! sends it and reads its answer (`Sender::send_test`); `TestSends` rate-limits and runs.

mod sample;
mod service;

use serde::Serialize;

pub use sample::{SAMPLE_EMAIL, SAMPLE_USER_AGENT, sample_event};
pub use service::{PER_DESTINATION_PER_MINUTE, TestSends, audit_change};

use super::send::describe_transport;

/// The code sent when the destination has none. Meta and TikTok then still take the
/// request as a test, but their Test Events views list an event only under the code
/// they show for the pixel: set the destination's `test_event_code` to that one.
pub const FALLBACK_TEST_CODE: &str = "KICKINTEST";
/// Destination messages are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// One line of a destination's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TestMessage {
    /// The destination's code (Meta's error `code[/error_subcode]`, GA4's
    /// `validationCode`, TikTok's `code`) or Kickin's (`connect`, `timeout`, `network`,
    /// `no_test_event_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    /// GA4's `fieldPath`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Meta's `fbtrace_id`, TikTok's `request_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl TestMessage {
    pub fn new(message: impl Into<String>) -> Self {
        TestMessage {
            message: message.into().chars().take(MAX_MESSAGE_CHARS).collect(),
            ..TestMessage::default()
        }
    }

    pub fn code(mut self, code: Option<impl Into<String>>) -> Self {
        self.code = code.map(Into::into);
        self
    }

    pub fn field(mut self, field: Option<impl Into<String>>) -> Self {
        self.field = field.map(Into::into);
        self
    }

    pub fn trace(mut self, trace_id: Option<impl Into<String>>) -> Self {
        self.trace_id = trace_id.map(Into::into);
        self
    }

    /// One line as people read it: `code · field: message (trace id)`.
    pub fn line(&self) -> String {
        let mut out = String::new();
        for part in [&self.code, &self.field].into_iter().flatten() {
            out.push_str(part);
            out.push_str(" · ");
        }
        out.push_str(&self.message);
        if let Some(trace) = &self.trace_id {
            out.push_str(&format!(" (trace {trace})"));
        }
        out
    }
}

/// What a test send came to. Always answered with HTTP 200: a destination's refusal or
/// an unreachable destination is `ok: false`, never an error of Kickin's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    /// The destination took the sample event (GA4: its validation server found nothing).
    pub ok: bool,
    /// The destination's HTTP status; `null` when no answer came (connection refused,
    /// timeout, connection lost).
    pub status: Option<u16>,
    pub messages: Vec<TestMessage>,
}

impl TestResult {
    /// No (complete) answer: the failure named, `status` as far as it came.
    pub fn transport(err: &reqwest::Error, status: Option<u16>) -> Self {
        let (code, _, message) = describe_transport(err);
        TestResult {
            ok: false,
            status,
            messages: vec![TestMessage::new(message).code(Some(code))],
        }
    }
}

/// Reads a sent request's answer with `read(status, body)`, or names the transport
/// failure when none (or only part of one) came.
pub async fn answer(
    sent: Result<reqwest::Response, reqwest::Error>,
    read: impl FnOnce(u16, &str) -> TestResult,
) -> TestResult {
    let response = match sent {
        Ok(response) => response,
        Err(err) => return TestResult::transport(&err, None),
    };
    let status = response.status().as_u16();
    match response.text().await {
        Ok(text) => read(status, &text),
        Err(err) => TestResult::transport(&err, Some(status)),
    }
}

/// The `test_event_code` a test send carries: the destination's, else
/// `FALLBACK_TEST_CODE` with a message saying so.
pub fn test_code(configured: Option<&str>) -> (&str, Option<TestMessage>) {
    match configured {
        Some(code) => (code, None),
        None => (
            FALLBACK_TEST_CODE,
            Some(
                TestMessage::new(format!(
                    "the destination has no test_event_code: sent with {FALLBACK_TEST_CODE}; \
                     set the code your Events Manager shows to see the event under Test Events"
                ))
                .code(Some("no_test_event_code")),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_line_names_code_field_and_trace() {
        let m = TestMessage::new("bad name")
            .code(Some("NAME_INVALID"))
            .field(Some("events"))
            .trace(Some("AbC"));
        assert_eq!(m.line(), "NAME_INVALID · events · bad name (trace AbC)");
        assert_eq!(TestMessage::new("x".repeat(900)).message.len(), 500);
    }

    #[test]
    fn the_destinations_code_is_used_and_the_fallback_is_explained() {
        assert_eq!(test_code(Some("TEST123")), ("TEST123", None));
        let (code, note) = test_code(None);
        assert_eq!(code, FALLBACK_TEST_CODE);
        assert_eq!(note.unwrap().code.as_deref(), Some("no_test_event_code"));
    }
}
