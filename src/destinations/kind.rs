//! The kinds of destination Kickin sends to, and the one place each kind is registered:
//! `Kind::spec` hands out its knowledge. Nothing else matches on a kind.

use serde::{Deserialize, Serialize};

use super::spec::Spec;
use super::{ga4, meta, tiktok};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MetaCapi,
    Ga4Mp,
    Tiktok,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::MetaCapi, Kind::Ga4Mp, Kind::Tiktok];

    /// Everything Kickin knows about sending to this kind of destination.
    pub fn spec(self) -> &'static dyn Spec {
        match self {
            Kind::MetaCapi => &meta::Meta,
            Kind::Ga4Mp => &ga4::Ga4,
            Kind::Tiktok => &tiktok::Tiktok,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The name stored and shown (`meta_capi`, `ga4_mp`, `tiktok`).
    pub fn as_str(self) -> &'static str {
        self.spec().name()
    }

    /// `meta_capi, ga4_mp or tiktok`, for error messages.
    pub fn list() -> String {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_name() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.spec().kind(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(Kind::parse("Meta_Capi"), None);
        assert_eq!(Kind::list(), "meta_capi, ga4_mp or tiktok");
    }
}
