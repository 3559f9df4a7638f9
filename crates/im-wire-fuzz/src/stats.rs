//! What the attack observed, shared by every connection: frames sent, replies by error code,
//! events, close codes, connections, and findings (server misbehaviour with the frames that
//! provoked it).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// How many findings of one kind are kept with their frames (the rest are only counted).
const KEPT_PER_KIND: usize = 20;

/// Counters updated by every connection of the attack.
#[derive(Debug, Default)]
pub struct Stats {
    /// WebSocket frames (or raw chunks) written to the server.
    pub frames: AtomicU64,
    /// Bytes of payload written.
    pub bytes: AtomicU64,
    /// Frames that should each get exactly one reply (text and binary data frames).
    pub requests: AtomicU64,
    /// Result frames received.
    pub results: AtomicU64,
    /// WebSocket connections opened (handshake completed).
    pub connections: AtomicU64,
    /// TCP connections whose handshake the fuzzer broke on purpose (plain HTTP, garbage).
    pub raw_connections: AtomicU64,
    /// Server pongs received (answers to our pings).
    pub pongs: AtomicU64,
    inner: Mutex<Tallies>,
}

#[derive(Debug, Default)]
struct Tallies {
    errors: BTreeMap<String, u64>,
    events: BTreeMap<String, u64>,
    closes: BTreeMap<String, u64>,
    attacks: BTreeMap<String, u64>,
    http_statuses: BTreeMap<String, u64>,
    findings: BTreeMap<String, (u64, VecDeque<Finding>)>,
}

/// Something the server did that it should not: the kind, what happened, and the frames the
/// connection sent just before (the reproduction).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Short kind, e.g. `internal_error`, `no_reply`, `bad_server_frame`.
    pub kind: String,
    /// What was observed.
    pub detail: String,
    /// The worker's RNG seed (reproduces its frame sequence with the same world).
    pub worker_seed: u64,
    /// The frames the connection sent last, oldest first, each as text (or `hex:` for bytes
    /// that are not UTF-8).
    pub frames: Vec<String>,
}

/// A snapshot of the tallies, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    /// Error replies by code.
    pub errors: BTreeMap<String, u64>,
    /// Events by name.
    pub events: BTreeMap<String, u64>,
    /// Close codes the server sent (`none` when the connection ended without a close frame).
    pub closes: BTreeMap<String, u64>,
    /// Attacks tried, by kind.
    pub attacks: BTreeMap<String, u64>,
    /// HTTP statuses answered to broken handshakes.
    pub http_statuses: BTreeMap<String, u64>,
    /// Findings by kind: how many, and the first few with their frames.
    pub findings: BTreeMap<String, (u64, Vec<Finding>)>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

impl Stats {
    /// Counts one frame of `bytes` payload bytes written.
    pub fn sent(&self, bytes: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts an error reply.
    pub fn error(&self, code: &str) {
        bump(&mut self.inner.lock().expect("stats").errors, code);
    }

    /// Counts an event.
    pub fn event(&self, name: &str) {
        bump(&mut self.inner.lock().expect("stats").events, name);
    }

    /// Counts how a connection ended (`1002`, `1007`, `none`, …).
    pub fn close(&self, code: &str) {
        bump(&mut self.inner.lock().expect("stats").closes, code);
    }

    /// Counts one attack of a kind.
    pub fn attack(&self, kind: &str) {
        bump(&mut self.inner.lock().expect("stats").attacks, kind);
    }

    /// Counts an HTTP status answered to a broken handshake.
    pub fn http_status(&self, status: &str) {
        bump(&mut self.inner.lock().expect("stats").http_statuses, status);
    }

    /// Records a finding (kept with its frames for the first few of each kind).
    pub fn finding(&self, finding: Finding) {
        let mut inner = self.inner.lock().expect("stats");
        let (count, kept) = inner.findings.entry(finding.kind.clone()).or_default();
        *count += 1;
        if kept.len() < KEPT_PER_KIND {
            kept.push_back(finding);
        }
    }

    /// A copy of the tallies.
    pub fn tally(&self) -> Tally {
        let inner = self.inner.lock().expect("stats");
        Tally {
            errors: inner.errors.clone(),
            events: inner.events.clone(),
            closes: inner.closes.clone(),
            attacks: inner.attacks.clone(),
            http_statuses: inner.http_statuses.clone(),
            findings: inner
                .findings
                .iter()
                .map(|(k, (n, kept))| (k.clone(), (*n, kept.iter().cloned().collect())))
                .collect(),
        }
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Renders frame bytes for a report: the text if UTF-8 (cut to `max` characters), else hex.
pub fn show_bytes(bytes: &[u8], max: usize) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.chars().count() > max => {
            let cut: String = text.chars().take(max).collect();
            format!("{cut}…({} bytes)", bytes.len())
        }
        Ok(text) => text.to_owned(),
        Err(_) => {
            let shown: String = bytes
                .iter()
                .take(max / 2)
                .map(|b| format!("{b:02x}"))
                .collect();
            if bytes.len() > max / 2 {
                format!("hex:{shown}…({} bytes)", bytes.len())
            } else {
                format!("hex:{shown}")
            }
        }
    }
}
