//! The customer API (`/v1`, API keys), the Meta-compatible endpoint
//! (`/{version}/{pixel_id}/events`) and service endpoints. Handlers are thin:
//! extract → call a domain service → map the response.

pub mod auth;
pub mod beacon;
pub mod body;
pub mod browser_keys;
pub mod deliveries;
pub mod destinations;
pub mod diagnostics;
pub mod errors;
pub mod events;
pub mod meta_compat;
pub mod privacy;
pub mod sandbox;
pub mod service;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .route("/events", web::post().to(events::post_events))
            .route("/events/{event_id}", web::get().to(events::get_event))
            .route("/diagnostics", web::get().to(diagnostics::get_diagnostics))
            .route("/deliveries", web::get().to(deliveries::list_deliveries))
            .route("/deliveries/{id}", web::get().to(deliveries::get_delivery))
            .route(
                "/deliveries/{id}/replay",
                web::post().to(deliveries::replay_delivery),
            )
            .route("/usage", web::get().to(deliveries::get_usage))
            .route(
                "/destinations",
                web::get().to(destinations::list_destinations),
            )
            .route(
                "/destinations",
                web::post().to(destinations::create_destination),
            )
            .route(
                "/destinations/{id}",
                web::get().to(destinations::get_destination),
            )
            .route(
                "/destinations/{id}",
                web::patch().to(destinations::update_destination),
            )
            .route(
                "/destinations/{id}",
                web::delete().to(destinations::delete_destination),
            )
            .route(
                "/destinations/{id}/test",
                web::post().to(destinations::test_destination),
            )
            .route(
                "/privacy/deletions",
                web::post().to(privacy::create_deletion),
            )
            .route(
                "/privacy/deletions/{id}",
                web::get().to(privacy::get_deletion),
            )
            .configure(browser_routes),
    )
    .route(meta_compat::ROUTE, web::post().to(meta_compat::post_events));
}

/// Browser keys, the companion script, the beacon and the dedup report.
fn browser_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/browser-keys",
        web::get().to(browser_keys::list_browser_keys),
    )
    .route(
        "/browser-keys",
        web::post().to(browser_keys::create_browser_key),
    )
    .route(
        "/browser-keys/{id}",
        web::delete().to(browser_keys::revoke_browser_key),
    )
    .route("/browser/kickin.js", web::get().to(beacon::get_script))
    .route(
        "/browser/kickin-{version}.js",
        web::get().to(beacon::get_versioned_script),
    )
    .route("/browser/events", web::post().to(beacon::post_beacon))
    .route(
        "/browser/events",
        web::method(actix_web::http::Method::OPTIONS).to(beacon::preflight_beacon),
    )
    .route(
        "/dedup/report",
        web::get().to(browser_keys::get_dedup_report),
    );
}
