//! The command line: `serve [--demo]`, `migrate`, `admin create|password|role`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kickin",
    version,
    about = "Server-side conversion tracking: dedup, forward to Meta CAPI and GA4, meter unique sends."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (and, with KICKIN_ROLE=all or worker, the queue workers).
    Serve {
        /// Seed a demo tenant, API key and sandbox destinations, and print a ready curl command.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Compare every tenant's meter with its succeeded deliveries; exit 1 on any difference.
    Reconcile {
        /// Month to check (YYYY-MM); the current month by default.
        #[arg(long, value_parser = parse_period)]
        period: Option<String>,
    },
    /// Month-end billing.
    Billing {
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// Load benchmark: drive a running Kickin over HTTP, or measure the database ceiling.
    Loadtest {
        #[command(subcommand)]
        command: LoadtestCommand,
    },
    /// Manage operator admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum LoadtestCommand {
    /// Send events to a running Kickin (start it with `serve --demo` so sends go to the
    /// built-in sandbox, and KICKIN_API_RATE_LIMIT=0) and report throughput and latency.
    Http {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, env = "KICKIN_ADMIN_EMAIL")]
        admin_email: String,
        #[arg(long, env = "KICKIN_ADMIN_PASSWORD")]
        admin_password: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Events per request.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Seconds of load (at most, with --events).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Stop once this many events are accepted (a backlog for `loadtest drain`).
        #[arg(long)]
        events: Option<u64>,
        /// Pace the load at this many requests per second across all connections (latency
        /// counts from when each request was due); unpaced by default.
        #[arg(long)]
        rate: Option<f64>,
        /// Wait for the queue to drain and report sends/s.
        #[arg(long)]
        drain: bool,
        /// The server's process id, to report its peak RSS.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Write the run's API key and accepted count here, for `loadtest drain`.
        #[arg(long)]
        state_file: Option<std::path::PathBuf>,
    },
    /// Time how fast a backlog left by `loadtest http --state-file` drains once a worker
    /// runs (start the API with KICKIN_ROLE=api, load, then start KICKIN_ROLE=worker), and
    /// check the meter: every accepted event counted once.
    Drain {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        state_file: std::path::PathBuf,
        /// The worker's process id, to report its peak RSS.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Write the rows Kickin writes per event straight to KICKIN_DATABASE_URL.
    Ceiling {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Issue the invoices of a closed month (idempotent) and sync them to Stripe when
    /// configured; prints the run report; exit 0 when every invoice is issued.
    Run {
        #[arg(long, value_parser = parse_period)]
        period: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin who can log in to the console and the admin API.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// owner, admin or viewer (the first admin defaults to owner, later ones to admin).
        #[arg(long)]
        role: Option<String>,
    },
    /// Set an admin's password; every session of that admin ends.
    Password {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
    /// Change an admin's role (owner, admin or viewer); every session of that admin ends.
    Role {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
}

/// Accepts `YYYY-MM`.
pub fn parse_period(value: &str) -> Result<String, String> {
    if crate::period::Period::parse(value).is_some() {
        Ok(value.to_string())
    } else {
        Err(format!("{value:?} is not a month like 2026-11"))
    }
}
