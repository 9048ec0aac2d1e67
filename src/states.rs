//! The states rows are in, as types: a delivery's status, a destination's state and a
//! plan's limit mode. Each is stored as the same lower-case text it always was (no
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
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Due at `next_attempt_at` (a retry waits here too).
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Permanently refused, or its destination was deleted.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Retries exhausted, or past the destination's age limit.
    #[sea_orm(string_value = "dead")]
    Dead,
    /// Its destination is paused: waits without burning retries.
    #[sea_orm(string_value = "paused")]
    Paused,
    /// An attempt's outcome is unknown and a resend could count twice: not resent.
    #[sea_orm(string_value = "unconfirmed")]
    Unconfirmed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Succeeded,
        Self::Failed,
        Self::Dead,
        Self::Paused,
        Self::Unconfirmed,
    ];
    /// Not final yet: counted as pending in usage and under a hard limit.
    pub const WAITING: [Self; 2] = [Self::Pending, Self::Paused];
    /// The final states nothing was counted for: their headroom goes back, and a replay
    /// may send them again.
    pub const REPLAYABLE: [Self; 3] = [Self::Failed, Self::Dead, Self::Unconfirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Paused => "paused",
            Self::Unconfirmed => "unconfirmed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

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
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum DestinationState {
    #[sea_orm(string_value = "active")]
    Active,
    /// The destination refused its credentials: deliveries wait until they change.
    #[sea_orm(string_value = "paused")]
    Paused,
    /// Switched off by the tenant, or deleted.
    #[sea_orm(string_value = "disabled")]
    Disabled,
}

impl DestinationState {
    pub const ALL: [Self; 3] = [Self::Active, Self::Paused, Self::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
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
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum LimitMode {
    /// Sends go on; alerts and the invoice tell.
    #[sea_orm(string_value = "soft")]
    Soft,
    /// Counted + pending sends never exceed `hard_limit`: ingest answers 429.
    #[sea_orm(string_value = "hard")]
    Hard,
}

impl LimitMode {
    pub const ALL: [Self; 2] = [Self::Soft, Self::Hard];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Soft => "soft",
            Self::Hard => "hard",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(DeliveryStatus, DestinationState, LimitMode);

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;

    use super::*;

    #[test]
    fn each_state_is_stored_and_shown_as_its_old_text() {
        for s in DeliveryStatus::ALL {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        for s in DestinationState::ALL {
            assert_eq!(s.to_value(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for m in LimitMode::ALL {
            assert_eq!(m.to_value(), m.as_str());
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
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
