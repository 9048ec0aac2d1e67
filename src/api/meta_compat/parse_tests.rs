use serde_json::{Value, json};

use super::*;

fn event(id: &str) -> Value {
    json!({"event_name": "Purchase", "event_time": 1_700_000_000, "event_id": id,
           "action_source": "website", "user_data": {"em": "a@b.test"}})
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_html_form::to_string(pairs).unwrap().into_bytes()
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json; charset=utf-8");

#[test]
fn a_json_body_with_data_as_an_array() {
    let body = json!({"data": [event("e1"), event("e2")], "access_token": "kk_1",
                      "test_event_code": "TEST1", "partner_agent": "shopify", "namespace_id": 7});
    let params = Params::decode(JSON, "", body.to_string().as_bytes()).unwrap();
    assert_eq!(params.access_token(), Some("kk_1"));
    let request = params.request().unwrap();
    assert_eq!(request.data, vec![event("e1"), event("e2")]);
    assert_eq!(request.test_event_code.as_deref(), Some("TEST1"));
    assert_eq!(request.partner_agent.as_deref(), Some("shopify"));
    assert_eq!(request.namespace_id.as_deref(), Some("7"));
    assert_eq!(request.upload_tag, None);
}

#[test]
fn data_as_a_json_string_holding_the_array() {
    let data = json!([event("e1")]).to_string();
    let body = json!({"data": data});
    let request = Params::decode(JSON, "access_token=kk_q", body.to_string().as_bytes())
        .unwrap()
        .request()
        .unwrap();
    assert_eq!(request.data, vec![event("e1")]);
}

#[test]
fn a_form_body_with_data_as_an_array_of_json_strings_as_the_python_sdk_sends_it() {
    // facebook-business: EventRequest.normalize() json.dumps each event, then the api
    // json.dumps the list and form-encodes it; the token rides in the query string.
    let encoded: Vec<String> = vec![event("e1").to_string(), event("e2").to_string()];
    let data = serde_json::to_string(&encoded).unwrap();
    let body = form(&[("data", &data), ("upload_tag", "nightly")]);
    let params = Params::decode(FORM, "access_token=kk_query", &body).unwrap();
    assert_eq!(params.access_token(), Some("kk_query"));
    let request = params.request().unwrap();
    assert_eq!(request.data, vec![event("e1"), event("e2")]);
    assert_eq!(request.upload_tag.as_deref(), Some("nightly"));
}

#[test]
fn the_body_token_wins_over_the_query_and_an_empty_body_leaves_the_query() {
    let data = json!([event("e1")]).to_string();
    let body = form(&[("data", &data), ("access_token", "kk_body")]);
    let params = Params::decode(FORM, "access_token=kk_query", &body).unwrap();
    assert_eq!(params.access_token(), Some("kk_body"));
    let query = format!("access_token=kk_q&data={}", urlencode(&data));
    let params = Params::decode(None, &query, b"").unwrap();
    assert_eq!(params.access_token(), Some("kk_q"));
    assert_eq!(params.request().unwrap().data.len(), 1);
}

fn urlencode(s: &str) -> String {
    let pairs = serde_html_form::to_string([("x", s)]).unwrap();
    pairs.trim_start_matches("x=").to_string()
}

#[test]
fn a_multipart_body() {
    let data = json!([event("e1")]).to_string();
    let body = format!(
        "--b1\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{data}\r\n--b1\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\nkk_m\r\n--b1--\r\n"
    );
    let params = Params::decode(
        Some("multipart/form-data; boundary=b1"),
        "",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(params.access_token(), Some("kk_m"));
    assert_eq!(params.request().unwrap().data, vec![event("e1")]);
}

#[test]
fn a_json_body_without_content_type_is_read_as_json() {
    let body = json!({"data": [event("e1")]}).to_string();
    let request = Params::decode(None, "", body.as_bytes())
        .unwrap()
        .request()
        .unwrap();
    assert_eq!(request.data.len(), 1);
}

fn refused(content_type: Option<&str>, body: &[u8]) -> ParseError {
    match Params::decode(content_type, "", body) {
        Err(e) => e,
        Ok(params) => params.request().unwrap_err(),
    }
}

#[test]
fn unreadable_bodies_and_missing_data_are_refused_naming_the_parameter() {
    assert_eq!(refused(JSON, b"{\"data\": [").field, "body");
    assert_eq!(refused(JSON, b"[1, 2]").field, "body");
    assert_eq!(refused(JSON, b"{\"access_token\": \"k\"}").field, "data");
    assert_eq!(
        refused(JSON, b"{\"data\": {\"event_name\": \"x\"}}").field,
        "data"
    );
    assert_eq!(refused(FORM, &form(&[("data", "not json")])).field, "data");
    assert_eq!(
        refused(FORM, &form(&[("data", "{\"a\": 1}")])).field,
        "data"
    );
    assert_eq!(refused(JSON, b"{\"data\": []}").field, "data");
    let e = refused(Some("multipart/form-data"), b"--x\r\n");
    assert_eq!(e.field, "body");
}

#[test]
fn a_bad_element_of_data_is_named_by_its_index() {
    let body = json!({"data": [event("e1"), 42]});
    let e = refused(JSON, body.to_string().as_bytes());
    assert_eq!(e.field, "data[1]");
    let strings =
        serde_json::to_string(&vec![event("e1").to_string(), "{oops".to_string()]).unwrap();
    let e = refused(FORM, &form(&[("data", &strings)]));
    assert_eq!(e.field, "data[1]");
    let e = refused(FORM, &form(&[("data", "[\"[1]\"]")]));
    assert_eq!(e.field, "data[0]");
}

#[test]
fn more_than_a_thousand_events_are_refused() {
    let data: Vec<Value> = (0..=MAX_EVENTS_PER_REQUEST)
        .map(|i| event(&i.to_string()))
        .collect();
    let e = refused(JSON, json!({ "data": data }).to_string().as_bytes());
    assert_eq!(e.field, "data");
    assert!(e.message.contains("1001"), "{}", e.message);
}

#[test]
fn a_non_string_top_level_parameter_is_refused() {
    let body = json!({"data": [event("e1")], "test_event_code": {"x": 1}});
    assert_eq!(
        refused(JSON, body.to_string().as_bytes()).field,
        "test_event_code"
    );
}
