//! Durable state, on embedded SQLite or on PostgreSQL: one writer thread with group commit
//! (`engine.rs`, the rules in `rules/`, each backend's statements behind [`backend::Backend`])
//! and a small pool of reader connections for queries ([`ReadConn`], `read.rs`). Nothing else
//! touches the database.

mod backend;
mod backup;
mod checkpoint;
mod command;
mod consistency;
mod engine;
#[cfg(test)]
mod engine_tests;
mod hot;
mod lock;
#[cfg(test)]
mod model_tests;
pub mod pg;
mod read;
mod read_conn;
mod rows;
mod rules;
mod schema;
mod sqlite_blobs;
mod sqlite_tx;
mod tx;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::config::Database;
use crate::error::{Error, Result};
use crate::fatal::Fatal;
use crate::hub::Hub;
use crate::Config;

pub use backup::{backup, restore, BackupReport};
pub use command::{session_id, BlobAnswer, BlobCmd, Delivery, Origin, Push, Reply, WriteCmd};
pub use lock::DatabaseLock;
pub use read::Direction;
pub use read_conn::ReadConn;
pub use rules::now_millis;
pub use tx::NewInvite;

/// An SQLite file opened as a server opens it — brought up to date and checked for what a
/// crash may have left inconsistent — for `migrate`, which then reads it.
pub(crate) fn open_writer_for_migration(path: &std::path::Path) -> Result<rusqlite::Connection> {
    let mut conn = schema::open_writer(path)?;
    consistency::check_and_repair(&mut conn)?;
    Ok(conn)
}

/// The change counter as stored in an SQLite file.
pub(crate) fn sqlite_version(conn: &rusqlite::Connection) -> Result<u64> {
    consistency::current_version(conn)
}

