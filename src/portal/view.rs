//! What every portal page shows around its content, and times as people read them.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use super::PortalUser;
use crate::error::AppResult;
use crate::state::AppState;

/// The header of every page: whose tenant, on which plan, who is signed in.
pub struct Layout {
    pub tenant_name: String,
    pub plan: String,
    pub suspended: bool,
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub is_owner: bool,
}

impl Layout {
    pub async fn of(state: &AppState, user: &PortalUser) -> AppResult<Layout> {
        let tenant = crate::tenants::get(&state.db.conn, user.tenant_id).await?;
        let plan = crate::plans::for_tenant(&state.db.conn, tenant.id).await?;
        Ok(Layout {
            suspended: tenant.status == "suspended",
            tenant_name: tenant.name,
            plan: plan.map_or("no plan".into(), |p| p.model.name),
            email: user.email.clone(),
            role: user.role.as_str(),
            csrf: user.csrf.clone(),
            is_owner: user.is_owner(),
        })
    }
}

/// A time shown relative ("3 hours ago") with the exact RFC 3339 time for its tooltip.
pub struct When {
    pub ago: String,
    pub exact: String,
}

pub fn when(rfc3339: &str, now_ms: i64) -> When {
    let ago = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| relative(now_ms - t.timestamp_millis()))
        .unwrap_or_else(|_| rfc3339.to_string());
    When {
        ago,
        exact: rfc3339.to_string(),
    }
}

fn relative(ms: i64) -> String {
    let (future, s) = (ms < 0, ms.unsigned_abs() / 1000);
    let (n, unit) = match s {
        0..60 => return "just now".into(),
        60..3_600 => (s / 60, "minute"),
        3_600..86_400 => (s / 3_600, "hour"),
        86_400..2_592_000 => (s / 86_400, "day"),
        _ => (s / 2_592_000, "month"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

pub use crate::admin::console::forms::form_error;

pub fn page(status: StatusCode, page: &impl askama::Template) -> HttpResponse {
    crate::admin::console::html(status, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_relative_with_the_exact_time_kept() {
        assert_eq!(relative(30_000), "just now");
        assert_eq!(relative(60_000), "1 minute ago");
        assert_eq!(relative(3 * 3_600_000), "3 hours ago");
        assert_eq!(relative(-2 * 86_400_000), "in 2 days");
        let w = when("2026-12-01T00:00:00.000Z", 1_764_633_600_000 + 86_400_000);
        assert_eq!(w.exact, "2026-12-01T00:00:00.000Z");
    }
}
