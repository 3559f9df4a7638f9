//! The client cache: what the SDK keeps locally so an app can show conversations and recent
//! history before the network answers, and so unsent messages survive a restart.
//!
//! [`Cache`] is the seed's pluggable `Cache` class. Two implementations ship: [`DiskCache`]
//! (SQLite, for apps) and [`MemoryCache`] (for tests and short-lived tools). Both pass the same
//! conformance suite ([`conformance`]); a new implementation should too.

pub mod conformance;
mod disk;
mod memory;
pub mod search;

use im_proto::{ClientId, Conversation, ConversationId, Message, Millis, Seq, Uid, User};
use serde::{Deserialize, Serialize};

pub use disk::{DiskCache, Opened};
pub use memory::MemoryCache;

use crate::error::Result;

/// A conversation as the cache keeps it: the server's fields plus where this user stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// The conversation (the seed's fields).
    pub conversation: Conversation,
    /// The newest seq known to exist.
    pub last_seq: Seq,
    /// The newest message known, if any.
    pub last_message: Option<Message>,
    /// This user's read mark.
    pub read_seq: Seq,
    /// The highest read mark another member reported (for 1:1 "read" ticks).
    pub peer_read_seq: Seq,
    /// Sort key for the conversation list: the newest message's time, or the creation time.
    pub activity: Millis,
    /// True once this user left or was removed.
    pub removed: bool,
    /// True while a read mark made offline has not reached the server.
    pub read_dirty: bool,
    /// The catch-up watermark: every message after it that exists on the server will be
    /// fetched (after a reconnect, or as a gap); what lies at or below it is in the cache or is
    /// older history that loads on demand.
    #[serde(default)]
    pub synced_seq: Seq,
    /// True when this user muted the conversation (on any of their devices): no notifications.
    #[serde(default)]
    pub muted: bool,
    /// The server's change counter up to which edits and recalls of its messages are applied to
    /// the cached ones (`None` until the first view from the server: nothing cached needs them
    /// then). A view whose `changes_version` is above it means fetching the changes after it.
    #[serde(default)]
    pub changes_seen: Option<u64>,
}

impl ConversationRecord {
    /// A record for a conversation with nothing known about its messages yet.
    pub fn new(conversation: Conversation) -> Self {
        Self {
            activity: conversation.create_time,
            conversation,
            last_seq: 0,
            last_message: None,
            read_seq: 0,
            peer_read_seq: 0,
            removed: false,
            read_dirty: false,
            synced_seq: 0,
            muted: false,
            changes_seen: None,
        }
    }

    /// Messages after the read mark.
    pub fn unread_count(&self) -> u64 {
        self.last_seq.saturating_sub(self.read_seq)
    }

    /// Takes in the server's view of the conversation, keeping what is newer locally (seqs and
    /// read marks only move forward).
    pub fn apply_view(&mut self, view: im_proto::ConversationView) {
        self.conversation = view.conversation;
        self.removed = view.removed;
        self.muted = view.muted;
        if let Some(last) = view.last_message {
            if last.seq >= self.last_seq {
                self.activity = self.activity.max(last.timestamp);
                self.last_message = Some(last);
            }
        }
        self.last_seq = self.last_seq.max(view.last_seq);
        self.read_seq = self.read_seq.max(view.read_seq);
        self.peer_read_seq = self.peer_read_seq.max(view.others_read_seq);
    }

    /// Takes in a changed (edited, recalled) message: it replaces the last message when it is
    /// that one.
    pub fn absorb_change(&mut self, message: &Message) {
        if self
            .last_message
            .as_ref()
            .is_some_and(|m| m.seq == message.seq)
        {
            self.last_message = Some(message.clone());
        }
    }

    /// Takes in a message: newer messages move `last_seq`, `last_message` and `activity`; own
    /// messages count as read.
    pub fn absorb(&mut self, message: &Message, me: Uid) {
        if message.seq >= self.last_seq {
            self.last_seq = message.seq;
            self.last_message = Some(message.clone());
            self.activity = self.activity.max(message.timestamp);
        }
        if message.from == me {
            self.read_seq = self.read_seq.max(message.seq);
        }
    }
}

/// Stores an edited or recalled message: replaces the cached one (if held) and the
/// conversation's last message (if it is that one). Returns whether the cache held the message
/// or the conversation showed it.
pub(crate) fn store_change(cache: &dyn Cache, message: &Message) -> Result<bool> {
    let held = cache.replace_message(message)?;
    let mut shown = false;
    cache.update_conversation(message.conversation_id, None, &mut |r| {
        shown = r
            .last_message
            .as_ref()
            .is_some_and(|m| m.seq == message.seq);
        r.absorb_change(message);
    })?;
    Ok(held || shown)
}

/// How much a cache holds, as a settings screen shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheUsage {
    /// Its size on disk, in bytes (0 for a cache in memory).
    pub bytes: u64,
    /// How many messages it holds.
    pub messages: u64,
}

/// Whether an outgoing message is still on its way or has failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent, or sent and waiting for the ack. Resent (same client id) after
    /// reconnects and restarts until acked.
    Sending,
    /// Refused by the server for a reason retrying will not fix (see the code).
    Failed {
        /// The stable error code.
        code: String,
        /// The explanation.
        message: String,
    },
}

