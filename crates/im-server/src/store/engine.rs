//! The writer: one thread that owns the only writing database connection and applies every
//! change, in arrival order, with group commit.
//!
//! It takes whatever is queued (up to `max_batch` commands) and applies it in one transaction:
//! one fsync for the lot. Only after the commit does anyone hear of it: replies are sent and
//! events fanned out in commit order, so every connection sees a conversation's messages in seq
//! order and an ack always means "on disk".
//!
//! One failing command does not fail its batch. Refusals (not a member, too long…) write
//! nothing and are just answers. A command that *fails* (a bug, a damaged row) rolls the
//! transaction back, and the batch is applied again without it: the others commit, it alone is
//! answered `internal`. (A savepoint per command would do the same, but costs a copy of every
//! page each command touches, on every command; a replay costs nothing until something fails.)
//! Failures that are not the command's — a full disk, an I/O error — fail the whole batch
//! (`storage_full`, `internal`: transient, so clients send again). A failed ROLLBACK is fatal.
//!
//! What each command does is in `rules/`, written against the [`WriteTx`](super::tx::WriteTx)
//! trait; this file is the engine around them: batching, the transaction, replays, answers,
//! pushes and the send holds that keep a pipelined outbox in order. It runs on any
//! [`Backend`]; what a database does after a commit (SQLite's checkpoint hand-off) is the
//! backend's.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::backend::{Backend, Stale};
use super::command::{Answer, Delivery, Push, Value, WriteCmd};
use super::hot::{HotCache, DEFAULT_MEMBER_BUDGET};
use super::rules::{self, Ctx};
use super::sqlite_tx::SqliteBackend;
use crate::error::{Error, Result};
use crate::hub::{ConnHandle, Hub};
use crate::metrics::Metrics;

/// A batch is replayed at most this many times (each without one more failing command);
/// beyond that the rest of the batch is failed.
const MAX_REPLAYS: usize = 8;

/// What one command came to in a committed transaction.
#[derive(Debug)]
struct Outcome {
    result: Result<Value>,
    pushes: Vec<Push>,
}

/// How an attempt at a batch went.
enum Attempt {
    Committed(Vec<Option<Outcome>>),
    /// Command `i` failed on its own; the transaction was rolled back.
    CommandFailed(usize, Error),
    /// The transaction failed as a whole (or could not start); it was rolled back.
    BatchFailed(Error),
}

/// The writer thread's state.
pub struct Writer<B: Backend = SqliteBackend> {
    db: B,
    hub: Arc<Hub>,
    version: u64,
    hot: HotCache,
    max_batch: usize,
    max_members: usize,
    sessions: Arc<super::SessionCache>,
    /// Fault injection for the crash-only tests: panic after this many batches.
    panic_after: Option<u64>,
    metrics: Arc<Metrics>,
    /// Sessions one user may have (0: no limit).
    max_sessions: usize,
    /// How long after sending a message its sender may edit it, and recall it (ms).
    edit_window_ms: u64,
    recall_window_ms: u64,
    /// With other nodes: committed batches' pushes go here, to be delivered in the order of
    /// every node's commits (`cluster`), instead of straight to the hub.
    fanout: Option<crate::cluster::BatchSender>,
}

impl<B: Backend> std::fmt::Debug for Writer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("version", &self.version)
            .field("hot_members", &self.hot.members_held())
            .finish()
    }
}

/// Batch sizes and times, logged every 10 s at debug level (`IM_LOG=im_server=debug`).
#[derive(Default)]
struct BatchStats {
    since: Option<std::time::Instant>,
    batches: u64,
    commands: u64,
    largest: usize,
    busy: std::time::Duration,
    slowest: std::time::Duration,
}

impl BatchStats {
    fn record(&mut self, size: usize, took: std::time::Duration) {
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        self.batches += 1;
        self.commands += size as u64;
        self.largest = self.largest.max(size);
        self.busy += took;
        self.slowest = self.slowest.max(took);
        let elapsed = since.elapsed();
        if elapsed >= std::time::Duration::from_secs(10) {
            tracing::debug!(
                batches = self.batches,
                commands = self.commands,
                mean_batch = self.commands as f64 / self.batches as f64,
                largest = self.largest,
                mean_ms = self.busy.as_secs_f64() * 1e3 / self.batches as f64,
                slowest_ms = self.slowest.as_secs_f64() * 1e3,
                busy_share = self.busy.as_secs_f64() / elapsed.as_secs_f64(),
                "writer"
            );
            *self = Self::default();
        }
    }
}

