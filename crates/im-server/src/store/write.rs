//! The writer: one thread that owns the only writing database connection and applies every
//! change, in arrival order, with group commit.
//!
//! It takes whatever is queued (up to `max_batch` commands) and applies it in one transaction:
//! one fsync for the lot. Only after the commit does anyone hear of it: replies are sent and
//! events fanned out in commit order, so every connection sees a conversation's messages in seq
//! order and an ack always means "on disk". If the transaction fails, every command in it is
//! answered `internal` and nothing of it is visible.
//!
//! Being the only writer also makes its caches authoritative: the members and last seq of hot
//! conversations live in memory here and are changed only here.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use im_proto::{
    encode_error, encode_event, encode_event_json, encode_result, encode_result_json, AddMembers,
    ClientId, Conversation, ConversationId, ConversationRemoved, ConversationType,
    CreateConversation, CreatedConversation, ErrorCode, Event, Message, MessageBody, MessageId,
    Millis, ReadMark, Receipt, RemoveMembers, RequestId, Seq, SignedOut, Uid, UpdateConversation,
    User,
};
use lru::LruCache;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::rows;
use crate::error::{Error, Result};
use crate::hub::{ConnHandle, ConnId, Hub, TokenHash};

/// Who asked for a change: the user, and the connection not to echo events to.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The signed-in user.
    pub uid: Uid,
    /// Their connection.
    pub conn: ConnId,
}

/// Where the result of a command goes.
#[derive(Debug)]
pub enum Reply<T> {
    /// Encode it as the reply frame to request `id` and queue it on `conn` (in commit order with
    /// the events that connection receives).
    Frame {
        /// The request id.
        id: RequestId,
        /// The requesting connection.
        conn: Arc<ConnHandle>,
    },
    /// Hand it to a waiting task.
    Direct(oneshot::Sender<Result<T>>),
}

/// A change for the writer to make.
#[derive(Debug)]
pub enum WriteCmd {
    /// Store a new account.
    CreateUser {
        username: String,
        display_name: String,
        password_hash: String,
        reply: Reply<User>,
    },
    /// Store a new session.
    CreateSession {
        uid: Uid,
        token_hash: TokenHash,
        device: String,
        reply: Reply<()>,
    },
    /// Delete a session and tell its other connections.
    RevokeSession {
        by: Origin,
        token_hash: TokenHash,
        reply: Reply<()>,
    },
    /// Create (or, when unique, find) a conversation.
    CreateConversation {
        by: Origin,
        params: CreateConversation,
        reply: Reply<CreatedConversation>,
    },
    /// Change a conversation's fields.
    UpdateConversation {
        by: Origin,
        params: UpdateConversation,
        reply: Reply<Conversation>,
    },
    /// Add members to a group.
    AddMembers {
        by: Origin,
        params: AddMembers,
        reply: Reply<Conversation>,
    },
    /// Remove members from a group.
    RemoveMembers {
        by: Origin,
        params: RemoveMembers,
        reply: Reply<Conversation>,
    },
    /// Store a text message.
    SendText {
        by: Origin,
        conversation_id: ConversationId,
        client_id: ClientId,
        text: String,
        reply: Reply<Message>,
    },
    /// Move a read mark.
    MarkRead {
        by: Origin,
        conversation_id: ConversationId,
        seq: Seq,
        reply: Reply<ReadMark>,
    },
    /// Commit what came before, then stop; later commands are refused.
    Stop(oneshot::Sender<()>),
}

