//! The TikTok client and request body against the TikTok mock: what is delivered, what
//! pauses, what is retried, how one bad event is isolated, and that the mock refuses
//! what TikTok refuses. No database is involved.

use std::time::Duration;

use kickin::clock::{Clock, MS_PER_HOUR};
use kickin::destinations::StoredEvent;
use kickin::destinations::outcome::{self, Attempt, Outcome};
use kickin::destinations::send::{Budget, http_client};
use kickin::destinations::tiktok::body;
use kickin::destinations::tiktok::classify::classify;
use kickin::destinations::tiktok::client::{TiktokClient, TiktokTarget};
use kickin::ingest::pii::sha256_hex;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::mocks::tiktok::{PIXEL, TOKEN, TiktokFault, TiktokMock};

fn stored(id: &str, clock: &Clock) -> StoredEvent {
    StoredEvent {
        event_id: id.into(),
        event_name: "Purchase".into(),
        event_time_ms: clock.now_ms() - 60_000,
        payload: json!({
            "action_source": "website",
            "event_source_url": "https://shop.test/thanks",
            "user_data": {"em": sha256_hex("alice_abc@gmail.com"), "ph": sha256_hex("12133734253"),
                "external_id": sha256_hex("user_123"), "ct": sha256_hex("paris")},
            "alt_hashes": {"ph_e164": sha256_hex("+12133734253")},
            "custom_data": {"value": 42.5, "currency": "eur", "order_id": id,
                "contents": [{"id": "sku-1", "quantity": 1, "item_price": 42.5}]}
        }),
        identifiers: json!({"client_ip_address": "203.0.113.7", "client_user_agent": "UA",
            "ttp": "ttp-1", "ttclid": "click-1"})
        .as_object()
        .cloned()
        .unwrap(),
        ga4_client_id: None,
        ga4_user_id: None,
        ga4_app_instance_id: None,
        ga4_ip_override: None,
        trace_context: None,
    }
}

fn client(base: String) -> TiktokClient {
    TiktokClient {
        http: http_client(Duration::from_secs(5)),
        base,
    }
}

fn target<'a>(token: &'a str, test_event_code: Option<&'a str>) -> TiktokTarget<'a> {
    TiktokTarget {
        pixel_code: PIXEL,
        access_token: token,
        test_event_code,
    }
}

/// Sends `events` with a budget of a minute and the given token.
async fn send(
    client: &TiktokClient,
    token: &str,
    clock: &Clock,
    events: &[StoredEvent],
) -> Vec<(Uuid, outcome::Result)> {
    let pairs: Vec<(Uuid, &StoredEvent)> = events.iter().map(|e| (Uuid::now_v7(), e)).collect();
    let budget = Budget {
        clock,
        deadline_ms: clock.now_ms() + 60_000,
    };
    client.send(&target(token, None), &pairs, &budget).await
}

async fn send_one(mock: &TiktokMock, token: &str) -> outcome::Result {
    let clock = Clock::system();
    let results = send(&client(mock.uri()), token, &clock, &[stored("e-1", &clock)]).await;
    results.into_iter().next().unwrap().1
}

#[tokio::test]
async fn a_good_batch_is_delivered_once_and_recorded_with_tiktoks_hashes() {
    let mock = TiktokMock::start().await;
    let clock = Clock::system();
    let events: Vec<StoredEvent> = ["a", "b", "c"].map(|id| stored(id, &clock)).into();
    let pairs: Vec<(Uuid, &StoredEvent)> = events.iter().map(|e| (Uuid::now_v7(), e)).collect();
    let budget = Budget {
        clock: &clock,
        deadline_ms: clock.now_ms() + 60_000,
    };
    let results = client(mock.uri())
        .send(&target(TOKEN, Some("TEST42")), &pairs, &budget)
        .await;
    assert!(results.iter().all(|(_, r)| r.outcome == Outcome::Delivered));
    assert!(results[0].1.attempt.destination_trace_id.is_some());
    assert_eq!((mock.request_count(), mock.missing_slash_count()), (1, 0));
    let received = mock.received();
    assert_eq!(received.len(), 3);
    let first = &received[0];
    assert_eq!(first.pixel_code, PIXEL);
    assert_eq!(first.test_event_code.as_deref(), Some("TEST42"));
    assert_eq!((first.event.as_str(), first.duplicate), ("Purchase", false));
    let user = &first.data["user"];
    assert_eq!(user["email"], sha256_hex("alice_abc@gmail.com"));
    assert_eq!(user["phone"], sha256_hex("+12133734253"), "E.164 with '+'");
    assert_eq!(user["ttclid"], "click-1");
    assert!(user.get("city").is_none());
    assert_eq!(first.data["properties"]["currency"], "EUR");
}

