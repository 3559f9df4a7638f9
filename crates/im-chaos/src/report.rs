//! [`Report`]: a run's figures (what was sent, what the audit found, what the chaos did, how
//! long restarts took), printed as a summary and written as JSON, and the verdict.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::audit::Findings;

/// Restart times in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestartTimes {
    /// How many restarts were measured.
    pub count: usize,
    /// Median.
    pub median_ms: f64,
    /// 95th percentile (nearest rank).
    pub p95_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Every restart, in kill order.
    pub all_ms: Vec<f64>,
}

impl RestartTimes {
    /// Statistics of `times`.
    pub fn of(times: &[Duration]) -> Self {
        let all_ms: Vec<f64> = times
            .iter()
            .map(|d| (d.as_secs_f64() * 1e4).round() / 10.0)
            .collect();
        let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        if n == 0 {
            return Self::default();
        }
        let median = if n % 2 == 1 {
            ms[n / 2]
        } else {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        };
        let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
        Self {
            count: n,
            median_ms: median,
            p95_ms: ms[rank - 1],
            max_ms: ms[n - 1],
            all_ms,
        }
    }
}

/// What the chaos did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChaosCounts {
    /// Server SIGKILLs.
    pub server_kills: u64,
    /// Server exits nobody asked for.
    pub server_crashes: Vec<String>,
    /// SDK sender SIGKILLs.
    pub sender_kills: u64,
    /// SDK sender exits nobody asked for.
    pub sender_crashes: Vec<String>,
    /// Times the proxy froze the path.
    pub proxy_freezes: u64,
    /// Times the proxy dropped every connection.
    pub proxy_drops: u64,
    /// Raw client connections that ended and were replaced.
    pub raw_reconnects: u64,
    /// Transient refusals the raw clients got (each answered by a reconnect and resend).
    pub raw_transient_errors: u64,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The seed that reproduces the chaos schedule (`--seed`).
    pub seed: u64,
    /// The command line options, as given.
    pub options: serde_json::Value,
    /// Wall time of the run, in seconds.
    pub duration_s: f64,
    /// Wall time of the chaos phase, in seconds.
    pub chaos_s: f64,
    /// What the chaos did.
    pub chaos: ChaosCounts,
    /// Server restarts after a kill: spawn → `hello` answered.
    pub restart: RestartTimes,
    /// SDK senders that drained their outbox in time.
    pub senders_drained: usize,
    /// SDK senders that did not.
    pub senders_not_drained: Vec<String>,
    /// Whether the server stopped cleanly (SIGTERM, exit 0) at the end.
    pub server_stopped_cleanly: bool,
    /// What the audit found.
    pub findings: Findings,
    /// The verdict: no loss, duplicate, reordering, gap, view or ack mismatch, stranger,
    /// refusal, crash, or anything left undrained; and chaos and messages actually happened.
    pub passed: bool,
    /// Why it failed, if it did.
    pub failures: Vec<String>,
}

