//! The demo sandbox (`serve --demo` only): stand-ins for Meta CAPI, GA4 MP and TikTok's
//! Events API served by Kickin itself, so a newcomer sees events delivered and counted
//! without accounts.
//! They accept well-formed requests the way the real APIs answer them.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/sandbox/meta/{version}/{pixel_id}/events",
        web::post().to(meta_events),
    )
    .route("/sandbox/ga4/mp/collect", web::post().to(ga4_collect))
    .route("/sandbox/ga4/debug/mp/collect", web::post().to(ga4_debug))
    .route(
        "/sandbox/tiktok/open_api/v1.3/event/track/",
        web::post().to(tiktok_track),
    );
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

/// TikTok answers HTTP 200 with a `code`: 0 for a well-formed batch, 40002 otherwise.
async fn tiktok_track(body: web::Json<Value>) -> HttpResponse {
    let request_id = crate::crypto::random_token(12);
    let ok = body["event_source_id"].is_string()
        && body["data"]
            .as_array()
            .is_some_and(|d| !d.is_empty() && d.len() <= 1000);
    let (code, message) = if ok {
        (0, "OK")
    } else {
        (40002, "Invalid value for data: 1-1000 events required.")
    };
    HttpResponse::Ok()
        .json(json!({"code": code, "message": message, "request_id": request_id, "data": {}}))
}

async fn ga4_collect() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// GA4's validation server: a message for a request without a `client_id` or events.
async fn ga4_debug(body: web::Json<Value>) -> HttpResponse {
    let mut messages = Vec::new();
    if body["client_id"].as_str().is_none_or(str::is_empty) {
        messages.push(
            json!({"fieldPath": "client_id", "validationCode": "VALUE_REQUIRED",
            "description": "client_id is required."}),
        );
    }
    if body["events"].as_array().is_none_or(Vec::is_empty) {
        messages.push(
            json!({"fieldPath": "events", "validationCode": "VALUE_REQUIRED",
            "description": "events are required."}),
        );
    }
    HttpResponse::Ok().json(json!({"validationMessages": messages}))
}
