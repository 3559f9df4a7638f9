//! The run's verdict and figures: what counts as a failure, the summary printed at the end, and
//! the same as JSON (`--json FILE`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::server::LogScan;
use crate::stats::Tally;

/// Findings that mean the server misbehaved (the others are informational).
pub const FAILING_FINDINGS: &[&str] = &[
    "no_reply",
    "extra_reply",
    "bad_server_frame",
    "binary_from_server",
    "internal_error",
    "valid_frame_refused",
    "not_closed",
    "http_hang",
    "garbage_hang",
    "connect_failed",
];

/// The server's memory at a moment of the attack.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Since the attack started.
    pub seconds: f64,
    /// Frames sent by then.
    pub frames: u64,
    /// Resident memory, in bytes.
    pub rss: Option<u64>,
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// No failure.
    pub ok: bool,
    /// Why the run failed, one line each.
    pub failures: Vec<String>,
    /// The run's seed (`--seed` reproduces the frame sequences).
    pub seed: u64,
    /// The server attacked.
    pub url: String,
    /// Its log.
    pub server_log: String,
    /// Concurrent connections.
    pub concurrency: usize,
    /// Frames sent (WebSocket frames and raw chunks).
    pub frames: u64,
    /// Payload bytes sent.
    pub bytes: u64,
    /// Frames that each should get one reply.
    pub requests: u64,
    /// Results received.
    pub results: u64,
    /// Error replies received.
    pub error_replies: u64,
    /// WebSocket connections opened.
    pub connections: u64,
    /// TCP connections with broken handshakes.
    pub raw_connections: u64,
    /// Pongs received.
    pub pongs: u64,
    /// Attack duration.
    pub seconds: f64,
    /// Frames per second during the attack.
    pub frames_per_second: f64,
    /// Error replies by code, events, close codes, attacks, HTTP statuses, findings.
    #[serde(flatten)]
    pub tally: Tally,
    /// Whether the server process was alive afterwards (`None` when it was not started here).
    pub server_alive: Option<bool>,
    /// Its exit status if it had died.
    pub server_exit: Option<String>,
    /// Its resident memory after set-up and after the attack, in bytes.
    pub rss_before: Option<u64>,
    /// See `rss_before`.
    pub rss_after: Option<u64>,
    /// CPU seconds the server used during the attack.
    pub server_cpu_seconds: Option<f64>,
    /// The server's memory every 10 s of the attack.
    pub memory_samples: Vec<Sample>,
    /// What the server's log says.
    pub log: LogScan,
    /// What the normal client checked, or why it failed.
    pub normal_client: Result<Vec<String>, String>,
}

impl Summary {
    /// Sets `failures` and `ok` from the figures.
    pub fn judge(&mut self) {
        let mut failures = Vec::new();
        if self.server_alive == Some(false) {
            failures.push(format!(
                "the server died: {}",
                self.server_exit.as_deref().unwrap_or("?")
            ));
        }
        if self.log.panic_count > 0 {
            failures.push(format!(
                "{} panic line(s) in the server log",
                self.log.panic_count
            ));
        }
        if let Err(e) = &self.normal_client {
            failures.push(format!("a normal client was not served correctly: {e}"));
        }
        for kind in FAILING_FINDINGS {
            if let Some((n, _)) = self.tally.findings.get(*kind) {
                failures.push(format!("{n} finding(s) {kind}"));
            }
        }
        self.ok = failures.is_empty();
        self.failures = failures;
    }

    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "\n================ im-wire-fuzz report ================");
        let _ = writeln!(
            w,
            "seed            {}   (reproduce: --seed {})",
            self.seed, self.seed
        );
        let _ = writeln!(w, "server          {}", self.url);
        let _ = writeln!(w, "server log      {}", self.server_log);
        let _ = writeln!(
            w,
            "frames sent     {} ({} bytes) in {:.1} s: {:.0} frames/s over {} connections",
            self.frames, self.bytes, self.seconds, self.frames_per_second, self.concurrency
        );
        let _ = writeln!(
            w,
            "replies         {} results, {} errors (to {} frames that each get one reply); {} pongs",
            self.results, self.error_replies, self.requests, self.pongs
        );
        let _ = writeln!(
            w,
            "connections     {} WebSocket, {} broken handshakes",
            self.connections, self.raw_connections
        );
        section(w, "errors by code", &self.tally.errors);
        section(w, "close codes (how connections ended)", &self.tally.closes);
        section(
            w,
            "HTTP answers to broken handshakes",
            &self.tally.http_statuses,
        );
        section(w, "events", &self.tally.events);
        section(w, "attacks", &self.tally.attacks);
        let _ = writeln!(w, "findings:");
        if self.tally.findings.is_empty() {
            let _ = writeln!(w, "  none");
        }
        for (kind, (n, kept)) in &self.tally.findings {
            let _ = writeln!(w, "  {kind}: {n}");
            for f in kept.iter().take(3) {
                let _ = writeln!(w, "    - {} (worker seed {})", f.detail, f.worker_seed);
                for frame in f.frames.iter().rev().take(3).rev() {
                    let _ = writeln!(w, "        frame: {}", truncate(frame, 300));
                }
            }
        }
        let alive = match self.server_alive {
            Some(true) => "alive".to_owned(),
            Some(false) => format!("DEAD ({})", self.server_exit.as_deref().unwrap_or("?")),
            None => "not started here".to_owned(),
        };
        let _ = writeln!(w, "server process  {alive}");
        if let (Some(a), Some(b)) = (self.rss_before, self.rss_after) {
            let _ = writeln!(
                w,
                "server memory   {:.1} MiB after set-up, {:.1} MiB after the attack",
                a as f64 / 1048576.0,
                b as f64 / 1048576.0
            );
        }
        if let Some(cpu) = self.server_cpu_seconds {
            let _ = writeln!(
                w,
                "server CPU      {cpu:.1} s during the attack ({:.0} % of one core)",
                100.0 * cpu / self.seconds.max(1e-9)
            );
        }
        let _ = writeln!(
            w,
            "server log      {} lines, {} at ERROR, {} panic(s)",
            self.log.lines, self.log.error_lines, self.log.panic_count
        );
        for line in self.log.panics.iter().take(5) {
            let _ = writeln!(w, "  {}", truncate(line, 400));
        }
        match &self.normal_client {
            Ok(checked) => {
                let _ = writeln!(w, "normal client   OK: {}", checked.join("; "));
            }
            Err(e) => {
                let _ = writeln!(w, "normal client   FAILED: {e}");
            }
        }
        if self.ok {
            let _ = writeln!(w, "RESULT: the server survived");
        } else {
            let _ = writeln!(w, "RESULT: FAILED");
            for f in &self.failures {
                let _ = writeln!(w, "  - {f}");
            }
        }
        out
    }
}

