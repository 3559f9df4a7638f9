//! What an [`ImClient`](crate::ImClient) tells its users: [`ClientEvent`]s on a stream, and the
//! seed's `on(kind, handler)` style on top.

use std::time::Duration;

use im_proto::{
    BlockState, ClientId, Conversation, ConversationId, Message, MuteState, Receipt, Typing,
};
use serde::Serialize;

/// The connection's state, as the supervisor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// Connecting for the first time.
    Connecting,
    /// Connected and signed in; live events flow.
    Online,
    /// Not connected (before a reconnect attempt is scheduled, or after closing).
    Offline,
    /// Waiting `delay` before reconnect attempt number `attempt` (1, 2, …).
    Reconnecting {
        /// Which attempt comes next.
        attempt: u32,
        /// How long until it starts.
        #[serde(rename = "delay_ms", serialize_with = "millis")]
        delay: Duration,
    },
    /// The client stopped for good after an internal failure (a bug): every call fails with
    /// [`Error::Failed`](crate::Error::Failed). Unsent messages stay in the cache's outbox; a
    /// new client on the same cache sends them.
    Failed {
        /// What failed, for a bug report.
        reason: String,
    },
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl ClientEvent {
    /// The event announcing a change (edit or recall) to `message`.
    pub fn changed(message: Message, live: bool) -> Self {
        if message.body.is_recalled() {
            ClientEvent::MessageRecalled { message, live }
        } else {
            ClientEvent::MessageUpdated { message, live }
        }
    }
}

/// Something that happened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A new message in one of the user's conversations (from others, or from the user's other
    /// sessions). `live` is false for messages fetched while catching up after a reconnect.
    Message {
        /// The message.
        message: Message,
        /// Pushed as it happened (true) or fetched during catch-up (false).
        live: bool,
    },
    /// A message was edited (the seed's `MESSAGE_UPDATE`): the message as it is now. `live` is
    /// false when found while catching up. Sent for messages the cache holds, and for this
    /// client's own edits.
    MessageUpdated {
        /// The message, edited.
        message: Message,
        /// Pushed as it happened (true) or fetched during catch-up (false).
        live: bool,
    },
    /// A message was recalled for everyone (the seed's `MESSAGE_RECALL`): its body is
    /// [`MessageBody::Recalled`](im_proto::MessageBody::Recalled) now. An app also withdraws
    /// the notification it showed for it.
    MessageRecalled {
        /// The message, recalled.
        message: Message,
        /// Pushed as it happened (true) or fetched during catch-up (false).
        live: bool,
    },
    /// One of this client's sends was acknowledged (it is stored with this id and seq).
    MessageSent(Message),
    /// One of this client's sends was refused for good; it stays in the outbox as failed
    /// until retried or discarded.
    MessageFailed {
        /// The conversation.
        conversation_id: ConversationId,
        /// The send's idempotency key.
        client_id: ClientId,
        /// Why.
        error: crate::Error,
    },
    /// Something went wrong that no caller is waiting for (a failed catch-up, a cache error).
    Error(crate::Error),
    /// The connection's state changed.
    ConnectionState(ConnectionState),
    /// Catch-up after (re)connecting finished.
    CaughtUp {
        /// Conversations that changed while away.
        conversations: usize,
        /// Messages fetched.
        messages: usize,
    },
    /// A member's read mark moved: also the user's own, from another device or from
    /// [`Conversation::mark_read`](crate::Conversation::mark_read) on this one.
    Receipt(Receipt),
    /// The user was added to a conversation (or created one on another session).
    ConversationCreated(Conversation),
    /// A conversation changed (title, icon, remark, attrs, members, manager).
    ConversationUpdated(Conversation),
    /// Someone added the user to a group (just now, live; after the `ConversationCreated` for
    /// it): an app tells the user, who may leave or mute it.
    AddedToGroup {
        /// The group.
        conversation: Conversation,
        /// Who added them (the group's manager).
        by: im_proto::Uid,
    },
    /// The user left or was removed from a conversation.
    ConversationRemoved(ConversationId),
    /// Someone started or stopped typing.
    Typing(Typing),
    /// The user muted or un-muted a conversation (here or on another device).
    MuteChanged(MuteState),
    /// The user blocked or unblocked someone (here or on another device).
    BlockChanged(BlockState),
    /// The session ended on the server (signed out elsewhere); the client stopped. Sign in again.
    SignedOut(String),
    /// This subscriber fell behind and missed this many events: reload what it shows from the
    /// client (`conversations()`, `messages()`).
    Lagged(u64),
}

/// The kinds of [`ClientEvent`], for [`ImClient::on`](crate::ImClient::on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// [`ClientEvent::Message`] (the seed's `Event.MESSAGE`).
    Message,
    /// [`ClientEvent::MessageUpdated`] (the seed's `Event.MESSAGE_UPDATE`).
    MessageUpdated,
    /// [`ClientEvent::MessageRecalled`] (the seed's `Event.MESSAGE_RECALL`).
    MessageRecalled,
    /// [`ClientEvent::MessageSent`].
    MessageSent,
    /// [`ClientEvent::MessageFailed`].
    MessageFailed,
    /// [`ClientEvent::Error`] (the seed's `Event.ERROR`).
    Error,
    /// [`ClientEvent::ConnectionState`].
    ConnectionState,
    /// [`ClientEvent::CaughtUp`].
    CaughtUp,
    /// [`ClientEvent::Receipt`].
    Receipt,
    /// [`ClientEvent::ConversationCreated`].
    ConversationCreated,
    /// [`ClientEvent::ConversationUpdated`].
    ConversationUpdated,
    /// [`ClientEvent::AddedToGroup`].
    AddedToGroup,
    /// [`ClientEvent::ConversationRemoved`].
    ConversationRemoved,
    /// [`ClientEvent::Typing`].
    Typing,
    /// [`ClientEvent::MuteChanged`].
    MuteChanged,
    /// [`ClientEvent::BlockChanged`].
    BlockChanged,
    /// [`ClientEvent::SignedOut`].
    SignedOut,
    /// [`ClientEvent::Lagged`].
    Lagged,
}

impl ClientEvent {
    /// This event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            ClientEvent::Message { .. } => EventKind::Message,
            ClientEvent::MessageUpdated { .. } => EventKind::MessageUpdated,
            ClientEvent::MessageRecalled { .. } => EventKind::MessageRecalled,
            ClientEvent::MessageSent(_) => EventKind::MessageSent,
            ClientEvent::MessageFailed { .. } => EventKind::MessageFailed,
            ClientEvent::Error(_) => EventKind::Error,
            ClientEvent::ConnectionState(_) => EventKind::ConnectionState,
            ClientEvent::CaughtUp { .. } => EventKind::CaughtUp,
            ClientEvent::Receipt(_) => EventKind::Receipt,
            ClientEvent::ConversationCreated(_) => EventKind::ConversationCreated,
            ClientEvent::ConversationUpdated(_) => EventKind::ConversationUpdated,
            ClientEvent::AddedToGroup { .. } => EventKind::AddedToGroup,
            ClientEvent::ConversationRemoved(_) => EventKind::ConversationRemoved,
            ClientEvent::Typing(_) => EventKind::Typing,
            ClientEvent::MuteChanged(_) => EventKind::MuteChanged,
            ClientEvent::BlockChanged(_) => EventKind::BlockChanged,
            ClientEvent::SignedOut(_) => EventKind::SignedOut,
            ClientEvent::Lagged(_) => EventKind::Lagged,
        }
    }
}
