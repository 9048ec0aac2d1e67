//! A client nobody here wrote: Meta's official Python SDK (`facebook-business==26.0.3`)
//! runs `tests/sdk/meta_sdk.py` against the real app with only its Graph host changed —
//! a purchase, the same purchase again, a bad key, a request with a bad event — and the
//! Meta mock behind Kickin must have received the purchase exactly once, counted once.
//!
//! The interpreter is `KICKIN_TEST_PYTHON` (default `.ci/venv/bin/python`, which
//! `.ci/run` creates). Without it or the SDK the test fails when `CI` is set and says it
//! was skipped otherwise.

use std::path::PathBuf;

use crate::db_tests;
use crate::dispatch::world;
use crate::support::Backend;
use kickin::ingest::pii::sha256_hex;

db_tests!(the_official_python_sdk_sends_through_kickin_once);

const SDK: &str = "facebook-business==26.0.3";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter with the SDK, or `None` (skipped) outside CI.
fn sdk_python() -> Option<PathBuf> {
    let python = std::env::var_os("KICKIN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci/venv/bin/python"));
    let check = "import importlib.metadata as m; assert m.version('facebook-business') == '26.0.3'";
    let found = std::process::Command::new(&python)
        .args(["-c", check])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    let missing = format!("{} with {SDK} not found", python.display());
    if std::env::var_os("CI").is_some() {
        panic!("{missing}: CI must run the SDK test (.ci/run installs it)");
    }
    eprintln!(
        "SKIPPED the_official_python_sdk_sends_through_kickin_once: {missing} \
         (run .ci/run, or set KICKIN_TEST_PYTHON to a python with {SDK})"
    );
    None
}

async fn the_official_python_sdk_sends_through_kickin_once(backend: Backend) {
    let Some(python) = sdk_python() else {
        return;
    };
    let w = world(backend, "10s").await;
    let app = &w.app;
    let event_id = "sdk-order-1";
    let output = tokio::process::Command::new(&python)
        .arg(root().join("tests/sdk/meta_sdk.py"))
        .env("KICKIN_BASE", &app.base)
        .env("KICKIN_KEY", &w.tenant.key)
        .env("KICKIN_PIXEL", "123456")
        .env("KICKIN_EVENT_ID", event_id)
        .output()
        .await
        .expect("run the SDK script");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "the SDK script failed\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("bad event: code 100"), "{stdout}");

    app.drain().await;
    let received = w.meta.received();
    assert_eq!(w.meta.count_event(event_id), 1, "{received:?}");
    assert_eq!(
        received.len(),
        1,
        "nothing of the refused requests: {received:?}"
    );
    let user_data = &received[0].event["user_data"];
    let email = sha256_hex("jane.doe@example.com");
    let em = &user_data["em"];
    assert!(
        em == &serde_json::json!([email]) || em == &serde_json::json!(email),
        "{user_data}"
    );
    assert_eq!(received[0].event["custom_data"]["value"], 129.99);
    assert_eq!(app.count_rows("events", &w.tenant.id).await, 1);
    assert_eq!(app.assert_meter_exact(&w.tenant.id).await, 1);
}
