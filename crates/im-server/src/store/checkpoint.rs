//! The checkpointer: copies the write-ahead log back into the database file from its own thread
//! and connection, so that commits do not wait for it.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses its threshold, so that
//! batch's acks (and every command queued behind it) wait for the copy and its fsyncs. Here it
//! goes in two steps:
//! 1. after a commit that leaves the log past [`CHECKPOINT_BYTES`] (the WAL hook reports its
//!    size for free), the writer wakes this thread, which copies the log in passive checkpoints
//!    while the writer goes on committing — twice, the second pass catching up with what was
//!    committed during the first;
//! 2. after its next commit the writer finishes the job itself, between transactions: a passive
//!    checkpoint of its own copies only the frames committed meanwhile, and with the log then
//!    fully copied its next transaction starts the log over.
//!
//! Step 2 has to be the writer's: the log restarts only if, when a write transaction begins,
//! every frame has been copied, which a checkpoint racing a busy writer never achieves.

use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use rusqlite::Connection;

use crate::error::Result;
use crate::fatal::Fatal;

/// A checkpoint starts once the log holds this many bytes. Fewer, larger checkpoints write less
/// in total: they copy each distinct changed page once, and under load most commits change the
/// same few thousand index leaves (one per busy conversation).
pub const CHECKPOINT_BYTES: i64 = 40 << 20;
/// Past ten times the threshold after a passive checkpoint (long readers kept it from
/// finishing), a blocking one bounds the file.
const FORCE_FACTOR: i64 = 10;

/// [`CHECKPOINT_BYTES`] in pages of `page_size` bytes.
pub fn threshold_pages(page_size: u32) -> i32 {
    i32::try_from(CHECKPOINT_BYTES / i64::from(page_size.max(512))).unwrap_or(i32::MAX)
}

thread_local! {
    /// The WAL's size in pages after this thread's last commit (set by [`note_wal_pages`]).
    static WAL_PAGES: Cell<i32> = const { Cell::new(0) };
}

/// The writer connection's WAL hook: remembers the log's size after each commit.
pub fn note_wal_pages(_wal: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|p| p.set(pages));
    Ok(())
}

/// The WAL's size in pages after the calling thread's last commit.
pub fn wal_pages() -> i32 {
    WAL_PAGES.with(Cell::get)
}

#[derive(Debug, Default)]
struct Flags {
    /// Step 1 asked for or running.
    busy: bool,
    /// Step 1 asked for, not yet started.
    requested: bool,
    /// Step 1 done; the writer's next commit does step 2.
    copied: bool,
    stop: bool,
}

/// Runs checkpoints on request, on its own thread.
#[derive(Debug)]
pub struct Checkpointer {
    threshold: i32,
    flags: Mutex<Flags>,
    wake: Condvar,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// How long each pass took.
    durations: metrics::Histogram,
}

impl Checkpointer {
    /// Starts the checkpointer for the database at `path`; step 1 starts once the log holds
    /// `threshold` pages. Each pass's duration goes to `durations`.
    pub fn start(
        path: &Path,
        threshold: i32,
        fatal: &Fatal,
        durations: metrics::Histogram,
    ) -> Result<Arc<Self>> {
        let conn = super::schema::open_checkpointer(path)?;
        let this = Arc::new(Self {
            threshold,
            flags: Mutex::new(Flags::default()),
            wake: Condvar::new(),
            thread: Mutex::new(None),
            durations,
        });
        let worker = this.clone();
        let handle = fatal.spawn_essential("im-checkpoint", move || worker.run(conn))?;
        *this.thread.lock().expect("checkpointer lock") = Some(handle);
        Ok(this)
    }

    /// Called by the writer after each commit, on its own connection, outside any transaction:
    /// starts step 1 when the log is large, does step 2 when step 1 is done.
    pub fn after_commit(&self, conn: &Connection) {
        let mut flags = self.flags.lock().expect("checkpointer lock");
        if flags.copied {
            flags.copied = false;
            drop(flags);
            let started = std::time::Instant::now();
            match checkpoint(conn, "PASSIVE") {
                Ok((_, log, copied)) => {
                    self.durations.record(started.elapsed());
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    tracing::debug!(log, copied, ms, "checkpoint finished by the writer");
                }
                Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
            }
        } else if !flags.busy && wal_pages() >= self.threshold {
            flags.busy = true;
            flags.requested = true;
            self.wake.notify_one();
        }
    }

