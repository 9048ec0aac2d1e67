//! TikTok Events API 2.0, web events (spec/destinations.md §6): a pixel code and an
//! access token; `POST /open_api/v1.3/event/track/` with up to 1,000 events. TikTok
//! answers HTTP 200 with a `code` (0 is success), dedups on pixel + event + event_id for
//! 48 hours, and wants the phone hashed in E.164 with its `+` — a hash ingest computes
//! beside Meta's, since one cannot be derived from the other.

pub mod body;
pub mod classify;
pub mod client;
mod test_mode;

use uuid::Uuid;

pub use client::{MAX_BATCH, RESEND_DEDUP_WINDOW_MS, TiktokClient, TiktokTarget};

use super::send::{Budget, per_test_code};
use super::settings::Settings;
use super::spec::{EventFacts, Fields, SendFuture, Sender, Spec, Target, TestFuture};
use super::{Kind, StoredEvent};
use crate::clock::MS_PER_DAY;
use crate::config::Config;
use crate::error::{AppError, AppResult};

/// TikTok's oldest accepted `event_time` is not documented: web events expire after 7
/// days, as Meta's.
pub const MAX_AGE_MS: i64 = 7 * MS_PER_DAY;

/// Names a custom event must not take (TikTok refuses them).
const RESERVED_NAMES: [&str; 3] = ["Checkout", "Registration", "Browse"];

pub struct Tiktok;

impl Spec for Tiktok {
    fn kind(&self) -> Kind {
        Kind::Tiktok
    }
    fn name(&self) -> &'static str {
        "tiktok"
    }
    fn label(&self) -> &'static str {
        "TikTok Events API"
    }
    fn fields(&self) -> Fields {
        Fields {
            target: "pixel_code",
            secret: "access_token",
            test_event_code: true,
            alt_target: None,
            endpoints: &[],
        }
    }
    fn check_target(&self, _field: &str, v: &str) -> AppResult<String> {
        if v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::invalid(
                "pixel_code",
                "pixel_code must be the TikTok pixel code (letters and digits)",
            ));
        }
        Ok(v.to_string())
    }
    fn demo_target(&self) -> &'static str {
        "CDEMO1234567890"
    }
    fn max_age_ms(&self) -> i64 {
        MAX_AGE_MS
    }
    fn claim_limit(&self) -> u64 {
        MAX_BATCH as u64
    }
    /// TikTok uses events for ad delivery and attribution.
    fn needs_ad_consent(&self) -> bool {
        true
    }
    fn skip_reason(&self, event: &EventFacts, _settings: &Settings) -> Option<&'static str> {
        if event.action_source != "website" {
            // A pixel takes web events; app and offline events need other event sources.
            Some("not_a_web_event")
        } else if RESERVED_NAMES.contains(&event.event_name) {
            Some("reserved_tiktok_event_name")
        } else {
            None
        }
    }
    fn resend_window_ms(&self, _event: &StoredEvent) -> Option<i64> {
        Some(RESEND_DEDUP_WINDOW_MS)
    }
    fn sender(&self, http: reqwest::Client, config: &Config) -> Box<dyn Sender> {
        Box::new(TiktokClient {
            http,
            base: config.tiktok_api_base.clone(),
        })
    }
}

/// Where a TikTok destination's events go, as its client takes it.
fn tiktok_target<'a>(target: &'a Target<'a>) -> TiktokTarget<'a> {
    TiktokTarget {
        pixel_code: target.target(),
        access_token: target.credential,
        test_event_code: target.settings.test_event_code.as_deref(),
    }
}

impl Sender for TiktokClient {
    fn send<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a [(Uuid, &'a StoredEvent)],
        budget: &'a Budget<'a>,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let send = move |code, group: Vec<_>| -> SendFuture<'a> {
                Box::pin(async move {
                    let tiktok_target = TiktokTarget {
                        test_event_code: code,
                        ..tiktok_target(target)
                    };
                    self.send(&tiktok_target, &group, budget).await
                })
            };
            let own = target.settings.test_event_code.as_deref();
            per_test_code(&send, events, own, budget).await
        })
    }

    fn send_test<'a>(
        &'a self,
        target: &'a Target<'a>,
        event: &'a StoredEvent,
        now_ms: i64,
    ) -> TestFuture<'a> {
        Box::pin(async move { self.post_test(&tiktok_target(target), event, now_ms).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static EMPTY: std::collections::BTreeMap<String, serde_json::Value> =
        std::collections::BTreeMap::new();
    static NONE: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

    fn facts<'a>(name: &'a str, source: &'a str) -> EventFacts<'a> {
        EventFacts {
            event_name: name,
            action_source: source,
            has_user_data: true,
            has_ga4_client_id: false,
            has_ga4_app_instance_id: false,
            hashed: &EMPTY,
            identifiers: &NONE,
            extra: &EMPTY,
        }
    }

    #[test]
    fn a_pixel_takes_web_events_with_names_tiktok_allows() {
        assert_eq!(
            Tiktok.skip_reason(&facts("Purchase", "website"), &Settings::default()),
            None
        );
        assert_eq!(
            Tiktok.skip_reason(&facts("my_custom", "website"), &Settings::default()),
            None
        );
        assert_eq!(
            Tiktok.skip_reason(&facts("Purchase", "app"), &Settings::default()),
            Some("not_a_web_event")
        );
        assert_eq!(
            Tiktok.skip_reason(&facts("Checkout", "website"), &Settings::default()),
            Some("reserved_tiktok_event_name")
        );
    }

    #[test]
    fn pixel_codes_are_letters_and_digits() {
        assert!(
            Tiktok
                .check_target("pixel_code", "D17TA5JC77UDOT6CA5FG")
                .is_ok()
        );
        let err = Tiktok.check_target("pixel_code", "bad code").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("pixel_code"));
    }
}
