//! The supervisor: the one task that owns the client's socket.
//!
//! It connects (and reconnects with exponential backoff and jitter), resumes the session with
//! the token, catches up from the cache's cursor, sends the outbox, routes requests and replies,
//! applies pushed events to the cache, notices a dead connection by its silence, and reports
//! every state change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use im_proto::{
    ClientId, ConversationId, ConversationView, ErrorBody, Event, GetConversation, GetMessages,
    MarkRead, Message, MessagePage, RequestId, Resume, SendText, ServerFrame, Sync,
};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use crate::cache::{Cache, ConversationRecord, OutboxState};
use crate::client::Inner;
use crate::error::{Error, Result};
use crate::events::{ClientEvent, ConnectionState};
use crate::outbox::OutboxQueue;
use crate::pacing::Pacer;
use crate::transport::{Connection, Incoming};

/// What the API asks of the supervisor.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a request frame (already encoded, with `id`) and hand back the raw result.
    Call {
        id: RequestId,
        frame: String,
        reply: oneshot::Sender<Result<Box<RawValue>>>,
    },
    /// Try to connect now instead of waiting for the backoff.
    Reconnect,
    /// Stop; with `sign_out`, revoke the session first (if online). `done` hears whether the
    /// session is revoked on the server.
    Close {
        sign_out: bool,
        done: oneshot::Sender<bool>,
    },
}

/// Why a connection ended.
enum Ended {
    /// The client is closing.
    Closed,
    /// The session is gone on the server.
    SignedOut(String),
    /// The connection failed or dropped.
    Lost { was_online: bool, error: Error },
}

/// What a pending request is for.
enum Pending {
    Call(oneshot::Sender<Result<Box<RawValue>>>),
    Outbox(ClientId),
    GapFill(ConversationId),
    FetchConversation(ConversationId),
    /// A read mark sent: the conversation and the seq.
    MarkRead(ConversationId, u64),
}

pub(crate) struct Supervisor {
    inner: Arc<Inner>,
    commands: Commands,
    cache: Arc<dyn Cache>,
    /// The outbox's order and progress on the current connection (the entries are in the
    /// cache); also how our own messages are recognised when catch-up finds them stored.
    outbox: OutboxQueue,
    /// Keeps the requests of the current connection within the rate the server announced.
    pacer: Pacer,
    /// Read marks to send once online.
    dirty_reads: HashSet<ConversationId>,
    /// Conversations with a gap fetch in flight.
    filling: HashSet<ConversationId>,
    /// Events pushed during catch-up, applied once it is over: a message pushed live while the
    /// catch-up is still fetching older ones must not be announced before them.
    held: Vec<Event>,
    /// More events were pushed during a catch-up than it holds: they were dropped, and the
    /// catch-up runs again (it finds whatever they said).
    held_overflowed: bool,
}

/// The command channel, with room to put back one command that arrived before the supervisor
/// could serve it.
struct Commands {
    rx: mpsc::Receiver<Command>,
    front: Option<Command>,
}

impl Commands {
    async fn recv(&mut self) -> Option<Command> {
        match self.front.take() {
            Some(cmd) => Some(cmd),
            None => self.rx.recv().await,
        }
    }
}

