//! The shared state every request handler and background task reads: the database,
//! keys, clock, configuration and the long-lived services built once at start. Apart
//! from `startup`, so handlers depend on what they use, not on the app builder.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::billing::stripe_sync::StripeSync;
use crate::bootstrap;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::Keys;
use crate::db::Db;
use crate::dispatch::Dispatcher;

/// Everything a request handler may need; cloned cheaply per worker.
pub struct AppState {
    pub db: Db,
    pub keys: Keys,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub limiter: Option<Arc<DefaultKeyedRateLimiter<Uuid>>>,
    pub dispatcher: Arc<Dispatcher>,
    /// The login lock (per address and account) and the password-check gate, shared by
    /// the console and the admin API.
    pub logins: Arc<crate::accounts::login::Logins>,
    /// Set when `KICKIN_STRIPE_SECRET_KEY` is.
    pub stripe: Option<Arc<StripeSync>>,
    /// `serve --demo`: the built-in Meta/GA4 sandbox is mounted.
    pub demo: bool,
    /// Commits concurrent ingest requests together.
    pub committer: Arc<crate::ingest::Committer>,
    /// Recently seen API keys, for ingest (which re-checks them in its commit).
    pub key_cache: Arc<crate::tenants::auth::KeyCache>,
    /// Recently seen browser keys, for the beacon.
    pub browser_keys: Arc<crate::browser::keys::KeyCache>,
    /// Stores beacons, sharing transactions between concurrent ones.
    pub intake: Arc<crate::browser::intake::Intake>,
    /// "Send test event", with its per-destination rate limit.
    pub test_sends: Arc<crate::destinations::test_send::TestSends>,
}

impl AppState {
    /// Connects, migrates and derives keys; creates the first admin when configured.
    pub async fn init(config: Config, clock: Clock, demo: bool) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let secret = bootstrap::resolve_secret_key(&config)?;
        let keys = Keys::derive(&secret);
        bootstrap::ensure_admin(&db, &config, clock.now_ms()).await?;
        let limiter = NonZeroU32::new(config.api_rate_limit).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        let dispatcher = Arc::new(Dispatcher::new(
            db.clone(),
            keys.clone(),
            clock.clone(),
            &config,
        ));
        let stripe = match &config.stripe_secret_key {
            Some(secret) => Some(Arc::new(
                StripeSync::new(secret, &config.stripe_api_base).map_err(anyhow::Error::msg)?,
            )),
            None => None,
        };
        // SQLite has one writer: one group at a time. PostgreSQL: while some groups wait
        // for the server, others gather and prepare.
        let slots = match (config.ingest_commits, db.backend()) {
            (0, sea_orm::DatabaseBackend::Sqlite) => 1,
            (0, _) => 2,
            (n, _) => n,
        };
        let committer = crate::ingest::Committer::start(db.clone(), slots);
        let key_cache = Arc::new(crate::tenants::auth::KeyCache::new(
            std::time::Duration::from_secs(60),
        ));
        let intake = crate::browser::intake::Intake::start(db.clone());
        let test_sends = Arc::new(crate::destinations::test_send::TestSends::new(&config));
        Ok(AppState {
            test_sends,
            committer,
            key_cache,
            browser_keys: Default::default(),
            intake,
            db,
            keys,
            clock,
            config: Arc::new(config),
            limiter,
            dispatcher,
            logins: Default::default(),
            stripe,
            demo,
        })
    }
}