/// A send's connection, conversation, client id and frame number (for holds).
struct SendKey {
    conn: Arc<ConnHandle>,
    conversation: im_proto::ConversationId,
    client_id: im_proto::ClientId,
    order: u64,
}

fn send_key(cmd: &WriteCmd) -> Option<SendKey> {
    match cmd {
        WriteCmd::Send {
            conversation_id,
            client_id,
            order,
            reply,
            ..
        } => reply.conn().map(|conn| SendKey {
            conn: conn.clone(),
            conversation: *conversation_id,
            client_id: client_id.clone(),
            order: *order,
        }),
        _ => None,
    }
}

impl<B: Backend> Writer<B> {
    /// A writer over an open, migrated database.
    pub fn new(
        db: B,
        hub: Arc<Hub>,
        max_batch: usize,
        max_members: usize,
        sessions: Arc<super::SessionCache>,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        let version = db.current_version()?;
        Ok(Self {
            db,
            hub,
            version,
            hot: HotCache::new(DEFAULT_MEMBER_BUDGET),
            max_batch: max_batch.max(1),
            max_members,
            sessions,
            panic_after: None,
            metrics,
            max_sessions: 0,
            edit_window_ms: im_proto::Limits::default().edit_window_ms,
            recall_window_ms: im_proto::Limits::default().recall_window_ms,
            fanout: None,
        })
    }

    /// How long after sending a message its sender may edit it, and recall it (ms).
    pub fn change_windows(mut self, edit_ms: u64, recall_ms: u64) -> Self {
        self.edit_window_ms = edit_ms;
        self.recall_window_ms = recall_ms;
        self
    }

    /// Ends a user's oldest sessions past `max` (0: no limit).
    pub fn sessions_per_user(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }

    /// Hands committed batches' pushes to the cluster's sequencer instead of the hub.
    pub fn fanout(mut self, fanout: Option<crate::cluster::BatchSender>) -> Self {
        self.fanout = fanout;
        self
    }

    /// Makes the writer panic after `batches` batches (fault injection for tests).
    pub fn panic_after(mut self, batches: Option<u64>) -> Self {
        self.panic_after = batches;
        self
    }

    /// Holds at most `budget` members in the hot cache (tests make it tiny, so conversations
    /// leave the cache mid-batch).
    #[cfg(test)]
    pub(crate) fn with_member_budget(mut self, budget: usize) -> Self {
        self.hot = HotCache::new(budget);
        self
    }

    /// Runs until `Stop` arrives or every sender is gone; dropping the writer then drops its
    /// database (SQLite's stops the checkpointer).
    pub fn run(self, rx: mpsc::Receiver<WriteCmd>) {
        self.serve(rx);
    }

    fn serve(mut self, mut rx: mpsc::Receiver<WriteCmd>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut stats = BatchStats::default();
        let mut batches = 0u64;
        while let Some(first) = rx.blocking_recv() {
            if self.panic_after == Some(batches) {
                panic!("injected fault: the writer panics after {batches} batches");
            }
            batches += 1;
            batch.push(first);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            let size = batch.len();
            let started = std::time::Instant::now();
            let stopped = self.execute(&mut batch);
            let took = started.elapsed();
            stats.record(size, took);
            self.metrics.commit_batch.record(size as f64);
            self.metrics.commit_seconds.record(took);
            if let Some(done) = stopped {
                rx.close();
                while let Ok(cmd) = rx.try_recv() {
                    cmd.refuse(Error::ShuttingDown);
                }
                // A clean stop: the next start need not check what this run changed.
                if let Err(e) = self.db.mark_clean_stop(self.version) {
                    tracing::warn!(error = %e, "cannot record the clean stop");
                }
                tracing::info!("writer stopped; everything acknowledged is committed");
                let _ = done.send(());
                return;
            }
        }
    }

