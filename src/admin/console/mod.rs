//! The web console: server-rendered pages from `templates/`, usable without JavaScript,
//! driving the same domain services as the admin JSON API. Every page needs a session
//! cookie (anonymous → 303 to the login page); every form carries a CSRF token; viewers
//! read only; owners also manage admins. Every response carries the security headers of
//! `headers`.

mod admins;
mod billing;
mod dashboard;
pub mod dedup;
pub mod dedup_chart;
pub mod destination_test;
pub mod error;
pub mod forms;
pub mod headers;
pub mod login;
mod plans;
mod privacy;
pub mod session;
pub mod tenants;
pub mod traffic;
mod users;

use actix_web::{HttpResponse, web};

use session::ConsoleAdmin;

/// What every page's layout shows.
pub struct Layout {
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub can_write: bool,
    pub is_owner: bool,
    pub flash: Option<String>,
}

impl Layout {
    pub fn of(admin: &ConsoleAdmin) -> Self {
        Layout {
            email: admin.email.clone(),
            role: admin.role.as_str(),
            csrf: admin.csrf.clone(),
            can_write: admin.can_write(),
            is_owner: admin.role == crate::accounts::Role::Owner,
            flash: None,
        }
    }
}

/// A rendered page with an explicit status (forms re-rendered with errors, pages built
/// after a post).
pub fn html(status: actix_web::http::StatusCode, page: &impl askama::Template) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render().unwrap_or_default())
}

/// A 303 redirect after a successful form post.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_string()))
        .finish()
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/kickin.css"))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(actix_web::middleware::from_fn(headers::secure_headers))
            .route("/static/kickin.css", web::get().to(stylesheet))
            .route("/login", web::get().to(login::show))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("", web::get().to(dashboard::show))
            .route("/", web::get().to(dashboard::show))
            .route("/plans", web::get().to(plans::list))
            .route("/plans", web::post().to(plans::create))
            .route("/plans/new", web::get().to(plans::new))
            .route("/plans/{id}", web::get().to(plans::edit))
            .route("/plans/{id}", web::post().to(plans::update))
            .route("/tenants", web::get().to(tenants::list))
            .route("/tenants", web::post().to(tenants::create))
            .route("/tenants/{id}", web::get().to(tenants::show))
            .route("/tenants/{id}", web::post().to(tenants::update))
            .route("/tenants/{id}/api-keys", web::post().to(tenants::issue_key))
            .route("/tenants/{id}/users", web::post().to(users::invite))
            .route("/api-keys/{id}/revoke", web::post().to(tenants::revoke_key))
            .route(
                "/tenants/{id}/privacy/deletions",
                web::post().to(privacy::create),
            )
            .route("/tenants/{id}/dedup", web::get().to(dedup::show))
            .route(
                "/tenants/{id}/dedup/settings",
                web::post().to(dedup::update_settings),
            )
            .route(
                "/tenants/{id}/browser-keys",
                web::post().to(dedup::create_key),
            )
            .route(
                "/browser-keys/{id}/revoke",
                web::post().to(dedup::revoke_key),
            )
            .route(
                "/tenants/{id}/destinations",
                web::post().to(tenants::create_destination),
            )
            .route(
                "/destinations/{id}",
                web::post().to(tenants::update_destination),
            )
            .route(
                "/destinations/{id}/test",
                web::post().to(destination_test::send),
            )
            .route("/deliveries", web::get().to(traffic::list))
            .route("/deliveries/{id}", web::get().to(traffic::show))
            .route("/deliveries/{id}/replay", web::post().to(traffic::replay))
            .route("/billing", web::get().to(billing::show))
            .route("/billing/runs", web::post().to(billing::run))
            .route(
                "/invoices/{id}/reconciliation.csv",
                web::get().to(billing::csv),
            )
            .route("/audit", web::get().to(admins::audit))
            .route("/admins", web::get().to(admins::list))
            .route("/admins", web::post().to(admins::create))
            .default_service(web::to(not_found)),
    );
}

async fn not_found(_admin: ConsoleAdmin) -> error::ConsoleResult<HttpResponse> {
    Err(error::ConsoleError::App(crate::error::AppError::not_found(
        "page",
    )))
}
