//! Configuration from `KICKIN_*` environment variables (see API.md). Every value is
//! checked at start; an invalid one stops the process with one line naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    All,
    Api,
    Worker,
}

impl Role {
    pub fn serves_http(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }
    pub fn runs_workers(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }

    /// Worker threads of the main runtime for `serve` when `TOKIO_WORKER_THREADS` does
    /// not decide. An API-only process runs only the ingest committer there (HTTP has
    /// workers of its own), a pipeline that loses to wake-ups across threads when spread
    /// out. Measured on 2 cores with the generator on the box, one thread against two:
    /// single events 7,700–8,600/s against 6,000–7,500 on PostgreSQL and 7,000–7,300
    /// against 6,400–6,600 on SQLite; batched −5 % on PostgreSQL, +15 % on SQLite.
    /// Processes that run workers keep tokio's default (one per core).
    pub fn runtime_threads(self) -> Option<usize> {
        matches!(self, Role::Api).then_some(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    pub secret_key: Option<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub role: Role,
    pub meta_api_base: String,
    pub meta_api_version: String,
    pub ga4_api_base: String,
    /// GA4's EU collection endpoint, for destinations with `endpoint: "eu"`.
    pub ga4_eu_api_base: String,
    pub tiktok_api_base: String,
    pub stripe_api_base: String,
    pub stripe_secret_key: Option<String>,
    pub api_rate_limit: u32,
    pub retry_schedule: Vec<Duration>,
    pub max_body_bytes: usize,
    pub log_format: LogFormat,
    /// How long a worker's claim on a delivery lasts before another worker may take it.
    pub lease_ms: i64,
    /// Ingest group commits in flight at once (0 = 1 on SQLite, 2 on PostgreSQL).
    pub ingest_commits: usize,
    /// How long one destination request may take before its outcome counts as unknown.
    pub send_timeout: Duration,
    /// HTTP worker threads (0 = automatic, see `http_workers`).
    pub http_workers: usize,
}

impl std::fmt::Debug for Config {
    // Secrets never reach a log, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("role", &self.role)
            .field("meta_api_base", &self.meta_api_base)
            .field("ga4_api_base", &self.ga4_api_base)
            .field("ga4_eu_api_base", &self.ga4_eu_api_base)
            .field("tiktok_api_base", &self.tiktok_api_base)
            .field("stripe_api_base", &self.stripe_api_base)
            .field("stripe_configured", &self.stripe_secret_key.is_some())
            .field("api_rate_limit", &self.api_rate_limit)
            .finish_non_exhaustive()
    }
}

/// One invalid variable: `variable` is its name, `message` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,30s,2m,10m,30m,1h,3h,6h,12h,24h";

/// Every variable Kickin reads; anything else starting with `KICKIN_` is reported as a
/// probable typo.
pub const KNOWN_VARIABLES: [&str; 20] = [
    "KICKIN_DATABASE_URL",
    "KICKIN_BIND",
    "KICKIN_SECRET_KEY",
    "KICKIN_ADMIN_EMAIL",
    "KICKIN_ADMIN_PASSWORD",
    "KICKIN_ROLE",
    "KICKIN_META_API_BASE",
    "KICKIN_META_API_VERSION",
    "KICKIN_GA4_API_BASE",
    "KICKIN_TIKTOK_API_BASE",
    "KICKIN_STRIPE_API_BASE",
    "KICKIN_STRIPE_SECRET_KEY",
    "KICKIN_API_RATE_LIMIT",
    "KICKIN_RETRY_SCHEDULE",
    "KICKIN_MAX_BODY_BYTES",
    "KICKIN_LOG_FORMAT",
    "KICKIN_LEASE_SECONDS",
    "KICKIN_INGEST_COMMITS",
    "KICKIN_SEND_TIMEOUT",
    "KICKIN_HTTP_WORKERS",
];

struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    fn or(&self, name: &str, default: &'static str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }
}

fn fail(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Builds and checks a configuration from a map of variables (tests use this).
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let vars = Vars(map);
        let database_url = vars.or("KICKIN_DATABASE_URL", "sqlite://kickin.db?mode=rwc");
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(fail(
                "KICKIN_DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        let bind = vars.or("KICKIN_BIND", "127.0.0.1:8080");
        let bind = bind.parse().map_err(|_| {
            fail(
                "KICKIN_BIND",
                format!("{bind:?} is not an address like 127.0.0.1:8080"),
            )
        })?;
        let secret_key = vars.get("KICKIN_SECRET_KEY").map(str::to_string);
        Ok(Config {
            database_url,
            bind,
            secret_key,
            admin_email: vars.get("KICKIN_ADMIN_EMAIL").map(str::to_string),
            admin_password: vars.get("KICKIN_ADMIN_PASSWORD").map(str::to_string),
            role: parse_role(&vars.or("KICKIN_ROLE", "all"))?,
            meta_api_base: base_url(&vars, "KICKIN_META_API_BASE", "https://graph.facebook.com")?,
            meta_api_version: meta_version(&vars.or("KICKIN_META_API_VERSION", "v25.0"))?,
            ga4_api_base: base_url(
                &vars,
                "KICKIN_GA4_API_BASE",
                "https://www.google-analytics.com",
            )?,
            ga4_eu_api_base: base_url(
                &vars,
                "KICKIN_GA4_EU_API_BASE",
                "https://region1.google-analytics.com",
            )?,
            tiktok_api_base: base_url(
                &vars,
                "KICKIN_TIKTOK_API_BASE",
                "https://business-api.tiktok.com",
            )?,
            stripe_api_base: base_url(&vars, "KICKIN_STRIPE_API_BASE", "https://api.stripe.com")?,
            stripe_secret_key: vars.get("KICKIN_STRIPE_SECRET_KEY").map(str::to_string),
            api_rate_limit: number(&vars, "KICKIN_API_RATE_LIMIT", 1000)?,
            retry_schedule: parse_schedule(
                &vars.or("KICKIN_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE),
            )
            .map_err(|m| fail("KICKIN_RETRY_SCHEDULE", m))?,
            max_body_bytes: number(&vars, "KICKIN_MAX_BODY_BYTES", 1024 * 1024)?,
            log_format: parse_log_format(&vars.or("KICKIN_LOG_FORMAT", "text"))?,
            lease_ms: number::<i64>(&vars, "KICKIN_LEASE_SECONDS", 120)? * 1000,
            ingest_commits: number(&vars, "KICKIN_INGEST_COMMITS", 0)?,
            send_timeout: parse_duration(&vars.or("KICKIN_SEND_TIMEOUT", "5s"))
                .map_err(|m| fail("KICKIN_SEND_TIMEOUT", m))?,
            http_workers: number(&vars, "KICKIN_HTTP_WORKERS", 0)?,
        })
        .and_then(Config::checked)
    }

    fn checked(self) -> Result<Self, ConfigError> {
        if self.admin_email.is_some() != self.admin_password.is_some() {
            return Err(fail(
                "KICKIN_ADMIN_PASSWORD",
                "set KICKIN_ADMIN_EMAIL and KICKIN_ADMIN_PASSWORD together",
            ));
        }
        if !(1_000..=3_600_000).contains(&self.lease_ms) {
            return Err(fail("KICKIN_LEASE_SECONDS", "must be between 1 and 3600"));
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&self.send_timeout) {
            return Err(fail("KICKIN_SEND_TIMEOUT", "must be between 100ms and 60s"));
        }
        if self.ingest_commits > 64 {
            return Err(fail(
                "KICKIN_INGEST_COMMITS",
                "must be between 0 (automatic) and 64",
            ));
        }
        if self.http_workers > 256 {
            return Err(fail(
                "KICKIN_HTTP_WORKERS",
                "must be between 0 (automatic) and 256",
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(fail("KICKIN_MAX_BODY_BYTES", "must be at least 1024"));
        }
        Ok(self)
    }

    /// HTTP worker threads for a machine of `cores`: as set, or half the cores (at least
    /// one), leaving the rest to the runtime that commits and sends and to a database on
    /// the same box. Each request is handed to the committer and answered from it, so
    /// more HTTP threads than the work needs only add wake-ups across threads. Measured
    /// on 2 cores with PostgreSQL and the generator on the box, one HTTP thread against
    /// two: single events +17 to +20 % (three pairs, server CPU per event −18 %),
    /// batched +8 and +9 %, ingest + delivery in one process +7, −6 and +19 %.
    pub fn http_workers(&self, cores: usize) -> usize {
        match self.http_workers {
            0 => (cores / 2).max(1),
            n => n,
        }
    }

    /// Settings that work but are weak; `serve` logs each as a warning.
    pub fn weaknesses(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.secret_key.as_ref().is_some_and(|k| k.len() < 32) {
            out.push(
                "KICKIN_SECRET_KEY is shorter than 32 characters; use a long random value".into(),
            );
        }
        if self.admin_password.as_ref().is_some_and(|p| p.len() < 12) {
            out.push("KICKIN_ADMIN_PASSWORD is shorter than 12 characters; change it after the first login".into());
        }
        out
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// Names of `KICKIN_*` variables that Kickin does not know (likely misspelt).
pub fn unknown_variables(map: &HashMap<String, String>) -> Vec<String> {
    let mut unknown: Vec<String> = map
        .keys()
        .filter(|k| k.starts_with("KICKIN_") && !k.starts_with("KICKIN_TEST_"))
        .filter(|k| !KNOWN_VARIABLES.contains(&k.as_str()))
        .cloned()
        .collect();
    unknown.sort();
    unknown
}

fn parse_role(value: &str) -> Result<Role, ConfigError> {
    match value {
        "all" => Ok(Role::All),
        "api" => Ok(Role::Api),
        "worker" => Ok(Role::Worker),
        other => Err(fail(
            "KICKIN_ROLE",
            format!("{other:?} is not one of all, api, worker"),
        )),
    }
}

fn parse_log_format(value: &str) -> Result<LogFormat, ConfigError> {
    match value {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(fail(
            "KICKIN_LOG_FORMAT",
            format!("{other:?} is not one of text, json"),
        )),
    }
}

fn base_url(vars: &Vars, name: &'static str, default: &'static str) -> Result<String, ConfigError> {
    let value = vars.or(name, default);
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| {
            fail(
                name,
                format!("{value:?} must start with http:// or https://"),
            )
        })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(fail(name, format!("{value:?} is not a URL")));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn meta_version(value: &str) -> Result<String, ConfigError> {
    let valid = value
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        });
    if valid {
        Ok(value.to_string())
    } else {
        Err(fail(
            "KICKIN_META_API_VERSION",
            format!("{value:?} is not like v25.0"),
        ))
    }
}

fn number<T: std::str::FromStr>(
    vars: &Vars,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match vars.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| fail(name, format!("{v:?} is not a non-negative whole number"))),
    }
}

/// Parses `5s,30s,2m,1h,1d` into durations; the list length is the retry limit.
pub fn parse_schedule(value: &str) -> Result<Vec<Duration>, String> {
    let delays: Result<Vec<Duration>, String> =
        value.split(',').map(|p| parse_duration(p.trim())).collect();
    let delays = delays?;
    if delays.is_empty() || delays.len() > 50 {
        return Err("must list between 1 and 50 delays".into());
    }
    Ok(delays)
}

/// One delay like `30s`, `2m`, `1h`, `1d` or `250ms` (humantime's units; a bare number is
/// refused, so a forgotten unit never silently means seconds or milliseconds).
fn parse_duration(part: &str) -> Result<Duration, String> {
    humantime::parse_duration(part)
        .map_err(|e| format!("{part:?} is not like 30s, 2m, 1h or 1d ({e})"))
}

/// Hides the password of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = Config::from_map(&map(&[])).unwrap();
        assert_eq!(config.database_url, "sqlite://kickin.db?mode=rwc");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.role, Role::All);
        assert_eq!(config.meta_api_version, "v25.0");
        assert_eq!(config.api_rate_limit, 1000);
        assert_eq!(config.retry_schedule.len(), 10);
        assert_eq!(config.retry_schedule[2], Duration::from_secs(120));
        assert_eq!(config.retry_schedule[9], Duration::from_secs(86_400));
        assert_eq!(config.send_timeout, Duration::from_secs(5));
        assert_eq!(config.http_workers(2), 1);
        assert_eq!(config.http_workers(1), 1);
        assert_eq!(config.http_workers(16), 8);
        let four = Config::from_map(&map(&[("KICKIN_HTTP_WORKERS", "4")])).unwrap();
        assert_eq!(four.http_workers(2), 4, "a set value wins");
        let fast = Config::from_map(&map(&[("KICKIN_SEND_TIMEOUT", "250ms")])).unwrap();
        assert_eq!(fast.send_timeout, Duration::from_millis(250));
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        let cases = [
            ("KICKIN_BIND", "nowhere"),
            ("KICKIN_ROLE", "boss"),
            ("KICKIN_META_API_VERSION", "25"),
            ("KICKIN_GA4_API_BASE", "ftp://x"),
            ("KICKIN_API_RATE_LIMIT", "-1"),
            ("KICKIN_RETRY_SCHEDULE", "5s,soon"),
            ("KICKIN_DATABASE_URL", "mysql://x"),
            ("KICKIN_RETRY_SCHEDULE", "5s,30"),
            ("KICKIN_SEND_TIMEOUT", "10"),
            ("KICKIN_SEND_TIMEOUT", "5m"),
            ("KICKIN_HTTP_WORKERS", "1000"),
            ("KICKIN_HTTP_WORKERS", "some"),
        ];
        for (name, value) in cases {
            let err = Config::from_map(&map(&[(name, value)])).unwrap_err();
            assert_eq!(err.variable, name, "{value}");
            assert!(err.to_string().starts_with("invalid configuration: "));
        }
    }

    #[test]
    fn short_secrets_start_but_are_reported_as_weak() {
        let config = Config::from_map(&map(&[
            ("KICKIN_SECRET_KEY", "short"),
            ("KICKIN_ADMIN_EMAIL", "a@b.co"),
            ("KICKIN_ADMIN_PASSWORD", "pw"),
        ]))
        .unwrap();
        assert_eq!(config.weaknesses().len(), 2);
        assert!(Config::from_map(&map(&[])).unwrap().weaknesses().is_empty());
    }

    #[test]
    fn misspelt_variables_are_reported() {
        let vars = map(&[
            ("KICKIN_BND", "x"),
            ("KICKIN_BIND", "127.0.0.1:1"),
            ("KICKIN_TEST_POSTGRES_URL", "x"),
        ]);
        assert_eq!(unknown_variables(&vars), vec!["KICKIN_BND".to_string()]);
    }

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("sqlite://kickin.db"), "sqlite://kickin.db");
    }

    #[test]
    fn only_an_api_process_gets_one_runtime_thread() {
        assert_eq!(Role::Api.runtime_threads(), Some(1));
        assert_eq!(Role::All.runtime_threads(), None);
        assert_eq!(Role::Worker.runtime_threads(), None);
    }
}