    /// Applies a batch in one transaction and settles it. Returns the `Stop` sender if the batch
    /// held one (what came after it is refused).
    pub(crate) fn execute(&mut self, batch: &mut Vec<WriteCmd>) -> Option<oneshot::Sender<()>> {
        let mut stop = None;
        if let Some(at) = batch.iter().position(|c| matches!(c, WriteCmd::Stop(_))) {
            for cmd in batch.drain(at + 1..) {
                cmd.refuse(Error::ShuttingDown);
            }
            if let Some(WriteCmd::Stop(done)) = batch.pop() {
                stop = Some(done);
            }
        }
        let cmds = std::mem::take(batch);
        let size = cmds.len();
        // Commands that failed on their own: answered with their error, left out of replays.
        let mut failed: Vec<Option<Error>> = (0..size).map(|_| None).collect();
        let mut replays = 0;
        let committed = loop {
            if cmds.is_empty() {
                break Ok(Vec::new());
            }
            match self.attempt(&cmds, &failed) {
                Attempt::Committed(outcomes) => break Ok(outcomes),
                Attempt::CommandFailed(i, e) if replays < MAX_REPLAYS => {
                    tracing::error!(error = %e, size, "a command failed; the batch goes again without it");
                    failed[i] = Some(e);
                    replays += 1;
                }
                Attempt::CommandFailed(_, e) | Attempt::BatchFailed(e) => break Err(e),
            }
        };
        match committed {
            Ok(mut outcomes) => {
                tracing::trace!(size, replays, "batch committed");
                // Each command's answer, then its pushes, in commit order.
                let mut deliveries = Vec::with_capacity(cmds.len());
                for (i, cmd) in cmds.into_iter().enumerate() {
                    let (result, pushes) =
                        match (outcomes.get_mut(i).and_then(Option::take), failed[i].take()) {
                            (Some(o), _) => (o.result, o.pushes),
                            (None, Some(e)) => (Err(e), Vec::new()),
                            (None, None) => (
                                Err(Error::Corrupt("a command without an outcome".into())),
                                Vec::new(),
                            ),
                        };
                    deliveries.push(Delivery::Answer(self.answer(cmd, result)));
                    deliveries.extend(pushes.into_iter().map(Delivery::Push));
                }
                match &self.fanout {
                    None => {
                        for delivery in deliveries {
                            delivery.carry_out(&self.hub, &self.sessions, &self.metrics);
                        }
                        self.db.after_commit();
                    }
                    Some(fanout) => {
                        // Revoked from now on here, before any read can race it; the
                        // connections go when the sequencer delivers the batch.
                        for delivery in &deliveries {
                            if let Delivery::Push(Push::Revoke { session, .. }) = delivery {
                                self.sessions
                                    .lock()
                                    .expect("session cache")
                                    .put(*session, None);
                            }
                        }
                        fanout.send(self.db.commit_order(), deliveries);
                        self.db.after_commit();
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, size, "write batch failed; rolled back");
                let body = e.to_body();
                for (i, cmd) in cmds.into_iter().enumerate() {
                    let result = match failed[i].take() {
                        Some(own) => Err(own),
                        None => Err(Error::Refused(body.clone())),
                    };
                    self.answer(cmd, result).deliver(None);
                }
            }
        }
        stop
    }

    /// One try at the batch (without the commands that already failed on their own).
    fn attempt(&mut self, cmds: &[WriteCmd], failed: &[Option<Error>]) -> Attempt {
        match self.db.begin() {
            Ok(begun) => {
                if let Some(version) = begun.version {
                    self.version = version;
                }
                match begun.stale {
                    Stale::Nothing => {}
                    Stale::Conversations(changed) => {
                        for (id, last_seq) in changed {
                            match last_seq {
                                Some(seq) => self.hot.moved_elsewhere(id, seq),
                                None => self.hot.forget(id),
                            }
                        }
                    }
                    Stale::Everything => self.hot.clear(),
                }
            }
            Err(e) => {
                // Nothing began (a lost PostgreSQL connection): nothing to roll back.
                return Attempt::BatchFailed(e);
            }
        }
        let mut sends = cmds
            .iter()
            .zip(failed)
            .filter_map(|(cmd, failed)| match (cmd, failed) {
                (
                    WriteCmd::Send {
                        by,
                        conversation_id,
                        client_id,
                        ..
                    },
                    None,
                ) => Some((*conversation_id, by.uid, client_id)),
                _ => None,
            });
        if let Err(e) = self.db.expect_sends(&mut sends) {
            self.roll_back();
            return Attempt::BatchFailed(e);
        }
        let tx = self.db.tx();
        let mut ctx = Ctx {
            tx: &tx,
            hot: &mut self.hot,
            version: &mut self.version,
            max_members: self.max_members,
            max_sessions: self.max_sessions,
            edit_window_ms: self.edit_window_ms,
            recall_window_ms: self.recall_window_ms,
            pushes: Vec::new(),
        };
        let mut outcomes = Vec::with_capacity(cmds.len());
        let mut failure = None;
        for (i, cmd) in cmds.iter().enumerate() {
            if failed[i].is_some() {
                outcomes.push(None);
                continue;
            }
            // A send held back behind an earlier one refused for now is refused the same way.
            if let Some(key) = send_key(cmd) {
                if let Err(refusal) =
                    key.conn
                        .check_order(key.conversation, &key.client_id, key.order)
                {
                    outcomes.push(Some(Outcome {
                        result: Err(Error::Refused(refusal)),
                        pushes: Vec::new(),
                    }));
                    continue;
                }
            }
            match rules::apply(&mut ctx, cmd) {
                Ok(value) => outcomes.push(Some(Outcome {
                    result: Ok(value),
                    pushes: std::mem::take(&mut ctx.pushes),
                })),
                // A refusal writes nothing: just an answer.
                Err(e) if !e.is_internal() => {
                    ctx.pushes.clear();
                    outcomes.push(Some(Outcome {
                        result: Err(e),
                        pushes: Vec::new(),
                    }));
                }
                Err(e) if e.is_batch_wide() => {
                    failure = Some(Attempt::BatchFailed(e));
                    break;
                }
                Err(e) => {
                    failure = Some(Attempt::CommandFailed(i, e));
                    break;
                }
            }
        }
        let flushed = match failure {
            Some(_) => Ok(()),
            None => rules::flush_last_seqs(&mut ctx),
        };
        drop(ctx);
        drop(tx);
        if let Some(failure) = failure {
            self.roll_back();
            return failure;
        }
        match flushed.and_then(|()| self.db.commit(self.version)) {
            Ok(()) => Attempt::Committed(outcomes),
            Err(e) => {
                self.roll_back();
                Attempt::BatchFailed(e)
            }
        }
    }

    /// Undoes the open transaction and forgets what memory held about it.
    fn roll_back(&mut self) {
        self.db.roll_back();
        self.hot.clear();
        match self.db.current_version() {
            Ok(v) => self.version = v,
            Err(e) => tracing::error!(error = %e, "cannot reread the change counter"),
        }
    }

    /// The answer to a command (after its transaction committed or failed), to deliver; keeps
    /// the send order: a send refused for now holds back its connection's later sends to that
    /// conversation.
    fn answer(&mut self, cmd: WriteCmd, result: Result<Value>) -> Answer {
        let key = send_key(&cmd);
        if let (WriteCmd::Send { .. }, Ok(Value::Message { json, .. })) = (&cmd, &result) {
            match json {
                None => self.metrics.resend(),
                Some(_) => self.metrics.messages_stored.increment(1),
            }
        }
        let answer = cmd.settle(result);
        if let Some(code) = answer.error_code(None) {
            self.metrics.error(code);
            if let Some(key) = key {
                if code.is_transient() {
                    if let super::command::Answer::Frame {
                        text: Err(body), ..
                    } = &answer
                    {
                        key.conn
                            .hold(key.conversation, key.client_id, key.order, body.clone());
                    }
                }
            }
        }
        answer
    }
}

impl Writer<SqliteBackend> {
    /// The writer's connection (tests inject faults through it).
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &rusqlite::Connection {
        self.db.connection()
    }
}
