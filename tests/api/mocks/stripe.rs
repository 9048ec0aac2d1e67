//! Mock Stripe API: form-encoded POSTs to customers, invoices, invoice items and
//! finalize, with Idempotency-Key replay like Stripe's (same key → the stored answer;
//! same key with other parameters → 400; keys forgotten after 24 hours, which
//! `expire_idempotency_keys` stands for), the reads Stripe offers to find objects again
//! (`GET /v1/customers/search` and `/v1/invoices/search` with a
//! `metadata['key']:'value'` query, `GET /v1/invoiceitems?invoice=`, `GET
//! /v1/invoices/{id}`), and faults on POSTs: a 500 before anything happens, or a "lost
//! response" (the object is created and stored under the key, but the client sees a
//! 500 — as after a timeout).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeFault {
    ServerError,
    LoseResponse,
}

#[derive(Default)]
struct State {
    /// Idempotency-Key → (request body, status, answer).
    replays: HashMap<String, (String, u16, Value)>,
    customers: Vec<HashMap<String, String>>,
    invoices: HashMap<String, (HashMap<String, String>, String)>,
    items: Vec<HashMap<String, String>>,
    finalized: usize,
    faults: Vec<(String, StripeFault)>,
    requests: usize,
    keys_seen: Vec<Option<String>>,
}

#[derive(Clone, Default)]
struct Responder(Arc<Mutex<State>>);

pub struct StripeMock {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn error(status: u16, kind: &str, message: &str) -> (u16, Value) {
    (status, json!({"error": {"type": kind, "message": message}}))
}

impl State {
    fn create(&mut self, path: &str, params: HashMap<String, String>) -> (u16, Value) {
        let now = 1_764_000_000;
        match path {
            "/v1/customers" => {
                if !params.contains_key("metadata[tenant_id]") {
                    return error(400, "invalid_request_error", "metadata[tenant_id] expected");
                }
                self.customers.push(params);
                let id = format!("cus_{}", self.customers.len());
                (
                    200,
                    json!({"id": id, "object": "customer", "created": now, "livemode": false}),
                )
            }
            "/v1/invoices" => {
                let Some(customer) = params.get("customer") else {
                    return error(400, "invalid_request_error", "customer required");
                };
                if !self.customer_exists(customer) {
                    return error(400, "invalid_request_error", "No such customer");
                }
                let id = format!("in_{}", self.invoices.len() + 1);
                self.invoices.insert(id.clone(), (params, "draft".into()));
                (
                    200,
                    json!({"id": id, "object": "invoice", "status": "draft", "created": now, "livemode": false}),
                )
            }
            "/v1/invoiceitems" => {
                let invoice = params.get("invoice").cloned().unwrap_or_default();
                match self.invoices.get(&invoice) {
                    Some((_, status)) if status == "draft" => {}
                    _ => {
                        return error(
                            400,
                            "invalid_request_error",
                            "invoice must be a draft invoice",
                        );
                    }
                }
                if !params.contains_key("amount") || !params.contains_key("currency") {
                    return error(400, "invalid_request_error", "amount and currency required");
                }
                self.items.push(params);
                (
                    200,
                    json!({"id": format!("ii_{}", self.items.len()), "object": "invoiceitem", "livemode": false}),
                )
            }
            p if p.starts_with("/v1/invoices/") && p.ends_with("/finalize") => {
                let id = p
                    .trim_start_matches("/v1/invoices/")
                    .trim_end_matches("/finalize")
                    .to_string();
                match self.invoices.get_mut(&id) {
                    Some((_, status)) if status == "draft" => {
                        *status = "open".into();
                        self.finalized += 1;
                        (
                            200,
                            json!({"id": id, "object": "invoice", "status": "open", "livemode": false}),
                        )
                    }
                    Some(_) => error(
                        400,
                        "invalid_request_error",
                        "This invoice is already finalized",
                    ),
                    None => error(404, "invalid_request_error", "No such invoice"),
                }
            }
            _ => error(404, "invalid_request_error", "Unrecognized request URL"),
        }
    }

    fn read(&self, path: &str, query: &HashMap<String, String>) -> (u16, Value) {
        let search = |prefix: &str, rows: Vec<(String, Value)>| match search_query(query) {
            Some((key, value)) => {
                let data: Vec<Value> = rows
                    .into_iter()
                    .filter(|(_, o)| o["metadata"][&key] == value.as_str())
                    .map(|(_, o)| o)
                    .collect();
                (
                    200,
                    json!({"object": "search_result", "data": data, "has_more": false, "next_page": null, "url": prefix}),
                )
            }
            None => error(400, "invalid_request_error", "unsupported search query"),
        };
        match path {
            "/v1/customers/search" => search(path, self.customer_objects()),
            "/v1/invoices/search" => search(path, self.invoice_objects()),
            "/v1/invoiceitems" => {
                let invoice = query.get("invoice");
                let data: Vec<Value> = self
                    .item_objects()
                    .into_iter()
                    .filter(|o| invoice.is_none_or(|i| o["invoice"] == i.as_str()))
                    .collect();
                (
                    200,
                    json!({"object": "list", "data": data, "has_more": false, "url": path}),
                )
            }
            p if p.starts_with("/v1/invoices/") => {
                let id = p.trim_start_matches("/v1/invoices/");
                match self.invoice_objects().into_iter().find(|(i, _)| i == id) {
                    Some((_, o)) => (200, o),
                    None => error(404, "invalid_request_error", "No such invoice"),
                }
            }
            _ => error(404, "invalid_request_error", "Unrecognized request URL"),
        }
    }

