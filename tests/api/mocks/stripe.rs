//! Mock Stripe API: form-encoded POSTs to customers, invoices, invoice items and
//! finalize, with Idempotency-Key replay like Stripe's (same key → the stored answer;
//! same key with other parameters → 400), and faults: a 500 before anything happens,
//! or a "lost response" (the object is created and stored under the key, but the
//! client sees a 500 — as after a timeout).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
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

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        let path = request.url.path().to_string();
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
            .respond_with(responder)
            .mount(&server)
            .await;
        StripeMock { server, state }
    }
    pub fn uri(&self) -> String {
        self.server.uri()
    }
    /// Arms a fault for the next request whose path starts with `path`.
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
    /// Whether every request carried an Idempotency-Key.
    pub fn every_request_had_a_key(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .keys_seen
            .iter()
            .all(Option::is_some)
    }
}