#[tokio::test]
async fn a_bad_event_in_a_batch_is_isolated_by_splitting() {
    let mock = TiktokMock::start().await;
    let clock = Clock::system();
    let mut events: Vec<StoredEvent> = ["a", "b", "c", "d"].map(|id| stored(id, &clock)).into();
    events[2].payload["custom_data"]["currency"] = json!("ZZZ");
    let results = send(&client(mock.uri()), TOKEN, &clock, &events).await;
    let outcomes: Vec<&Outcome> = results.iter().map(|(_, r)| &r.outcome).collect();
    let delivered = Outcome::Delivered;
    assert_eq!(
        outcomes,
        [&delivered, &delivered, &Outcome::Fail, &delivered]
    );
    assert_eq!(results[2].1.attempt.error_code.as_deref(), Some("40002"));
    let message = results[2].1.attempt.error_message.clone().unwrap();
    assert!(message.contains("currency"), "{message}");
    let mut ids: Vec<String> = mock
        .received()
        .into_iter()
        .filter_map(|e| e.event_id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "d"]);
    assert_eq!(
        mock.request_count(),
        5,
        "whole, two halves, then the failing half's two"
    );
}

#[tokio::test]
async fn halves_not_tried_before_the_budget_runs_out_are_deferred() {
    let mock = TiktokMock::start().await;
    let clock = Clock::system();
    let mut events: Vec<StoredEvent> = ["a", "b"].map(|id| stored(id, &clock)).into();
    events[1].payload["custom_data"]["currency"] = json!("ZZZ");
    let pairs: Vec<(Uuid, &StoredEvent)> = events.iter().map(|e| (Uuid::now_v7(), e)).collect();
    let spent = Budget {
        clock: &clock,
        deadline_ms: clock.now_ms() - 1,
    };
    let results = client(mock.uri())
        .send(&target(TOKEN, None), &pairs, &spent)
        .await;
    assert!(results.iter().all(|(_, r)| r.outcome == Outcome::Deferred));
    assert_eq!(mock.request_count(), 1, "only the first request goes");
}

