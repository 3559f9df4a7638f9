//! [`MemoryCache`]: the cache in memory, gone when the process ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use im_proto::{ClientId, ConversationId, Message, Seq, Uid, User};

use super::{Cache, CacheUsage, ConversationRecord, OutgoingMessage};
use crate::error::Result;

/// A [`Cache`] that keeps everything in memory.
#[derive(Debug, Default)]
pub struct MemoryCache {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    owner: Option<Uid>,
    cursor: u64,
    conversations: HashMap<ConversationId, ConversationRecord>,
    messages: HashMap<ConversationId, BTreeMap<Seq, Message>>,
    outbox: Vec<OutgoingMessage>,
    users: HashMap<Uid, User>,
    hidden: HashMap<ConversationId, std::collections::BTreeSet<Seq>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Cache for MemoryCache {
    fn owner(&self) -> Result<Option<Uid>> {
        Ok(self.state().owner)
    }

    fn set_owner(&self, uid: Uid) -> Result<()> {
        self.state().owner = Some(uid);
        Ok(())
    }

    fn sync_cursor(&self) -> Result<u64> {
        Ok(self.state().cursor)
    }

    fn set_sync_cursor(&self, cursor: u64) -> Result<()> {
        self.state().cursor = cursor;
        Ok(())
    }

    fn put_conversations(&self, records: &[ConversationRecord]) -> Result<()> {
        let mut state = self.state();
        for r in records {
            state.conversations.insert(r.conversation.id, r.clone());
        }
        Ok(())
    }

    fn update_conversation(
        &self,
        id: ConversationId,
        new: Option<ConversationRecord>,
        change: &mut dyn FnMut(&mut ConversationRecord),
    ) -> Result<Option<ConversationRecord>> {
        let mut state = self.state();
        let record = match (state.conversations.get_mut(&id), new) {
            (Some(record), _) => record,
            (None, Some(new)) => state.conversations.entry(id).or_insert(new),
            (None, None) => return Ok(None),
        };
        change(record);
        Ok(Some(record.clone()))
    }

    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRecord>> {
        Ok(self.state().conversations.get(&id).cloned())
    }

    fn conversations(&self, offset: usize, limit: usize) -> Result<Vec<ConversationRecord>> {
        let state = self.state();
        let mut list: Vec<&ConversationRecord> = state
            .conversations
            .values()
            .filter(|r| !r.removed)
            .collect();
        list.sort_by(|a, b| {
            b.activity
                .cmp(&a.activity)
                .then_with(|| b.conversation.id.cmp(&a.conversation.id))
        });
        Ok(list.into_iter().skip(offset).take(limit).cloned().collect())
    }

    fn put_messages(&self, messages: &[Message]) -> Result<Vec<Message>> {
        let mut state = self.state();
        let mut new = Vec::new();
        for m in messages {
            let stored = state.messages.entry(m.conversation_id).or_default();
            if let std::collections::btree_map::Entry::Vacant(slot) = stored.entry(m.seq) {
                slot.insert(m.clone());
                new.push(m.clone());
            }
        }
        Ok(new)
    }

    fn hide_message(&self, id: ConversationId, seq: Seq) -> Result<()> {
        self.state().hidden.entry(id).or_default().insert(seq);
        Ok(())
    }

    fn hidden_messages(&self, id: ConversationId) -> Result<Vec<Seq>> {
        Ok(self
            .state()
            .hidden
            .get(&id)
            .map(|seqs| seqs.iter().copied().collect())
            .unwrap_or_default())
    }

    fn replace_message(&self, message: &Message) -> Result<bool> {
        let mut state = self.state();
        match state
            .messages
            .get_mut(&message.conversation_id)
            .and_then(|stored| stored.get_mut(&message.seq))
        {
            Some(stored) => {
                *stored = message.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn search_messages(&self, query: &str, limit: usize) -> Result<Vec<Message>> {
        let terms = super::search::terms(query);
        let state = self.state();
        let mut found: Vec<&Message> = state
            .messages
            .values()
            .flat_map(|stored| stored.values())
            .filter(|m| {
                let text = super::search::normalize(super::search::text_of(&m.body));
                super::search::matches(&text, &terms)
            })
            .collect();
        // Newest first (messages of the same millisecond in no promised order).
        found.sort_by_key(|m| std::cmp::Reverse(m.timestamp));
        Ok(found.into_iter().take(limit).cloned().collect())
    }

    fn usage(&self) -> Result<CacheUsage> {
        let state = self.state();
        Ok(CacheUsage {
            bytes: 0,
            messages: state.messages.values().map(|m| m.len() as u64).sum(),
        })
    }

    fn clear_messages(&self) -> Result<()> {
        self.state().messages.clear();
        Ok(())
    }

    fn messages_before(
        &self,
        id: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let state = self.state();
        let Some(stored) = state.messages.get(&id) else {
            return Ok(Vec::new());
        };
        let mut page: Vec<Message> = stored
            .range(..before)
            .rev()
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect();
        page.reverse();
        Ok(page)
    }

    fn max_seq(&self, id: ConversationId) -> Result<Seq> {
        Ok(self
            .state()
            .messages
            .get(&id)
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0))
    }

    fn outbox_put(&self, message: &OutgoingMessage) -> Result<()> {
        let mut state = self.state();
        match state
            .outbox
            .iter_mut()
            .find(|m| m.client_id == message.client_id)
        {
            Some(existing) => *existing = message.clone(),
            None => state.outbox.push(message.clone()),
        }
        Ok(())
    }

    fn outbox(&self) -> Result<Vec<OutgoingMessage>> {
        Ok(self.state().outbox.clone())
    }

    fn outbox_entry(&self, client_id: &ClientId) -> Result<Option<OutgoingMessage>> {
        Ok(self
            .state()
            .outbox
            .iter()
            .find(|m| &m.client_id == client_id)
            .cloned())
    }

    fn outbox_remove(&self, client_id: &ClientId) -> Result<()> {
        self.state().outbox.retain(|m| &m.client_id != client_id);
        Ok(())
    }

    fn put_users(&self, users: &[User]) -> Result<()> {
        let mut state = self.state();
        for u in users {
            state.users.insert(u.uid, u.clone());
        }
        Ok(())
    }

    fn user(&self, uid: Uid) -> Result<Option<User>> {
        Ok(self.state().users.get(&uid).cloned())
    }
}
