//! Crash-only failure: when a part the server cannot run without (the writer thread, the
//! checkpointer, the accept loop) dies, the whole server stops at once instead of lingering
//! half-alive — answering reads but refusing every change. The binary then exits non-zero, so a
//! service manager restarts it; the start-up consistency check repairs what the crash left.

use std::any::Any;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Raised once by whatever part failed; the accept loop watches it.
#[derive(Debug, Clone, Default)]
pub struct Fatal {
    token: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl Fatal {
    /// Reports a failure the server cannot go on after (the first reason is kept).
    pub fn raise(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::error!(%reason, "fatal: the server cannot go on and stops now");
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(reason);
        self.token.cancel();
    }

    /// Resolves once a failure was raised.
    pub async fn raised(&self) {
        self.token.cancelled().await
    }

    /// Why the server failed, if it did.
    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Spawns a thread that the server cannot run without: if `body` panics, the failure is
    /// raised with the panic's message.
    pub fn spawn_essential(
        &self,
        name: &str,
        body: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let fatal = self.clone();
        let thread = name.to_owned();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
                    fatal.raise(format!(
                        "thread {thread} panicked: {}",
                        panic_message(panic.as_ref())
                    ));
                }
            })
    }
}

/// The text a panic was raised with.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_essential_thread_raises_the_failure_with_its_message() {
        let fatal = Fatal::default();
        assert!(fatal.reason().is_none());
        let handle = fatal
            .spawn_essential("doomed", || panic!("attempt to subtract with overflow"))
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), fatal.raised())
            .await
            .expect("raised");
        handle.join().unwrap();
        let reason = fatal.reason().unwrap();
        assert!(reason.contains("doomed"), "{reason}");
        assert!(
            reason.contains("attempt to subtract with overflow"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn a_thread_that_returns_raises_nothing() {
        let fatal = Fatal::default();
        fatal
            .spawn_essential("fine", || {})
            .unwrap()
            .join()
            .unwrap();
        assert!(fatal.reason().is_none());
    }
}