#[tokio::test]
async fn refused_or_unknown_tokens_pause_the_destination() {
    let mock = TiktokMock::start().await;
    mock.add_token("other-token", &["CANOTHERPIXEL"]);
    for (token, code) in [("nope", "40105"), ("other-token", "40001"), ("", "40104")] {
        let result = send_one(&mock, token).await;
        assert_eq!(result.outcome, Outcome::Pause, "{token:?}");
        assert_eq!(
            result.attempt.error_code.as_deref(),
            Some(code),
            "{token:?}"
        );
    }
    mock.fail_next(PIXEL, TiktokFault::InvalidToken, 1);
    mock.fail_next(PIXEL, TiktokFault::Expired, 1);
    for code in ["40105", "40102"] {
        let result = send_one(&mock, TOKEN).await;
        assert_eq!(result.outcome, Outcome::Pause);
        assert_eq!(result.attempt.error_code.as_deref(), Some(code));
    }
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn throttling_is_retried_for_the_whole_destination_after_retry_after() {
    let mock = TiktokMock::start().await;
    for http_429 in [false, true] {
        let fault = TiktokFault::RateLimit {
            http_429,
            retry_after_secs: Some(7),
        };
        mock.fail_next(PIXEL, fault, 1);
        let result = send_one(&mock, TOKEN).await;
        let expected = Outcome::Retry {
            after: Some(Duration::from_secs(7)),
            whole_destination: true,
        };
        assert_eq!(result.outcome, expected, "429: {http_429}");
        let status = if http_429 { 429 } else { 200 };
        assert_eq!(result.attempt.http_status, Some(status));
    }
    assert_eq!(send_one(&mock, TOKEN).await.outcome, Outcome::Delivered);
}

#[tokio::test]
async fn system_errors_and_a_gateways_html_page_are_retried() {
    let mock = TiktokMock::start().await;
    mock.fail_next(PIXEL, TiktokFault::ServerError(50002), 1);
    mock.fail_next(PIXEL, TiktokFault::BadGateway, 1);
    let result = send_one(&mock, TOKEN).await;
    assert_eq!(result.outcome, Outcome::retry());
    assert_eq!(result.attempt.error_code.as_deref(), Some("50002"));
    let result = send_one(&mock, TOKEN).await;
    assert_eq!(result.outcome, Outcome::retry());
    assert_eq!(result.attempt.http_status, Some(502));
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn partial_ok_is_delivered_and_an_armed_event_id_is_refused() {
    let mock = TiktokMock::start().await;
    mock.fail_next(PIXEL, TiktokFault::PartialOk, 1);
    let result = send_one(&mock, TOKEN).await;
    assert_eq!(result.outcome, Outcome::Delivered);
    assert_eq!(result.attempt.error_code.as_deref(), Some("20001"));
    assert_eq!(mock.received().len(), 1);
    mock.fail_next(PIXEL, TiktokFault::RejectEventId("e-1".into()), 1);
    assert_eq!(send_one(&mock, TOKEN).await.outcome, Outcome::Fail);
}

#[tokio::test]
async fn a_slow_answer_past_the_send_timeout_is_an_unknown_outcome() {
    let mock = TiktokMock::start().await;
    mock.fail_next(PIXEL, TiktokFault::Latency(Duration::from_secs(5)), 1);
    let clock = Clock::system();
    let slow = TiktokClient {
        http: http_client(Duration::from_millis(200)),
        base: mock.uri(),
    };
    let results = send(&slow, TOKEN, &clock, &[stored("e-1", &clock)]).await;
    assert_eq!(results[0].1.outcome, Outcome::Unknown);
    assert_eq!(results[0].1.attempt.error_code.as_deref(), Some("timeout"));
}

#[tokio::test]
async fn resends_within_48_hours_are_flagged_duplicates_and_later_ones_count_again() {
    let mock = TiktokMock::start().await;
    let clock = Clock::system();
    mock.use_clock(&clock);
    // Each request reaches TikTok 47 hours after the one before.
    let later = clock.clone();
    mock.on_request(move || later.advance_ms(47 * MS_PER_HOUR));
    let tiktok = client(mock.uri());
    let event = [stored("order-9", &clock)];
    send(&tiktok, TOKEN, &clock, &event).await;
    let again = send(&tiktok, TOKEN, &clock, &event).await;
    assert_eq!(again[0].1.outcome, Outcome::Delivered, "still code 0");
    assert_eq!(
        (mock.count_event("order-9"), mock.counted("order-9")),
        (2, 1)
    );
    send(&tiktok, TOKEN, &clock, &event).await;
    assert_eq!(mock.counted("order-9"), 2, "94 hours after the first copy");
}

/// Posts `body` as it is to the mock (`path` defaults to TikTok's) and returns the answer.
async fn post_raw(mock: &TiktokMock, path: &str, body: &Value) -> (u16, Value) {
    post_as(mock, TOKEN, path, body).await
}

async fn post_as(mock: &TiktokMock, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", mock.uri()))
        .header("Access-Token", token)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn good_body() -> Value {
    let clock = Clock::system();
    body::request(&[&stored("e-1", &clock)], PIXEL, None, clock.now_ms())
}

#[tokio::test]
async fn the_mock_refuses_a_numeric_event_id_as_tiktok_does() {
    let mock = TiktokMock::start().await;
    let mut body = good_body();
    body["data"][0]["event_id"] = json!(1234);
    let (status, answer) = post_raw(&mock, "/open_api/v1.3/event/track/", &body).await;
    assert_eq!((status, answer["code"].as_i64()), (200, Some(40002)));
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("Invalid value for event_id: not a valid string."),
        "{message}"
    );
    let mut attempt = Attempt::default();
    let text = answer.to_string();
    assert_eq!(classify(200, &text, None, 1, &mut attempt), Outcome::Fail);
    assert!(mock.received().is_empty());
}

#[tokio::test]
async fn the_mock_refuses_unhashed_pii_bad_types_and_a_missing_page_url() {
    let mock = TiktokMock::start().await;
    let path = "/open_api/v1.3/event/track/";
    let cases: [(&str, Value, i64); 7] = [
        ("/data/0/user/email", json!("alice@example.com"), 40062),
        ("/data/0/user/phone", json!("A".repeat(64)), 40062),
        ("/data/0/event_time", json!(1.5), 40002),
        ("/data/0/page", json!({}), 40002),
        ("/data/0/properties/value", json!("42"), 40002),
        ("/data/0/properties/contents/0/content_id", json!(7), 40002),
        ("/event_source", json!("email"), 40002),
    ];
    for (pointer, value, code) in cases {
        let mut body = good_body();
        *body.pointer_mut(pointer).unwrap() = value;
        let (_, answer) = post_raw(&mock, path, &body).await;
        assert_eq!(answer["code"].as_i64(), Some(code), "{pointer}: {answer}");
    }
    let mut empty = good_body();
    empty["data"] = json!([]);
    assert_eq!(post_raw(&mock, path, &empty).await.1["code"], 40002);
    assert!(mock.received().is_empty());
    let (_, answer) = post_raw(&mock, "/open_api/v1.3/event/track", &good_body()).await;
    assert_eq!(answer["code"], 0);
    assert_eq!(mock.missing_slash_count(), 1);
}

#[tokio::test]
async fn the_mock_answers_its_first_failing_check_in_tiktoks_order() {
    let mock = TiktokMock::start().await;
    let path = "/open_api/v1.3/event/track/";
    let mut bad = good_body();
    bad["data"][0]["user"]["email"] = json!("alice@example.com");
    bad["data"][0]["properties"]["value"] = json!("42");
    assert_eq!(
        post_raw(&mock, path, &bad).await.1["code"],
        40062,
        "hashes first"
    );
    bad["data"][0]["event_id"] = json!(7);
    assert_eq!(post_raw(&mock, path, &bad).await.1["code"], 40002);
    assert_eq!(post_as(&mock, "nope", path, &bad).await.1["code"], 40105);
    assert_eq!(post_as(&mock, "", path, &json!("x")).await.1["code"], 40104);
    let mut elsewhere = good_body();
    elsewhere["event_source_id"] = json!("CNOTMINE");
    assert_eq!(post_raw(&mock, path, &elsewhere).await.1["code"], 40001);
    assert_eq!(post_raw(&mock, path, &json!([1])).await.1["code"], 40002);
    assert!(mock.received().is_empty());
}

/// A TikTok endpoint on a raw socket that reads each request, then writes `reply` (may be
/// empty) and closes the connection.
async fn raw_endpoint(reply: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(reply).await;
        }
    });
    base
}

#[tokio::test]
async fn a_reset_connection_or_a_cut_answer_is_an_unknown_outcome() {
    let clock = Clock::system();
    let event = [stored("e-1", &clock)];
    let reset = client(raw_endpoint(b"").await);
    let results = send(&reset, TOKEN, &clock, &event).await;
    assert_eq!(results[0].1.outcome, Outcome::Unknown);
    let cut = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":0";
    let truncated = client(raw_endpoint(cut).await);
    let results = send(&truncated, TOKEN, &clock, &event).await;
    assert_eq!(results[0].1.outcome, Outcome::Unknown);
    assert_eq!(results[0].1.attempt.http_status, Some(200));
}
