//! The OpenAPI document served at `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{admin, api};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme("api_key", bearer("A tenant API key (kk_…)"));
        components.add_security_scheme(
            "admin_session",
            bearer("A session token from POST /admin/api/session"),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Kickin", description = "Server-side conversion tracking: dedup, forward to Meta CAPI and GA4 MP, meter unique sends."),
    paths(
        api::events::post_events, api::events::get_event, api::diagnostics::get_diagnostics,
        api::meta_compat::post_events,
        api::destinations::list_destinations, api::destinations::create_destination,
        api::destinations::get_destination, api::destinations::update_destination,
        api::destinations::delete_destination, api::destinations::test_destination,
        api::deliveries::list_deliveries, api::deliveries::get_delivery, api::deliveries::replay_delivery,
        api::deliveries::get_usage,
        admin::deliveries::list_deliveries, admin::deliveries::get_delivery, admin::deliveries::replay_delivery,
        admin::deliveries::get_usage,
        admin::billing::create_run, admin::billing::list_invoices, admin::billing::get_invoice,
        admin::billing::reconciliation_csv,
        admin::session::create_session, admin::session::delete_session,
        admin::plans::list_plans, admin::plans::create_plan, admin::plans::get_plan, admin::plans::update_plan,
        admin::tenants::list_tenants, admin::tenants::create_tenant, admin::tenants::get_tenant,
        admin::tenants::update_tenant, admin::tenants::list_api_keys, admin::tenants::issue_api_key,
        admin::tenants::revoke_api_key, admin::tenants::get_diagnostics,
        admin::destinations::list_destinations, admin::destinations::create_destination,
        admin::destinations::get_destination, admin::destinations::update_destination,
        admin::destinations::delete_destination, admin::destinations::test_destination,
        api::browser_keys::list_browser_keys, api::browser_keys::create_browser_key,
        api::browser_keys::revoke_browser_key, api::browser_keys::get_dedup_report,
        api::beacon::get_script, api::beacon::get_versioned_script, api::beacon::post_beacon,
        admin::browser::list_browser_keys, admin::browser::create_browser_key,
        admin::browser::revoke_browser_key, admin::browser::get_dedup_report,
        api::privacy::create_deletion, api::privacy::get_deletion,
        admin::privacy::create_deletion, admin::privacy::get_deletion,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