impl WriteCmd {
    /// Answers the command with `error` without doing it.
    pub fn refuse(self, error: Error) {
        match self {
            WriteCmd::CreateUser { reply, .. } => reply.settle(Err(error)).deliver(None),
            WriteCmd::CreateSession { reply, .. } | WriteCmd::RevokeSession { reply, .. } => {
                reply.settle(Err(error)).deliver(None)
            }
            WriteCmd::CreateConversation { reply, .. } => reply.settle(Err(error)).deliver(None),
            WriteCmd::UpdateConversation { reply, .. }
            | WriteCmd::AddMembers { reply, .. }
            | WriteCmd::RemoveMembers { reply, .. } => reply.settle(Err(error)).deliver(None),
            WriteCmd::SendText { reply, .. } => reply.settle(Err(error)).deliver(None),
            WriteCmd::MarkRead { reply, .. } => reply.settle(Err(error)).deliver(None),
            WriteCmd::Stop(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Hands a result to a waiting task, given the commit error if the transaction failed.
type Handback = Box<dyn FnOnce(Option<&Error>) + Send>;

/// The answer to one command, held until its transaction commits or fails.
enum Answer {
    Frame {
        conn: Arc<ConnHandle>,
        id: RequestId,
        text: std::result::Result<String, im_proto::ErrorBody>,
    },
    Direct(Handback),
}

impl Answer {
    /// True unless the command itself was refused (a failed batch turns the rest into errors).
    fn succeeded(&self) -> bool {
        match self {
            Answer::Frame { text, .. } => text.is_ok(),
            Answer::Direct(_) => true,
        }
    }

    /// The error code this answer carries to a connection, if it is an error.
    fn error_code(&self, failure: Option<&Error>) -> Option<ErrorCode> {
        match (self, failure) {
            (
                Answer::Frame {
                    text: Err(body), ..
                },
                _,
            ) => Some(body.code),
            (Answer::Frame { .. }, Some(e)) => Some(e.to_body().code),
            _ => None,
        }
    }

    /// Sends the answer; `failure` is the commit error if the transaction failed.
    fn deliver(self, failure: Option<&Error>) {
        match self {
            Answer::Frame { conn, id, text } => {
                let frame = match (failure, text) {
                    (Some(e), Ok(_)) => encode_error(Some(id), &e.to_body()),
                    (_, Ok(text)) => text,
                    (_, Err(body)) => encode_error(Some(id), &body),
                };
                conn.send(Utf8Bytes::from(frame));
            }
            Answer::Direct(send) => send(failure),
        }
    }
}

impl<T: Serialize + Send + 'static> Reply<T> {
    fn settle(self, result: Result<T>) -> Answer {
        match self {
            Reply::Frame { id, conn } => Answer::Frame {
                conn,
                id,
                text: match result {
                    Ok(value) => Ok(encode_result(id, &value)),
                    Err(e) => Err(e.to_body()),
                },
            },
            Reply::Direct(tx) => Answer::Direct(Box::new(move |failure| {
                let result = match (failure, result) {
                    (Some(e), Ok(_)) => Err(Error::Refused(e.to_body())),
                    (_, result) => result,
                };
                let _ = tx.send(result);
            })),
        }
    }
}

impl Reply<Message> {
    /// Like `settle` for a stored message whose JSON is already made (it also goes out as the event).
    fn settle_json(self, message: Message, json: &str) -> Answer {
        match self {
            Reply::Frame { id, conn } => Answer::Frame {
                conn,
                id,
                text: Ok(encode_result_json(id, json)),
            },
            direct => direct.settle(Ok(message)),
        }
    }
}

/// A side effect of a command, carried out only once it is committed.
enum Push {
    Deliver {
        to: Arc<[Uid]>,
        frame: Utf8Bytes,
        skip: Option<ConnId>,
    },
    Revoke {
        uid: Uid,
        session: TokenHash,
        skip: ConnId,
        frame: Utf8Bytes,
    },
}

struct Pending {
    answer: Answer,
    pushes: Vec<Push>,
    /// For a send: if its batch fails, later sends of that connection to that conversation are
    /// held back until it is sent again (`ConnHandle::hold`).
    send: Option<(Arc<ConnHandle>, ConversationId, ClientId)>,
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

/// What the writer keeps in memory about a conversation.
#[derive(Debug, Clone)]
struct Hot {
    kind: ConversationType,
    manager: Uid,
    members: Arc<[Uid]>,
    last_seq: Seq,
}

/// The writer thread's state.
pub struct Writer {
    conn: Connection,
    hub: Arc<Hub>,
    version: u64,
    hot: LruCache<ConversationId, Hot>,
    /// The last seq of conversations that got messages in the open transaction, written to
    /// their rows once per batch (`flush_dirty`). Until then this, not the row, is the truth:
    /// whatever loads a conversation mid-batch takes its last seq from here.
    dirty: HashMap<ConversationId, Seq>,
    max_batch: usize,
    max_members: usize,
    sessions: Arc<super::SessionCache>,
    checkpointer: Arc<super::checkpoint::Checkpointer>,
    /// Fault injection for the crash-only tests: panic after this many batches.
    panic_after: Option<u64>,
    metrics: Arc<crate::metrics::Metrics>,
}

fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::refused(code, message)
}

fn member_key(members: &[Uid]) -> Vec<u8> {
    let mut sorted: Vec<&Uid> = members.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .flat_map(|u| u.as_bytes().iter().copied())
        .collect()
}

fn event_frame(event: &Event) -> Utf8Bytes {
    Utf8Bytes::from(encode_event(event))
}

/// Keeps the first occurrence of each uid, in order.
fn dedupe(uids: impl IntoIterator<Item = Uid>) -> Vec<Uid> {
    let mut out: Vec<Uid> = Vec::new();
    for uid in uids {
        if !out.contains(&uid) {
            out.push(uid);
        }
    }
    out
}

impl Writer {
    /// A writer over an open, migrated connection.
    pub fn new(
        conn: Connection,
        hub: Arc<Hub>,
        max_batch: usize,
        max_members: usize,
        sessions: Arc<super::SessionCache>,
        checkpointer: Arc<super::checkpoint::Checkpointer>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<Self> {
        let version = super::consistency::current_version(&conn)?;
        Ok(Self {
            conn,
            hub,
            version,
            hot: LruCache::new(NonZeroUsize::new(100_000).expect("non-zero")),
            dirty: HashMap::new(),
            max_batch: max_batch.max(1),
            max_members,
            sessions,
            checkpointer,
            panic_after: None,
            metrics,
        })
    }

    /// Makes the writer panic after `batches` batches (fault injection for tests).
    pub fn panic_after(mut self, batches: Option<u64>) -> Self {
        self.panic_after = batches;
        self
    }

    /// Keeps at most `capacity` conversations in memory (tests make it tiny, so conversations
    /// leave the cache mid-batch).
    #[cfg(test)]
    pub(crate) fn with_hot_capacity(mut self, capacity: usize) -> Self {
        self.hot
            .resize(NonZeroUsize::new(capacity.max(1)).expect("non-zero"));
        self
    }

    /// Runs until `Stop` arrives or every sender is gone, then stops the checkpointer.
    pub fn run(self, rx: mpsc::Receiver<WriteCmd>) {
        let checkpointer = self.checkpointer.clone();
        self.serve(rx);
        checkpointer.stop();
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
            stats.record(size, started.elapsed());
            if let Some(done) = stopped {
                rx.close();
                while let Ok(cmd) = rx.try_recv() {
                    cmd.refuse(Error::ShuttingDown);
                }
                // A clean stop: the next start need not check what this run changed.
                if let Err(e) = super::consistency::mark_checked(&self.conn, self.version) {
                    tracing::warn!(error = %e, "cannot record the clean stop");
                }
                tracing::info!("writer stopped; everything acknowledged is committed");
                let _ = done.send(());
                return;
            }
        }
    }

    /// Applies a batch in one transaction and settles it. Returns the `Stop` sender if the batch
    /// held one.
    pub(crate) fn execute(&mut self, batch: &mut Vec<WriteCmd>) -> Option<oneshot::Sender<()>> {
        let size = batch.len();
        let mut pending: Vec<Pending> = Vec::with_capacity(size);
        let mut stop = None;
        let mut fatal: Option<Error> = None;
        if let Err(e) = self.conn.execute_batch("BEGIN IMMEDIATE") {
            fatal = Some(e.into());
        }
        for cmd in batch.drain(..) {
            if let Some(fatal) = &fatal {
                cmd.refuse(Error::Refused(fatal.to_body()));
                continue;
            }
            if stop.is_some() {
                cmd.refuse(Error::ShuttingDown);
                continue;
            }
            if let WriteCmd::Stop(done) = cmd {
                stop = Some(done);
                continue;
            }
            if let Err(e) = self.apply(cmd, &mut pending) {
                fatal = Some(e);
            }
        }
        let outcome = match fatal {
            Some(e) => Err(e),
            None => self
                .flush_dirty()
                .and_then(|()| self.conn.execute_batch("COMMIT").map_err(Error::from)),
        };
        match outcome {
            Ok(()) => {
                tracing::trace!(size, "batch committed");
                for p in pending {
                    if let Some(code) = p.answer.error_code(None) {
                        self.metrics.error(code);
                    }
                    p.answer.deliver(None);
                    for push in p.pushes {
                        match push {
                            Push::Deliver { to, frame, skip } => {
                                self.hub.deliver(&to, &frame, skip);
                            }
                            Push::Revoke {
                                uid,
                                session,
                                skip,
                                frame,
                            } => self.hub.revoke(uid, &session, &frame, skip),
                        }
                    }
                }
                self.checkpointer.after_commit(&self.conn);
            }
            Err(e) => {
                tracing::error!(error = %e, size, "write batch failed; rolled back");
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK") {
                    if !self.conn.is_autocommit() {
                        // Left inside the failed transaction, every later batch would fail too:
                        // crash-only (the process restarts and SQLite rolls it back on open).
                        panic!("cannot roll back a failed write batch: {rollback}");
                    }
                }
                let body = e.to_body();
                for p in pending {
                    if let Some((conn, conversation, client_id)) = p.send {
                        if p.answer.succeeded() && body.code.is_transient() {
                            conn.hold(conversation, client_id, body.clone());
                        }
                    }
                    if let Some(code) = p.answer.error_code(Some(&e)) {
                        self.metrics.error(code);
                    }
                    p.answer.deliver(Some(&e));
                }
                self.hot.clear();
                self.dirty.clear();
                match super::consistency::current_version(&self.conn) {
                    Ok(v) => self.version = v,
                    Err(e) => tracing::error!(error = %e, "cannot reread the change counter"),
                }
            }
        }
        stop
    }

    /// Applies one command inside the open transaction. Refusals become answers; an `Err` is
    /// fatal for the whole batch (the command's answer is already queued).
    fn apply(&mut self, cmd: WriteCmd, pending: &mut Vec<Pending>) -> Result<()> {
        let mut pushes = Vec::new();
        macro_rules! settle {
            ($reply:expr, $result:expr) => {
                settle!($reply, $result, None)
            };
            ($reply:expr, $result:expr, $send:expr) => {{
                let result = $result;
                let fatal = match &result {
                    Err(e) if e.is_storage_full() => Some(Error::StorageFull(e.to_string())),
                    Err(e) if e.is_internal() => Some(Error::Corrupt(e.to_string())),
                    _ => None,
                };
                pending.push(Pending {
                    answer: $reply.settle(result),
                    pushes,
                    send: $send,
                });
                match fatal {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }};
        }
        match cmd {
            WriteCmd::CreateUser {
                username,
                display_name,
                password_hash,
                reply,
            } => settle!(
                reply,
                self.create_user(username, display_name, password_hash)
            ),
            WriteCmd::CreateSession {
                uid,
                token_hash,
                device,
                reply,
            } => settle!(reply, self.create_session(uid, &token_hash, &device)),
            WriteCmd::RevokeSession {
                by,
                token_hash,
                reply,
            } => settle!(reply, self.revoke_session(by, token_hash, &mut pushes)),
            WriteCmd::CreateConversation { by, params, reply } => {
                settle!(reply, self.create_conversation(by, params, &mut pushes))
            }
            WriteCmd::UpdateConversation { by, params, reply } => {
                settle!(reply, self.update_conversation(by, params, &mut pushes))
            }
            WriteCmd::AddMembers { by, params, reply } => {
                settle!(reply, self.add_members(by, params, &mut pushes))
            }
            WriteCmd::RemoveMembers { by, params, reply } => {
                settle!(reply, self.remove_members(by, params, &mut pushes))
            }
            WriteCmd::SendText {
                by,
                conversation_id,
                client_id,
                text,
                reply,
            } => {
                let send = match &reply {
                    Reply::Frame { conn, .. } => {
                        if let Err(refusal) = conn.check_order(conversation_id, &client_id) {
                            return settle!(reply, Err::<Message, _>(Error::Refused(refusal)));
                        }
                        Some((conn.clone(), conversation_id, client_id.clone()))
                    }
                    Reply::Direct(_) => None,
                };
                match self.send_text(by, conversation_id, client_id, text) {
                    Ok(Sent::New(message, members)) => {
                        let json = serde_json::to_string(&message).expect("messages serialize");
                        pushes.push(Push::Deliver {
                            to: members,
                            frame: Utf8Bytes::from(encode_event_json("message", &json)),
                            skip: Some(by.conn),
                        });
                        pending.push(Pending {
                            answer: reply.settle_json(message, &json),
                            pushes,
                            send,
                        });
                        Ok(())
                    }
                    Ok(Sent::Duplicate(message)) => {
                        self.metrics.resend();
                        settle!(reply, Ok::<_, Error>(message), send)
                    }
                    Err(e) => settle!(reply, Err::<Message, _>(e), send),
                }
            }
            WriteCmd::MarkRead {
                by,
                conversation_id,
                seq,
                reply,
            } => settle!(reply, self.mark_read(by, conversation_id, seq, &mut pushes)),
            WriteCmd::Stop(_) => unreachable!("handled by execute"),
        }
    }

    fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// Reads a conversation's row (inside the open transaction) into the hot cache, with the
    /// last seq this batch has reached, and returns it.
    fn load(&mut self, id: ConversationId) -> Result<Option<Conversation>> {
        let Some(row) = rows::conversation(&self.conn, id)? else {
            return Ok(None);
        };
        let last_seq = self.dirty.get(&id).copied().unwrap_or(row.last_seq);
        self.hot.put(
            id,
            Hot {
                kind: row.conversation.kind,
                manager: row.conversation.manager_id,
                members: row.conversation.user_ids.clone().into(),
                last_seq,
            },
        );
        Ok(Some(row.conversation))
    }

    /// The in-memory state of a conversation, loaded on first use.
    fn hot(&mut self, id: ConversationId) -> Result<Option<&mut Hot>> {
        if !self.hot.contains(&id) && self.load(id)?.is_none() {
            return Ok(None);
        }
        Ok(self.hot.get_mut(&id))
    }

    /// The conversation, checking that `uid` is an active member.
    fn hot_member(&mut self, id: ConversationId, uid: Uid) -> Result<Hot> {
        match self.hot(id)? {
            None => Err(refused(
                ErrorCode::ConversationNotFound,
                format!("no conversation {id}"),
            )),
            Some(hot) if !hot.members.contains(&uid) => Err(refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {id}"),
            )),
            Some(hot) => Ok(hot.clone()),
        }
    }

    /// Writes the last seq and version of conversations that got messages in this batch.
    fn flush_dirty(&mut self) -> Result<()> {
        if self.dirty.is_empty() {
            return Ok(());
        }
        // Every change gets its own version, so that `sync` can page by version without ties.
        let dirty = std::mem::take(&mut self.dirty);
        for (id, last_seq) in &dirty {
            let version = self.next_version();
            self.conn
                .prepare_cached(
                    "UPDATE conversations SET last_seq = ?2, version = ?3 WHERE id = ?1",
                )?
                .execute(params![id.as_bytes(), last_seq, version])?;
        }
        Ok(())
    }

    fn create_user(
        &mut self,
        username: String,
        display_name: String,
        password_hash: String,
    ) -> Result<User> {
        let uid = Uid::random();
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO users (uid, username, display_name, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (username) DO NOTHING",
            )?
            .execute(params![
                uid.as_bytes(),
                username,
                display_name,
                password_hash,
                now_millis()
            ])?;
        if inserted == 0 {
            return Err(refused(
                ErrorCode::UsernameTaken,
                format!("the username {username:?} is taken"),
            ));
        }
        Ok(User {
            uid,
            username,
            display_name,
        })
    }

    fn create_session(&mut self, uid: Uid, token_hash: &TokenHash, device: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (token_hash, uid, device, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![&token_hash[..], uid.as_bytes(), device, now_millis()])?;
        Ok(())
    }

    fn revoke_session(
        &mut self,
        by: Origin,
        token_hash: TokenHash,
        pushes: &mut Vec<Push>,
    ) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
            .execute([&token_hash[..]])?;
        // Revoked from now on, whatever a racing read finds.
        self.sessions
            .lock()
            .expect("session cache")
            .put(token_hash, None);
        pushes.push(Push::Revoke {
            uid: by.uid,
            session: token_hash,
            skip: by.conn,
            frame: event_frame(&Event::SignedOut(SignedOut {
                reason: "this session was signed out".into(),
            })),
        });
        Ok(())
    }

    fn check_users_exist(&self, uids: &[Uid]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM users WHERE uid = ?1")?;
        for uid in uids {
            if !stmt.exists([uid.as_bytes()])? {
                return Err(refused(ErrorCode::UserNotFound, format!("no user {uid}")));
            }
        }
        Ok(())
    }

    fn check_member_count(&self, n: usize) -> Result<()> {
        if n > self.max_members {
            return Err(refused(
                ErrorCode::TooManyMembers,
                format!(
                    "a conversation may have at most {} members, this would have {n}",
                    self.max_members
                ),
            ));
        }
        Ok(())
    }

    fn insert_members(
        &mut self,
        id: ConversationId,
        uids: &[Uid],
        read_seq: Seq,
        version: u64,
    ) -> Result<()> {
        let next_position: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(max(position), -1) + 1 FROM members WHERE conversation_id = ?1",
            )?
            .query_row([id.as_bytes()], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO members (uid, conversation_id, position, active, read_seq, version)
             VALUES (?1, ?2, ?3, 1, ?4, ?5)
             ON CONFLICT (uid, conversation_id) DO UPDATE SET
                 active = 1, position = excluded.position, read_seq = excluded.read_seq,
                 version = excluded.version",
        )?;
        for (i, uid) in uids.iter().enumerate() {
            stmt.execute(params![
                uid.as_bytes(),
                id.as_bytes(),
                next_position + i as i64,
                read_seq,
                version
            ])?;
        }
        Ok(())
    }