/// A file kept beside the database, named by a suffix (`-wal`, `-lock`, `-admin-token`).
pub fn beside(database: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// The database: submit changes to the writer, run queries on the readers.
#[derive(Debug, Clone)]
pub struct Store {
    writer: mpsc::Sender<WriteCmd>,
    readers: Arc<ReaderPool>,
    sessions: Arc<SessionCache>,
}

/// Recently used sessions by token hash, so that a reconnect (`resume`) needs no database read.
/// A revoked token is remembered as `None`, so a read racing the revocation cannot bring it back.
pub type SessionCache =
    std::sync::Mutex<lru::LruCache<crate::hub::TokenHash, Option<im_proto::User>>>;

/// A reader connection of either backend.
type Reader = Box<dyn ReadConn + Send>;

struct ReaderPool {
    idle: Mutex<Vec<Reader>>,
    /// One per idle connection. A permit travels with the query into the blocking thread, so a
    /// caller that gives up (its future dropped) does not free it while the query still runs.
    permits: Arc<Semaphore>,
}

impl Drop for ReaderPool {
    /// A PostgreSQL connection closes by running its own little runtime, which cannot happen
    /// on an async thread: dropped there (the last `Store` gone), the readers close on a thread
    /// of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("im-readers-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl std::fmt::Debug for ReaderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderPool")
            .field("permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database `config.database` names (creating and migrating it if needed) and
    /// starts the writer thread (handing committed batches to `fanout` when other nodes share
    /// the database). If the writer (or SQLite's checkpointer) dies, `fatal` is
    /// raised. Blocking: call it off the async threads.
    pub fn open(
        config: &Config,
        hub: Arc<Hub>,
        fatal: &Fatal,
        metrics: Arc<crate::metrics::Metrics>,
        fanout: Option<crate::cluster::BatchSender>,
    ) -> Result<Self> {
        let sessions = Arc::new(std::sync::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(100_000).expect("non-zero"),
        )));
        let readers = config.readers.max(1);
        let (tx, rx) = mpsc::channel(config.max_batch.max(1) * 16);
        let idle = match &config.database {
            Database::Sqlite(path) => {
                let backend = Self::sqlite_backend(path, fatal, &metrics)?;
                let writer = Self::writer(backend, config, hub, &sessions, metrics)?;
                fatal.spawn_essential("im-writer", move || writer.run(rx))?;
                (0..readers)
                    .map(|_| Ok(Box::new(schema::open_reader(path)?) as Reader))
                    .collect::<Result<Vec<_>>>()?
            }
            Database::Postgres(url) => {
                let mut client = pg::connect(url.config())?;
                let applied = pg::migrate(&mut client)?;
                if applied > 0 {
                    tracing::info!(applied, "PostgreSQL schema brought up to date");
                }
                drop(client);
                let backend = pg::PgBackend::open(url.config())?;
                let writer = Self::writer(backend, config, hub, &sessions, metrics)?.fanout(fanout);
                fatal.spawn_essential("im-writer", move || writer.run(rx))?;
                (0..readers)
                    .map(|_| Ok(Box::new(pg::PgReader::open(url.config())?) as Reader))
                    .collect::<Result<Vec<_>>>()?
            }
        };
        Ok(Self {
            writer: tx,
            sessions,
            readers: Arc::new(ReaderPool {
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(readers)),
            }),
        })
    }

    /// The writer's SQLite file, checked for what the last run may have left inconsistent, with
    /// its checkpointer.
    fn sqlite_backend(
        path: &std::path::Path,
        fatal: &Fatal,
        metrics: &crate::metrics::Metrics,
    ) -> Result<sqlite_tx::SqliteBackend> {
        let mut conn = schema::open_writer(path)?;
        consistency::check_and_repair(&mut conn)?;
        consistency::quick_check_in_background(path.to_owned());
        let page_size: u32 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let checkpointer = checkpoint::Checkpointer::start(
            path,
            checkpoint::threshold_pages(page_size),
            fatal,
            metrics.checkpoint_seconds.clone(),
        )?;
        Ok(sqlite_tx::SqliteBackend::new(conn, checkpointer))
    }

    /// The writer on a backend, with the settings every backend shares.
    fn writer<B: backend::Backend>(
        db: B,
        config: &Config,
        hub: Arc<Hub>,
        sessions: &Arc<SessionCache>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<engine::Writer<B>> {
        Ok(engine::Writer::new(
            db,
            hub,
            config.max_batch,
            config.limits.max_members,
            sessions.clone(),
            metrics,
        )?
        .panic_after(config.debug_writer_panic_after)
        .sessions_per_user(config.guard.sessions_per_user)
        .change_windows(config.limits.edit_window_ms, config.limits.recall_window_ms))
    }

    /// Queues a change; its reply says how it went. Waits while the writer's queue is full
    /// (back-pressure). Once the writer has stopped, the change is answered `shutting_down`.
    pub async fn submit(&self, cmd: WriteCmd) {
        if let Err(mpsc::error::SendError(cmd)) = self.writer.send(cmd).await {
            cmd.refuse(Error::ShuttingDown);
        }
    }

    /// Queues a change if the writer's queue has room; hands it back if it is full. Once the
    /// writer has stopped, the change is answered `shutting_down`.
    #[must_use = "a change handed back must be submitted later"]
    pub fn try_submit(&self, cmd: WriteCmd) -> Option<WriteCmd> {
        match self.writer.try_send(cmd) {
            Ok(()) => None,
            Err(mpsc::error::TrySendError::Full(cmd)) => Some(cmd),
            Err(mpsc::error::TrySendError::Closed(cmd)) => {
                cmd.refuse(Error::ShuttingDown);
                None
            }
        }
    }

    /// Waits for room in the writer's queue (`None` once the writer has stopped).
    pub async fn reserve(&self) -> Option<mpsc::Permit<'_, WriteCmd>> {
        self.writer.reserve().await.ok()
    }

    /// Queues a change and waits for its result.
    pub async fn write<T>(&self, make: impl FnOnce(Reply<T>) -> WriteCmd) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.submit(make(Reply::Direct(tx))).await;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Commands waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.writer.max_capacity() - self.writer.capacity()
    }

    /// Proves the database takes writes: a probe goes through the writer and commits.
    pub async fn probe(&self) -> Result<()> {
        self.write(|reply| WriteCmd::Probe { reply }).await
    }

    /// Where the order of every writer's commits stands (PostgreSQL's count of batches);
    /// `None` for a lone writer's database.
    pub async fn commit_order(&self) -> Result<Option<u64>> {
        self.read(|conn| conn.commit_order()).await
    }

    /// The cache of sessions by token hash (the cluster's sequencer marks revoked ones).
    pub fn session_cache(&self) -> Arc<SessionCache> {
        self.sessions.clone()
    }

    /// Accounts and stored sessions.
    pub async fn counts(&self) -> Result<(u64, u64)> {
        self.read(|conn| conn.counts()).await
    }

    /// Commits everything queued so far and stops the writer. Later changes are refused with
    /// `shutting_down`.
    pub async fn stop_writer(&self) {
        let (tx, rx) = oneshot::channel();
        if self.writer.send(WriteCmd::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The user a session token (by hash) belongs to: from the cache, or the database.
    pub async fn session_user(
        &self,
        token_hash: crate::hub::TokenHash,
    ) -> Result<Option<im_proto::User>> {
        if let Some(known) = self
            .sessions
            .lock()
            .expect("session cache")
            .get(&token_hash)
        {
            return Ok(known.clone());
        }
        let user = self.session_user_stored(token_hash).await?;
        Ok(self.admit(token_hash, user))
    }

    /// What a database read of a session may be trusted for: a revocation committed while the
    /// read ran has put a tombstone in the cache, which wins.
    fn admit(
        &self,
        token_hash: crate::hub::TokenHash,
        read: Option<im_proto::User>,
    ) -> Option<im_proto::User> {
        let mut cache = self.sessions.lock().expect("session cache");
        match (cache.peek(&token_hash), read) {
            (Some(None), _) => None,
            (None, Some(user)) => {
                cache.put(token_hash, Some(user.clone()));
                Some(user)
            }
            (_, read) => read,
        }
    }

    /// True once the session was revoked (its revocation committed).
    pub fn is_revoked(&self, token_hash: &crate::hub::TokenHash) -> bool {
        matches!(
            self.sessions
                .lock()
                .expect("session cache")
                .peek(token_hash),
            Some(None)
        )
    }

    /// Remembers a session just created.
    pub fn remember_session(&self, token_hash: crate::hub::TokenHash, user: im_proto::User) {
        self.sessions
            .lock()
            .expect("session cache")
            .put(token_hash, Some(user));
    }

    /// Runs a query on a reader connection, off the async threads.
    pub async fn read<T, F>(&self, query: F) -> Result<T>
    where
        F: FnOnce(&dyn ReadConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::ShuttingDown)?;
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            // The lease goes back to the pool before the permit is released.
            let _permit = permit;
            let lease = Lease::take(pool);
            let conn = lease.conn();
            conn.reconnect_if_lost()?;
            query(conn)
        })
        .await
        .map_err(|e| Error::Corrupt(format!("reader task failed: {e}")))?
    }
}

