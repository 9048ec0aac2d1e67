//! The OpenAPI document served at `/openapi.json`: the paths and schemas derived from the
//! handlers, then completed where a derive cannot know the truth — the event and beacon
//! bodies with every field and constraint (`events`, `bodies`) and every error each
//! operation can answer (`responses`). The same document tells the router which methods a
//! known path allows (`allowed_methods`), so a wrong method is a 405, not a 404.

mod bodies;
mod events;
mod responses;

use std::sync::OnceLock;

use serde_json::Value;
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
        admin::tenants::revoke_api_key, admin::tenants::get_diagnostics, admin::users::create_user,
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

/// The whole document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        events::complete(&mut doc);
        bodies::complete(&mut doc);
        responses::complete(&mut doc);
        doc
    })
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The methods a documented path allows (upper case), or `None` when no documented path
/// matches `path`. A template segment (`{id}`) matches any one non-empty segment.
pub fn allowed_methods(path: &str) -> Option<Vec<String>> {
    let paths = document().get("paths")?.as_object()?;
    let (_, item) = paths.iter().find(|(template, _)| matches(template, path))?;
    let allowed = METHODS
        .iter()
        .filter(|m| item.get(**m).is_some())
        .map(|m| m.to_ascii_uppercase())
        .collect();
    Some(allowed)
}

fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| match t.find('{') {
            Some(open) => {
                let close = t.rfind('}').unwrap_or(t.len() - 1);
                let (prefix, suffix) = (&t[..open], &t[close + 1..]);
                p.len() > prefix.len() + suffix.len()
                    && p.starts_with(prefix)
                    && p.ends_with(suffix)
            }
            None => t == p,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_each() {
        assert!(matches("/v1/destinations/{id}", "/v1/destinations/abc"));
        assert!(!matches("/v1/destinations/{id}", "/v1/destinations/"));
        assert!(!matches("/v1/destinations/{id}", "/v1/destinations/a/b"));
        assert!(matches(
            "/v1/browser/kickin-{version}.js",
            "/v1/browser/kickin-1a2b.js"
        ));
        assert!(!matches(
            "/v1/browser/kickin-{version}.js",
            "/v1/browser/kickin-.js"
        ));
    }

    #[test]
    fn a_known_path_lists_its_methods_and_an_unknown_one_none() {
        let allowed = allowed_methods("/v1/destinations/0190").unwrap();
        for m in ["GET", "PATCH", "DELETE"] {
            assert!(allowed.contains(&m.to_string()), "{m} in {allowed:?}");
        }
        assert!(!allowed.contains(&"POST".to_string()));
        assert_eq!(allowed_methods("/v1/nothing-here"), None);
    }

    fn operations() -> impl Iterator<Item = (String, &'static Value)> {
        document()["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                let ops = item.as_object().unwrap().iter();
                ops.map(move |(method, op)| (format!("{method} {path}"), op))
            })
    }

    #[test]
    fn every_response_of_every_operation_is_described() {
        for (name, op) in operations() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("503"), "{name}");
            for (code, response) in responses {
                let text = response["description"].as_str().unwrap_or_default();
                assert!(!text.is_empty(), "{name} {code}");
            }
            if let Some(params) = op.get("parameters") {
                assert!(params.is_array(), "{name}: parameters {params}");
            }
        }
    }

    #[test]
    fn every_list_cursor_is_described_as_next_cursor_gives_it() {
        let mut lists = 0;
        for (name, op) in operations() {
            let params = op.get("parameters").and_then(Value::as_array);
            for p in params
                .into_iter()
                .flatten()
                .filter(|p| p["name"] == "cursor")
            {
                assert_eq!(p["schema"]["pattern"], crate::page::CURSOR, "{name}");
                lists += 1;
            }
        }
        assert!(lists >= 10, "only {lists} lists take a cursor");
    }

    #[test]
    fn a_deletion_names_exactly_one_identifier() {
        let schema = &document()["components"]["schemas"]["DeletionRequest"];
        assert_eq!(schema["required"], serde_json::json!(["user_data"]));
        let user_data = &schema["properties"]["user_data"];
        assert_eq!(
            (
                user_data["minProperties"].as_u64(),
                user_data["maxProperties"].as_u64()
            ),
            (Some(1), Some(1))
        );
        let names: Vec<&String> = user_data["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names.len(), crate::privacy::identify::FIELDS.len());
    }
}
