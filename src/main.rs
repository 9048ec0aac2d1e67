//! Thin entry point: parse the CLI, load configuration, init logging, run the command.

use clap::Parser;

use kickin::accounts::{self, Role};
use kickin::cli::{AdminCommand, BillingCommand, Cli, Command};
use kickin::clock::Clock;
use kickin::config::{self, Config};
use kickin::db::Db;
use kickin::startup::Application;
use kickin::{demo, telemetry};
use tokio_util::sync::CancellationToken;

fn main() -> std::process::ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    let serving = matches!(cli.command, Command::Serve { .. });
    if let Some(threads) = config.role.runtime_threads().filter(|_| serving)
        && std::env::var_os("TOKIO_WORKER_THREADS").is_none()
    {
        runtime.worker_threads(threads);
    }
    runtime
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(start(cli, config))
}

/// Two glibc allocator settings, unless the `MALLOC_*` environment already decides them.
/// Arenas: glibc gives each thread that allocates concurrently its own arena (up to 8 per
/// core), and memory freed in one arena is not reused by another: under concurrent ingest
/// that kept ~40 % more memory resident. Large blocks: glibc raises its mmap threshold
/// after the first large free, so later large blocks come from the arenas and stay
/// resident after they are freed. Each admin login verifies an Argon2 hash with a 19 MiB
/// block, and every login left the process ~19.5 MB larger; with the threshold fixed at
/// 1 MiB large blocks are mapped and unmapped, and logins no longer grow the process.
#[allow(unsafe_code)]
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: mallopt only sets an allocator parameter; no other thread has started.
        unsafe {
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
        }
    }
}

async fn start(cli: Cli, config: Config) -> std::process::ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let telemetry = telemetry::init(config.log_format);
    for name in config::unknown_variables(&std::env::vars().collect()) {
        tracing::warn!(variable = %name, "unknown KICKIN_ variable ignored (misspelt?)");
    }
    for weakness in config.weaknesses() {
        tracing::warn!("{weakness}");
    }
    let result = run(cli.command, config).await;
    // Flushing may block on the exporter's HTTP client: keep it off the async workers.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let clock = Clock::system();
    match command {
        Command::Serve { demo } => serve(config, clock, demo).await,
        Command::Billing {
            command: BillingCommand::Run { period },
        } => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let stripe = match &config.stripe_secret_key {
                Some(secret) => Some(
                    kickin::billing::stripe_sync::StripeSync::new(secret, &config.stripe_api_base)
                        .map_err(anyhow::Error::msg)?,
                ),
                None => None,
            };
            let report = kickin::billing::run::run(&db, stripe.as_ref(), &period, clock.now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.all_issued() {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Reconcile { period } => {
            let db = Db::connect(&config.database_url).await?;
            let period = period.unwrap_or_else(|| kickin::clock::period_of(clock.now_ms()));
            let rows = kickin::metering::reconcile::reconcile(&db.conn, &period).await?;
            print!("{}", kickin::metering::reconcile::render(&period, &rows));
            if rows.iter().all(|r| r.matches()) {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Migrate => {
            Db::connect(&config.database_url).await?.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    role,
                },
        } => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let first = accounts::count(&db.conn).await? == 0;
            let role = match role.as_deref() {
                None if first => Role::Owner,
                None => Role::Admin,
                Some(r) => Role::parse(r)
                    .ok_or_else(|| anyhow::anyhow!("--role must be owner, admin or viewer"))?,
            };
            // The operator at the command line chooses the password; a short one is a warning.
            let txn = db.begin_write().await?;
            let admin = accounts::create_bootstrap(&*txn, &email, &password, role, clock.now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            txn.commit().await?;
            if password.len() < accounts::MIN_PASSWORD {
                eprintln!(
                    "warning: the password is shorter than {} characters",
                    accounts::MIN_PASSWORD
                );
            }
            println!("admin {} created with role {}", admin.email, admin.role);
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Password { email, password },
        } => {
            let (db, admin) = existing_admin(&config, &email).await?;
            accounts::change_password(&db, admin.id, &password, clock.now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!(
                "password of {} changed; their sessions have ended",
                admin.email
            );
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Role { email, role },
        } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be owner, admin or viewer"))?;
            let (db, admin) = existing_admin(&config, &email).await?;
            accounts::change_role(&db, admin.id, role, clock.now_ms())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!(
                "{} is now {}; their sessions have ended",
                admin.email,
                role.as_str()
            );
            Ok(())
        }
    }
}

/// The database (migrated) and the admin with this email, or an error naming the email.
async fn existing_admin(
    config: &Config,
    email: &str,
) -> anyhow::Result<(Db, kickin::entities::admins::Model)> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let admin = accounts::find_by_email(&db.conn, email)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?
        .ok_or_else(|| anyhow::anyhow!("no admin has the email {email}"))?;
    Ok((db, admin))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

async fn serve(config: Config, clock: Clock, demo: bool) -> anyhow::Result<()> {
    let role = config.role;
    let app = Application::build_with(config, clock, demo).await?;
    let state = app.state.clone();
    let base = format!("http://{}:{}", state.config.bind.ip(), app.port());
    let stop = CancellationToken::new();
    let worker = role
        .runs_workers()
        .then(|| tokio::spawn(state.dispatcher.clone().run(stop.clone())));
    let housekeeping = if role.runs_workers() {
        let mut loops =
            kickin::housekeeping::spawn(state.db.clone(), state.clock.clone(), stop.clone());
        loops.extend(kickin::browser::jobs::spawn(
            state.db.clone(),
            state.keys.clone(),
            state.clock.clone(),
            stop.clone(),
        ));
        loops.extend(kickin::privacy::jobs::spawn(
            state.db.clone(),
            state.keys.clone(),
            state.clock.clone(),
            stop.clone(),
        ));
        loops
    } else {
        Vec::new()
    };
    let scheduler = role.runs_workers().then(|| {
        let stripe = state.config.stripe_secret_key.as_ref().and_then(|secret| {
            kickin::billing::stripe_sync::StripeSync::new(secret, &state.config.stripe_api_base)
                .ok()
        });
        tokio::spawn(kickin::billing::scheduler::run_loop(
            state.db.clone(),
            stripe,
            state.clock.clone(),
            stop.clone(),
        ))
    });
    let handle = app.server_handle();
    // Workers serve /healthz, /readyz and /metrics only.
    let http = Some(tokio::spawn(app.run_until_stopped()));
    tracing::info!(%base, ?role, "Kickin started");
    if role.serves_http() {
        println!("Kickin is listening on {base}");
        println!(
            "  customer API: {base}/v1  ·  admin API: {base}/admin/api  ·  OpenAPI: {base}/openapi.json"
        );
    } else {
        println!("Kickin worker started (KICKIN_ROLE=worker)");
    }
    if demo {
        demo::seed(&state, &base).await?;
    }
    shutdown_signal().await;
    tracing::info!("shutting down: no new work is claimed, in-flight sends finish");
    stop.cancel();
    let stopping_http = handle.stop(true);
    if let Some(worker) = worker {
        worker.await?;
    }
    stopping_http.await;
    if let Some(scheduler) = scheduler {
        scheduler.await?;
    }
    for task in housekeeping {
        task.await?;
    }
    if let Some(http) = http {
        http.await??;
    }
    Ok(())
}
