//! What the generator sends: one ~450-byte website purchase per event, and a template
//! that writes whole request bodies of them by copying text.

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

const ID_SLOT: &str = "@ID@";
const TIME_SLOT: &str = "1111111111";

/// `event` as text cut around its id and time, so request bodies are written by copying
/// the pieces: the load generator shares the machine with the server, and every
/// microsecond it spends building JSON is one the server does not get.
pub struct BodyTemplate {
    /// Literal text, each piece followed by the id (`true`) or the time (`false`); the
    /// last piece is followed by nothing.
    pieces: Vec<(String, Option<bool>)>,
}

impl Default for BodyTemplate {
    fn default() -> Self {
        let text = event(ID_SLOT, TIME_SLOT.parse().unwrap_or_default()).to_string();
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        loop {
            let next = [(ID_SLOT, true), (TIME_SLOT, false)]
                .into_iter()
                .filter_map(|(slot, is_id)| rest.find(slot).map(|at| (at, slot, is_id)))
                .min_by_key(|(at, _, _)| *at);
            let Some((at, slot, is_id)) = next else {
                pieces.push((rest.to_string(), None));
                return BodyTemplate { pieces };
            };
            pieces.push((rest[..at].to_string(), Some(is_id)));
            rest = &rest[at + slot.len()..];
        }
    }
}

impl BodyTemplate {
    /// The body of one request, `{"events": [...]}`, the same JSON as `event` for each
    /// id. Ids must need no JSON escaping (the generator's do not).
    pub fn request_body<'a>(&self, ids: impl Iterator<Item = &'a str>, now_secs: i64) -> Vec<u8> {
        let now = now_secs.to_string();
        let mut body = String::with_capacity(1024);
        body.push_str("{\"events\":[");
        for (i, id) in ids.enumerate() {
            if i > 0 {
                body.push(',');
            }
            for (text, slot) in &self.pieces {
                body.push_str(text);
                match slot {
                    Some(true) => body.push_str(id),
                    Some(false) => body.push_str(&now),
                    None => {}
                }
            }
        }
        body.push_str("]}");
        body.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_request_body_is_the_events_as_json() {
        let ids = ["w0-r1-e0", "w0-r1-e1"];
        let body: serde_json::Value = serde_json::from_slice(
            &super::BodyTemplate::default().request_body(ids.iter().copied(), 1_795_900_000),
        )
        .unwrap();
        let expected = serde_json::json!({"events": [
            super::event(ids[0], 1_795_900_000),
            super::event(ids[1], 1_795_900_000),
        ]});
        assert_eq!(body, expected);
    }
}
