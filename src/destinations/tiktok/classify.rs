//! Classifying a TikTok Events API answer (§6.6). TikTok answers errors with HTTP 200 and
//! a non-zero `code` in its JSON envelope, so the code decides first; the HTTP status only
//! speaks when there is no envelope (a gateway's HTML page, a bare 429).

use serde_json::Value;

use crate::destinations::outcome::{Attempt, Outcome};
use crate::destinations::send::parse_retry_after;

/// TikTok's messages name the field at fault, never its value; long ones are cut.
const MAX_MESSAGE_CHARS: usize = 300;

/// What a TikTok code means for the events of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Delivered,
    /// 20001 PARTIAL_OK: taken, with a warning whose meaning TikTok does not document.
    PartialOk,
    Fail,
    Pause,
    /// Too many requests: the limit is the token's, so every delivery waits.
    Throttle,
    Transient,
    /// A code TikTok does not document: the HTTP status decides.
    Unlisted,
}

fn class(code: i64) -> Class {
    match code {
        0 => Class::Delivered,
        20001 => Class::PartialOk,
        40000 | 40002 | 40006 | 40007 | 40061 | 40062 | 40063 => Class::Fail,
        40001 | 40102 | 40104 | 40105 => Class::Pause,
        40100 | 40132 | 61000 => Class::Throttle,
        // 40700 is an RPC validation error on TikTok's side; the retry schedule bounds it.
        40700 | 50000 | 50002 | 51000..=51099 | 52000..=52999 | 60001 => Class::Transient,
        _ => Class::Unlisted,
    }
}

/// The outcome of an answer without a usable code, by its HTTP status alone.
fn by_status(status: u16, retry_after: Option<&str>) -> Outcome {
    match status {
        429 => Outcome::Retry {
            after: parse_retry_after(retry_after),
            whole_destination: true,
        },
        500..=599 => Outcome::Retry {
            after: parse_retry_after(retry_after),
            whole_destination: false,
        },
        _ => Outcome::Fail,
    }
}

fn envelope_code(body: &Value) -> Option<i64> {
    body.as_object()?.get("code")?.as_i64()
}

/// Classifies one answer to a request of `events` events, filling the attempt's log line.
pub fn classify(
    status: u16,
    body: &str,
    retry_after: Option<&str>,
    events: usize,
    attempt: &mut Attempt,
) -> Outcome {
    attempt.http_status = Some(i32::from(status));
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let Some(code) = envelope_code(&parsed) else {
        return without_envelope(status, retry_after, events, attempt);
    };
    attempt.destination_trace_id = parsed["request_id"].as_str().map(str::to_string);
    if code != 0 {
        attempt.error_code = Some(code.to_string());
        let message = parsed["message"].as_str().unwrap_or("no error message");
        attempt.error_message = Some(message.chars().take(MAX_MESSAGE_CHARS).collect());
    }
    match class(code) {
        Class::Delivered => Outcome::Delivered,
        Class::PartialOk => {
            tracing::warn!(
                code,
                events,
                request_id = attempt.destination_trace_id.as_deref(),
                "TikTok took the request with a partial-success warning"
            );
            Outcome::Delivered
        }
        Class::Fail => Outcome::Fail,
        Class::Pause => Outcome::Pause,
        Class::Throttle => Outcome::Retry {
            after: parse_retry_after(retry_after),
            whole_destination: true,
        },
        Class::Transient => Outcome::Retry {
            after: parse_retry_after(retry_after),
            whole_destination: false,
        },
        Class::Unlisted => by_status(status, retry_after),
    }
}