/// Events held during a catch-up, at most.
const MAX_HELD: usize = 10_000;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Supervisor {
    /// Waits for the cache, then supervises the connection until the client closes.
    pub async fn run(inner: Arc<Inner>, commands: mpsc::Receiver<Command>) {
        let mut commands = Commands {
            rx: commands,
            front: None,
        };
        let Some(cache) = Self::wait_for_cache(&inner, &mut commands).await else {
            inner.set_state(ConnectionState::Offline);
            return;
        };
        let mut this = Self {
            inner,
            commands,
            cache,
            outbox: OutboxQueue::default(),
            pacer: Pacer::new(&im_proto::Limits::default(), Instant::now()),
            dirty_reads: HashSet::new(),
            filling: HashSet::new(),
            held: Vec::new(),
            held_overflowed: false,
        };
        this.supervise().await;
    }

    async fn wait_for_cache(inner: &Arc<Inner>, commands: &mut Commands) -> Option<Arc<dyn Cache>> {
        let mut cache = inner.cache_watch();
        loop {
            if let Some(c) = cache.borrow_and_update().clone() {
                return Some(c);
            }
            tokio::select! {
                _ = inner.stop.cancelled() => return None,
                changed = cache.changed() => if changed.is_err() { return None },
                cmd = commands.recv() => match cmd {
                    None => return None,
                    Some(Command::Close { done, .. }) => { let _ = done.send(false); return None }
                    // Set just before the call was sent (and seen first here): the call is
                    // served once connected, like any other.
                    Some(call @ Command::Call { .. }) if cache.borrow().is_some() => {
                        commands.front = Some(call);
                    }
                    Some(Command::Call { reply, .. }) => { let _ = reply.send(Err(Error::CacheNotSet)); }
                    Some(_) => {}
                },
            }
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> {
        let c = &self.inner.config;
        ExponentialBuilder::default()
            .with_min_delay(c.backoff_min)
            .with_max_delay(c.backoff_max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }

    /// Takes in what the API nudged: new outbox entries (already in the cache) and moved read
    /// marks.
    fn absorb_nudges(&mut self) {
        let nudges = self.inner.take_nudges();
        for client_id in nudges.sends {
            self.outbox.push(client_id);
        }
        self.dirty_reads.extend(nudges.reads);
    }

    /// Takes the outbox as stored (what is still being sent, oldest first) as the queue to send.
    fn reload_outbox(&mut self) {
        match self.cache.outbox() {
            Ok(entries) => self.outbox.reload(
                entries
                    .into_iter()
                    .filter(|e| e.state == OutboxState::Sending)
                    .map(|e| e.client_id),
            ),
            Err(e) => self.inner.emit_error(e),
        }
    }

    async fn supervise(&mut self) {
        self.reload_outbox();
        let mut backoff = self.backoff();
        let mut attempt: u32 = 0;
        self.inner.set_state(ConnectionState::Connecting);
        loop {
            match self.connect_and_serve().await {
                Ended::Closed => {
                    self.inner.set_state(ConnectionState::Offline);
                    return;
                }
                Ended::SignedOut(reason) => {
                    tracing::info!(%reason, "session ended");
                    self.inner.mark_signed_out(reason.clone());
                    self.inner.set_state(ConnectionState::Offline);
                    self.inner.emit(ClientEvent::SignedOut(reason));
                    self.refuse_until_closed().await;
                    return;
                }
                Ended::Lost { was_online, error } => {
                    tracing::debug!(%error, was_online, "connection lost");
                    if was_online {
                        backoff = self.backoff();
                        attempt = 0;
                    }
                    self.inner.set_state(ConnectionState::Offline);
                }
            }
            attempt += 1;
            let delay = backoff.next().unwrap_or(self.inner.config.backoff_max);
            self.inner
                .set_state(ConnectionState::Reconnecting { attempt, delay });
            if !self.wait_offline(delay).await {
                self.inner.set_state(ConnectionState::Offline);
                return;
            }
        }
    }

    /// Serves commands while offline for `delay`. False when the client is closing.
    async fn wait_offline(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = self.inner.stop.cancelled() => return false,
                _ = &mut sleep => return true,
                cmd = self.commands.recv() => match cmd {
                    None => return false,
                    Some(Command::Close { done, .. }) => { let _ = done.send(false); return false }
                    Some(Command::Call { reply, .. }) => { let _ = reply.send(Err(Error::Offline)); }
                    Some(Command::Reconnect) => return true,
                },
                _ = self.inner.nudged() => self.absorb_nudges(),
            }
        }
    }

    /// After the session ended: answer everything with `signed_out` until closed.
    async fn refuse_until_closed(&mut self) {
        loop {
            let cmd = tokio::select! {
                _ = self.inner.stop.cancelled() => return,
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => cmd,
                    None => return,
                },
            };
            match cmd {
                Command::Close { done, .. } => {
                    // The session already ended on the server.
                    let _ = done.send(true);
                    return;
                }
                Command::Call { reply, .. } => {
                    let _ = reply.send(Err(Error::SignedOut("the session has ended".into())));
                }
                _ => {}
            }
        }
    }

    async fn connect_and_serve(&mut self) -> Ended {
        let stop = self.inner.stop.clone();
        tokio::select! {
            _ = stop.cancelled() => Ended::Closed,
            ended = self.connect_and_serve_inner() => ended,
        }
    }

    async fn connect_and_serve_inner(&mut self) -> Ended {
        let config = &self.inner.config;
        let url = self.inner.session.server_url.clone();
        let mut conn = match Connection::open(&url, config.connect_timeout).await {
            Ok(conn) => conn,
            Err(error) => {
                return Ended::Lost {
                    was_online: false,
                    error,
                }
            }
        };
        let token = self.inner.session.token.clone();
        let resumed = tokio::time::timeout(
            config.request_timeout,
            conn.request(self.inner.next_id(), Resume { token }, |_| {}),
        )
        .await;
        match resumed {
            Ok(Ok(_)) => {}
            Ok(Err(Error::SignedOut(reason))) => return Ended::SignedOut(reason),
            Ok(Err(error)) => {
                return Ended::Lost {
                    was_online: false,
                    error,
                }
            }
            Err(_) => {
                return Ended::Lost {
                    was_online: false,
                    error: Error::Timeout,
                }
            }
        }
        self.inner.set_limits(conn.limits.clone());
        self.pacer = Pacer::new(&conn.limits, Instant::now());
        self.reload_outbox();
        self.inner.set_state(ConnectionState::Online);
        tracing::debug!(url = %conn.url(), "online");
        let caught_up = loop {
            let caught_up = self.catch_up(&mut conn).await;
            if caught_up.is_ok() && std::mem::take(&mut self.held_overflowed) {
                // Some pushed events were dropped: catch up again (from the cursor just moved),
                // which finds what they said.
                self.held.clear();
                continue;
            }
            break caught_up;
        };
        // What was pushed meanwhile is newer than anything the catch-up fetched (pushes follow
        // commit order), so announcing it now keeps every conversation in seq order.
        for event in std::mem::take(&mut self.held) {
            if let Some(reason) = self.apply_event(event, None) {
                return Ended::SignedOut(reason);
            }
        }
        match caught_up {
            Ok((conversations, messages)) => self.inner.emit(ClientEvent::CaughtUp {
                conversations,
                messages,
            }),
            Err(Error::SignedOut(reason)) => return Ended::SignedOut(reason),
            Err(error @ (Error::Disconnected | Error::Timeout | Error::Protocol(_))) => {
                return Ended::Lost {
                    was_online: true,
                    error,
                }
            }
            Err(error) => self.inner.emit_error(error),
        }
        self.serve(conn).await
    }

    /// Runs one request to completion on `conn` (during catch-up), at the server's pace, holding
    /// the events that arrive meanwhile until the catch-up is over. A `rate_limited` refusal is
    /// waited out and the request sent again.
    async fn request<P: im_proto::Op + Clone>(
        &mut self,
        conn: &mut Connection,
        params: P,
    ) -> Result<P::Output> {
        loop {
            self.pacer.take().await;
            match self.request_once(conn, params.clone()).await {
                Err(Error::Server(e)) if e.code == im_proto::ErrorCode::RateLimited => {
                    let wait = Duration::from_millis(e.retry_after_ms.unwrap_or(1000));
                    tracing::debug!(?wait, "catch-up request refused for now; waiting");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn request_once<P: im_proto::Op>(
        &mut self,
        conn: &mut Connection,
        params: P,
    ) -> Result<P::Output> {
        let id = self.inner.next_id();
        // Silence longer than `dead_after` means a dead connection here too.
        let config = &self.inner.config;
        let timeout = config.request_timeout.min(config.dead_after);
        let held = &mut self.held;
        let overflowed = &mut self.held_overflowed;
        tokio::time::timeout(
            timeout,
            conn.request(id, params, |frame| {
                if let ServerFrame::Event(event) = frame {
                    if held.len() < MAX_HELD {
                        held.push(event);
                    } else {
                        *overflowed = true;
                    }
                }
            }),
        )
        .await
        .unwrap_or(Err(Error::Timeout))
    }

    /// Catch-up after connecting: every conversation that changed since the cursor, and for each
    /// the messages after the newest one in the cache. Returns (conversations, messages).
    async fn catch_up(&mut self, conn: &mut Connection) -> Result<(usize, usize)> {
        let fresh = self.cache.sync_cursor()? == 0 && self.cache.conversations(0, 1)?.is_empty();
        let mut cursor = self.cache.sync_cursor()?;
        let (mut conversations, mut messages) = (0, 0);
        loop {
            let page = self
                .request(
                    conn,
                    Sync {
                        since: cursor,
                        limit: None,
                    },
                )
                .await?;
            for view in page.conversations {
                conversations += 1;
                let id = view.conversation.id;
                let last_seq = view.last_seq;
                let removed = view.removed;
                self.apply_view(view)?;
                if !removed {
                    messages += self.fetch_missing(conn, id, last_seq, fresh).await?;
                }
            }
            cursor = page.cursor;
            self.cache.set_sync_cursor(cursor)?;
            if !page.has_more {
                break;
            }
        }
        Ok((conversations, messages))
    }

    /// Stores a conversation view from the server, keeping what is newer locally.
    fn apply_view(&mut self, view: ConversationView) -> Result<()> {
        let id = view.conversation.id;
        let known = self.cache.conversation(id)?.is_some();
        let new = ConversationRecord::new(view.conversation.clone());
        let mut view = Some(view);
        let record = self
            .cache
            .update_conversation(id, Some(new), &mut |r| {
                if let Some(view) = view.take() {
                    r.apply_view(view);
                }
            })?
            .ok_or_else(|| Error::Cache("the conversation was not stored".into()))?;
        if record.read_dirty {
            self.dirty_reads.insert(id);
        }
        self.inner.emit(if record.removed {
            ClientEvent::ConversationRemoved(id)
        } else if known {
            ClientEvent::ConversationUpdated(record.conversation)
        } else {
            ClientEvent::ConversationCreated(record.conversation)
        });
        Ok(())
    }

    /// Fetches the messages of `id` after the newest cached one, up to the server's `last_seq`.
    /// A fresh cache, or a gap wider than the catch-up limit, gets only the newest page (older
    /// history loads on demand).
    async fn fetch_missing(
        &mut self,
        conn: &mut Connection,
        id: ConversationId,
        last_seq: u64,
        fresh: bool,
    ) -> Result<usize> {
        let local = self.cache.conversation(id)?.map_or(0, |r| r.synced_seq);
        if last_seq <= local {
            return Ok(0);
        }
        let config = &self.inner.config;
        let page_size = config.page_size;
        if fresh || last_seq - local > config.catch_up_limit {
            // Only the newest page; what lies below it is history, loaded when scrolled to.
            self.raise_watermark(id, last_seq.saturating_sub(page_size as u64))?;
            let page = self
                .request(
                    conn,
                    GetMessages {
                        conversation_id: id,
                        before: Some(last_seq + 1),
                        after: None,
                        limit: Some(page_size),
                    },
                )
                .await?;
            return self.store_messages(page.messages, false);
        }
        let mut after = local;
        let mut count = 0;
        loop {
            let page: MessagePage = self
                .request(
                    conn,
                    GetMessages {
                        conversation_id: id,
                        before: None,
                        after: Some(after),
                        limit: Some(200),
                    },
                )
                .await?;
            after = page.messages.last().map_or(after, |m| m.seq);
            let more = page.has_more;
            count += self.store_messages(page.messages, false)?;
            if !more {
                return Ok(count);
            }
        }
    }

    /// The fetch that fills the hole below `seen` (a message just received), if there is one
    /// and none is in flight. A hole wider than the catch-up limit is left to history paging.
    fn gap(&mut self, id: ConversationId, seen: u64) -> Result<Option<Followup>> {
        let Some(record) = self.cache.conversation(id)? else {
            return Ok(None);
        };
        let after = record.synced_seq;
        if seen <= after + 1 || self.filling.contains(&id) {
            return Ok(None);
        }
        if seen - after > self.inner.config.catch_up_limit {
            self.raise_watermark(id, seen - 1)?;
            return Ok(None);
        }
        Ok(Some(Followup::FillGap {
            id,
            after,
            before: seen,
        }))
    }

    /// Moves a conversation's catch-up watermark up to at least `seq` (and on over whatever
    /// the cache already holds right after it).
    fn raise_watermark(&mut self, id: ConversationId, seq: u64) -> Result<()> {
        let Some(record) = self.cache.conversation(id)? else {
            return Ok(());
        };
        if seq > record.synced_seq {
            let watermark = self.contiguous_from(id, seq)?;
            self.cache.update_conversation(id, None, &mut |r| {
                r.synced_seq = r.synced_seq.max(watermark);
            })?;
        }
        Ok(())
    }

    /// The highest seq reached from `from` over consecutive seqs the cache holds. (Only the
    /// supervisor moves watermarks, so reading it before the update that stores it is safe.)
    fn contiguous_from(&self, id: ConversationId, from: u64) -> Result<u64> {
        let mut seq = from;
        loop {
            let next = seq + 1;
            let found = self.cache.messages_before(id, next + 1, 1)?;
            if found.first().map(|m| m.seq) == Some(next) {
                seq = next;
            } else {
                return Ok(seq);
            }
        }
    }

    /// Stores messages and announces the new ones; our own outbox messages among them count as
    /// sent. Returns how many were new.
    fn store_messages(&mut self, messages: Vec<Message>, live: bool) -> Result<usize> {
        if messages.is_empty() {
            return Ok(0);
        }
        let new = self.cache.put_messages(&messages)?;
        let me = self.inner.session.user.uid;
        let mut conversations: Vec<ConversationId> = Vec::new();
        for m in &messages {
            if !conversations.contains(&m.conversation_id) {
                conversations.push(m.conversation_id);
            }
        }
        for id in conversations {
            let Some(record) = self.cache.conversation(id)? else {
                continue;
            };
            let watermark = self.contiguous_from(id, record.synced_seq)?;
            self.cache.update_conversation(id, None, &mut |r| {
                for m in messages.iter().filter(|m| m.conversation_id == id) {
                    r.absorb(m, me);
                    if m.from != me {
                        // A member's own message shows they read up to it.
                        r.peer_read_seq = r.peer_read_seq.max(m.seq);
                    }
                }
                r.synced_seq = r.synced_seq.max(watermark);
            })?;
        }
        for m in &new {
            if m.from == me && self.outbox.contains(&m.client_id) {
                // Our own send, acked on a connection that dropped before the ack arrived.
                self.acked(m.clone());
            } else {
                self.inner.emit(ClientEvent::Message {
                    message: m.clone(),
                    live,
                });
            }
        }
        Ok(new.len())
    }

    /// An outbox entry was acknowledged (or found stored).
    fn acked(&mut self, message: Message) {
        self.outbox.stored(&message.client_id);
        if let Err(e) = self.cache.outbox_remove(&message.client_id) {
            self.inner.emit_error(e);
        }
        self.inner
            .resolve_send(&message.client_id, Ok(message.clone()));
        self.inner.emit(ClientEvent::MessageSent(message));
    }

    /// An outbox entry was refused for good: it stays in the outbox, marked failed (retry or
    /// discard), and whoever waits for it hears why.
    fn failed(&mut self, client_id: ClientId, body: ErrorBody) {
        self.outbox.failed(&client_id);
        let error = Error::from(body.clone());
        match self.cache.outbox_entry(&client_id) {
            Ok(Some(mut entry)) => {
                entry.state = OutboxState::Failed {
                    code: body.code.as_str().to_owned(),
                    message: body.message,
                };
                if let Err(e) = self.cache.outbox_put(&entry) {
                    self.inner.emit_error(e);
                }
                self.inner.emit(ClientEvent::MessageFailed {
                    conversation_id: entry.conversation_id,
                    client_id: client_id.clone(),
                    error: error.clone(),
                });
            }
            Ok(None) => {} // discarded meanwhile
            Err(e) => self.inner.emit_error(e),
        }
        self.inner.resolve_send(&client_id, Err(error));
    }

    /// Applies a pushed event to the cache and announces it. Returns the reason if it ended the
    /// session. `conn` (when serving) lets it fetch what it finds missing.
    fn apply_event(
        &mut self,
        event: Event,
        mut followups: Option<&mut Vec<Followup>>,
    ) -> Option<String> {
        let event_kind = event.name();
        let result: Result<()> = (|| {
            match event {
                Event::Message(message) => {
                    let id = message.conversation_id;
                    let seq = message.seq;
                    let known = self.cache.conversation(id)?.is_some();
                    self.store_messages(vec![message], true)?;
                    // While catching up (no followups) the catch-up itself fetches what is missing.
                    if let Some(f) = followups.as_mut() {
                        if !known {
                            f.push(Followup::FetchConversation(id));
                        }
                        if let Some(gap) = self.gap(id, seq)? {
                            f.push(gap);
                        }
                    }
                }
                Event::Receipt(receipt) => {
                    let mine = receipt.uid == self.inner.session.user.uid;
                    self.cache
                        .update_conversation(receipt.conversation_id, None, &mut |r| {
                            if mine {
                                r.read_seq = r.read_seq.max(receipt.read_seq);
                            } else {
                                r.peer_read_seq = r.peer_read_seq.max(receipt.read_seq);
                            }
                        })?;
                    self.inner.emit(ClientEvent::Receipt(receipt));
                }
                Event::Typing(typing) => self.inner.emit(ClientEvent::Typing(typing)),
                Event::ConversationCreated(c) | Event::ConversationUpdated(c) => {
                    // Only new members (and the creator's other sessions) hear of a creation;
                    // in a group, only its manager adds people.
                    let added_by = (matches!(event_kind, "conversation_created")
                        && c.kind == im_proto::ConversationType::GroupChat
                        && c.manager_id != self.inner.session.user.uid)
                        .then_some(c.manager_id);
                    let mut known = false;
                    self.cache.update_conversation(
                        c.id,
                        Some(ConversationRecord {
                            removed: true,
                            ..ConversationRecord::new(c.clone())
                        }),
                        &mut |r| {
                            known = !r.removed;
                            r.conversation = c.clone();
                            r.removed = false;
                        },
                    )?;
                    self.inner.emit(if known {
                        ClientEvent::ConversationUpdated(c.clone())
                    } else {
                        ClientEvent::ConversationCreated(c.clone())
                    });
                    if let Some(by) = added_by {
                        self.inner.emit(ClientEvent::AddedToGroup {
                            conversation: c,
                            by,
                        });
                    }
                }
                Event::ConversationRemoved(removed) => {
                    self.cache
                        .update_conversation(removed.conversation_id, None, &mut |r| {
                            r.removed = true
                        })?;
                    self.inner
                        .emit(ClientEvent::ConversationRemoved(removed.conversation_id));
                }
                Event::MuteChanged(state) => {
                    self.cache
                        .update_conversation(state.conversation_id, None, &mut |r| {
                            r.muted = state.muted
                        })?;
                    self.inner.emit(ClientEvent::MuteChanged(state));
                }
                Event::BlockChanged(state) => self.inner.emit(ClientEvent::BlockChanged(state)),
                Event::SignedOut(signed_out) => return Err(Error::SignedOut(signed_out.reason)),
                _ => {}
            }
            Ok(())
        })();
        match result {
            Ok(()) => None,
            Err(Error::SignedOut(reason)) => Some(reason),
            Err(e) => {
                self.inner.emit_error(e);
                None
            }
        }
    }

    /// The main loop while online.
    async fn serve(&mut self, mut conn: Connection) -> Ended {
        let mut pending: HashMap<RequestId, Pending> = HashMap::new();
        self.absorb_nudges();
        // Read marks moved while offline first; the outbox follows, at the server's pace.
        if let Err(error) = self.send_dirty_reads(&mut conn, &mut pending).await {
            return self.lost(error, pending);
        }
        let heartbeat = Heartbeat::new(
            self.inner.config.ping_interval,
            self.inner.config.dead_after,
        );
        let mut last_ping: Option<Instant> = None;
        loop {
            let outbox_wake = match self.pump_outbox(&mut conn, &mut pending).await {
                Ok(wake) => wake,
                Err(error) => return self.lost(error, pending),
            };
            let (beat_at, beat) = heartbeat.next(conn.last_heard, last_ping);
            tokio::select! {
                _ = self.inner.stop.cancelled() => return self.close(conn, false, None, pending).await,
                cmd = self.commands.recv() => {
                    let result = match cmd {
                        None => return self.close(conn, false, None, pending).await,
                        Some(Command::Close { sign_out, done }) => {
                            return self.close(conn, sign_out, Some(done), pending).await
                        }
                        Some(Command::Call { id, frame, reply }) => {
                            self.pacer.take_anyway(Instant::now());
                            if pending.len() >= 256 {
                                // Calls whose callers gave up (timed out) wait for no one.
                                pending.retain(|_, p| !matches!(p, Pending::Call(tx) if tx.is_closed()));
                            }
                            pending.insert(id, Pending::Call(reply));
                            conn.send_text(frame).await
                        }
                        Some(Command::Reconnect) => Ok(()),
                    };
                    if let Err(error) = result {
                        return self.lost(error, pending);
                    }
                }
                _ = self.inner.nudged() => {
                    self.absorb_nudges();
                    if let Err(error) = self.send_dirty_reads(&mut conn, &mut pending).await {
                        return self.lost(error, pending);
                    }
                }
                incoming = conn.next() => {
                    let frame = match incoming {
                        Ok(Incoming::Frame(frame)) => frame,
                        Ok(Incoming::Alive) => continue,
                        Err(error) => return self.lost(error, pending),
                    };
                    let mut followups = Vec::new();
                    if let Some(reason) = self.on_frame(frame, &mut pending, &mut followups) {
                        self.fail_pending(pending, || Error::SignedOut(reason.clone()));
                        return Ended::SignedOut(reason);
                    }
                    for f in followups {
                        if let Err(error) = self.follow_up(&mut conn, &mut pending, f).await {
                            return self.lost(error, pending);
                        }
                    }
                }
                _ = tokio::time::sleep_until(beat_at.into()) => match beat {
                    Beat::Dead => return self.lost(Error::Timeout, pending),
                    Beat::Ping => {
                        last_ping = Some(Instant::now());
                        if let Err(error) = conn.ping().await {
                            return self.lost(error, pending);
                        }
                    }
                },
                _ = sleep_until_opt(outbox_wake) => {}
            }
        }
    }

    /// Sends what the outbox may send now (in order, within the in-flight window and the pace).
    /// Returns when to look again if it had to stop for the pace or a pause.
    async fn pump_outbox(
        &mut self,
        conn: &mut Connection,
        pending: &mut HashMap<RequestId, Pending>,
    ) -> Result<Option<Instant>> {
        loop {
            let now = Instant::now();
            if self.outbox.waiting() >= self.pacer.window() {
                return Ok(None); // an answer frees room
            }
            if let Some(until) = self.outbox.paused_until().filter(|u| *u > now) {
                return Ok(Some(until));
            }
            if !self.outbox.has_ready() {
                return Ok(None);
            }
            if let Err(at) = self.pacer.try_take(now) {
                return Ok(Some(at));
            }
            let Some(client_id) = self.outbox.next(now) else {
                self.pacer.give_back();
                return Ok(None);
            };
            let entry = match self.cache.outbox_entry(&client_id) {
                Ok(Some(entry)) if entry.state == OutboxState::Sending => entry,
                Ok(_) => {
                    // Discarded (or failed) meanwhile.
                    self.outbox.discard(&client_id);
                    self.pacer.give_back();
                    continue;
                }
                Err(e) => {
                    // Cannot read it now: it goes again after the next reconnect.
                    self.inner.emit_error(e);
                    return Err(Error::Disconnected);
                }
            };
            let id = self.inner.next_id();
            pending.insert(id, Pending::Outbox(entry.client_id.clone()));
            conn.send_request(
                id,
                SendText {
                    conversation_id: entry.conversation_id,
                    client_id: entry.client_id,
                    text: entry.text,
                },
            )
            .await?;
        }
    }

    async fn send_dirty_reads(
        &mut self,
        conn: &mut Connection,
        pending: &mut HashMap<RequestId, Pending>,
    ) -> Result<()> {
        for id in std::mem::take(&mut self.dirty_reads) {
            let Some(record) = self.cache.conversation(id)? else {
                continue;
            };
            let request = self.inner.next_id();
            self.pacer.take_anyway(Instant::now());
            pending.insert(request, Pending::MarkRead(id, record.read_seq));
            conn.send_request(
                request,
                MarkRead {
                    conversation_id: id,
                    seq: record.read_seq,
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn follow_up(
        &mut self,
        conn: &mut Connection,
        pending: &mut HashMap<RequestId, Pending>,
        followup: Followup,
    ) -> Result<()> {
        let id = self.inner.next_id();
        self.pacer.take_anyway(Instant::now());
        match followup {
            Followup::FetchConversation(conversation_id) => {
                pending.insert(id, Pending::FetchConversation(conversation_id));
                conn.send_request(id, GetConversation { conversation_id })
                    .await
            }
            Followup::FillGap {
                id: conversation_id,
                after,
                before,
            } => {
                self.filling.insert(conversation_id);
                pending.insert(id, Pending::GapFill(conversation_id));
                let limit = (before - after - 1).min(200) as usize;
                conn.send_request(
                    id,
                    GetMessages {
                        conversation_id,
                        after: Some(after),
                        before: None,
                        limit: Some(limit.max(1)),
                    },
                )
                .await
            }
        }
    }

    /// Handles one frame while serving. Returns the reason if the session ended.
    fn on_frame(
        &mut self,
        frame: ServerFrame,
        pending: &mut HashMap<RequestId, Pending>,
        followups: &mut Vec<Followup>,
    ) -> Option<String> {
        match frame {
            ServerFrame::Event(event) => self.apply_event(event, Some(followups)),
            ServerFrame::UnknownEvent(name) => {
                tracing::debug!(%name, "ignoring an unknown event");
                None
            }
            ServerFrame::Result { id, result } => {
                self.on_reply(followups, pending.remove(&id), Ok(result));
                None
            }
            ServerFrame::Error {
                id: Some(id),
                error,
            } => {
                self.on_reply(followups, pending.remove(&id), Err(error));
                None
            }
            ServerFrame::Error { id: None, error } => {
                self.inner.emit_error(Error::Server(error));
                None
            }
        }
    }

    fn on_reply(
        &mut self,
        followups: &mut Vec<Followup>,
        pending: Option<Pending>,
        reply: std::result::Result<Box<RawValue>, ErrorBody>,
    ) {
        let Some(pending) = pending else { return };
        match pending {
            Pending::Call(tx) => {
                let _ = tx.send(reply.map_err(Error::from));
            }
            Pending::Outbox(client_id) => match reply {
                Ok(raw) => match serde_json::from_str::<Message>(raw.get()) {
                    Ok(message) => {
                        if let Err(e) = self.store_acked(&message) {
                            self.inner.emit_error(e);
                        }
                        self.acked(message);
                    }
                    Err(e) => self.inner.emit_error(e.into()),
                },
                Err(error) if error.code.is_transient() => {
                    // The queue stops here and resumes from this message (the server holds
                    // back our later sends to this conversation until it comes again).
                    let wait = Duration::from_millis(error.retry_after_ms.unwrap_or(1000));
                    tracing::debug!(%client_id, code = %error.code, ?wait, "send refused for now");
                    self.outbox
                        .refused_for_now(&client_id, wait, Instant::now());
                }
                Err(error) => self.failed(client_id, error),
            },
            Pending::GapFill(conversation_id) => {
                self.filling.remove(&conversation_id);
                match reply
                    .map_err(Error::from)
                    .and_then(|raw| Ok(serde_json::from_str::<MessagePage>(raw.get())?))
                {
                    Ok(page) => {
                        let refill = self.store_messages(page.messages, true).and_then(|_| {
                            // Still short of the newest known message? Keep filling.
                            match self.cache.conversation(conversation_id)? {
                                Some(r) if r.last_seq > r.synced_seq => {
                                    self.gap(conversation_id, r.last_seq + 1)
                                }
                                _ => Ok(None),
                            }
                        });
                        match refill {
                            Ok(next) => followups.extend(next),
                            Err(e) => self.inner.emit_error(e),
                        }
                    }
                    Err(e) => self.inner.emit_error(e),
                }
            }
            Pending::FetchConversation(conversation_id) => {
                tracing::debug!(%conversation_id, "fetched a conversation first seen in a message");
                match reply
                    .map_err(Error::from)
                    .and_then(|raw| Ok(serde_json::from_str::<ConversationView>(raw.get())?))
                {
                    Ok(view) => {
                        if let Err(e) = self.apply_view(view) {
                            self.inner.emit_error(e);
                        }
                    }
                    Err(e) => self.inner.emit_error(e),
                }
            }
            Pending::MarkRead(conversation_id, sent) => match reply {
                Ok(_) => {
                    // Clean only if the mark has not moved past what this reply acknowledges.
                    let cleaned = self
                        .cache
                        .update_conversation(conversation_id, None, &mut |r| {
                            if r.read_seq <= sent {
                                r.read_dirty = false;
                            }
                        });
                    if let Err(e) = cleaned {
                        self.inner.emit_error(e);
                    }
                }
                Err(error) => self.inner.emit_error(error.into()),
            },
        }
    }

    /// Stores our acknowledged message and moves the conversation on.
    fn store_acked(&mut self, message: &Message) -> Result<()> {
        self.cache.put_messages(std::slice::from_ref(message))?;
        let me = self.inner.session.user.uid;
        self.cache
            .update_conversation(message.conversation_id, None, &mut |r| {
                r.absorb(message, me)
            })?;
        Ok(())
    }

    fn fail_pending(&self, pending: HashMap<RequestId, Pending>, error: impl Fn() -> Error) {
        for (_, p) in pending {
            if let Pending::Call(tx) = p {
                let _ = tx.send(Err(error()));
            }
        }
    }

    /// The connection dropped: fail the waiting calls (sends stay in the outbox).
    fn lost(&mut self, error: Error, pending: HashMap<RequestId, Pending>) -> Ended {
        self.filling.clear();
        self.outbox.disconnected();
        self.fail_pending(pending, || Error::Disconnected);
        Ended::Lost {
            was_online: true,
            error,
        }
    }

    async fn close(
        &mut self,
        mut conn: Connection,
        sign_out: bool,
        done: Option<oneshot::Sender<bool>>,
        pending: HashMap<RequestId, Pending>,
    ) -> Ended {
        let mut revoked = false;
        if sign_out {
            let request = self.inner.next_id();
            revoked = matches!(
                tokio::time::timeout(
                    self.inner.config.request_timeout,
                    conn.request(request, im_proto::SignOut {}, |_| {}),
                )
                .await,
                Ok(Ok(_))
            );
        }
        self.fail_pending(pending, || Error::Closed);
        conn.close().await;
        if let Some(done) = done {
            let _ = done.send(revoked);
        }
        Ended::Closed
    }
}

/// Something to fetch after applying an event.
pub(crate) enum Followup {
    FetchConversation(ConversationId),
    FillGap {
        id: ConversationId,
        after: u64,
        before: u64,
    },
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The current time in milliseconds (for outbox entries).
pub(crate) fn now() -> i64 {
    now_millis()
}

/// What the heartbeat does when its timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beat {
    /// Nothing heard for `ping_interval` (and no ping since): ping the server.
    Ping,
    /// Nothing heard for `dead_after`: the connection is dead.
    Dead,
}

/// When to ping and when to give up on a silent connection, from when the server was last
/// heard: exactly `dead_after` of silence is a dead connection (not "at the next tick after it").
#[derive(Debug, Clone, Copy)]
struct Heartbeat {
    ping_interval: Duration,
    dead_after: Duration,
}

impl Heartbeat {
    fn new(ping_interval: Duration, dead_after: Duration) -> Self {
        Self {
            ping_interval,
            dead_after,
        }
    }

    /// The next thing to do and when: a ping after `ping_interval` of silence (again every
    /// `ping_interval` while it lasts), death at `dead_after` of silence.
    fn next(&self, last_heard: Instant, last_ping: Option<Instant>) -> (Instant, Beat) {
        let dead_at = last_heard + self.dead_after;
        let since = last_ping.filter(|p| *p > last_heard).unwrap_or(last_heard);
        let ping_at = since + self.ping_interval;
        if ping_at < dead_at {
            (ping_at, Beat::Ping)
        } else {
            (dead_at, Beat::Dead)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_connection_is_pinged_then_declared_dead_at_exactly_dead_after() {
        let beat = Heartbeat::new(Duration::from_secs(15), Duration::from_secs(40));
        let heard = Instant::now();
        let mut pinged = None;
        let mut timeline = Vec::new();
        loop {
            let (at, what) = beat.next(heard, pinged);
            timeline.push(((at - heard).as_secs(), what));
            match what {
                Beat::Ping => pinged = Some(at),
                Beat::Dead => break,
            }
        }
        assert_eq!(
            timeline,
            [(15, Beat::Ping), (30, Beat::Ping), (40, Beat::Dead)]
        );
    }

    #[test]
    fn hearing_from_the_server_moves_everything_on() {
        let beat = Heartbeat::new(Duration::from_secs(15), Duration::from_secs(40));
        let start = Instant::now();
        let pinged = start + Duration::from_secs(15);
        let heard = start + Duration::from_secs(16);
        assert_eq!(
            beat.next(heard, Some(pinged)),
            (heard + Duration::from_secs(15), Beat::Ping)
        );
    }
}