    fn create_conversation(
        &mut self,
        by: Origin,
        params: CreateConversation,
        pushes: &mut Vec<Push>,
    ) -> Result<CreatedConversation> {
        let members = dedupe(std::iter::once(by.uid).chain(params.user_ids));
        self.check_member_count(members.len())?;
        self.check_users_exist(&members[1..])?;
        let key = member_key(&members);
        if params.unique {
            let existing: Option<[u8; 16]> = self
                .conn
                .prepare_cached(
                    "SELECT id FROM conversations WHERE member_key = ?1
                     ORDER BY create_time, rowid LIMIT 1",
                )?
                .query_row([&key], |r| r.get(0))
                .optional()?;
            if let Some(id) = existing {
                let row = rows::conversation(&self.conn, ConversationId::from_bytes(id))?
                    .ok_or_else(|| Error::Corrupt("conversation vanished".into()))?;
                return Ok(CreatedConversation {
                    conversation: row.conversation,
                    created: false,
                });
            }
        }
        let version = self.next_version();
        let conversation = Conversation {
            id: ConversationId::random(),
            title: params.title.unwrap_or_default(),
            icon: params.icon.unwrap_or_default(),
            manager_id: by.uid,
            remark: params.remark.unwrap_or_default(),
            user_count: members.len() as u32,
            attrs: params.attrs.unwrap_or_default(),
            create_time: now_millis(),
            kind: ConversationType::for_member_count(members.len()),
            user_ids: members,
        };
        let c = &conversation;
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (id, title, icon, manager_id, remark, user_count, attrs,
                     create_time, type, member_key, last_seq, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11)",
            )?
            .execute(params![
                c.id.as_bytes(),
                c.title,
                c.icon,
                c.manager_id.as_bytes(),
                c.remark,
                c.user_count,
                serde_json::Value::Object(c.attrs.clone()).to_string(),
                c.create_time,
                c.kind.as_str(),
                key,
                version
            ])?;
        self.insert_members(c.id, &c.user_ids, 0, version)?;
        let members: Arc<[Uid]> = c.user_ids.clone().into();
        self.hot.put(
            c.id,
            Hot {
                kind: c.kind,
                manager: c.manager_id,
                members: members.clone(),
                last_seq: 0,
            },
        );
        pushes.push(Push::Deliver {
            to: members,
            frame: event_frame(&Event::ConversationCreated(conversation.clone())),
            skip: Some(by.conn),
        });
        Ok(CreatedConversation {
            conversation,
            created: true,
        })
    }

    /// The conversation as the open transaction has it, refreshing the hot cache from it.
    fn reload(&mut self, id: ConversationId) -> Result<Conversation> {
        self.load(id)?
            .ok_or_else(|| Error::Corrupt(format!("conversation {id} vanished")))
    }

    fn update_conversation(
        &mut self,
        by: Origin,
        p: UpdateConversation,
        pushes: &mut Vec<Push>,
    ) -> Result<Conversation> {
        let hot = self.hot_member(p.conversation_id, by.uid)?;
        let nothing =
            p.title.is_none() && p.icon.is_none() && p.remark.is_none() && p.attrs.is_none();
        if nothing {
            return self.reload(p.conversation_id);
        }
        let version = self.next_version();
        self.conn
            .prepare_cached(
                "UPDATE conversations SET
                     title = coalesce(?2, title), icon = coalesce(?3, icon),
                     remark = coalesce(?4, remark), attrs = coalesce(?5, attrs), version = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                p.conversation_id.as_bytes(),
                p.title,
                p.icon,
                p.remark,
                p.attrs.map(|a| serde_json::Value::Object(a).to_string()),
                version
            ])?;
        let conversation = self.reload(p.conversation_id)?;
        pushes.push(Push::Deliver {
            to: hot.members,
            frame: event_frame(&Event::ConversationUpdated(conversation.clone())),
            skip: Some(by.conn),
        });
        Ok(conversation)
    }

    fn write_membership_summary(
        &mut self,
        id: ConversationId,
        members: &[Uid],
        manager: Uid,
        version: u64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET user_count = ?2, member_key = ?3, manager_id = ?4,
                     version = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id.as_bytes(),
                members.len() as u32,
                member_key(members),
                manager.as_bytes(),
                version
            ])?;
        Ok(())
    }

    fn add_members(
        &mut self,
        by: Origin,
        p: AddMembers,
        pushes: &mut Vec<Push>,
    ) -> Result<Conversation> {
        let hot = self.hot_member(p.conversation_id, by.uid)?;
        if hot.kind == ConversationType::SingleChat {
            return Err(refused(
                ErrorCode::SingleChatMembersFixed,
                "a single chat always has its two members; create a group instead",
            ));
        }
        if hot.manager != by.uid {
            return Err(refused(
                ErrorCode::NotManager,
                "only the manager may add members",
            ));
        }
        let new: Vec<Uid> = dedupe(p.user_ids)
            .into_iter()
            .filter(|u| !hot.members.contains(u))
            .collect();
        if new.is_empty() {
            return self.reload(p.conversation_id);
        }
        self.check_member_count(hot.members.len() + new.len())?;
        self.check_users_exist(&new)?;
        let version = self.next_version();
        self.insert_members(p.conversation_id, &new, hot.last_seq, version)?;
        let all: Vec<Uid> = hot.members.iter().chain(&new).copied().collect();
        self.write_membership_summary(p.conversation_id, &all, hot.manager, version)?;
        let conversation = self.reload(p.conversation_id)?;
        pushes.push(Push::Deliver {
            to: new.into(),
            frame: event_frame(&Event::ConversationCreated(conversation.clone())),
            skip: None,
        });
        pushes.push(Push::Deliver {
            to: hot.members,
            frame: event_frame(&Event::ConversationUpdated(conversation.clone())),
            skip: Some(by.conn),
        });
        Ok(conversation)
    }

    fn remove_members(
        &mut self,
        by: Origin,
        p: RemoveMembers,
        pushes: &mut Vec<Push>,
    ) -> Result<Conversation> {
        let hot = self.hot_member(p.conversation_id, by.uid)?;
        if hot.kind == ConversationType::SingleChat {
            return Err(refused(
                ErrorCode::SingleChatMembersFixed,
                "a single chat always has its two members",
            ));
        }
        let gone: Vec<Uid> = dedupe(p.user_ids)
            .into_iter()
            .filter(|u| hot.members.contains(u))
            .collect();
        if gone.iter().any(|u| *u != by.uid) && hot.manager != by.uid {
            return Err(refused(
                ErrorCode::NotManager,
                "only the manager may remove other members",
            ));
        }
        if gone.is_empty() {
            return self.reload(p.conversation_id);
        }
        let version = self.next_version();
        {
            // What the leavers saw last: later changes stay hidden from them.
            let before = rows::conversation(&self.conn, p.conversation_id)?
                .ok_or_else(|| Error::Corrupt("conversation vanished".into()))?;
            let snapshot = serde_json::to_string(&before.conversation)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            let mut stmt = self.conn.prepare_cached(
                "UPDATE members SET active = 0, version = ?3, left_seq = ?4, left_snapshot = ?5
                 WHERE uid = ?1 AND conversation_id = ?2",
            )?;
            for uid in &gone {
                stmt.execute(params![
                    uid.as_bytes(),
                    p.conversation_id.as_bytes(),
                    version,
                    hot.last_seq,
                    snapshot
                ])?;
            }
        }
        let remaining: Vec<Uid> = hot
            .members
            .iter()
            .filter(|u| !gone.contains(u))
            .copied()
            .collect();
        let manager = if gone.contains(&hot.manager) {
            remaining.first().copied().unwrap_or(hot.manager)
        } else {
            hot.manager
        };
        self.write_membership_summary(p.conversation_id, &remaining, manager, version)?;
        let conversation = self.reload(p.conversation_id)?;
        pushes.push(Push::Deliver {
            to: gone.into(),
            frame: event_frame(&Event::ConversationRemoved(ConversationRemoved {
                conversation_id: p.conversation_id,
                by: by.uid,
            })),
            skip: Some(by.conn),
        });
        pushes.push(Push::Deliver {
            to: remaining.into(),
            frame: event_frame(&Event::ConversationUpdated(conversation.clone())),
            skip: Some(by.conn),
        });
        Ok(conversation)
    }

    fn send_text(
        &mut self,
        by: Origin,
        id: ConversationId,
        client_id: ClientId,
        text: String,
    ) -> Result<Sent> {
        let hot = match self.hot_member(id, by.uid) {
            Ok(hot) => hot,
            // A resend of a message stored before the sender left still gets its original.
            Err(refusal) => {
                return match self.stored_by_client_id(id, by.uid, &client_id)? {
                    Some(original) => Ok(Sent::Duplicate(original)),
                    None => Err(refusal),
                }
            }
        };
        let seq = hot.last_seq + 1;
        let message_id = MessageId::time_ordered();
        let timestamp = now_millis();
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO messages (conversation_id, seq, id, sender, client_id, type, body, timestamp)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'text', ?6, ?7)
                 ON CONFLICT (conversation_id, sender, client_id) DO NOTHING",
            )?
            .execute(params![
                id.as_bytes(),
                seq,
                message_id.as_bytes(),
                by.uid.as_bytes(),
                client_id.as_str(),
                text,
                timestamp
            ])?;
        let message = Message {
            id: message_id,
            conversation_id: id,
            seq,
            from: by.uid,
            client_id,
            timestamp,
            body: MessageBody::Text { text },
        };
        if inserted == 0 {
            let original = self
                .stored_by_client_id(id, by.uid, &message.client_id)?
                .ok_or_else(|| Error::Corrupt("conflicting message vanished".into()))?;
            return Ok(Sent::Duplicate(original));
        }
        // The sender has read everything up to their own message.
        self.conn
            .prepare_cached(
                "UPDATE members SET read_seq = ?3 WHERE uid = ?1 AND conversation_id = ?2 AND read_seq < ?3",
            )?
            .execute(params![by.uid.as_bytes(), id.as_bytes(), seq])?;
        if let Some(h) = self.hot.get_mut(&id) {
            h.last_seq = seq;
        }
        self.dirty.insert(id, seq);
        Ok(Sent::New(message, hot.members))
    }

    fn stored_by_client_id(
        &self,
        id: ConversationId,
        sender: Uid,
        client_id: &ClientId,
    ) -> Result<Option<Message>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM messages
                 WHERE conversation_id = ?1 AND sender = ?2 AND client_id = ?3",
                rows::MESSAGE_COLUMNS
            ))?
            .query_row(
                params![id.as_bytes(), sender.as_bytes(), client_id.as_str()],
                rows::message,
            )
            .optional()?)
    }

    fn mark_read(
        &mut self,
        by: Origin,
        id: ConversationId,
        seq: Seq,
        pushes: &mut Vec<Push>,
    ) -> Result<ReadMark> {
        let hot = self.hot_member(id, by.uid)?;
        let old = rows::read_seq(&self.conn, by.uid, id)?
            .ok_or_else(|| Error::Corrupt("member row missing".into()))?;
        if old > hot.last_seq {
            return Err(Error::Corrupt(format!(
                "read mark {old} above last seq {} in conversation {id}",
                hot.last_seq
            )));
        }
        let read_seq = old.max(seq.min(hot.last_seq));
        if read_seq > old {
            let version = self.next_version();
            self.conn
                .prepare_cached(
                    "UPDATE members SET read_seq = ?3, version = ?4 WHERE uid = ?1 AND conversation_id = ?2",
                )?
                .execute(params![by.uid.as_bytes(), id.as_bytes(), read_seq, version])?;
            pushes.push(Push::Deliver {
                to: hot.members.clone(),
                frame: event_frame(&Event::Receipt(Receipt {
                    conversation_id: id,
                    uid: by.uid,
                    read_seq,
                })),
                skip: Some(by.conn),
            });
        }
        Ok(ReadMark {
            conversation_id: id,
            read_seq,
            unread_count: hot.last_seq - read_seq,
        })
    }
}

enum Sent {
    /// Stored now, to be pushed to these members.
    New(Message, Arc<[Uid]>),
    /// A resend: the original.
    Duplicate(Message),
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("version", &self.version)
            .field("hot", &self.hot.len())
            .finish()
    }
}
