//! Classifying a Meta CAPI answer (spec §3.1): success only when 2xx and
//! `events_received` equals the batch size; error codes before HTTP status.

use std::time::Duration;

use serde_json::Value;

use crate::destinations::outcome::{Attempt, Outcome};
use crate::destinations::send::parse_retry_after;

const RATE_LIMIT_CODES: [i64; 8] = [1, 2, 4, 17, 32, 341, 368, 613];
const AUTH_CODES: [i64; 2] = [190, 102];

/// The parts of an HTTP answer classification needs.
pub struct Answer<'a> {
    pub status: u16,
    pub body: &'a str,
    pub retry_after: Option<&'a str>,
    pub business_usage: Option<&'a str>,
}

fn is_permission(code: i64) -> bool {
    code == 10 || (200..=299).contains(&code)
}

fn is_throttle(code: i64) -> bool {
    RATE_LIMIT_CODES.contains(&code) || (80000..=80014).contains(&code)
}

/// Minutes Meta says the whole pixel/token must wait (`estimated_time_to_regain_access`).
fn regain_wait(business_usage: Option<&str>) -> Option<Duration> {
    let usage: Value = serde_json::from_str(business_usage?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| entry["estimated_time_to_regain_access"].as_u64())
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

/// Classifies one answer for a batch of `batch_size` events.
pub fn classify(answer: &Answer, batch_size: usize, attempt: &mut Attempt) -> Outcome {
    attempt.http_status = Some(i32::from(answer.status));
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    if let Some(trace) = body["fbtrace_id"]
        .as_str()
        .or(body["error"]["fbtrace_id"].as_str())
    {
        attempt.destination_trace_id = Some(trace.to_string());
    }
    if (200..300).contains(&answer.status) {
        return match body["events_received"].as_u64() {
            Some(n) if n as usize == batch_size => Outcome::Delivered,
            received => {
                attempt.error_code = Some("anomaly".into());
                attempt.error_message = Some(format!(
                    "Meta acknowledged {received:?} of {batch_size} events"
                ));
                // Meta may have recorded some of them: a resend is only safe where Meta
                // deduplicates it (same event_id within its window), which the queue decides.
                Outcome::Unknown
            }
        };
    }
    let error = &body["error"];
    let code = error["code"].as_i64();
    attempt.error_code = code.map(|c| match error["error_subcode"].as_i64() {
        Some(sub) => format!("{c}/{sub}"),
        None => c.to_string(),
    });
    attempt.error_message = Some(
        error["error_user_msg"]
            .as_str()
            .or(error["message"].as_str())
            .unwrap_or("no error message")
            .chars()
            .take(500)
            .collect(),
    );
    let server_wait = parse_retry_after(answer.retry_after);
    match code {
        Some(c) if AUTH_CODES.contains(&c) || is_permission(c) => Outcome::Pause,
        Some(c) if is_throttle(c) => {
            let regain = regain_wait(answer.business_usage);
            Outcome::Retry {
                after: regain.or(server_wait),
                whole_destination: regain.is_some(),
            }
        }
        _ if error["is_transient"].as_bool() == Some(true) => Outcome::Retry {
            after: server_wait,
            whole_destination: false,
        },
        _ if answer.status >= 500 || answer.status == 429 => Outcome::Retry {
            after: server_wait,
            whole_destination: false,
        },
        _ => Outcome::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: u16, body: &str, usage: Option<&str>) -> Outcome {
        let answer = Answer {
            status,
            body,
            retry_after: None,
            business_usage: usage,
        };
        classify(&answer, 2, &mut Attempt::default())
    }

    #[test]
    fn success_needs_every_event_received_and_a_partial_count_is_an_unknown_outcome() {
        assert_eq!(
            run(200, r#"{"events_received":2,"fbtrace_id":"x"}"#, None),
            Outcome::Delivered
        );
        assert_eq!(run(200, r#"{"events_received":1}"#, None), Outcome::Unknown);
        assert_eq!(run(200, "not json", None), Outcome::Unknown);
    }

    #[test]
    fn invalid_tokens_and_permissions_pause() {
        assert_eq!(
            run(
                400,
                r#"{"error":{"code":190,"type":"OAuthException"}}"#,
                None
            ),
            Outcome::Pause
        );
        assert_eq!(run(400, r#"{"error":{"code":102}}"#, None), Outcome::Pause);
        assert_eq!(run(403, r#"{"error":{"code":200}}"#, None), Outcome::Pause);
    }

    #[test]
    fn bad_payloads_fail_even_when_typed_oauth() {
        assert_eq!(
            run(
                400,
                r#"{"error":{"code":100,"type":"OAuthException","is_transient":false}}"#,
                None
            ),
            Outcome::Fail
        );
        assert_eq!(run(404, "", None), Outcome::Fail);
    }

    #[test]
    fn transient_errors_and_throttling_retry() {
        assert!(matches!(
            run(500, r#"{"error":{"code":2,"is_transient":true}}"#, None),
            Outcome::Retry { .. }
        ));
        assert!(matches!(run(503, "", None), Outcome::Retry { .. }));
        assert!(matches!(run(429, "", None), Outcome::Retry { .. }));
        assert!(matches!(
            run(400, r#"{"error":{"code":999,"is_transient":true}}"#, None),
            Outcome::Retry { .. }
        ));
        let usage = r#"{"123":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":3}]}"#;
        assert_eq!(
            run(400, r#"{"error":{"code":80004}}"#, Some(usage)),
            Outcome::Retry {
                after: Some(Duration::from_secs(180)),
                whole_destination: true
            }
        );
        assert_eq!(
            run(400, r#"{"error":{"code":17}}"#, None),
            Outcome::Retry {
                after: None,
                whole_destination: false
            }
        );
    }
}
