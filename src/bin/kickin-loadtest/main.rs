//! `kickin-loadtest`: the load benchmark, a program of its own beside the service. `http`
//! drives a running Kickin over HTTP (its own tenant, key and sandbox destination) and
//! reports accepted events/s, request latency, errors by status, queue drain time and
//! sends/s, and the server's peak RSS; `drain` times a backlog left by `http`; `ceiling`
//! writes the same rows straight to the database, so every run can be read as a fraction
//! of the ceiling (Kickin's own rows); `sqlite-ceiling` writes the reference ceiling's
//! minimal rows into SQLite, as `bench/ceiling_b*.sql` does with pgbench; `beacons` drives the browser beacon intake; `dedup-report` times the
//! dedup report over a million observations. It reaches the service only through the
//! `kickin` library.

mod beacons;
mod body;
mod ceiling;
mod dedup;
mod drain;
mod http;
mod reference;
mod report;

use std::time::Duration;

use clap::{Parser, Subcommand};
use kickin::config::Config;
use kickin::db::Db;

#[derive(Debug, Parser)]
#[command(
    name = "kickin-loadtest",
    version,
    about = "Load benchmark: drive a running Kickin over HTTP, or measure the database ceiling."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
        /// Stop once this many events are accepted (a backlog for `kickin-loadtest drain`).
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
        /// Write the run's API key and accepted count here, for `kickin-loadtest drain`.
        #[arg(long)]
        state_file: Option<std::path::PathBuf>,
    },
    /// Time how fast a backlog left by `kickin-loadtest http --state-file` drains once a worker
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
    /// Post browser beacons (text/plain, with an allowed Origin) to a running Kickin
    /// under a fresh tenant's browser key; report stored observations/s and latency.
    Beacons {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, env = "KICKIN_ADMIN_EMAIL")]
        admin_email: String,
        #[arg(long, env = "KICKIN_ADMIN_PASSWORD")]
        admin_password: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Observations per beacon (the script batches up to 100).
        #[arg(long, default_value_t = 5)]
        batch: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Seed one tenant's month in KICKIN_DATABASE_URL, run the matcher, then time
    /// GET /v1/dedup/report on a service started in this process.
    DedupReport {
        #[arg(long, default_value_t = 1_000_000)]
        observations: u64,
        #[arg(long, default_value_t = 700_000)]
        server_events: u64,
        /// Timed report requests (after five warm-up ones).
        #[arg(long, default_value_t = 50)]
        requests: usize,
    },
    /// The reference ceiling on SQLite: bench/ceiling_b*.sql's minimal rows written into a
    /// fresh SQLite file (WAL, synchronous=FULL) by one writer.
    SqliteCeiling {
        #[arg(long)]
        path: std::path::PathBuf,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match run(Cli::parse().command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let mut report = match command {
        Command::Http {
            url,
            admin_email,
            admin_password,
            concurrency,
            batch,
            seconds,
            events,
            rate,
            drain,
            server_pid,
            state_file,
        } => {
            let options = http::Options {
                url,
                admin_email,
                admin_password,
                concurrency,
                batch,
                duration: Duration::from_secs(seconds),
                max_events: events,
                rate,
                drain,
                server_pid,
                state_file,
            };
            http::run(options).await?
        }
        Command::Drain {
            url,
            state_file,
            server_pid,
            timeout,
        } => {
            let timeout = Duration::from_secs(timeout);
            let drained = drain::run(&url, &state_file, server_pid, timeout).await?;
            print!("{}", drained.render());
            anyhow::ensure!(
                drained.meter_exact(),
                "the meter does not match the accepted events"
            );
            return Ok(());
        }
        Command::Beacons {
            url,
            admin_email,
            admin_password,
            concurrency,
            batch,
            seconds,
            server_pid,
        } => {
            let options = beacons::Options {
                url,
                admin_email,
                admin_password,
                concurrency,
                batch,
                duration: Duration::from_secs(seconds),
                server_pid,
            };
            beacons::run(options).await?
        }
        Command::DedupReport {
            observations,
            server_events,
            requests,
        } => {
            let options = dedup::Options {
                observations,
                server: server_events,
                requests,
            };
            print!("{}", dedup::run(options).await?);
            return Ok(());
        }
        Command::SqliteCeiling {
            path,
            batch,
            seconds,
        } => reference::run(&path, batch, Duration::from_secs(seconds)).await?,
        Command::Ceiling {
            concurrency,
            batch,
            seconds,
        } => {
            // KICKIN_DATABASE_URL read (and checked) exactly as the service reads it.
            let config = Config::from_env()?;
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            ceiling::run(db, concurrency, batch, Duration::from_secs(seconds)).await?
        }
    };
    print!("{}", report.render());
    Ok(())
}
