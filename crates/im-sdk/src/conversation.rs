//! [`Conversation`]: one conversation of an [`ImClient`], with the seed's `send(TextMessage)`.

use im_proto::{
    AddMembers, ConversationId, EditMessage, Message, MuteConversation, React, RecallMessage,
    RemoveMembers, Seq, SetTyping, Uid, UpdateConversation,
};

use crate::cache::{ConversationRecord, OutgoingMessage};
use crate::client::ImClient;
use crate::error::Result;
use crate::events::ClientEvent;

/// A text message to send (the seed's `new TextMessage("…")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    pub(crate) text: String,
    pub(crate) reply_to: Option<Seq>,
    pub(crate) mentions: Vec<Uid>,
    pub(crate) mention_all: bool,
}

impl TextMessage {
    /// A message with this text (at most the server's `max_text_chars` characters, not blank).
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            reply_to: None,
            mentions: Vec::new(),
            mention_all: false,
        }
    }

    /// The same message mentioning these members (`@name` in its text; in a group).
    pub fn mentioning(mut self, uids: impl IntoIterator<Item = Uid>) -> Self {
        self.mentions.extend(uids);
        self
    }

    /// The same message mentioning everyone (`@all`: the group's manager only).
    pub fn mentioning_all(mut self) -> Self {
        self.mention_all = true;
        self
    }

    /// The same message as a reply to the message `seq` of the conversation it goes to.
    pub fn replying_to(mut self, seq: Seq) -> Self {
        self.reply_to = Some(seq);
        self
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The seq of the message it replies to.
    pub fn reply_to(&self) -> Option<Seq> {
        self.reply_to
    }
}

/// A page of history, ascending by seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The messages, oldest first, gapless when `complete`.
    pub messages: Vec<Message>,
    /// True when older messages exist.
    pub has_more: bool,
    /// False when the server could not be asked (offline) and the cache had only part of the
    /// range: the page is what the cache had.
    pub complete: bool,
}

/// A conversation, as the cache last knew it, with what can be done in it.
#[derive(Debug, Clone)]
pub struct Conversation {
    client: ImClient,
    record: ConversationRecord,
}

impl Conversation {
    pub(crate) fn new(client: ImClient, record: ConversationRecord) -> Self {
        Self { client, record }
    }

    /// Its id.
    pub fn id(&self) -> ConversationId {
        self.record.conversation.id
    }

    /// The seed's ten fields.
    pub fn info(&self) -> &im_proto::Conversation {
        &self.record.conversation
    }

    /// Everything the cache knows: last message, unread count, read marks.
    pub fn record(&self) -> &ConversationRecord {
        &self.record
    }

    /// Sends a text message and resolves to it once the server has stored it (the seed's
    /// `conversation.send(new TextMessage(…))`). While offline it waits for the reconnect; the
    /// message is kept in the outbox (on disk with a [`DiskCache`](crate::DiskCache)) and
    /// resent with the same client id, so it is stored exactly once.
    pub async fn send(&self, message: TextMessage) -> Result<Message> {
        self.client.send_text(self.id(), message).await
    }

    /// Puts a text message in the outbox and returns at once; the outcome arrives as
    /// [`ClientEvent::MessageSent`](crate::ClientEvent::MessageSent) or
    /// [`ClientEvent::MessageFailed`](crate::ClientEvent::MessageFailed).
    pub fn enqueue(&self, message: TextMessage) -> Result<OutgoingMessage> {
        self.client.enqueue_text(self.id(), message)
    }

    /// Up to `limit` messages before seq `before` (the newest ones when `None`): from the cache
    /// when it holds that whole range, otherwise from the server (and then cached). Messages
    /// deleted on this device ([`ImClient::delete_for_me`]) are left out, so a page may hold
    /// fewer.
    pub async fn messages(&self, before: Option<Seq>, limit: usize) -> Result<HistoryPage> {
        self.client.history(self.id(), before, limit).await
    }