impl Report {
    /// Assembles a report and decides the verdict.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        options: serde_json::Value,
        duration: Duration,
        chaos_time: Duration,
        chaos: ChaosCounts,
        restart_times: &[Duration],
        senders_drained: usize,
        senders_not_drained: Vec<String>,
        server_stopped_cleanly: bool,
        findings: Findings,
    ) -> Self {
        let f = &findings;
        let mut failures = Vec::new();
        let mut check = |count: u64, what: &str| {
            if count > 0 {
                failures.push(format!("{count} {what}"));
            }
        };
        check(f.lost, "lost");
        check(f.duplicated, "duplicated");
        check(f.out_of_order, "out of order");
        check(f.seq_gaps, "seq gaps");
        check(f.view_mismatches, "views ≠ history");
        check(f.ack_mismatches, "acks ≠ history");
        check(f.unknown_messages, "unknown messages stored");
        check(f.refused, "refused for good");
        check(f.unacked_raw, "raw messages never acked");
        check(chaos.server_crashes.len() as u64, "server crashes");
        check(chaos.sender_crashes.len() as u64, "sender crashes");
        check(senders_not_drained.len() as u64, "senders not drained");
        if !server_stopped_cleanly {
            failures.push("the server did not stop cleanly".into());
        }
        if f.acked_raw + f.enqueued_sdk == 0 {
            failures.push("no message was acked or enqueued".into());
        }
        Self {
            seed,
            options,
            duration_s: duration.as_secs_f64(),
            chaos_s: chaos_time.as_secs_f64(),
            restart: RestartTimes::of(restart_times),
            chaos,
            senders_drained,
            senders_not_drained,
            server_stopped_cleanly,
            passed: failures.is_empty(),
            failures,
            findings,
        }
    }

    /// The human summary.
    pub fn summary(&self) -> String {
        let f = &self.findings;
        let c = &self.chaos;
        let r = &self.restart;
        let mut out = String::new();
        let mut line = |text: String| {
            let _ = writeln!(out, "{text}");
        };
        line(format!(
            "im-chaos seed {}: {:.0} s ({:.0} s of chaos)",
            self.seed, self.duration_s, self.chaos_s
        ));
        line(format!(
            "  chaos          server kills {}, sender kills {}, proxy freezes {}, proxy drops {}, raw reconnects {}",
            c.server_kills, c.sender_kills, c.proxy_freezes, c.proxy_drops, c.raw_reconnects
        ));
        line(format!(
            "  restart        median {:.0} ms, p95 {:.0} ms, max {:.0} ms ({} restarts)",
            r.median_ms, r.p95_ms, r.max_ms, r.count
        ));
        line(format!(
            "  messages       acked (raw) {}, enqueued (SDK) {} ({} recovered after a kill), stored {} in {} conversations",
            f.acked_raw, f.enqueued_sdk, f.recovered_sdk, f.stored, f.conversations
        ));
        line(format!("  LOST           {}", f.lost));
        line(format!("  DUPLICATED     {}", f.duplicated));
        line(format!("  OUT OF ORDER   {}", f.out_of_order));
        line(format!("  SEQ GAPS       {}", f.seq_gaps));
        line(format!("  VIEWS≠HISTORY  {}", f.view_mismatches));
        line(format!("  ACKS≠HISTORY   {}", f.ack_mismatches));
        line(format!(
            "  also           unknown stored {}, refused {}, raw unacked {}, server crashes {}, sender crashes {}, senders drained {}/{}",
            f.unknown_messages,
            f.refused,
            f.unacked_raw,
            c.server_crashes.len(),
            c.sender_crashes.len(),
            self.senders_drained,
            self.senders_drained + self.senders_not_drained.len()
        ));
        for problem in &f.problems {
            line(format!("  ! {problem}"));
        }
        if self.passed {
            line("PASSED".into());
        } else {
            line(format!("FAILED: {}", self.failures.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_statistics() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        let r = RestartTimes::of(&ms(&[30, 10, 20]));
        assert_eq!((r.count, r.median_ms, r.max_ms), (3, 20.0, 30.0));
        let r = RestartTimes::of(&ms(&(1..=100).collect::<Vec<_>>()));
        assert_eq!((r.median_ms, r.p95_ms, r.max_ms), (50.5, 95.0, 100.0));
        assert_eq!(RestartTimes::of(&[]).count, 0);
    }

    #[test]
    fn any_loss_fails_the_run() {
        let report = |findings: Findings| {
            Report::new(
                1,
                serde_json::json!({}),
                Duration::ZERO,
                Duration::ZERO,
                ChaosCounts::default(),
                &[],
                0,
                vec![],
                true,
                findings,
            )
        };
        let healthy = Findings {
            acked_raw: 10,
            ..Default::default()
        };
        assert!(report(healthy.clone()).passed);
        let lossy = Findings {
            lost: 1,
            ..healthy.clone()
        };
        let failed = report(lossy);
        assert!(!failed.passed);
        assert_eq!(failed.failures, vec!["1 lost"]);
        assert!(
            !report(Findings::default()).passed,
            "nothing sent is no pass"
        );
    }
}
