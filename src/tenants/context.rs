//! The authenticated tenant of a customer request, as the API-key extractor yields it.

use uuid::Uuid;

use crate::states::ConsentPolicy;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    Manage,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "manage" => Some(Scope::Manage),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Manage => "manage",
        }
    }
}

/// Who is calling: the tenant (with the settings ingest needs) and the key's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantContext {
    pub tenant_id: Uuid,
    pub key_id: Uuid,
    pub scopes: Vec<Scope>,
    pub require_event_id: bool,
    pub dedup_window_hours: i32,
    pub plan_id: Option<Uuid>,
    /// Events posted to the Meta-compatible endpoint also go to the other destinations.
    pub meta_endpoint_fanout: bool,
    /// Whether advertising destinations need `ad_user_data: granted`.
    pub consent_policy: ConsentPolicy,
}

impl TenantContext {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}