/// A message the user sent that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The idempotency key, fixed at creation and reused for every resend.
    pub client_id: ClientId,
    /// Where it goes.
    pub conversation_id: ConversationId,
    /// The text.
    pub text: String,
    /// The seq of the message it replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// Members it mentions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Uid>,
    /// It mentions everyone (`@all`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mention_all: bool,
    /// When the user sent it (local clock).
    pub created_at: Millis,
    /// Sending or failed.
    pub state: OutboxState,
}

/// The storage an [`ImClient`](crate::ImClient) needs. Implementations must be safe to call from
/// several threads; each method is a short, self-contained operation (the SDK calls them inline).
///
/// Writes are idempotent: storing the same message or conversation twice leaves one copy.
pub trait Cache: Send + Sync + std::fmt::Debug + 'static {
    /// The uid of the account whose data this cache holds, once claimed.
    fn owner(&self) -> Result<Option<Uid>>;
    /// Claims the cache for an account (the first client to use it).
    fn set_owner(&self, uid: Uid) -> Result<()>;

    /// The `sync` cursor: the server's change counter up to which this cache is up to date.
    fn sync_cursor(&self) -> Result<u64>;
    /// Moves the `sync` cursor.
    fn set_sync_cursor(&self, cursor: u64) -> Result<()>;

    /// Inserts or replaces conversation records.
    fn put_conversations(&self, records: &[ConversationRecord]) -> Result<()>;
    /// One conversation record.
    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRecord>>;
    /// Changes one conversation record in place, atomically: no other change to it made in the
    /// meantime is lost (the SDK and the app change records from different threads). `change`
    /// gets the stored record — or `new` when there is none and `new` is given — and what it
    /// leaves is stored. Returns the record as stored, or `None` if there was none (and no `new`).
    /// `change` must not call back into the cache.
    fn update_conversation(
        &self,
        id: ConversationId,
        new: Option<ConversationRecord>,
        change: &mut dyn FnMut(&mut ConversationRecord),
    ) -> Result<Option<ConversationRecord>>;
    /// Conversations the user is still in, most recent activity first, at most `limit`, starting
    /// after `offset` of them.
    fn conversations(&self, offset: usize, limit: usize) -> Result<Vec<ConversationRecord>>;

    /// Stores messages (idempotent by conversation and seq). Returns those that were new.
    fn put_messages(&self, messages: &[Message]) -> Result<Vec<Message>>;
    /// Up to `limit` messages of a conversation with a seq below `before`, the newest of them,
    /// in ascending seq order.
    fn messages_before(
        &self,
        id: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<Vec<Message>>;
    /// The highest seq stored for a conversation (0 if none).
    fn max_seq(&self, id: ConversationId) -> Result<Seq>;
    /// Replaces a stored message by an edited or recalled version of it (same conversation and
    /// seq), searchable as it is now (a recalled one not at all). Returns false, storing
    /// nothing, when the cache does not hold that message: it comes as it is now when fetched.
    fn replace_message(&self, message: &Message) -> Result<bool>;
    /// Remembers that the user deleted a message on this device only: the client leaves it out
    /// of what it shows. Kept when messages are cleared.
    fn hide_message(&self, id: ConversationId, seq: Seq) -> Result<()>;
    /// The seqs of a conversation's messages deleted on this device, ascending.
    fn hidden_messages(&self, id: ConversationId) -> Result<Vec<Seq>>;
    /// Stored messages whose text holds every term of `query` (split at whitespace; case and
    /// word boundaries do not matter, see [`search`]), newest first, at most `limit`.
    fn search_messages(&self, query: &str, limit: usize) -> Result<Vec<Message>>;
    /// Indexes for search up to `batch` messages the cache held from before it could search
    /// (newest first); returns how many (0: none left). The client calls it in the background
    /// until it returns 0. A cache that indexes everything as it is stored has nothing to do.
    fn index_search_backlog(&self, batch: usize) -> Result<usize> {
        let _ = batch;
        Ok(0)
    }

    /// How much the cache holds.
    fn usage(&self) -> Result<CacheUsage>;
    /// Forgets every stored message and the search index (the user cleared the cache, e.g. to
    /// free disk space). Conversations, users, the outbox and the sync cursor stay: the list
    /// and unsent messages are as they were, and history comes back from the server as it is
    /// opened. Disk space is given back to the system.
    fn clear_messages(&self) -> Result<()>;

    /// Adds a message to the outbox, or replaces the entry with the same client id (keeping
    /// its place in the order).
    fn outbox_put(&self, message: &OutgoingMessage) -> Result<()>;
    /// Every outbox entry, oldest first.
    fn outbox(&self) -> Result<Vec<OutgoingMessage>>;
    /// One outbox entry by its client id.
    fn outbox_entry(&self, client_id: &ClientId) -> Result<Option<OutgoingMessage>>;
    /// Removes an outbox entry (it was acknowledged).
    fn outbox_remove(&self, client_id: &ClientId) -> Result<()>;

    /// Stores users (for names and avatars).
    fn put_users(&self, users: &[User]) -> Result<()>;
    /// A stored user.
    fn user(&self, uid: Uid) -> Result<Option<User>>;
}