    fn customer_objects(&self) -> Vec<(String, Value)> {
        self.customers
            .iter()
            .enumerate()
            .map(|(n, p)| {
                let id = format!("cus_{}", n + 1);
                (
                    id.clone(),
                    json!({"id": id, "object": "customer", "metadata": metadata(p)}),
                )
            })
            .collect()
    }

    fn invoice_objects(&self) -> Vec<(String, Value)> {
        self.invoices
            .iter()
            .map(|(id, (p, status))| {
                (
                    id.clone(),
                    json!({"id": id, "object": "invoice", "status": status, "customer": p.get("customer"), "metadata": metadata(p)}),
                )
            })
            .collect()
    }

    fn item_objects(&self) -> Vec<Value> {
        self.items
            .iter()
            .enumerate()
            .map(|(n, p)| {
                json!({"id": format!("ii_{}", n + 1), "object": "invoiceitem", "invoice": p.get("invoice"),
                    "amount": p.get("amount").and_then(|a| a.parse::<i64>().ok()), "metadata": metadata(p)})
            })
            .collect()
    }

    fn customer_exists(&self, id: &str) -> bool {
        id.strip_prefix("cus_")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n >= 1 && n <= self.customers.len())
    }

    fn take_fault(&mut self, path: &str) -> Option<StripeFault> {
        let i = self
            .faults
            .iter()
            .position(|(p, _)| path.starts_with(p.as_str()))?;
        Some(self.faults.remove(i).1)
    }
}

/// The `metadata[key]` form fields of a create request, as Stripe returns them.
fn metadata(params: &HashMap<String, String>) -> Value {
    let map: Map<String, Value> = params
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_string(), Value::String(v.clone())))
        })
        .collect();
    Value::Object(map)
}

/// The one search form Kickin uses: `metadata['key']:'value'`.
fn search_query(query: &HashMap<String, String>) -> Option<(String, String)> {
    let q = query.get("query")?;
    let rest = q.strip_prefix("metadata['")?;
    let (key, rest) = rest.split_once("']:'")?;
    let value = rest.strip_suffix('\'')?;
    Some((key.to_string(), value.to_string()))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        let path = request.url.path().to_string();
        if request.method.as_str() == "GET" {
            let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
            let (status, answer) = state.read(&path, &query);
            return ResponseTemplate::new(status).set_body_json(answer);
        }
        let body = String::from_utf8_lossy(&request.body).to_string();
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        state.keys_seen.push(key.clone());
        let fault = state.take_fault(&path);
        if fault == Some(StripeFault::ServerError) {
            let (status, answer) = error(500, "api_error", "Something went wrong on Stripe's end.");
            return ResponseTemplate::new(status).set_body_json(answer);
        }
        if let Some(key) = &key
            && let Some((stored_body, status, answer)) = state.replays.get(key).cloned()
        {
            if stored_body != body {
                let (status, answer) = error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters",
                );
                return ResponseTemplate::new(status).set_body_json(answer);
            }
            return ResponseTemplate::new(status)
                .set_body_json(answer)
                .insert_header("Idempotent-Replayed", "true");
        }
        let (status, answer) = state.create(&path, form(&request.body));
        if let Some(key) = key {
            state.replays.insert(key, (body, status, answer.clone()));
        }
        if fault == Some(StripeFault::LoseResponse) {
            let (status, answer) = error(500, "api_error", "connection lost");
            return ResponseTemplate::new(status).set_body_json(answer);
        }
        ResponseTemplate::new(status).set_body_json(answer)
    }
}

impl StripeMock {
    pub async fn start() -> StripeMock {
        let server = MockServer::start().await;
        let responder = Responder::default();
        let state = responder.0.clone();
        Mock::given(method("POST"))
            .respond_with(responder.clone())
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(responder)
            .mount(&server)
            .await;
        StripeMock { server, state }
    }
    pub fn uri(&self) -> String {
        self.server.uri()
    }
    /// Forgets every Idempotency-Key, as Stripe does 24 hours after a key's first use.
    pub fn expire_idempotency_keys(&self) {
        self.state.lock().unwrap().replays.clear();
    }
    /// Arms a fault for the next POST whose path starts with `path`.
    pub fn fail_next(&self, path: &str, fault: StripeFault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push((path.to_string(), fault));
    }
    /// (customers, invoices, invoice items, finalized) created so far.
    pub fn objects(&self) -> (usize, usize, usize, usize) {
        let s = self.state.lock().unwrap();
        (
            s.customers.len(),
            s.invoices.len(),
            s.items.len(),
            s.finalized,
        )
    }
    pub fn customer_metadata(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .customers
            .iter()
            .filter_map(|c| c.get("metadata[tenant_id]").cloned())
            .collect()
    }
    /// Whether every POST carried an Idempotency-Key.
    pub fn every_request_had_a_key(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .keys_seen
            .iter()
            .all(Option::is_some)
    }
}
