//! Counters the server keeps about itself: error replies by code and resends answered with their
//! original. Cheap (relaxed atomics); read through [`RunningServer`](crate::RunningServer).

use std::sync::atomic::{AtomicU64, Ordering};

use im_proto::ErrorCode;

/// The server's counters.
#[derive(Debug)]
pub struct Metrics {
    errors: Vec<AtomicU64>,
    resends: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            errors: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            resends: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts one error reply.
    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Error replies with `code` so far.
    pub fn errors(&self, code: ErrorCode) -> u64 {
        ErrorCode::ALL
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.errors[i].load(Ordering::Relaxed))
    }

    /// Counts a `send_text` answered with the message already stored under its client id.
    pub fn resend(&self) {
        self.resends.fetch_add(1, Ordering::Relaxed);
    }

    /// Resends answered with their original so far.
    pub fn resends(&self) -> u64 {
        self.resends.load(Ordering::Relaxed)
    }
}
