//! The dashboard: today's and this month's events and duplicates, sends by outcome,
//! queue depth, paused destinations, dead deliveries and alerts.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::Layout;
use super::error::ConsoleResult;
use super::session::ConsoleAdmin;
use crate::state::AppState;
use crate::stats::{self, Dashboard};

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct Page {
    layout: Layout,
    stats: Dashboard,
}

pub async fn show(
    admin: ConsoleAdmin,
    state: web::Data<AppState>,
) -> ConsoleResult<impl actix_web::Responder> {
    let stats = stats::dashboard(&state.db.conn, state.clock.now_ms()).await?;
    Ok(Page {
        layout: Layout::of(&admin),
        stats,
    })
}
