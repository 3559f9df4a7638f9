//! The one writer of the cache: conversation views, messages, acks and refusals, and pushed
//! events go into the cache here, and are announced as client events.

use super::*;

impl Supervisor {
    /// Stores a conversation view from the server, keeping what is newer locally. Returns the
    /// change counter to fetch message changes after, when the view says messages of it were
    /// edited or recalled since the cache was last brought up to date.
    ///
    /// `since` is the sync cursor the view was asked from (the start of the whole sync): every
    /// change up to it is in the cache, unless the record's own changes watermark, kept until
    /// its changes are fetched, says less. `None`: the cache takes the view as the start of what
    /// it knows (a fresh cache, a conversation first seen now): nothing to fetch.
    pub(super) fn apply_view(
        &mut self,
        view: ConversationView,
        since: Option<u64>,
    ) -> Result<Option<u64>> {
        let id = view.conversation.id;
        let known = self.cache.conversation(id)?.is_some();
        let new = ConversationRecord::new(view.conversation.clone());
        let (changes, removed) = (view.changes_version, view.removed);
        let mut view = Some(view);
        let mut changes_after = None;
        let record = self
            .cache
            .update_conversation(id, Some(new), &mut |r| {
                if let Some(view) = view.take() {
                    r.apply_view(view);
                }
                match since {
                    None => r.changes_seen = Some(r.changes_seen.unwrap_or(0).max(changes)),
                    Some(since) => {
                        // Kept (not moved) until the changes are fetched: a connection lost
                        // before then fetches them again next time.
                        let base = r.changes_seen.unwrap_or(since);
                        r.changes_seen = Some(base);
                        if changes > base && !removed {
                            changes_after = Some(base);
                        }
                    }
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
        Ok(changes_after)
    }

    /// Applies edits and recalls fetched with `get_message_changes`, announcing those the
    /// cache held, and moves the conversation's changes watermark to `next`.
    pub(super) fn apply_changes(
        &mut self,
        id: ConversationId,
        messages: Vec<Message>,
        next: u64,
    ) -> Result<usize> {
        let mut applied = 0;
        for message in messages {
            if crate::cache::store_change(self.cache.as_ref(), &message)? {
                applied += 1;
                self.inner.emit(ClientEvent::changed(message, false));
            }
        }
        self.cache.update_conversation(id, None, &mut |r| {
            r.changes_seen = Some(r.changes_seen.unwrap_or(0).max(next));
        })?;
        Ok(applied)
    }

    /// Stores messages and announces the new ones; our own outbox messages among them count as
    /// sent. Returns how many were new.
    pub(super) fn store_messages(&mut self, messages: Vec<Message>, live: bool) -> Result<usize> {
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
    pub(super) fn acked(&mut self, message: Message) {
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
    pub(super) fn failed(&mut self, client_id: ClientId, body: ErrorBody) {
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
    pub(super) fn apply_event(
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
                Event::MessageUpdated(message)
                    if crate::cache::store_change(self.cache.as_ref(), &message)? =>
                {
                    self.inner.emit(ClientEvent::changed(message, true));
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
                Event::SyncNeeded(notice) => {
                    tracing::info!(reason = %notice.reason, "the server asks for a sync");
                    // While catching up (no followups) the catch-up is that sync.
                    if let Some(f) = followups.as_mut() {
                        f.push(Followup::Sync { start: None });
                    }
                }
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

    /// Stores our acknowledged message and moves the conversation on.
    pub(super) fn store_acked(&mut self, message: &Message) -> Result<()> {
        self.cache.put_messages(std::slice::from_ref(message))?;
        let me = self.inner.session.user.uid;
        self.cache
            .update_conversation(message.conversation_id, None, &mut |r| {
                r.absorb(message, me)
            })?;
        Ok(())
    }
}
