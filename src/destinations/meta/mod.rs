//! Meta Conversions API (spec/destinations.md §1): a pixel (dataset) id and an access
//! token; events up to 7 days old; Meta drops a resend of the same event_name +
//! event_id for 48 hours, so a send of unknown outcome may be repeated inside that window.

mod body;
mod classify;
mod client;
pub mod names;
mod needs;
mod test_code;
mod test_mode;

use uuid::Uuid;

pub use client::{MAX_BATCH, MetaClient, MetaTarget, RESEND_DEDUP_WINDOW_MS};
pub use needs::MESSAGING_CHANNELS;
pub use test_code::{POSTED_TEST_CODE, by_test_code};

use super::send::{Budget, per_test_code};
use super::settings::Settings;
use super::spec::{EventFacts, Fields, SendFuture, Sender, Spec, Target, TestFuture};
use super::{Destination, Kind, StoredEvent};
use crate::clock::MS_PER_DAY;
use crate::config::Config;
use crate::error::{AppError, AppResult};

/// Meta refuses events older than 7 days.
pub const MAX_AGE_MS: i64 = 7 * MS_PER_DAY;

/// Whether `destination` is the Meta pixel (dataset) `pixel_id`.
pub fn is_pixel(destination: &Destination, pixel_id: &str) -> bool {
    destination.kind == Kind::MetaCapi && destination.settings.pixel_id.as_deref() == Some(pixel_id)
}

pub struct Meta;

impl Spec for Meta {
    fn kind(&self) -> Kind {
        Kind::MetaCapi
    }
    fn name(&self) -> &'static str {
        "meta_capi"
    }
    fn label(&self) -> &'static str {
        "Meta Conversions API"
    }
    fn fields(&self) -> Fields {
        Fields {
            target: "pixel_id",
            secret: "access_token",
            test_event_code: true,
            alt_target: None,
            endpoints: &[],
        }
    }
    fn check_target(&self, _field: &str, v: &str) -> AppResult<String> {
        if v.is_empty() || v.len() > 32 || !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::invalid(
                "pixel_id",
                "pixel_id must be the numeric pixel (dataset) id",
            ));
        }
        Ok(v.to_string())
    }
    fn demo_target(&self) -> &'static str {
        "1234567890"
    }
    fn max_age_ms(&self) -> i64 {
        MAX_AGE_MS
    }
    fn claim_limit(&self) -> u64 {
        MAX_BATCH as u64
    }
    /// Meta uses events for ad delivery and attribution.
    fn needs_ad_consent(&self) -> bool {
        true
    }
    fn skip_reason(&self, event: &EventFacts, _settings: &Settings) -> Option<&'static str> {
        if !event.has_user_data {
            Some("missing_user_data")
        } else {
            needs::missing(event)
        }
    }
    fn resend_window_ms(&self, _event: &StoredEvent) -> Option<i64> {
        Some(RESEND_DEDUP_WINDOW_MS)
    }
    fn sender(&self, http: reqwest::Client, config: &Config) -> Box<dyn Sender> {
        Box::new(MetaClient {
            http,
            base: config.meta_api_base.clone(),
            version: config.meta_api_version.clone(),
        })
    }
}

/// Where a Meta destination's events go, as its client takes it.
fn meta_target<'a>(target: &'a Target<'a>) -> MetaTarget<'a> {
    MetaTarget {
        pixel_id: target.target(),
        access_token: target.credential,
        test_event_code: target.settings.test_event_code.as_deref(),
    }
}

impl Sender for MetaClient {
    fn send<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a [(Uuid, &'a StoredEvent)],
        budget: &'a Budget<'a>,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let send = move |code, group: Vec<_>| -> SendFuture<'a> {
                Box::pin(async move {
                    let meta_target = MetaTarget {
                        test_event_code: code,
                        ..meta_target(target)
                    };
                    self.send_batch(&meta_target, &group, budget).await
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
        Box::pin(async move {
            let target = meta_target(target);
            self.post_test(&target, event, now_ms).await
        })
    }
}
