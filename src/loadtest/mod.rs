//! `kickin loadtest`: drives a running Kickin over HTTP (its own tenant, key and sandbox
//! destination) and reports accepted events/s, request latency, errors by status, queue
//! drain time and sends/s, and the server's peak RSS; `ceiling` writes the same rows
//! straight to the database, so every run can be read as a fraction of the ceiling.

pub mod ceiling;
pub mod drain;
pub mod http;
pub mod report;

/// A ~450-byte website purchase, unique by `event_id`.
pub fn event(id: &str, now_secs: i64) -> serde_json::Value {
    serde_json::json!({
        "event_id": id,
        "event_name": "Purchase",
        "event_time": now_secs,
        "action_source": "website",
        "event_source_url": "https://shop.example/checkout/thanks?order=1",
        "user_data": {"em": "4b2a9f1e0c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f",
                      "client_ip_address": "203.0.113.9",
                      "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"},
        "custom_data": {"value": 129.99, "currency": "USD", "order_id": id, "content_ids": ["sku-1", "sku-2"], "num_items": 2}
    })
}
