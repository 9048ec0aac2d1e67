//! Service endpoints: liveness, readiness and the OpenAPI document.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database answers and every migration is applied.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.db.is_ready().await {
        HttpResponse::Ok().json(json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({"error": {"code": "not_ready", "message": "database unreachable or migrations pending"}}))
    }
}

/// Prometheus text exposition of Kickin's metrics (queue gauges sampled on scrape).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = crate::metrics::metrics();
    if let Err(err) = metrics.sample(&state.db.conn, state.clock.now_ms()).await {
        tracing::warn!(error = %err, "sampling queue metrics failed");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
