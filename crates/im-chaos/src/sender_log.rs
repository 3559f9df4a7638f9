//! The SDK sender's event log: one line per fact, appended and flushed as it happens, so that it
//! survives the SIGKILL that may follow any line. The sender writes it ([`SenderLogWriter`]);
//! after a restart the sender, and at the end im-chaos, read it back ([`SenderLog`]).
//!
//! ```text
//! started 4711
//! enqueued 1 0196f3c2a4d87c51b2a1f0e9d8c7b6a5          ← Conversation::enqueue returned
//! enqueued 2 0196f3c2a4d97a20b3c4d5e6f7a8b9c0 recovered ← found in the outbox after a kill
//! acked 1 17                                         ← ClientEvent::MessageSent: stored at seq 17
//! failed 3 not_member                                ← ClientEvent::MessageFailed
//! drained                                            ← asked to stop, and the outbox is empty
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use im_proto::{ClientId, Seq};

/// What a sender's log says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderLog {
    /// Every enqueued message: k → client id.
    pub enqueued: BTreeMap<u64, ClientId>,
    /// Of those, the ones found in the outbox after a restart rather than logged by enqueue.
    pub recovered: u64,
    /// Acknowledgements: k → seq (several lines for one k must agree).
    pub acked: BTreeMap<u64, Seq>,
    /// Acknowledgements of one k with different seqs: (k, first seq, other seq).
    pub conflicting_acks: Vec<(u64, Seq, Seq)>,
    /// Permanent refusals: k → error code.
    pub failed: BTreeMap<u64, String>,
    /// How many times the sender started.
    pub starts: u64,
    /// True once the sender drained its outbox after being asked to stop.
    pub drained: bool,
    /// Lines that could not be read (a line cut by a kill would show here).
    pub unreadable_lines: u64,
}

impl SenderLog {
    /// Reads a log; a missing file is an empty log.
    pub fn read(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self::parse(&text))
    }

    /// Reads a log's text.
    pub fn parse(text: &str) -> Self {
        let mut log = Self::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if !log.take_line(line) {
                log.unreadable_lines += 1;
            }
        }
        log
    }

    fn take_line(&mut self, line: &str) -> bool {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["started", _pid] => self.starts += 1,
            ["enqueued", k, client_id, rest @ ..] => {
                let (Ok(k), Ok(client_id)) = (k.parse(), client_id.parse()) else {
                    return false;
                };
                if rest == ["recovered"] {
                    self.recovered += 1;
                } else if !rest.is_empty() {
                    return false;
                }
                self.enqueued.insert(k, client_id);
            }
            ["acked", k, seq] => {
                let (Ok(k), Ok(seq)) = (k.parse(), seq.parse()) else {
                    return false;
                };
                if let Some(&first) = self.acked.get(&k) {
                    if first != seq {
                        self.conflicting_acks.push((k, first, seq));
                    }
                } else {
                    self.acked.insert(k, seq);
                }
            }
            ["failed", k, code] => {
                let Ok(k) = k.parse() else { return false };
                self.failed.insert(k, (*code).to_owned());
            }
            ["drained"] => self.drained = true,
            _ => return false,
        }
        true
    }

    /// The highest k enqueued so far (0 before the first).
    pub fn last_k(&self) -> u64 {
        self.enqueued.keys().next_back().copied().unwrap_or(0)
    }
}

/// Appends lines to a sender's log, each with a single write straight to the file.
#[derive(Debug)]
pub struct SenderLogWriter {
    file: File,
}

impl SenderLogWriter {
    /// Opens (or creates) a log for appending.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { file })
    }

    fn line(&mut self, line: String) -> Result<()> {
        // One write(2) per line: a kill leaves whole lines (the file is unbuffered).
        self.file.write_all(format!("{line}\n").as_bytes())?;
        self.file.flush()?;
        Ok(())
    }

    /// The sender (re)started.
    pub fn started(&mut self) -> Result<()> {
        self.line(format!("started {}", std::process::id()))
    }

    /// Message `k` is in the outbox with this client id.
    pub fn enqueued(&mut self, k: u64, client_id: &ClientId, recovered: bool) -> Result<()> {
        let suffix = if recovered { " recovered" } else { "" };
        self.line(format!("enqueued {k} {client_id}{suffix}"))
    }

    /// Message `k` was acknowledged at `seq`.
    pub fn acked(&mut self, k: u64, seq: Seq) -> Result<()> {
        self.line(format!("acked {k} {seq}"))
    }

    /// Message `k` was refused for good.
    pub fn failed(&mut self, k: u64, code: &str) -> Result<()> {
        self.line(format!("failed {k} {code}"))
    }

    /// The outbox is empty after a stop request.
    pub fn drained(&mut self) -> Result<()> {
        self.line("drained".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_lines_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.log");
        let (a, b) = (ClientId::time_ordered(), ClientId::time_ordered());
        let mut w = SenderLogWriter::open(&path).unwrap();
        w.started().unwrap();
        w.enqueued(1, &a, false).unwrap();
        w.acked(1, 5).unwrap();
        drop(w);
        let mut w = SenderLogWriter::open(&path).unwrap();
        w.started().unwrap();
        w.enqueued(2, &b, true).unwrap();
        w.acked(2, 6).unwrap();
        w.acked(2, 7).unwrap();
        w.failed(3, "not_member").unwrap();
        w.drained().unwrap();
        let log = SenderLog::read(&path).unwrap();
        assert_eq!(log.starts, 2);
        assert_eq!(log.enqueued.get(&1), Some(&a));
        assert_eq!(log.enqueued.get(&2), Some(&b));
        assert_eq!(log.recovered, 1);
        assert_eq!(log.last_k(), 2);
        assert_eq!(log.acked.get(&1), Some(&5));
        assert_eq!(log.conflicting_acks, vec![(2, 6, 7)]);
        assert_eq!(log.failed.get(&3).map(String::as_str), Some("not_member"));
        assert!(log.drained);
        assert_eq!(log.unreadable_lines, 0);
    }

    #[test]
    fn a_cut_line_is_counted_not_fatal() {
        let log = SenderLog::parse("started 1\nenqueued 1 abc\nenqu");
        assert_eq!(log.enqueued.len(), 1);
        assert_eq!(log.unreadable_lines, 1);
        assert!(SenderLog::read(Path::new("/nonexistent/events.log"))
            .unwrap()
            .enqueued
            .is_empty());
    }
}
