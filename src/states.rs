//! The states rows are in, as types: a delivery's status, a destination's state, a
//! plan's limit mode and an invoice's Stripe sync. Each is stored as the same lower-case text it always was (no
//! migration), and JSON shows that text too. Reading a value that is none of these is a
//! database error, never a guess.

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Where a delivery is in its life. `Pending` and `Paused` wait; the rest are final
/// (a replay may put `Failed`, `Dead` and `Unconfirmed` back to `Pending`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::Display,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    /// Due at `next_attempt_at` (a retry waits here too).
    Pending,
    Succeeded,
    /// Permanently refused, or its destination was deleted.
    Failed,
    /// Retries exhausted, or past the destination's age limit.
    Dead,
    /// Its destination is paused: waits without burning retries.
    Paused,
    /// An attempt's outcome is unknown and a resend could count twice: not resent.
    Unconfirmed,
}

impl DeliveryStatus {
    /// Not final yet: counted as pending in usage and under a hard limit.
    pub const WAITING: [Self; 2] = [Self::Pending, Self::Paused];
    /// The final states nothing was counted for: their headroom goes back, and a replay
    /// may send them again.
    pub const REPLAYABLE: [Self; 3] = [Self::Failed, Self::Dead, Self::Unconfirmed];

    pub fn is_replayable(self) -> bool {
        Self::REPLAYABLE.contains(&self)
    }
}

/// Whether a destination's deliveries are sent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::Display,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DestinationState {
    Active,
    /// The destination refused its credentials: deliveries wait until they change.
    Paused,
    /// Switched off by the tenant, or deleted.
    Disabled,
}

/// What a plan does when a month's sends reach its limit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::Display,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LimitMode {
    /// Sends go on; alerts and the invoice tell.
    Soft,
    /// Counted + pending sends never exceed `hard_limit`: ingest answers 429.
    Hard,
}

/// Where an invoice is with Stripe.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::Display,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SyncStatus {
    /// Waiting for its first sync.
    Pending,
    Synced,
    /// The last sync failed; the next billing run retries it.
    Failed,
    /// Stripe is not configured: the invoice stays local until it is.
    NotConfigured,
}

impl SyncStatus {
    /// Invoices a billing run (re)tries to sync.
    pub const UNSYNCED: [Self; 3] = [Self::Pending, Self::Failed, Self::NotConfigured];
}

/// What a tenant does with the visitor's consent (`consent_policy`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::Display,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConsentPolicy {
    /// Every event goes everywhere as given; GA4 gets its consent.
    #[default]
    Forward,
    /// Events without `ad_user_data: granted` skip advertising destinations.
    Enforce,
}

/// Where a person's deletion is: `Pending` until every matching row is rewritten and the
/// old bytes are gone from the database files, then `Done`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::Display,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeletionStatus {
    Pending,
    Done,
}

/// Every value, its text (`as_str`) and back (`parse`), from the one list of variants.
macro_rules! stored_as_text {
    ($($t:ty),*) => {$(
        impl $t {
            pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

            pub fn as_str(self) -> &'static str {
                self.into()
            }

            pub fn parse(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }
    )*};
}
stored_as_text!(
    DeliveryStatus,
    DestinationState,
    LimitMode,
    SyncStatus,
    ConsentPolicy,
    DeletionStatus
);

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;

    use super::*;

    #[test]
    fn each_state_is_stored_and_shown_as_its_old_text() {
        for s in DeliveryStatus::ALL {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(*s));
        }
        for s in DestinationState::ALL {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for m in LimitMode::ALL {
            assert_eq!(m.to_value(), m.as_str());
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        for s in SyncStatus::ALL {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(SyncStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(SyncStatus::NotConfigured.as_str(), "not_configured");
        assert_eq!(DeliveryStatus::Unconfirmed.to_string(), "unconfirmed");
    }

    #[test]
    fn an_unknown_stored_value_is_a_database_error() {
        let stored = "archived".to_string();
        assert!(matches!(
            DeliveryStatus::try_from_value(&stored),
            Err(sea_orm::DbErr::Type(_))
        ));
        assert!(DestinationState::try_from_value(&stored).is_err());
        assert!(LimitMode::try_from_value(&stored).is_err());
        assert_eq!(DeliveryStatus::parse("Pending"), None);
    }
}
