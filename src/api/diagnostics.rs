//! `GET /v1/diagnostics[?period=YYYY-MM]`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::ApiKey;
use crate::clock::period_of;
use crate::dedup::diagnostics::{self, DiagnosticsReport};
use crate::error::{AppError, AppResult};
use crate::period::Period;
use crate::state::AppState;
use crate::tenants::Scope;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PeriodQuery {
    /// `YYYY-MM`; the current month when absent.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: Option<String>,
}

impl PeriodQuery {
    pub fn resolve(&self, now_ms: i64) -> AppResult<String> {
        match &self.period {
            None => Ok(period_of(now_ms)),
            Some(p) if Period::parse(p).is_some() => Ok(p.clone()),
            Some(_) => Err(
                AppError::bad_request("invalid_query", "period must be YYYY-MM")
                    .with_field("period"),
            ),
        }
    }
}

#[utoipa::path(get, path = "/v1/diagnostics", tag = "diagnostics", params(PeriodQuery),
    responses((status = 200, body = DiagnosticsReport)), security(("api_key" = [])))]
pub async fn get_diagnostics(
    key: ApiKey,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let ctx = key.require(Scope::Read)?;
    let period = query.resolve(state.clock.now_ms())?;
    Ok(HttpResponse::Ok().json(diagnostics::report(&state.db.conn, ctx.tenant_id, &period).await?))
}
