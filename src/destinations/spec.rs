//! What every kind of destination tells the rest of Kickin: its settings, how old an
//! event it still takes, which events it cannot take (skipped at ingest, with a reason),
//! how many deliveries one claim holds, whether it drops a resend as a duplicate, and
//! how to send. Ingest, dispatch, the console and the API ask a `Spec`; only the
//! destination's own module knows the answers.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use uuid::Uuid;

use super::kind::Kind;
use super::outcome;
use super::send::Budget;
use super::settings::Settings;
use super::stored::StoredEvent;
use super::test_send::TestResult;
use crate::config::Config;
use crate::error::AppResult;

/// Deliveries expire this long before the destination's own age limit: an event sent at
/// the very edge could be refused by the time it arrives (clocks differ, requests take
/// time), so Kickin never queues or sends an event within this margin of its limit.
pub const EXPIRY_MARGIN_MS: i64 = 3_600_000;

/// What ingest knows about an event when it decides which destinations it goes to.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub event_name: &'a str,
    pub action_source: &'a str,
    /// Any customer-information parameter or identifier was given.
    pub has_user_data: bool,
    pub has_ga4_client_id: bool,
    pub has_ga4_app_instance_id: bool,
    /// The names of the hashed customer-information parameters given.
    pub hashed: &'a BTreeMap<String, Value>,
    /// The identifiers given unhashed (IP, user agent, click and platform ids).
    pub identifiers: &'a BTreeMap<String, String>,
    /// The other server-event fields (`app_data`, `messaging_channel`, …).
    pub extra: &'a BTreeMap<String, Value>,
}

/// The settings fields a kind takes in `POST/PATCH /v1/destinations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// Where the events go: `pixel_id`, `measurement_id`, `pixel_code`.
    pub target: &'static str,
    /// The write-only credential: `access_token` or `api_secret`.
    pub secret: &'static str,
    /// Whether `test_event_code` applies.
    pub test_event_code: bool,
    /// A target field that may stand in for `target` (GA4 app streams: `firebase_app_id`).
    pub alt_target: Option<&'static str>,
    /// The collection endpoints `endpoint` may name, the first being the default; empty
    /// when the kind has one.
    pub endpoints: &'static [&'static str],
}

/// Results of one send, one per delivery id.
pub type Results = Vec<(Uuid, outcome::Result)>;
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Results> + Send + 'a>>;
pub type TestFuture<'a> = Pin<Box<dyn Future<Output = TestResult> + Send + 'a>>;

/// Where one destination's events go, as its sender needs it.
pub struct Target<'a> {
    pub settings: &'a Settings,
    /// The opened credential (memory only).
    pub credential: &'a str,
}

impl Target<'_> {
    pub fn target(&self) -> &str {
        self.settings.target().unwrap_or_default()
    }
}

/// Sends events to one kind of destination and classifies every answer.
pub trait Sender: Send + Sync {
    /// Sends (delivery id, event) pairs of one destination; requests the claim's budget
    /// has no room for are deferred, unsent.
    fn send<'a>(
        &'a self,
        target: &'a Target<'a>,
        events: &'a [(Uuid, &'a StoredEvent)],
        budget: &'a Budget<'a>,
    ) -> SendFuture<'a>;

    /// Sends `event` once in the destination's test mode (Meta and TikTok with a
    /// `test_event_code`, GA4 to its validation server) and reads the answer; a
    /// transport failure is a result too (`ok: false`, no status).
    fn send_test<'a>(
        &'a self,
        target: &'a Target<'a>,
        event: &'a StoredEvent,
        now_ms: i64,
    ) -> TestFuture<'a>;
}

pub trait Spec: Sync {
    fn kind(&self) -> Kind;
    /// The stored and shown name (`meta_capi`).
    fn name(&self) -> &'static str;
    /// The name people read (`Meta Conversions API`).
    fn label(&self) -> &'static str;
    fn fields(&self) -> Fields;
    /// Validates the value of the target field `field` (`target` or `alt_target`).
    fn check_target(&self, field: &str, value: &str) -> AppResult<String>;
    /// A well-formed target for the demo tenant and samples.
    fn demo_target(&self) -> &'static str;
    /// The oldest event the destination accepts.
    fn max_age_ms(&self) -> i64;
    /// Deliveries one claim takes (and one batch sends at most).
    fn claim_limit(&self) -> u64;
    /// Whether the destination uses events for advertising, so that a tenant enforcing
    /// consent sends it only events with `ad_user_data` granted.
    fn needs_ad_consent(&self) -> bool;
    /// Why a destination with `settings` cannot take the event, if it cannot.
    fn skip_reason(&self, event: &EventFacts, settings: &Settings) -> Option<&'static str>;
    /// How long after an attempt that may have arrived the destination still drops a
    /// resend of `event` as a duplicate; `None` when it never does.
    fn resend_window_ms(&self, event: &StoredEvent) -> Option<i64>;
    /// The client that sends to this kind, with the base URL from configuration.
    fn sender(&self, http: reqwest::Client, config: &Config) -> Box<dyn Sender>;

    /// When a delivery of an event at `event_time_ms` stops being sent.
    fn expires_at(&self, event_time_ms: i64) -> i64 {
        event_time_ms + self.max_age_ms() - EXPIRY_MARGIN_MS
    }
    /// The event time at which a delivery expires at `now_ms` (`expires_at(t) <= now` ⇔
    /// `t <= too_old_before(now)`); ingest queues only events after it.
    fn too_old_before(&self, now_ms: i64) -> i64 {
        now_ms - self.max_age_ms() + EXPIRY_MARGIN_MS
    }
}
