//! The command line: `serve [--demo]`, `migrate`, `admin create`.

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
    /// Manage operator admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
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
}
