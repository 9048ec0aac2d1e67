//! Building the application (database, keys, state, routes) apart from running it, so
//! tests start the real app on port 0 with their own database and clock.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::api::errors::{json_error, not_found, path_error, query_error};
use crate::clock::Clock;
use crate::config::{Config, Role};
use crate::state::AppState;
use crate::{admin, api};

/// The route table: customer API, admin API, service endpoints (and the demo sandbox).
/// A `worker` process serves only the service endpoints (health, readiness, metrics).
pub fn configure(cfg: &mut web::ServiceConfig, demo: bool, role: Role) {
    if demo {
        cfg.configure(api::sandbox::routes);
    }
    cfg.route("/healthz", web::get().to(api::service::healthz))
        .route("/readyz", web::get().to(api::service::readyz))
        .route("/metrics", web::get().to(api::service::metrics));
    if !role.serves_http() {
        return;
    }
    cfg.route("/openapi.json", web::get().to(api::service::openapi))
        .configure(api::routes)
        .configure(admin::routes)
        .configure(admin::console::routes)
        .configure(crate::portal::routes);
}

pub struct Application {
    server: Server,
    port: u16,
    pub state: web::Data<AppState>,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and prepares the server.
    pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Self> {
        Self::build_with(config, clock, false).await
    }

    /// With `demo`, destinations are sent to the built-in sandbox on this same server.
    pub async fn build_with(mut config: Config, clock: Clock, demo: bool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)?;
        let port = listener.local_addr()?.port();
        if demo {
            config.meta_api_base = format!("http://127.0.0.1:{port}/sandbox/meta");
            config.ga4_api_base = format!("http://127.0.0.1:{port}/sandbox/ga4");
            config.ga4_eu_api_base = config.ga4_api_base.clone();
            config.tiktok_api_base = format!("http://127.0.0.1:{port}/sandbox/tiktok");
        }
        let state = web::Data::new(AppState::init(config, clock, demo).await?);
        let server = serve(listener, state.clone())?;
        Ok(Self {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGTERM or Ctrl-C, then drains in-flight requests (up to 30 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// A handle that stops the HTTP server gracefully.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

fn serve(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    let body_limit = state.config.max_body_bytes;
    let demo = state.demo;
    let role = state.config.role;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = state.config.http_workers(cores);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(body_limit)
                    .error_handler(json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .wrap(tracing_actix_web::TracingLogger::default())
            // Outside the tracing middleware: a query-string access_token never reaches a span.
            .wrap(actix_web::middleware::from_fn(
                api::meta_compat::query_token::hide_access_token,
            ))
            .configure(|cfg| configure(cfg, demo, role))
            .default_service(web::to(not_found))
    })
    .shutdown_timeout(30)
    .workers(workers)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