fn without_envelope(
    status: u16,
    retry_after: Option<&str>,
    events: usize,
    attempt: &mut Attempt,
) -> Outcome {
    if (200..300).contains(&status) {
        attempt.error_code = Some("anomaly".into());
        attempt.error_message = Some(format!(
            "TikTok answered HTTP {status} without its JSON envelope: \
             whether it took the {events} events is unknown"
        ));
        // It may have recorded them: only a resend TikTok deduplicates is safe.
        return Outcome::Unknown;
    }
    attempt.error_code = Some(format!("http_{status}"));
    attempt.error_message = Some(format!("TikTok answered HTTP {status} without a code"));
    by_status(status, retry_after)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn run(status: u16, body: &str) -> (Outcome, Attempt) {
        let mut attempt = Attempt::default();
        let outcome = classify(status, body, None, 3, &mut attempt);
        (outcome, attempt)
    }

    fn code(code: i64) -> Outcome {
        let body = format!(r#"{{"code":{code},"message":"m","request_id":"r","data":{{}}}}"#);
        run(200, &body).0
    }

    fn retries(outcome: &Outcome) -> bool {
        matches!(outcome, Outcome::Retry { .. })
    }

    #[test]
    fn code_zero_is_delivered_with_the_request_id_and_no_error() {
        let (outcome, attempt) = run(
            200,
            r#"{"code":0,"message":"OK","request_id":"2023X","data":{}}"#,
        );
        assert_eq!(outcome, Outcome::Delivered);
        assert_eq!(attempt.http_status, Some(200));
        assert_eq!(attempt.destination_trace_id.as_deref(), Some("2023X"));
        assert_eq!((attempt.error_code, attempt.error_message), (None, None));
    }

    #[test]
    fn partial_ok_is_delivered_and_keeps_its_code() {
        let (outcome, attempt) = run(
            200,
            r#"{"code":20001,"message":"partial","request_id":"r"}"#,
        );
        assert_eq!(outcome, Outcome::Delivered);
        assert_eq!(attempt.error_code.as_deref(), Some("20001"));
    }

    #[test]
    fn invalid_parameters_fail_with_tiktoks_message() {
        let body = r#"{"code": 40002, "message": "Invalid value for event_id: not a valid string.",
            "request_id": "202303141300390EF6F5D96D1798201C51"}"#;
        let (outcome, attempt) = run(200, body);
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(attempt.error_code.as_deref(), Some("40002"));
        assert_eq!(
            attempt.error_message.as_deref(),
            Some("Invalid value for event_id: not a valid string.")
        );
        assert_eq!(
            attempt.destination_trace_id.as_deref(),
            Some("202303141300390EF6F5D96D1798201C51")
        );
        for c in [40000, 40006, 40007, 40061, 40062, 40063] {
            assert_eq!(code(c), Outcome::Fail, "{c}");
        }
    }

    #[test]
    fn a_long_message_is_cut() {
        let body = json_body(40000, &"x".repeat(2_000));
        let (_, attempt) = run(200, &body);
        assert_eq!(attempt.error_message.unwrap().chars().count(), 300);
    }

    fn json_body(code: i64, message: &str) -> String {
        serde_json::json!({"code": code, "message": message, "request_id": "r"}).to_string()
    }

    #[test]
    fn a_refused_token_or_pixel_permission_pauses() {
        for c in [40001, 40102, 40104, 40105] {
            assert_eq!(code(c), Outcome::Pause, "{c}");
        }
    }

    #[test]
    fn throttling_retries_the_whole_destination_after_retry_after() {
        let body = json_body(40100, "Too many requests");
        let outcome = classify(200, &body, Some("30"), 1, &mut Attempt::default());
        assert_eq!(
            outcome,
            Outcome::Retry {
                after: Some(Duration::from_secs(30)),
                whole_destination: true
            }
        );
        assert!(retries(&code(40132)) && retries(&code(61000)));
    }

    #[test]
    fn system_errors_and_maintenance_retry() {
        for c in [40700, 50000, 50002, 51000, 51099, 52000, 52999, 60001] {
            assert_eq!(code(c), Outcome::retry(), "{c}");
        }
    }

    #[test]
    fn an_unknown_code_fails_unless_the_status_is_transient() {
        assert_eq!(code(40999), Outcome::Fail);
        assert_eq!(code(12345), Outcome::Fail);
        assert!(retries(&run(503, &json_body(99999, "down")).0));
    }

    #[test]
    fn http_429_and_gateway_errors_without_an_envelope_retry() {
        let outcome = classify(429, "", Some("5"), 1, &mut Attempt::default());
        assert_eq!(
            outcome,
            Outcome::Retry {
                after: Some(Duration::from_secs(5)),
                whole_destination: true
            }
        );
        let (outcome, attempt) = run(502, "<html><body>502 Bad Gateway</body></html>");
        assert_eq!(outcome, Outcome::retry());
        assert_eq!(attempt.http_status, Some(502));
        assert_eq!(attempt.error_code.as_deref(), Some("http_502"));
    }

    #[test]
    fn another_4xx_without_an_envelope_fails() {
        assert_eq!(run(404, "not found").0, Outcome::Fail);
        assert_eq!(run(400, "{}").0, Outcome::Fail);
    }

    #[test]
    fn a_2xx_without_the_envelope_is_an_unknown_outcome() {
        let (outcome, attempt) = run(200, "<html>ok</html>");
        assert_eq!(outcome, Outcome::Unknown);
        assert_eq!(attempt.error_code.as_deref(), Some("anomaly"));
        assert_eq!(run(200, r#"{"message":"OK"}"#).0, Outcome::Unknown);
        assert_eq!(run(204, "").0, Outcome::Unknown);
    }
}
