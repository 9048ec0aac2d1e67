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
    /// CPU time (user + system) the server spent over the run.
    pub server_cpu_us: Option<u64>,
    /// CPU time every PostgreSQL process spent over the run (0 on SQLite).
    pub db_cpu_us: Option<u64>,
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
        out.push_str(&format!(
            "  accepted events   {:>10}\n",
            self.events_accepted
        ));
        let per_event = |us: u64| us as f64 / self.events_accepted.max(1) as f64;
        if let Some(us) = self.server_cpu_us {
            out.push_str(&format!("  server CPU/event  {:>7.1} µs\n", per_event(us)));
        }
        if let Some(us) = self.db_cpu_us.filter(|us| *us > 0) {
            out.push_str(&format!("  database CPU/event{:>7.1} µs\n", per_event(us)));
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

/// Linux reports process times in USER_HZ ticks, 100 a second on every architecture
/// it runs on here (`getconf CLK_TCK`), whatever the kernel's own tick rate.
const USER_HZ: u64 = 100;

/// `utime + stime` (and, with `children`, `cutime + cstime`) of a process, in µs.
fn stat_cpu_us(stat: &str, children: bool) -> Option<u64> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let take = if children { 4 } else { 2 };
    // After the command: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    let ticks: u64 = fields
        .get(11..11 + take)?
        .iter()
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Some(ticks * 1_000_000 / USER_HZ)
}

/// CPU time a process has used so far, in µs.
pub fn cpu_us(pid: u32) -> Option<u64> {
    stat_cpu_us(
        &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
        false,
    )
}

/// CPU time of every `postgres` process on this machine, including the backends that have
/// exited (their time is in the postmaster's `cutime + cstime`), in µs.
pub fn postgres_cpu_us() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains(" (postgres) "))
        .filter_map(|stat| stat_cpu_us(&stat, true))
        .sum()
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

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        // pid (comm with spaces) state ppid … utime=300 stime=100 cutime=20 cstime=5
        let stat = "42 (a b) S 1 1 1 0 -1 0 0 0 0 0 300 100 20 5 20 0 1 0 0";
        let hz = super::USER_HZ;
        assert_eq!(super::stat_cpu_us(stat, false), Some(400 * 1_000_000 / hz));
        assert_eq!(super::stat_cpu_us(stat, true), Some(425 * 1_000_000 / hz));
        assert!(super::cpu_us(std::process::id()).is_some());
    }
}
