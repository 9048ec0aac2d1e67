//! The demo sandbox (`serve --demo` only): stand-ins for Meta CAPI and GA4 MP served by
//! Kickin itself, so a newcomer sees events delivered and counted without accounts.
//! They accept well-formed requests the way the real APIs answer them.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/sandbox/meta/{version}/{pixel_id}/events",
        web::post().to(meta_events),
    )
    .route("/sandbox/ga4/mp/collect", web::post().to(ga4_collect));
}

async fn meta_events(body: web::Json<Value>) -> HttpResponse {
    let trace = crate::crypto::random_token(8);
    match body["data"].as_array() {
        Some(data) if !data.is_empty() && data.len() <= 1000 => HttpResponse::Ok()
            .json(json!({"events_received": data.len(), "messages": [], "fbtrace_id": trace})),
        _ => HttpResponse::BadRequest().json(
            json!({"error": {"message": "Invalid parameter", "type": "OAuthException",
            "code": 100, "is_transient": false, "fbtrace_id": trace}}),
        ),
    }
}

async fn ga4_collect() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
