//! GA4 Measurement Protocol (spec/destinations.md §2): a web stream's measurement id and
//! API secret; events up to 72 hours old, one `client_id` per request. GA4 drops a
//! resend only for a `purchase` with a `transaction_id`; any other resent event counts
//! again, so a send of unknown outcome is never repeated for those.

mod body;
mod client;
mod debug;
pub mod names;

use uuid::Uuid;

pub use body::deduplicates_resend;
pub use client::{Ga4Client, Ga4Target, MAX_EVENTS, Stream, classify};
pub use debug::DEBUG_PATH;

use super::send::Budget;
use super::settings::Settings;
use super::spec::{EventFacts, Fields, SendFuture, Sender, Spec, Target, TestFuture};
use super::{Kind, StoredEvent};
use crate::clock::MS_PER_HOUR;
use crate::config::Config;
use crate::error::{AppError, AppResult};

/// GA4 accepts events backdated up to 72 hours.
pub const MAX_AGE_MS: i64 = 72 * MS_PER_HOUR;
/// GA4 requests go one `client_id` group at a time: 16 × the 5 s timeout stays well
/// inside the default lease (and the claim's budget defers what would not).
const CLAIM_LIMIT: u64 = 16;

pub struct Ga4;

impl Spec for Ga4 {
    fn kind(&self) -> Kind {
        Kind::Ga4Mp
    }
    fn name(&self) -> &'static str {
        "ga4_mp"
    }
    fn label(&self) -> &'static str {
        "GA4 Measurement Protocol"
    }
    fn fields(&self) -> Fields {
        Fields {
            target: "measurement_id",
            secret: "api_secret",
            test_event_code: false,
            alt_target: Some("firebase_app_id"),
            endpoints: &["global", "eu"],
        }
    }
    fn check_target(&self, field: &str, v: &str) -> AppResult<String> {
        if field == "firebase_app_id" {
            return check_firebase_app_id(v);
        }
        let ok = v.strip_prefix("G-").is_some_and(|r| {
            !r.is_empty() && r.len() <= 20 && r.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !ok {
            return Err(AppError::invalid(
                "measurement_id",
                "measurement_id must look like G-XXXXXXX",
            ));
        }
        Ok(v.to_string())
    }
    fn demo_target(&self) -> &'static str {
        "G-DEMO1234"
    }
    fn max_age_ms(&self) -> i64 {
        MAX_AGE_MS
    }
    fn claim_limit(&self) -> u64 {
        CLAIM_LIMIT
    }
    /// GA4 is analytics: it receives the consent itself and applies it.
    fn needs_ad_consent(&self) -> bool {
        false
    }
    fn skip_reason(&self, event: &EventFacts, settings: &Settings) -> Option<&'static str> {
        let app_stream = settings.firebase_app_id.is_some();
        if app_stream && !event.has_ga4_app_instance_id {
            Some("missing_app_instance_id")
        } else if !app_stream && !event.has_ga4_client_id {
            Some("missing_client_id")
        } else if names::ga4_name(event.event_name).is_none() {
            Some("invalid_ga4_event_name")
        } else {
            None
        }
    }
    fn resend_window_ms(&self, event: &StoredEvent) -> Option<i64> {
        // No window is documented: GA4's own age limit (the delivery's expiry) bounds it.
        deduplicates_resend(event).then_some(i64::MAX)
    }
    fn sender(&self, http: reqwest::Client, config: &Config) -> Box<dyn Sender> {
        Box::new(Ga4Client {
            http,
            base: config.ga4_api_base.clone(),
            eu_base: config.ga4_eu_api_base.clone(),
        })
    }
}

/// The stream, credential and endpoint of a GA4 destination.
fn ga4_target<'a>(target: &'a Target<'a>) -> Ga4Target<'a> {
    let settings = target.settings;
    Ga4Target {
        stream: match &settings.firebase_app_id {
            Some(app) => Stream::App(app),
            None => Stream::Web(target.target()),
        },
        api_secret: target.credential,
        eu: settings.endpoint.as_deref() == Some("eu"),
    }
}

impl Sender for Ga4Client {
    fn send<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a [(Uuid, &'a StoredEvent)],
        budget: &'a Budget<'a>,
    ) -> SendFuture<'a> {
        Box::pin(async move { self.send_groups(&ga4_target(target), events, budget).await })
    }

    fn send_test<'a>(
        &'a self,
        target: &'a Target<'a>,
        event: &'a StoredEvent,
        _now_ms: i64,
    ) -> TestFuture<'a> {
        Box::pin(async move { self.post_test(&ga4_target(target), event).await })
    }
}

/// A Firebase app id: `1:<project number>:<android|ios|web>:<hex>`.
fn check_firebase_app_id(v: &str) -> AppResult<String> {
    let parts: Vec<&str> = v.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let ok = parts.len() == 4
        && digits(parts[0])
        && digits(parts[1])
        && ["android", "ios", "web"].contains(&parts[2])
        && !parts[3].is_empty()
        && parts[3].chars().all(|c| c.is_ascii_hexdigit());
    if !ok || v.len() > 100 {
        let message = "firebase_app_id must look like 1:1234567890:android:0123456789abcdef";
        return Err(AppError::invalid("firebase_app_id", message));
    }
    Ok(v.to_string())
}
