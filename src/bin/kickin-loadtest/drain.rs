//! `kickin-loadtest drain`: how fast a backlog drains once a worker runs. The load was
//! taken by an API-only process (`kickin-loadtest http --state-file`), so every delivery
//! was waiting when the worker started; this polls the tenant's usage until nothing is
//! pending and reports sends/s over the polled interval, and whether the meter counted
//! every accepted event exactly once (the run's tenant has one destination).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::State;
use crate::report::peak_rss_kb;

/// Polling `/v1/usage` counts the pending deliveries: often near the end, where the
/// drain time is read off, and rarely while a large backlog remains, so the measurement
/// does not load the database it measures.
const POLL: Duration = Duration::from_millis(25);
const POLL_LARGE: Duration = Duration::from_millis(250);
const LARGE: u64 = 5_000;

#[derive(Debug)]
pub struct Drained {
    pub accepted: u64,
    /// Counted when polling began (the worker may already have sent a few).
    pub counted_at_start: u64,
    pub pending_at_start: u64,
    pub counted: u64,
    pub elapsed: Duration,
    pub peak_rss_kb: Option<u64>,
}

impl Drained {
    pub fn sends_per_second(&self) -> f64 {
        self.counted.saturating_sub(self.counted_at_start) as f64
            / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One destination: every accepted event is one counted send, no more, no less.
    pub fn meter_exact(&self) -> bool {
        self.counted == self.accepted
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "Queue drain: {} deliveries waiting, {} already sent when polling began\n  drained in        {:>7.2} s ({} sends, {:.0} sends/s)\n",
            self.pending_at_start,
            self.counted_at_start,
            self.elapsed.as_secs_f64(),
            self.counted.saturating_sub(self.counted_at_start),
            self.sends_per_second(),
        );
        out.push_str(&format!(
            "  meter             {} counted for {} accepted events: {}\n",
            self.counted,
            self.accepted,
            if self.meter_exact() {
                "exact"
            } else {
                "MISMATCH"
            }
        ));
        if let Some(kb) = self.peak_rss_kb {
            out.push_str(&format!(
                "  worker peak RSS   {:>7.1} MB\n",
                kb as f64 / 1024.0
            ));
        }
        out
    }
}

/// `(counted, pending)` of the key's tenant this month.
async fn usage(http: &reqwest::Client, url: &str, key: &str) -> anyhow::Result<(u64, u64)> {
    let usage: Value = http
        .get(url)
        .bearer_auth(key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let field = |name: &str| {
        usage[name]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("/v1/usage has no {name}: {usage}"))
    };
    Ok((field("counted")?, field("pending")?))
}

/// The first and last `(counted, pending)` seen while polling `/v1/usage` until nothing
/// is pending (or `timeout` passes).
pub struct Polled {
    pub first: (u64, u64),
    pub last: (u64, u64),
}

pub async fn until_drained(
    http: &reqwest::Client,
    usage_url: &str,
    key: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<Polled> {
    let started = Instant::now();
    let mut first = None;
    loop {
        let last = usage(http, usage_url, key).await?;
        let first = *first.get_or_insert(last);
        if last.1 == 0 {
            return Ok(Polled { first, last });
        }
        if let Some(timeout) = timeout {
            anyhow::ensure!(
                started.elapsed() < timeout,
                "{} deliveries still pending after {timeout:?}",
                last.1
            );
        }
        tokio::time::sleep(if last.1 > LARGE { POLL_LARGE } else { POLL }).await;
    }
}

pub async fn run(
    url: &str,
    state_file: &Path,
    worker_pid: Option<u32>,
    timeout: Duration,
) -> anyhow::Result<Drained> {
    let state: State = serde_json::from_slice(&std::fs::read(state_file)?)?;
    let http = reqwest::Client::new();
    let usage_url = format!("{url}/v1/usage");
    let started = Instant::now();
    let polled = until_drained(&http, &usage_url, &state.key, Some(timeout)).await?;
    Ok(Drained {
        accepted: state.accepted,
        counted_at_start: polled.first.0,
        pending_at_start: polled.first.1,
        counted: polled.last.0,
        elapsed: started.elapsed(),
        peak_rss_kb: worker_pid.and_then(peak_rss_kb),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(accepted: u64, counted: u64) -> Drained {
        Drained {
            accepted,
            counted_at_start: 1_000,
            pending_at_start: accepted - 1_000,
            counted,
            elapsed: Duration::from_secs(2),
            peak_rss_kb: None,
        }
    }

    #[test]
    fn the_rate_counts_only_sends_made_while_polling() {
        assert_eq!(drained(21_000, 21_000).sends_per_second(), 10_000.0);
    }

    #[test]
    fn a_meter_off_by_one_either_way_is_a_mismatch() {
        assert!(drained(5_000, 5_000).meter_exact());
        assert!(!drained(5_000, 4_999).meter_exact());
        assert!(!drained(5_000, 5_001).meter_exact());
        assert!(drained(5_000, 5_001).render().contains("MISMATCH"));
    }
}
