//! HTTP clients of the destinations. Each turns stored events into the vendor's request,
//! sends it, and classifies the answer into an `Outcome` per delivery (spec §3).

pub mod ga4;
mod ga4_body;
pub mod meta;
mod meta_body;
mod meta_classify;

use std::time::Duration;

/// Meta recommends a 1.5 s budget; a few seconds leaves room for slow networks.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        .user_agent(concat!("kickin/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with rustls builds")
}

/// A short, log-safe description of a transport error (never the URL: it carries secrets).
pub fn transport_error(err: &reqwest::Error) -> (String, String) {
    let code = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "network"
    };
    (
        code.to_string(),
        format!("{code} error talking to the destination"),
    )
}
