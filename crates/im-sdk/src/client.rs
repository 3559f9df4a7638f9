//! [`ImClient`]: the seed's IM client. Create it once per signed-in user (through
//! [`ImService::create_im_client`](crate::ImService::create_im_client)), set a cache right away,
//! then create conversations, send, and listen to events; `close()` when done.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use im_proto::{
    BlockUser, ChangePassword, ClientId, ConversationId, CreateConversation, FindUsers, GetBlocked,
    GetConversation, GetUsers, Limits, ListSessions, Message, Op, Request, RevokeSession, Secret,
    SessionInfo, Uid, UnblockUser, User,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;

use crate::account::Session;
use crate::cache::{Cache, ConversationRecord, OutboxState, OutgoingMessage};
use crate::conversation::{Conversation, HistoryPage, TextMessage};
use crate::error::{Error, Result};
use crate::events::{ClientEvent, ConnectionState, EventKind};
use crate::supervisor::{Command, Supervisor};

/// Requests waiting for the supervisor, at most.
const COMMAND_QUEUE: usize = 256;

/// What the API hands the supervisor without waiting (see [`Inner::nudge_send`]).
#[derive(Debug, Default)]
pub(crate) struct Nudges {
    pub sends: Vec<ClientId>,
    pub reads: std::collections::HashSet<ConversationId>,
}

/// Tuning for an [`ImClient`]. The defaults suit a desktop app.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// How long connecting (TCP, WebSocket, hello) may take.
    pub connect_timeout: Duration,
    /// How long a request may wait for its reply.
    pub request_timeout: Duration,
    /// Ping the server after this long without hearing from it.
    pub ping_interval: Duration,
    /// Consider the connection dead after this long without hearing from the server.
    pub dead_after: Duration,
    /// The first reconnect delay (then doubling, with jitter).
    pub backoff_min: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
    /// Catching up fetches at most this many missed messages per conversation; beyond it only
    /// the newest page (older history loads when scrolled to).
    pub catch_up_limit: u64,
    /// Messages per history page fetched by default.
    pub page_size: usize,
    /// Events buffered per subscriber before it counts as lagging.
    pub event_buffer: usize,
    /// The other nodes of the same server (a cluster on one database: a session is valid on
    /// each), tried in turn after the session's `server_url` when a connection cannot be made
    /// or is lost. Empty: only `server_url`.
    pub fallback_servers: Vec<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
            dead_after: Duration::from_secs(40),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            catch_up_limit: 1000,
            page_size: 50,
            event_buffer: 16 * 1024,
            fallback_servers: Vec::new(),
        }
    }
}

/// State shared by the client handles and the supervisor.
#[derive(Debug)]
pub(crate) struct Inner {
    pub session: Session,
    pub config: ClientConfig,
    cache: watch::Sender<Option<Arc<dyn Cache>>>,
    /// Requests and control for the supervisor, bounded: a caller waits for room.
    commands: mpsc::Sender<Command>,
    /// New outbox entries and moved read marks, coalesced here (never blocking, never lost)
    /// until the supervisor takes them.
    nudges: Mutex<Nudges>,
    nudged: tokio::sync::Notify,
    events: broadcast::Sender<ClientEvent>,
    state: watch::Sender<ConnectionState>,
    limits: Mutex<Limits>,
    next_id: AtomicU64,
    waiters: Mutex<HashMap<ClientId, Vec<oneshot::Sender<Result<Message>>>>>,
    signed_out: Mutex<Option<String>>,
    /// Set when the supervisor failed for good (see [`Inner::fail`]).
    failed: Mutex<Option<String>>,
    /// Cancelled when the client is closed or every handle is dropped.
    /// Also when it failed.
    pub stop: CancellationToken,
}

impl Inner {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn emit(&self, event: ClientEvent) {
        let _ = self.events.send(event);
    }

    pub fn emit_error(&self, error: Error) {
        tracing::warn!(%error, "client error");
        self.emit(ClientEvent::Error(error));
    }

