//! The operator side: the admin JSON API under `/admin/api` (bearer session tokens).
//! The web console will reuse the same domain services.

pub mod auth;
pub mod billing;
pub mod browser;
pub mod console;
pub mod deliveries;
pub mod destinations;
pub mod plans;
pub mod privacy;
pub mod session;
pub mod tenants;
pub mod users;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/api")
            .route("/session", web::post().to(session::create_session))
            .route("/session", web::delete().to(session::delete_session))
            .route("/plans", web::get().to(plans::list_plans))
            .route("/plans", web::post().to(plans::create_plan))
            .route("/plans/{id}", web::get().to(plans::get_plan))
            .route("/plans/{id}", web::patch().to(plans::update_plan))
            .route("/tenants", web::get().to(tenants::list_tenants))
            .route("/tenants", web::post().to(tenants::create_tenant))
            .route("/tenants/{id}", web::get().to(tenants::get_tenant))
            .route("/tenants/{id}", web::patch().to(tenants::update_tenant))
            .route(
                "/tenants/{id}/api-keys",
                web::get().to(tenants::list_api_keys),
            )
            .route(
                "/tenants/{id}/api-keys",
                web::post().to(tenants::issue_api_key),
            )
            .route("/tenants/{id}/users", web::post().to(users::create_user))
            .route("/api-keys/{id}", web::delete().to(tenants::revoke_api_key))
            .route(
                "/tenants/{id}/diagnostics",
                web::get().to(tenants::get_diagnostics),
            )
            .route("/tenants/{id}/usage", web::get().to(deliveries::get_usage))
            .route(
                "/tenants/{id}/browser-keys",
                web::get().to(browser::list_browser_keys),
            )
            .route(
                "/tenants/{id}/browser-keys",
                web::post().to(browser::create_browser_key),
            )
            .route(
                "/browser-keys/{id}",
                web::delete().to(browser::revoke_browser_key),
            )
            .route(
                "/tenants/{id}/dedup/report",
                web::get().to(browser::get_dedup_report),
            )
            .route(
                "/tenants/{id}/privacy/deletions",
                web::post().to(privacy::create_deletion),
            )
            .route(
                "/privacy/deletions/{id}",
                web::get().to(privacy::get_deletion),
            )
            .route("/billing/runs", web::post().to(billing::create_run))
            .route("/invoices", web::get().to(billing::list_invoices))
            .route("/invoices/{id}", web::get().to(billing::get_invoice))
            .route(
                "/invoices/{id}/reconciliation.csv",
                web::get().to(billing::reconciliation_csv),
            )
            .route("/deliveries", web::get().to(deliveries::list_deliveries))
            .route("/deliveries/{id}", web::get().to(deliveries::get_delivery))
            .route(
                "/deliveries/{id}/replay",
                web::post().to(deliveries::replay_delivery),
            )
            .route(
                "/tenants/{id}/destinations",
                web::get().to(destinations::list_destinations),
            )
            .route(
                "/tenants/{id}/destinations",
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
            ),
    );
}
