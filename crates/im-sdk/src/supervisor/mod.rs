//! The supervisor: the one task that owns the client's socket.
//!
//! It connects (and reconnects with exponential backoff and jitter), resumes the session with
//! the token, catches up from the cache's cursor, sends the outbox, routes requests and replies,
//! applies pushed events to the cache, notices a dead connection by its silence, and reports
//! every state change.
//!
//! This file holds the life cycle (waiting for the cache, connecting and reconnecting with
//! backoff, serving offline, closing). The rest, by concern:
//! - `connection`: one connection's life — resume, requests and replies, pushed events, the
//!   outbox pump, read marks, follow-ups;
//! - `catch_up`: `sync` from the cursor, the messages each conversation is missing, gaps, the
//!   watermark;
//! - `apply`: the one writer of the cache (views, messages, acks, refusals, events), which also
//!   announces what it wrote;
//! - `heartbeat`: when silence means a ping and when it means death (a pure function).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use im_proto::{
    ClientId, ConversationId, ConversationView, ErrorBody, Event, GetConversation,
    GetMessageChanges, GetMessages, MarkRead, Message, MessageChanges, MessagePage, RequestId,
    Resume, SendText, ServerFrame, Sync, SyncPage,
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

mod apply;
mod catch_up;
mod connection;
mod heartbeat;

use heartbeat::{Beat, Heartbeat};

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
    /// A page of `sync` asked for after `sync_needed`, and the cursor its first page started
    /// from.
    Sync(u64),
    /// A page of a conversation's message changes.
    Changes(ConversationId),
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
    /// Which server the next connection tries: the session's (0), then each of
    /// [`ClientConfig::fallback_servers`](crate::ClientConfig::fallback_servers) in turn.
    server_turn: usize,
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
            server_turn: 0,
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
                    // Another node of the same server, if there are others, gets the next try.
                    self.server_turn = self.server_turn.wrapping_add(1);
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

    /// The URL the next connection tries.
    fn server_url(&self) -> &str {
        let others = &self.inner.config.fallback_servers;
        match self.server_turn % (others.len() + 1) {
            0 => &self.inner.session.server_url,
            n => &others[n - 1],
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
    /// `sync` from the cursor (the server said live events may have been missed), then fill
    /// what each changed conversation is missing. `start`: the cursor the first page started
    /// from, for the next pages.
    Sync {
        start: Option<u64>,
    },
    FillGap {
        id: ConversationId,
        after: u64,
        before: u64,
    },
    /// The edits and recalls of a conversation's messages after a change counter.
    Changes {
        id: ConversationId,
        after: u64,
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