    pub fn set_state(&self, state: ConnectionState) {
        let changed = self.state.send_if_modified(|current| {
            if *current == state {
                false
            } else {
                *current = state.clone();
                true
            }
        });
        if changed {
            self.emit(ClientEvent::ConnectionState(state));
        }
    }

    pub fn cache_watch(&self) -> watch::Receiver<Option<Arc<dyn Cache>>> {
        self.cache.subscribe()
    }

    pub fn set_limits(&self, limits: Limits) {
        *self.limits.lock().expect("limits lock") = limits;
    }

    pub fn mark_signed_out(&self, reason: String) {
        *self.signed_out.lock().expect("lock") = Some(reason);
    }

    /// A new outbox entry for the supervisor to send.
    pub fn nudge_send(&self, client_id: ClientId) {
        self.nudges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sends
            .push(client_id);
        self.nudged.notify_one();
    }

    /// A read mark moved locally; the supervisor tells the server.
    pub fn nudge_read(&self, conversation: ConversationId) {
        self.nudges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reads
            .insert(conversation);
        self.nudged.notify_one();
    }

    /// What was nudged since the last call.
    pub fn take_nudges(&self) -> Nudges {
        std::mem::take(&mut *self.nudges.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Resolves when something was nudged (at once if something was meanwhile).
    pub async fn nudged(&self) {
        self.nudged.notified().await
    }

    /// The client failed for good: say so, and fail everyone waiting.
    pub fn fail(&self, reason: String) {
        tracing::error!(%reason, "the IM client failed");
        *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
        let waiters: Vec<_> = self
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (_, senders) in waiters {
            for tx in senders {
                let _ = tx.send(Err(Error::Failed(reason.clone())));
            }
        }
        self.set_state(ConnectionState::Failed {
            reason: reason.clone(),
        });
        self.emit(ClientEvent::Error(Error::Failed(reason)));
        self.stop.cancel();
    }

    /// Why the client failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Hands the outcome of a send to whoever waits for it.
    pub fn resolve_send(&self, client_id: &ClientId, result: Result<Message>) {
        let waiters = self.waiters.lock().expect("waiters lock").remove(client_id);
        for tx in waiters.into_iter().flatten() {
            let _ = tx.send(result.clone());
        }
    }
}

/// Stops the supervisor when the last [`ImClient`] handle goes away.
#[derive(Debug)]
struct Handle {
    inner: Arc<Inner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.stop.cancel();
    }
}

/// The IM client for one signed-in user: cheap to clone, all clones are the same client.
///
/// One supervisor task per client owns the connection; see the crate docs for the life cycle.
#[derive(Debug, Clone)]
pub struct ImClient {
    handle: Arc<Handle>,
}

/// A weak reference, for [`ImService`](crate::ImService)'s registry.
#[derive(Debug, Clone)]
pub(crate) struct WeakClient(std::sync::Weak<Handle>);

impl WeakClient {
    pub fn upgrade(&self) -> Option<ImClient> {
        self.0
            .upgrade()
            .map(|handle| ImClient { handle })
            .filter(|c| !c.inner().stop.is_cancelled())
    }
}

/// Pushed events as a stream (see [`ImClient::events`]).
pub type EventStream = std::pin::Pin<Box<dyn Stream<Item = ClientEvent> + Send>>;

impl ImClient {
    /// Starts a client (and its supervisor) for `session`. Needs a Tokio runtime.
    pub(crate) fn start(session: Session, config: ClientConfig) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidInput("create the client inside a Tokio runtime".into()))?;
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let (events, _) = broadcast::channel(config.event_buffer.max(16));
        let inner = Arc::new(Inner {
            session,
            config,
            cache: watch::Sender::new(None),
            commands,
            events,
            state: watch::Sender::new(ConnectionState::Connecting),
            limits: Mutex::new(Limits::default()),
            next_id: AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            signed_out: Mutex::new(None),
            failed: Mutex::new(None),
            nudges: Mutex::new(Nudges::default()),
            nudged: tokio::sync::Notify::new(),
            stop: CancellationToken::new(),
        });
        // The supervisor gets a thread (and a one-thread runtime) of its own: the cache calls it
        // makes (SQLite, blocking) never hold up the app's async threads, and whatever happens
        // to it is watched: if it panics, the client fails visibly instead of looking online
        // while nothing moves.
        let _ = runtime;
        let watched = inner.clone();
        std::thread::Builder::new()
            .name(format!("im-sdk {}", inner.session.user.username))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => return watched.fail(format!("cannot start its runtime: {e}")),
                };
                let run = std::panic::AssertUnwindSafe(|| {
                    runtime.block_on(Supervisor::run(watched.clone(), rx))
                });
                if let Err(panic) = std::panic::catch_unwind(run) {
                    let reason = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".to_owned());
                    watched.fail(format!("the connection supervisor panicked: {reason}"));
                }
            })
            .map_err(|e| Error::InvalidInput(format!("cannot start the client's thread: {e}")))?;
        Ok(Self {
            handle: Arc::new(Handle { inner }),
        })
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.handle.inner
    }

    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.handle))
    }

    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.inner().session.user
    }

    /// The session this client runs on.
    pub fn session(&self) -> &Session {
        &self.inner().session
    }

    /// Sets the cache. Call it right after creating the client, before anything else (the
    /// seed requires it); every other call fails with [`Error::CacheNotSet`] until then. The
    /// client connects once it has a cache.
    pub fn set_cache(&self, cache: impl Cache) -> Result<()> {
        self.set_shared_cache(Arc::new(cache))
    }

    /// [`set_cache`](Self::set_cache) for a cache that is already shared.
    pub fn set_shared_cache(&self, cache: Arc<dyn Cache>) -> Result<()> {
        let me = self.user().uid;
        match cache.owner()? {
            Some(owner) if owner != me => return Err(Error::CacheOwnedByOther(owner.to_string())),
            Some(_) => {}
            None => cache.set_owner(me)?,
        }
        let mut set = false;
        self.inner().cache.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(cache.clone());
                set = true;
            }
            set
        });
        if set {
            self.index_search_backlog(cache);
            Ok(())
        } else {
            Err(Error::CacheAlreadySet)
        }
    }

    /// Indexes for search, in the background, what the cache held from before it could search:
    /// a batch at a time (the cache stays usable in between), until done or the client stops.
    fn index_search_backlog(&self, cache: Arc<dyn Cache>) {
        /// Messages per batch: the cache's writes wait for one at most (its reads not at all).
        const BATCH: usize = 2_000;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let stop = self.inner().stop.clone();
        runtime.spawn(async move {
            let mut indexed = 0usize;
            loop {
                let batch = {
                    let cache = cache.clone();
                    tokio::task::spawn_blocking(move || cache.index_search_backlog(BATCH)).await
                };
                match batch {
                    Ok(Ok(0)) => break,
                    Ok(Ok(n)) => indexed += n,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "indexing older messages for search failed");
                        break;
                    }
                    Err(_) => break,
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
            }
            if indexed > 0 {
                tracing::info!(indexed, "older messages indexed for search");
            }
        });
    }

    pub(crate) fn cache(&self) -> Result<Arc<dyn Cache>> {
        if let Some(reason) = self.inner().failure() {
            return Err(Error::Failed(reason));
        }
        if self.inner().stop.is_cancelled() {
            return Err(Error::Closed);
        }
        self.inner()
            .cache
            .borrow()
            .clone()
            .ok_or(Error::CacheNotSet)
    }

    /// The connection's state now.
    pub fn state(&self) -> ConnectionState {
        self.inner().state.borrow().clone()
    }

    /// The connection's state, to watch for changes.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.inner().state.subscribe()
    }

    /// The server's limits (from its last hello; the defaults before the first).
    pub fn limits(&self) -> Limits {
        self.inner().limits.lock().expect("limits lock").clone()
    }

    /// Every event from now on, as a stream. A subscriber that falls more than
    /// [`ClientConfig::event_buffer`] events behind gets [`ClientEvent::Lagged`].
    pub fn events(&self) -> EventStream {
        let stream = BroadcastStream::new(self.inner().events.subscribe());
        Box::pin(stream.map(|item| match item {
            Ok(event) => event,
            Err(BroadcastStreamRecvError::Lagged(n)) => ClientEvent::Lagged(n),
        }))
    }

    /// Calls `handler` for every event of `kind` (the seed's `client.on(Event.MESSAGE, …)`),
    /// until the client closes or the returned subscription is cancelled.
    pub fn on(
        &self,
        kind: EventKind,
        handler: impl Fn(&ClientEvent) + Send + 'static,
    ) -> Subscription {
        let mut events = self.events();
        let stop = self.inner().stop.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    event = events.next() => match event {
                        Some(event) if event.kind() == kind => handler(&event),
                        Some(_) => {}
                        None => return,
                    }
                }
            }
        });
        Subscription(task)
    }

    /// Sends a request and waits for its result. For operations the client has no method for.
    pub async fn call<P: Op>(&self, params: P) -> Result<P::Output> {
        self.cache()?;
        if let Some(reason) = self.inner().signed_out.lock().expect("lock").clone() {
            return Err(Error::SignedOut(reason));
        }
        let id = self.inner().next_id();
        let frame = serde_json::to_string(&Request {
            id,
            call: params.into(),
        })?;
        let (reply, rx) = oneshot::channel();
        self.inner()
            .commands
            .send(Command::Call { id, frame, reply })
            .await
            .map_err(|_| self.gone())?;
        let raw = tokio::time::timeout(self.inner().config.request_timeout, rx)
            .await
            .map_err(|_| Error::Timeout)?
            .map_err(|_| self.gone())??;
        Ok(serde_json::from_str(raw.get())?)
    }

    /// Hands the supervisor a command that may be dropped when its queue is full (a reconnect
    /// nudge: one is as good as many).
    fn command(&self, command: Command) -> Result<()> {
        match self.inner().commands.try_send(command) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.gone()),
        }
    }

    /// Why the supervisor is no longer there: it failed, or the client was closed.
    fn gone(&self) -> Error {
        match self.inner().failure() {
            Some(reason) => Error::Failed(reason),
            None => Error::Closed,
        }
    }

    /// Creates a conversation (the seed's `createConversation({title, user_ids})`). Every call
    /// creates a new one unless `unique` is set, which returns the existing conversation with
    /// exactly these members.
    pub async fn create_conversation(&self, params: CreateConversation) -> Result<Conversation> {
        let created = self.call(params).await?;
        let conversation = created.conversation;
        let record = self
            .cache()?
            .update_conversation(
                conversation.id,
                Some(ConversationRecord::new(conversation.clone())),
                &mut |r| {
                    r.conversation = conversation.clone();
                    r.removed = false;
                },
            )?
            .ok_or_else(|| Error::Cache("the conversation was not stored".into()))?;
        Ok(Conversation::new(self.clone(), record))
    }

    /// One conversation: from the cache, or from the server if the cache does not have it.
    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation> {
        if let Some(record) = self.cache()?.conversation(id)? {
            return Ok(Conversation::new(self.clone(), record));
        }
        self.refresh_conversation(id).await
    }

    /// One conversation, fresh from the server (and stored in the cache).
    pub async fn refresh_conversation(&self, id: ConversationId) -> Result<Conversation> {
        let view = self
            .call(GetConversation {
                conversation_id: id,
            })
            .await?;
        let new = ConversationRecord::new(view.conversation.clone());
        let mut view = Some(view);
        let record = self
            .cache()?
            .update_conversation(id, Some(new), &mut |r| {
                if let Some(view) = view.take() {
                    r.apply_view(view);
                }
            })?
            .ok_or_else(|| Error::Cache("the conversation was not stored".into()))?;
        Ok(Conversation::new(self.clone(), record))
    }

    /// Blocks a user: they can no longer message this user in a single chat, start a
    /// conversation with them or add them to a group (on every device). Needs the connection.
    pub async fn block_user(&self, uid: Uid) -> Result<()> {
        let state = self.call(BlockUser { user_id: uid }).await?;
        self.inner().emit(ClientEvent::BlockChanged(state));
        Ok(())
    }

    /// Lifts a block. Needs the connection.
    pub async fn unblock_user(&self, uid: Uid) -> Result<()> {
        let state = self.call(UnblockUser { user_id: uid }).await?;
        self.inner().emit(ClientEvent::BlockChanged(state));
        Ok(())
    }

    /// This account's sessions (its signed-in devices), newest first; `current` marks this
    /// client's own. Needs the connection.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        Ok(self.call(ListSessions {}).await?.sessions)
    }

    /// Signs out another of this account's devices (an `id` from [`ImClient::sessions`]). This
    /// client's own session is ended with [`ImClient::sign_out`]. Needs the connection.
    pub async fn revoke_session(&self, session_id: &str) -> Result<()> {
        self.call(RevokeSession {
            session_id: session_id.to_owned(),
        })
        .await?;
        Ok(())
    }

    /// Changes this account's password, given the current one. The server signs out every
    /// other device of the account; this client stays signed in (its token is unchanged).
    /// Needs the connection.
    pub async fn change_password(&self, current: &Secret, new: &Secret) -> Result<()> {
        self.call(ChangePassword {
            old_password: current.clone(),
            new_password: new.clone(),
        })
        .await?;
        Ok(())
    }

    /// The users this user blocks, most recently blocked first. Needs the connection.
    pub async fn blocked_users(&self) -> Result<Vec<Uid>> {
        Ok(self.call(GetBlocked {}).await?.user_ids)
    }

    /// The user's conversations from the cache, most recent activity first (works offline; the
    /// supervisor keeps the cache up to date).
    pub fn conversations(&self, offset: usize, limit: usize) -> Result<Vec<Conversation>> {
        Ok(self
            .cache()?
            .conversations(offset, limit)?
            .into_iter()
            .map(|r| Conversation::new(self.clone(), r))
            .collect())
    }

    /// Searches the messages in the cache (works offline): every whitespace-separated term of
    /// `query` anywhere in the text, any case — Chinese included ("起床" finds "耗子，起床啦") —
    /// newest first, at most `limit`. Only what this device has cached is searched.
    pub fn search_messages(&self, query: &str, limit: usize) -> Result<Vec<Message>> {
        let cache = self.cache()?;
        let mut found = cache.search_messages(query, limit)?;
        let mut hidden: HashMap<ConversationId, Vec<u64>> = HashMap::new();
        for m in &found {
            if let std::collections::hash_map::Entry::Vacant(slot) = hidden.entry(m.conversation_id)
            {
                slot.insert(cache.hidden_messages(m.conversation_id)?);
            }
        }
        found.retain(|m| hidden[&m.conversation_id].binary_search(&m.seq).is_err());
        Ok(found)
    }

    /// A conversation as this device's cache holds it (no network).
    pub fn cached_conversation(&self, id: ConversationId) -> Result<Option<Conversation>> {
        Ok(self
            .cache()?
            .conversation(id)?
            .map(|r| Conversation::new(self.clone(), r)))
    }

    /// Up to `limit` cached messages of a conversation below seq `before`, ascending (no
    /// network; messages deleted on this device included).
    pub fn cached_messages_before(
        &self,
        id: ConversationId,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.cache()?.messages_before(id, before, limit)
    }

    /// A message this device's cache holds.
    pub fn cached_message(&self, id: ConversationId, seq: u64) -> Result<Option<Message>> {
        Ok(self
            .cache()?
            .messages_before(id, seq.saturating_add(1), 1)?
            .into_iter()
            .find(|m| m.seq == seq))
    }

    /// Deletes a message on this device only ("delete for me"): it is left out of history,
    /// search and the conversation's preview here; others, and the user's other devices, keep
    /// it. Works offline.
    pub fn delete_for_me(&self, id: ConversationId, seq: u64) -> Result<()> {
        let cache = self.cache()?;
        cache.hide_message(id, seq)?;
        let hidden = cache.hidden_messages(id)?;
        let shown = |m: &Message| hidden.binary_search(&m.seq).is_err();
        let Some(record) = cache.conversation(id)? else {
            return Ok(());
        };
        if record.last_message.as_ref().is_some_and(|m| !shown(m)) {
            // The preview falls back to the newest message still shown that the cache holds.
            let mut below = seq;
            let mut preview = None;
            while below > 1 && preview.is_none() {
                let page = cache.messages_before(id, below, 50)?;
                let Some(first) = page.first() else { break };
                below = first.seq;
                preview = page.into_iter().rev().find(|m| shown(m));
            }
            cache.update_conversation(id, None, &mut |r| {
                if r.last_message.as_ref().is_some_and(|m| m.seq == seq) {
                    r.last_message = preview.clone();
                }
            })?;
        }
        Ok(())
    }

    /// How much this device's cache holds (its size on disk and its messages).
    pub fn cache_usage(&self) -> Result<crate::cache::CacheUsage> {
        self.cache()?.usage()
    }

    /// Clears this device's cached history and its search index, giving the disk space back.
    /// The conversation list and unsent messages stay; history loads again from the server as
    /// it is opened ([`Conversation::messages`](crate::Conversation)), and new messages keep
    /// arriving meanwhile.
    pub fn clear_cache(&self) -> Result<()> {
        self.cache()?.clear_messages()
    }

    /// Looks a user up by username (exact, case-insensitive).
    pub async fn find_user(&self, username: &str) -> Result<Option<User>> {
        let found = self
            .call(FindUsers {
                usernames: vec![username.to_owned()],
            })
            .await?;
        self.cache()?.put_users(&found.users)?;
        Ok(found.users.into_iter().next())
    }

    /// Users by uid: from the cache, asking the server for the ones it lacks (when online).
    pub async fn users(&self, uids: &[Uid]) -> Result<Vec<User>> {
        let cache = self.cache()?;
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for uid in uids {
            match cache.user(*uid)? {
                Some(user) => found.push(user),
                None => missing.push(*uid),
            }
        }
        if !missing.is_empty() && self.state() == ConnectionState::Online {
            // In pages the server takes (a large group has more members than one `get_users`).
            let page = self.limits().max_page.max(1);
            for chunk in missing.chunks(page) {
                let fetched = self
                    .call(GetUsers {
                        uids: chunk.to_vec(),
                    })
                    .await?;
                cache.put_users(&fetched.users)?;
                found.extend(fetched.users);
            }
        }
        Ok(found)
    }

    /// Messages waiting in the outbox (sending, or failed for good), oldest first.
    pub fn outbox(&self) -> Result<Vec<OutgoingMessage>> {
        self.cache()?.outbox()
    }

    /// Sends a failed outbox message again (same client id, so never twice).
    pub fn retry_send(&self, client_id: &ClientId) -> Result<OutgoingMessage> {
        let cache = self.cache()?;
        let mut entry = cache
            .outbox()?
            .into_iter()
            .find(|e| &e.client_id == client_id)
            .ok_or_else(|| Error::InvalidInput(format!("no outbox message {client_id}")))?;
        entry.state = OutboxState::Sending;
        cache.outbox_put(&entry)?;
        self.inner().nudge_send(entry.client_id.clone());
        Ok(entry)
    }

    /// Drops a message that failed for good from the outbox. A message still being sent cannot
    /// be discarded: it may already be on its way (or stored), and discarding it would hide a
    /// message the others see.
    pub fn discard(&self, client_id: &ClientId) -> Result<()> {
        let cache = self.cache()?;
        match cache.outbox_entry(client_id)? {
            None => return Ok(()),
            Some(entry) if entry.state == OutboxState::Sending => {
                return Err(Error::InvalidInput(
                    "the message is being sent; only a failed message can be discarded".into(),
                ))
            }
            Some(_) => {}
        }
        cache.outbox_remove(client_id)?;
        self.inner()
            .resolve_send(client_id, Err(Error::InvalidInput("discarded".into())));
        Ok(())
    }

    /// Stops waiting for the next reconnect attempt and tries now (e.g. when the network is back).
    pub fn reconnect_now(&self) -> Result<()> {
        self.command(Command::Reconnect)
    }

    /// Puts a text message in the outbox and returns it at once (status sending); the
    /// supervisor sends it now or after reconnecting, and announces the outcome as
    /// [`ClientEvent::MessageSent`] or [`ClientEvent::MessageFailed`].
    pub(crate) fn enqueue_text(
        &self,
        conversation_id: ConversationId,
        message: TextMessage,
    ) -> Result<OutgoingMessage> {
        self.enqueue_text_with(conversation_id, message, None)
    }

    /// Stores a change this client made (an edit or recall it was answered) and announces it.
    pub(crate) fn changed_here(&self, message: &Message) -> Result<()> {
        crate::cache::store_change(self.cache()?.as_ref(), message)?;
        self.inner()
            .emit(ClientEvent::changed(message.clone(), true));
        Ok(())
    }

    fn enqueue_text_with(
        &self,
        conversation_id: ConversationId,
        message: TextMessage,
        waiter: Option<oneshot::Sender<Result<Message>>>,
    ) -> Result<OutgoingMessage> {
        let TextMessage {
            text,
            reply_to,
            mentions,
            mention_all,
        } = message;
        let limit = self.limits().max_text_chars;
        if text.trim().is_empty() {
            return Err(Error::InvalidInput("the text is empty".into()));
        }
        let chars = text.chars().count();
        if chars > limit {
            return Err(Error::InvalidInput(format!(
                "the text has {chars} characters; the limit is {limit}"
            )));
        }
        let cache = self.cache()?;
        let entry = OutgoingMessage {
            client_id: ClientId::time_ordered(),
            conversation_id,
            text,
            reply_to,
            mentions,
            mention_all,
            created_at: crate::supervisor::now(),
            state: OutboxState::Sending,
        };
        if let Some(tx) = waiter {
            self.inner()
                .waiters
                .lock()
                .expect("waiters lock")
                .entry(entry.client_id.clone())
                .or_default()
                .push(tx);
        }
        cache.outbox_put(&entry)?;
        cache.update_conversation(conversation_id, None, &mut |r| {
            r.activity = r.activity.max(entry.created_at);
        })?;
        self.inner().nudge_send(entry.client_id.clone());
        Ok(entry)
    }

    /// Sends a text message and waits until the server has stored it. Offline, it waits for
    /// the reconnect (the message is safe in the outbox meanwhile).
    pub(crate) async fn send_text(
        &self,
        conversation_id: ConversationId,
        message: TextMessage,
    ) -> Result<Message> {
        let (tx, rx) = oneshot::channel();
        self.enqueue_text_with(conversation_id, message, Some(tx))?;
        rx.await.map_err(|_| self.gone())?
    }

    /// Moves the read mark locally at once and tells the server when possible.
    pub(crate) fn mark_read(&self, conversation_id: ConversationId, seq: u64) -> Result<u64> {
        let mut moved = false;
        let record = self
            .cache()?
            .update_conversation(conversation_id, None, &mut |r| {
                let target = seq.min(r.last_seq);
                if target > r.read_seq {
                    r.read_seq = target;
                    r.read_dirty = true;
                    moved = true;
                }
            })?
            .ok_or_else(|| {
                Error::InvalidInput(format!("unknown conversation {conversation_id}"))
            })?;
        if moved {
            self.inner().nudge_read(conversation_id);
            // The user's own receipt, as their other devices will hear it: whoever shows this
            // conversation's unread count learns it changed (the server tells the others only).
            self.inner().emit(ClientEvent::Receipt(im_proto::Receipt {
                conversation_id,
                uid: self.user().uid,
                read_seq: record.read_seq,
            }));
        }
        Ok(record.unread_count())
    }

    /// A page of history, from the cache when it holds the whole range, else from the server.
    pub(crate) async fn history(
        &self,
        conversation_id: ConversationId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let mut page = self.history_all(conversation_id, before, limit).await?;
        let hidden = self.cache()?.hidden_messages(conversation_id)?;
        if !hidden.is_empty() {
            page.messages
                .retain(|m| hidden.binary_search(&m.seq).is_err());
        }
        Ok(page)
    }

    /// [`Self::history`] with the messages deleted on this device.
    async fn history_all(
        &self,
        conversation_id: ConversationId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let cache = self.cache()?;
        let limit = limit.clamp(1, 200);
        let top = match (before, cache.conversation(conversation_id)?) {
            (Some(before), _) => before,
            (None, Some(r)) => r.last_seq + 1,
            (None, None) => u64::MAX,
        };
        let cached = cache.messages_before(conversation_id, top, limit)?;
        let lowest = top.saturating_sub(limit as u64).max(1);
        let expected = top.saturating_sub(lowest);
        if top != u64::MAX && cached.len() as u64 == expected {
            return Ok(HistoryPage {
                messages: cached,
                has_more: lowest > 1,
                complete: true,
            });
        }
        let fetched = self
            .call(im_proto::GetMessages {
                conversation_id,
                before: (top != u64::MAX).then_some(top),
                after: None,
                limit: Some(limit),
            })
            .await;
        match fetched {
            Ok(page) => {
                cache.put_messages(&page.messages)?;
                Ok(HistoryPage {
                    messages: page.messages,
                    has_more: page.has_more,
                    complete: true,
                })
            }
            Err(e) if e.is_transient() => Ok(HistoryPage {
                has_more: cached.first().is_none_or(|m| m.seq > 1),
                messages: cached,
                complete: false,
            }),
            Err(e) => Err(e),
        }
    }

    /// Closes the client: disconnects, stops its supervisor, and leaves the cache as it is
    /// (unsent messages stay in the outbox for next time). Every later call fails with
    /// [`Error::Closed`].
    pub async fn close(&self) {
        self.stop(false).await;
    }

    /// Signs out: revokes the session on the server (when online), then closes. Returns whether
    /// the session is revoked on the server; when it is not (offline), the app should revoke it
    /// later with [`crate::sign_out`], or the token stays valid.
    pub async fn sign_out(&self) -> bool {
        self.stop(true).await
    }

    async fn stop(&self, sign_out: bool) -> bool {
        let (done, rx) = oneshot::channel();
        let mut revoked = false;
        let queued = tokio::time::timeout(
            Duration::from_secs(5),
            self.inner()
                .commands
                .send(Command::Close { sign_out, done }),
        )
        .await;
        if matches!(queued, Ok(Ok(()))) {
            revoked = matches!(
                tokio::time::timeout(Duration::from_secs(5), rx).await,
                Ok(Ok(true))
            );
        }
        self.inner().stop.cancel();
        revoked
    }
}

/// A running [`ImClient::on`] handler.
#[derive(Debug)]
pub struct Subscription(tokio::task::JoinHandle<()>);

impl Subscription {
    /// Stops calling the handler.
    pub fn cancel(self) {
        self.0.abort();
    }
}
