//! Latency percentiles and the printed report.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Report {
    pub label: String,
    pub duration: Duration,
    pub requests: u64,
    pub events_accepted: u64,
    pub latencies_us: Vec<u64>,
    pub errors: BTreeMap<String, u64>,
    pub drain: Option<Duration>,
    pub sends: u64,
    pub peak_rss_kb: Option<u64>,
}

/// The `p`-th percentile (0–100) of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

impl Report {
    pub fn events_per_second(&self) -> f64 {
        self.events_accepted as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    pub fn render(&mut self) -> String {
        self.latencies_us.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        let mut out = format!(
            "{}\n  accepted events/s  {:>10.0}\n  requests          {:>10}\n  latency p50/p99   {:>7.2} ms / {:.2} ms\n",
            self.label,
            self.events_per_second(),
            self.requests,
            ms(percentile(&self.latencies_us, 50.0)),
            ms(percentile(&self.latencies_us, 99.0)),
        );
        if self.errors.is_empty() {
            out.push_str("  errors            none\n");
        }
        for (status, n) in &self.errors {
            out.push_str(&format!("  errors {status:<10} {n:>10}\n"));
        }
        if let Some(drain) = self.drain {
            let rate = self.sends as f64 / drain.as_secs_f64().max(1e-9);
            out.push_str(&format!(
                "  all sent after    {:>7.2} s from the start ({} sends, {:.0} sends/s)
",
                drain.as_secs_f64(),
                self.sends,
                rate
            ));
        }
        if let Some(kb) = self.peak_rss_kb {
            out.push_str(&format!(
                "  server peak RSS   {:>7.1} MB\n",
                kb as f64 / 1024.0
            ));
        }
        out
    }
}

/// Peak resident set size of a process (Linux `VmHWM`), in kB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_pick_the_ranked_value() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(super::percentile(&v, 50.0), 51);
        assert_eq!(super::percentile(&v, 99.0), 99);
        assert_eq!(super::percentile(&[], 99.0), 0);
    }
}