fn section(w: &mut String, title: &str, map: &BTreeMap<String, u64>) {
    let _ = writeln!(w, "{title}:");
    if map.is_empty() {
        let _ = writeln!(w, "  none");
        return;
    }
    let mut items: Vec<_> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let line: Vec<String> = items.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut current = String::from(" ");
    for item in line {
        if current.len() + item.len() > 100 {
            let _ = writeln!(w, "{current}");
            current = String::from(" ");
        }
        current.push_str("  ");
        current.push_str(&item);
    }
    let _ = writeln!(w, "{current}");
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Summary {
        Summary {
            ok: false,
            failures: Vec::new(),
            seed: 1,
            url: "ws://127.0.0.1:1/ws".into(),
            server_log: "log".into(),
            concurrency: 1,
            frames: 10,
            bytes: 100,
            requests: 10,
            results: 5,
            error_replies: 5,
            connections: 1,
            raw_connections: 0,
            pongs: 0,
            seconds: 1.0,
            frames_per_second: 10.0,
            tally: Tally::default(),
            server_alive: Some(true),
            server_exit: None,
            rss_before: None,
            rss_after: None,
            server_cpu_seconds: None,
            memory_samples: Vec::new(),
            log: LogScan::default(),
            normal_client: Ok(vec!["checked".into()]),
        }
    }

    #[test]
    fn a_clean_run_passes() {
        let mut s = clean();
        s.judge();
        assert!(s.ok, "{:?}", s.failures);
        assert!(s.render().contains("RESULT: the server survived"));
    }

    #[test]
    fn death_panics_a_failed_client_and_failing_findings_each_fail_the_run() {
        let breakages: Vec<fn(&mut Summary)> = vec![
            |s| s.server_alive = Some(false),
            |s| s.log.panic_count = 1,
            |s| s.normal_client = Err("no message event".into()),
            |s| {
                s.tally.findings.insert("no_reply".into(), (1, Vec::new()));
            },
            |s| {
                s.tally
                    .findings
                    .insert("internal_error".into(), (2, Vec::new()));
            },
        ];
        for (i, breakage) in breakages.into_iter().enumerate() {
            let mut s = clean();
            breakage(&mut s);
            s.judge();
            assert!(!s.ok, "breakage {i} passed");
            assert_eq!(s.failures.len(), 1, "{:?}", s.failures);
            assert!(s.render().contains("RESULT: FAILED"));
        }
        // Informational findings do not fail a run.
        let mut s = clean();
        s.tally
            .findings
            .insert("refill_failed".into(), (1, Vec::new()));
        s.judge();
        assert!(s.ok);
    }
}
