//! `GET /app`: today and this month at a glance, with 30 days of events as a chart.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::PortalUser;
use super::view::{Layout, page};
use crate::admin::console::dedup_chart::{self, Chart};
use crate::admin::console::error::ConsoleResult;
use crate::state::AppState;
use crate::tenant_stats::{self, Overview};

#[derive(Template)]
#[template(path = "app/overview.html")]
struct OverviewPage {
    layout: Layout,
    stats: Overview,
    rate: String,
    chart: Chart,
    width: f64,
    height: f64,
}

pub async fn show(user: PortalUser, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    let stats = tenant_stats::overview(&state.db, user.tenant_id, state.clock.now_ms()).await?;
    let overview = OverviewPage {
        layout: Layout::of(&state, &user).await?,
        rate: stats
            .match_rate
            .map_or("—".into(), |m| format!("{:.1} %", m * 100.0)),
        chart: dedup_chart::counts(&stats.days, "events received"),
        width: dedup_chart::WIDTH,
        height: dedup_chart::HEIGHT,
        stats,
    };
    Ok(page(actix_web::http::StatusCode::OK, &overview))
}
