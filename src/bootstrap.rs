//! First-start chores: the secret key (generated and kept beside the SQLite file when
//! not configured), the first admin, and the `--demo` seed.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::accounts::{self, Role};
use crate::config::Config;
use crate::crypto::random_token;
use crate::db::Db;

/// Where a generated secret key is kept: `<sqlite file>.secret-key`.
fn key_file(config: &Config) -> Option<PathBuf> {
    let rest = config.database_url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//").split('?').next()?;
    (!path.is_empty() && !path.contains(":memory:"))
        .then(|| PathBuf::from(format!("{path}.secret-key")))
}

/// `KICKIN_SECRET_KEY`, or the key kept beside the SQLite file (created on first start).
pub fn resolve_secret_key(config: &Config) -> anyhow::Result<String> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    if !config.is_sqlite() {
        bail!(
            "invalid configuration: KICKIN_SECRET_KEY: required with PostgreSQL (at least 32 characters)"
        );
    }
    let Some(path) = key_file(config) else {
        tracing::warn!(
            "KICKIN_SECRET_KEY is not set: using a throw-away key for this in-memory database"
        );
        return Ok(random_token(32));
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_string());
    }
    let key = random_token(32);
    write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(path = %path.display(), "KICKIN_SECRET_KEY is not set: generated one and kept it beside the database; back it up, it decrypts stored secrets");
    Ok(key)
}

fn write_private(path: &PathBuf, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Creates the first admin (an owner) when none exists: from `KICKIN_ADMIN_EMAIL` /
/// `KICKIN_ADMIN_PASSWORD`, or with a generated password printed once.
pub async fn ensure_admin(db: &Db, config: &Config, now: i64) -> anyhow::Result<()> {
    if accounts::count(&db.conn).await? > 0 {
        return Ok(());
    }
    let (email, password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => (email.clone(), password.clone(), false),
        _ => ("admin@kickin.local".to_string(), random_token(18), true),
    };
    let txn = db.begin_write().await?;
    match accounts::create_bootstrap(&*txn, &email, &password, Role::Owner, now).await {
        Ok(_) => txn.commit().await?,
        // Another instance starting at the same moment created this admin first.
        Err(e) if e.code == "admin_exists" => return Ok(()),
        Err(e) => anyhow::bail!("creating the first admin: {}", e.message),
    }
    if generated {
        println!("First admin created (shown once): email {email}  password {password}");
    } else {
        tracing::info!(email = %email, "first admin created from KICKIN_ADMIN_EMAIL");
    }
    Ok(())
}
