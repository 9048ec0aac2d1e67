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
    /// Manage operator admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
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