/// A reader connection out of the pool; back in the pool when dropped, even on panic.
struct Lease {
    pool: Arc<ReaderPool>,
    conn: Option<Reader>,
}

impl Lease {
    fn take(pool: Arc<ReaderPool>) -> Self {
        let conn = pool.idle.lock().expect("pool lock").pop();
        Self { pool, conn }
    }

    fn conn(&self) -> &dyn ReadConn {
        self.conn.as_deref().expect("a permit means an idle reader")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle.lock().expect("pool lock").push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store(readers: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db"));
        config.readers = readers;
        let store = Store::open(
            &config,
            Arc::new(Hub::new()),
            &Fatal::default(),
            Default::default(),
            None,
        )
        .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_session_read_racing_its_revocation_is_not_admitted() {
        let (_dir, store) = store(1);
        let user = im_proto::User {
            uid: im_proto::Uid::random(),
            username: "tom".into(),
            display_name: "Tom".into(),
        };
        let token = [3u8; 32];
        // The read found the session; meanwhile its revocation committed (tombstone).
        store.sessions.lock().unwrap().put(token, None);
        assert_eq!(store.admit(token, Some(user.clone())), None);
        assert!(store.is_revoked(&token));
        // Without a revocation the read is admitted and remembered.
        let other = [4u8; 32];
        assert_eq!(store.admit(other, Some(user.clone())), Some(user.clone()));
        assert_eq!(
            store.sessions.lock().unwrap().peek(&other),
            Some(&Some(user))
        );
    }

    /// A caller that gives up on a read (its connection dropped) must not free the reader
    /// while the query still runs: the next read would find no idle connection.
    #[tokio::test]
    async fn a_cancelled_read_keeps_its_reader_until_the_query_ends() {
        let (_dir, store) = store(1);
        let slow = store.read(|conn| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(conn.counts()?.0)
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(20), slow)
                .await
                .is_err(),
            "given up while the query runs"
        );
        let next = store.read(|conn| conn.counts()).await;
        assert_eq!(
            next.unwrap(),
            (0, 0),
            "waited for the reader instead of failing"
        );
    }
}