    /// Replaces the text of one of the user's own text messages, for everyone (within the
    /// server's `edit_window_ms`; the seed's `message.edit(…)`). Needs the connection. The
    /// cache and the [`ClientEvent::MessageUpdated`] subscribers hear it at once.
    pub async fn edit(&self, seq: Seq, text: impl Into<String>) -> Result<Message> {
        let message = self
            .client
            .call(EditMessage {
                conversation_id: self.id(),
                seq,
                text: text.into(),
            })
            .await?;
        self.client.changed_here(&message)?;
        Ok(message)
    }

    /// Adds (`on`) or takes back the user's emoji reaction to a message. Needs the connection.
    /// The cache and the [`ClientEvent::MessageUpdated`] subscribers hear it at once.
    pub async fn react(&self, seq: Seq, emoji: impl Into<String>, on: bool) -> Result<Message> {
        let message = self
            .client
            .call(React {
                conversation_id: self.id(),
                seq,
                emoji: emoji.into(),
                on,
            })
            .await?;
        self.client.changed_here(&message)?;
        Ok(message)
    }

    /// Recalls a message for everyone (the seed's `conversation.recall(message)`): the user's
    /// own within the server's `recall_window_ms`, or any message of a group the user manages.
    /// Needs the connection. The cache and the [`ClientEvent::MessageRecalled`] subscribers
    /// hear it at once.
    pub async fn recall(&self, seq: Seq) -> Result<Message> {
        let message = self
            .client
            .call(RecallMessage {
                conversation_id: self.id(),
                seq,
            })
            .await?;
        self.client.changed_here(&message)?;
        Ok(message)
    }

    /// Marks messages up to `seq` as read: at once in the cache, and on the server when
    /// connected. Returns the unread count left.
    pub fn mark_read(&self, seq: Seq) -> Result<u64> {
        self.client.mark_read(self.id(), seq)
    }

    /// Tells the other members this user is (or stopped) typing. Does nothing while offline.
    pub async fn typing(&self, typing: bool) -> Result<()> {
        if self.client.state() != crate::ConnectionState::Online {
            return Ok(());
        }
        self.client
            .call(SetTyping {
                conversation_id: self.id(),
                typing,
            })
            .await
            .map(|_| ())
    }

    /// Adds members (manager only, groups only).
    pub async fn add_members(&self, uids: Vec<Uid>) -> Result<Conversation> {
        self.client
            .call(AddMembers {
                conversation_id: self.id(),
                user_ids: uids,
            })
            .await?;
        self.client.refresh_conversation(self.id()).await
    }

    /// Removes members (manager only; anyone may remove themselves).
    pub async fn remove_members(&self, uids: Vec<Uid>) -> Result<Conversation> {
        self.client
            .call(RemoveMembers {
                conversation_id: self.id(),
                user_ids: uids,
            })
            .await?;
        self.client.refresh_conversation(self.id()).await
    }

    /// Leaves the conversation (a group).
    pub async fn leave(&self) -> Result<()> {
        self.client
            .call(RemoveMembers {
                conversation_id: self.id(),
                user_ids: vec![self.client.user().uid],
            })
            .await?;
        self.client
            .cache()?
            .update_conversation(self.id(), None, &mut |r| r.removed = true)?;
        // The server tells the user's other sessions; this one hears it here.
        self.client
            .inner()
            .emit(ClientEvent::ConversationRemoved(self.id()));
        Ok(())
    }

    /// Mutes (or un-mutes) the conversation for this user, on all their devices: their apps do
    /// not notify them of its messages. Needs the connection.
    pub async fn set_muted(&self, muted: bool) -> Result<()> {
        let state = self
            .client
            .call(MuteConversation {
                conversation_id: self.id(),
                muted,
            })
            .await?;
        self.client
            .cache()?
            .update_conversation(self.id(), None, &mut |r| r.muted = state.muted)?;
        self.client.inner().emit(ClientEvent::MuteChanged(state));
        Ok(())
    }

    /// Changes the title, icon, remark or attrs (absent fields stay).
    pub async fn update(&self, mut change: UpdateConversation) -> Result<Conversation> {
        change.conversation_id = self.id();
        self.client.call(change).await?;
        self.client.refresh_conversation(self.id()).await
    }

    /// This conversation fresh from the server.
    pub async fn refresh(&self) -> Result<Conversation> {
        self.client.refresh_conversation(self.id()).await
    }
}
