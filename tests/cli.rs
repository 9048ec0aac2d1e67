//! The binary as an operator uses it: help, version, configuration errors, migrate,
//! admin create, and a graceful stop on SIGTERM.

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kickin");

fn kickin(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "KICKIN_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("k.db").display()),
        );
    cmd
}

#[test]
fn help_and_version_describe_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let help = kickin(dir.path()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "migrate", "admin"] {
        assert!(text.contains(command), "{text}");
    }
    let version = kickin(dir.path()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kickin "));
}

#[test]
fn an_invalid_variable_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = kickin(dir.path())
        .env("KICKIN_ROLE", "boss")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("KICKIN_ROLE"), "{stderr}");
}

#[test]
fn migrate_then_admin_create_makes_an_owner() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        kickin(dir.path())
            .arg("migrate")
            .status()
            .unwrap()
            .success()
    );
    let out = kickin(dir.path())
        .args([
            "admin",
            "create",
            "--email",
            "Ops@Example.com",
            "--password",
            "long-enough-pw",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ops@example.com created with role owner")
    );
    let again = kickin(dir.path())
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--password",
            "long-enough-pw",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success(), "an email is taken once");
}

#[test]
fn serve_answers_health_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = kickin(dir.path())
        .env("KICKIN_BIND", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the line printed once the app is built and about to serve.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("Kickin is listening") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
            panic!("serve exited early: {printed}");
        }
        printed.push_str(&line);
    }
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(
        printed.contains("First admin created (shown once)"),
        "{printed}"
    );
    assert!(
        dir.path().join("k.db.secret-key").exists(),
        "a generated secret key is kept beside the database"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}
