//! The checkpointer: copies the write-ahead log back into the database file from its own thread
//! and connection, so that the writer's commits never stall behind a checkpoint (SQLite's
//! automatic checkpoint runs inside whichever commit crosses the threshold, adding milliseconds
//! to that batch's acks).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::Result;

/// How often the WAL is checkpointed.
const INTERVAL: Duration = Duration::from_millis(250);
/// Past this many WAL pages (~400 MiB), a blocking checkpoint bounds the file even if readers
/// kept passive ones from finishing.
const FORCE_PAGES: i64 = 100_000;

/// Stops the checkpointer thread (after a final checkpoint that truncates the WAL).
#[derive(Debug)]
pub struct Checkpointer {
    stop: Mutex<bool>,
    wake: Condvar,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub fn start(path: &Path) -> Result<Arc<Self>> {
        let conn = super::schema::open_checkpointer(path)?;
        let this = Arc::new(Self {
            stop: Mutex::new(false),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        });
        let worker = this.clone();
        let handle = std::thread::Builder::new()
            .name("im-checkpoint".into())
            .spawn(move || worker.run(conn))?;
        *this.thread.lock().expect("checkpointer lock") = Some(handle);
        Ok(this)
    }

    fn run(&self, conn: Connection) {
        loop {
            let stopping = {
                let stop = self.stop.lock().expect("checkpointer lock");
                let (stop, _) = self
                    .wake
                    .wait_timeout_while(stop, INTERVAL, |stop| !*stop)
                    .expect("checkpointer lock");
                *stop
            };
            let mode = if stopping { "TRUNCATE" } else { "PASSIVE" };
            match checkpoint(&conn, mode) {
                Ok((_, log, _)) if log > FORCE_PAGES => {
                    tracing::warn!(pages = log, "WAL is large; running a blocking checkpoint");
                    let _ = checkpoint(&conn, "RESTART");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
            }
            if stopping {
                return;
            }
        }
    }

    /// Runs a last checkpoint and stops.
    pub fn stop(&self) {
        *self.stop.lock().expect("checkpointer lock") = true;
        self.wake.notify_all();
        if let Some(handle) = self.thread.lock().expect("checkpointer lock").take() {
            let _ = handle.join();
        }
    }
}

/// `PRAGMA wal_checkpoint(mode)`: (busy, WAL pages, pages checkpointed).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}