    fn run(&self, conn: Connection) {
        lower_priority();
        loop {
            {
                let flags = self.flags.lock().expect("checkpointer lock");
                let mut flags = self
                    .wake
                    .wait_while(flags, |f| !f.requested && !f.stop)
                    .expect("checkpointer lock");
                if flags.stop {
                    return;
                }
                flags.requested = false;
            }
            self.copy_log(&conn);
            self.copy_log(&conn);
            let mut flags = self.flags.lock().expect("checkpointer lock");
            flags.busy = false;
            flags.copied = true;
        }
    }

    /// One pass of step 1: a passive checkpoint from the checkpointer's connection (and a blocking
    /// one if the log has grown past [`FORCE_FACTOR`] times the threshold regardless).
    fn copy_log(&self, conn: &Connection) {
        let started = std::time::Instant::now();
        match checkpoint(conn, "PASSIVE") {
            Ok((_, log, copied)) => {
                self.durations.record(started.elapsed());
                let ms = started.elapsed().as_secs_f64() * 1e3;
                tracing::debug!(log, copied, ms, "checkpoint");
                if log > FORCE_FACTOR * i64::from(self.threshold) && log > copied {
                    tracing::warn!(pages = log, "WAL is large; running a blocking checkpoint");
                    if let Err(e) = checkpoint(conn, "RESTART") {
                        tracing::warn!(error = %e, "checkpoint failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }

    /// Stops the thread (closing the last connection checkpoints what is left).
    pub fn stop(&self) {
        self.flags.lock().expect("checkpointer lock").stop = true;
        self.wake.notify_all();
        if let Some(handle) = self.thread.lock().expect("checkpointer lock").take() {
            let _ = handle.join();
        }
    }
}

/// Makes the calling thread yield the CPU to everything else in the server (nice 19): on a busy
/// core, a checkpoint that takes its fair share of time slices delays the writer and the
/// connection tasks by milliseconds; at the lowest priority it runs in their gaps.
pub(super) fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // On Linux the nice value belongs to the thread, named by its id.
        let thread = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(thread), 19) {
            tracing::debug!(error = %e, "cannot lower the checkpointer's priority");
        }
    }
}

/// `PRAGMA wal_checkpoint(mode)`: (busy, WAL pages, pages checkpointed).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_the_same_bytes_whatever_the_page_size() {
        assert_eq!(threshold_pages(4096), 10_240);
        assert_eq!(threshold_pages(1024), 40_960);
        assert_eq!(
            i64::from(threshold_pages(1024)) * 1024,
            i64::from(threshold_pages(65536)) * 65536
        );
    }

    #[test]
    fn a_large_log_is_copied_in_the_background_and_then_started_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let writer = super::super::schema::open_writer(&path).unwrap();
        let checkpointer =
            Checkpointer::start(&path, 200, &Fatal::default(), metrics::Histogram::noop()).unwrap();
        let commit = |sql: &str| {
            writer.execute_batch(sql).unwrap();
            checkpointer.after_commit(&writer);
        };
        commit("CREATE TABLE t (x BLOB)");
        // 100 pages: below the threshold, and nothing else checkpoints (autocheckpoint is off).
        commit("INSERT INTO t VALUES (zeroblob(400000))");
        let before = wal_pages();
        assert!(before > 90, "the hook saw the commit: {before} pages");
        commit("INSERT INTO t VALUES (zeroblob(400000))");
        assert!(
            wal_pages() > before,
            "the log keeps growing below the threshold"
        );
        // Past the threshold: step 1 runs on the checkpointer's thread, step 2 after a later
        // commit, and then the log starts over.
        commit("INSERT INTO t VALUES (zeroblob(400000))");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while wal_pages() > 20 {
            assert!(
                std::time::Instant::now() < deadline,
                "the log never started over: {} pages",
                wal_pages()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
            commit("INSERT INTO t VALUES (1)");
        }
        checkpointer.stop();
        drop(writer);
        let reader = super::super::schema::open_reader(&path).unwrap();
        let rows: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert!(rows >= 4, "{rows} rows");
    }
}
