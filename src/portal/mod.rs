//! The customer portal under `/app`: the tenant's own people see their tenant only,
//! server-rendered from `templates/app/` with the console's stylesheet, error pages,
//! security headers, CSRF and session machinery. Members read; owners also manage
//! destinations, keys, replays and people. Handlers are thin: the domain modules do the
//! work, always scoped by the session's tenant, so another tenant's ids are not found.

mod access;
mod destinations;
mod keys;
mod login;
mod overview;
mod people;
mod reports;
mod traffic;
mod view;

use actix_web::web;

use crate::admin::console::{headers, stylesheet};

pub use access::PortalUser;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/app")
            .wrap(actix_web::middleware::from_fn(headers::secure_headers))
            .route("/static/kickin.css", web::get().to(stylesheet))
            .route("/login", web::get().to(login::show))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/invite/{token}", web::get().to(login::invite))
            .route("/invite/{token}", web::post().to(login::accept))
            .route("", web::get().to(overview::show))
            .route("/", web::get().to(overview::show))
            .route("/dedup", web::get().to(reports::dedup))
            .route("/deliveries", web::get().to(traffic::list))
            .route("/deliveries/{id}", web::get().to(traffic::show))
            .route("/deliveries/{id}/replay", web::post().to(traffic::replay))
            .route("/destinations", web::get().to(destinations::list))
            .route("/destinations", web::post().to(destinations::create))
            .route("/destinations/{id}", web::get().to(destinations::show))
            .route("/destinations/{id}", web::post().to(destinations::update))
            .route(
                "/destinations/{id}/test",
                web::post().to(destinations::test),
            )
            .route("/keys", web::get().to(keys::show))
            .route("/keys", web::post().to(keys::issue))
            .route("/keys/{id}/revoke", web::post().to(keys::revoke))
            .route("/browser-keys", web::post().to(keys::create_browser_key))
            .route(
                "/browser-keys/{id}/revoke",
                web::post().to(keys::revoke_browser_key),
            )
            .route("/usage", web::get().to(reports::usage))
            .route("/invoices", web::get().to(reports::invoices))
            .route(
                "/invoices/{id}/reconciliation.csv",
                web::get().to(reports::csv),
            )
            .route("/people", web::get().to(people::list))
            .route("/people", web::post().to(people::invite))
            .route("/people/{id}/remove", web::post().to(people::remove))
            .default_service(web::to(not_found)),
    );
}

async fn not_found(_user: PortalUser) -> crate::admin::console::error::ConsoleResult<()> {
    Err(crate::error::AppError::not_found("page").into())
}
