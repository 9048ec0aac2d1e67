//! Running a test send: the per-destination rate limit, the opened credential (memory
//! only), the sample event on the application's clock, and the kind's own test mode.
//! The destination's state is left as it is: a paused destination is tested to check
//! its credentials, and resumes only when they are saved or it is set `active` (a
//! GA4 validation server does not even check the API secret).

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use uuid::Uuid;

use super::{TestResult, sample_event};
use crate::audit::Change;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Keys;
use crate::destinations::Destination;
use crate::destinations::send::Senders;
use crate::destinations::spec::Target;
use crate::error::{AppError, AppResult, ErrorKind};

/// Test sends one destination takes per minute, whoever asks (API, admin API, console),
/// on top of the API key's own rate limit: enough to try new credentials a few times,
/// too few to turn the button into a way of flooding a pixel.
pub const PER_DESTINATION_PER_MINUTE: u32 = 10;

/// Sends test events; built once at start.
pub struct TestSends {
    senders: Senders,
    limiter: DefaultKeyedRateLimiter<Uuid>,
}

impl TestSends {
    pub fn new(config: &Config) -> Self {
        let rate = NonZeroU32::new(PER_DESTINATION_PER_MINUTE).expect("a non-zero rate");
        TestSends {
            senders: Senders::new(config),
            limiter: RateLimiter::keyed(Quota::per_minute(rate)),
        }
    }

    /// Sends the sample event to `destination` in its test mode, whatever its state.
    /// Errors only for Kickin's own reasons (429 over the limit, an unreadable secret);
    /// whatever the destination answers, or fails to, is in the result.
    pub async fn run(
        &self,
        keys: &Keys,
        clock: &Clock,
        destination: &Destination,
    ) -> AppResult<TestResult> {
        self.check_limit(destination.id())?;
        let credential = destination.credential(keys)?;
        let target = Target {
            settings: &destination.settings,
            credential: &credential,
        };
        let now = clock.now_ms();
        let event = sample_event(now);
        let result = self
            .senders
            .get(destination.kind)
            .send_test(&target, &event, now)
            .await;
        tracing::info!(
            destination_id = %destination.id(),
            kind = destination.kind.as_str(),
            ok = result.ok,
            status = result.status,
            "test event sent"
        );
        Ok(result)
    }

    fn check_limit(&self, destination_id: Uuid) -> AppResult<()> {
        let Err(not_until) = self.limiter.check_key(&destination_id) else {
            return Ok(());
        };
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let mut e = AppError::new(
            ErrorKind::TooManyRequests,
            "rate_limited",
            format!("at most {PER_DESTINATION_PER_MINUTE} test events per minute per destination"),
        );
        e.retry_after = Some(u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX));
        Err(e)
    }
}

/// The audit entry of an admin's test send: which destination, and what it answered
/// (the destination's own words; the credential is never part of a result).
pub fn audit_change(destination: &Destination, result: &TestResult) -> Change {
    let view = json!({
        "tenant_id": destination.model.tenant_id,
        "kind": destination.kind.as_str(),
        "name": destination.model.name,
        "state": destination.model.state,
        "ok": result.ok,
        "status": result.status,
        "messages": result.messages,
    });
    Change::new("destination.test", "destination", destination.id()).after(&view)
}
