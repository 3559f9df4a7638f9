//! The writer's memory of hot conversations: type, manager, members and last seq, so that a send
//! needs no read of the conversation. Only the writer changes conversations, so what it holds is
//! the truth; it is bounded by the number of members it holds in total (a conversation of 500
//! members weighs 500), least recently used first out.
//!
//! The last seq of conversations that got messages in the open transaction is kept apart
//! (`dirty`) until the batch writes it to their rows: whatever loads a conversation mid-batch —
//! after it left the cache, or to refresh it after a change — takes its last seq from there, not
//! from the row.

use std::collections::HashMap;
use std::sync::Arc;

use im_proto::{ConversationId, ConversationType, Seq, Uid};
use lru::LruCache;

use super::rows::ConversationRow;
use super::tx::WriteTx;
use crate::error::Result;

/// What the writer keeps about a conversation.
#[derive(Debug, Clone)]
pub struct Hot {
    pub kind: ConversationType,
    pub manager: Uid,
    pub members: Arc<[Uid]>,
    pub last_seq: Seq,
    /// A single chat whose members block one another (one or both): no messages.
    pub blocked: bool,
}

/// The cache (see the module docs).
#[derive(Debug)]
pub struct HotCache {
    entries: LruCache<ConversationId, Hot>,
    /// Members held in total, and the most allowed.
    members: usize,
    budget: usize,
    dirty: HashMap<ConversationId, Seq>,
}

/// Members held at most by default: 1,000,000 uids ≈ 16 MB (plus ~100 bytes per conversation).
pub const DEFAULT_MEMBER_BUDGET: usize = 1_000_000;

impl HotCache {
    /// A cache holding at most `budget` members in total (and always the conversation in use).
    pub fn new(budget: usize) -> Self {
        Self {
            entries: LruCache::unbounded(),
            members: 0,
            budget: budget.max(1),
            dirty: HashMap::new(),
        }
    }

    /// Members held now (for tests and stats).
    pub fn members_held(&self) -> usize {
        self.members
    }

    /// The conversation, loaded from `tx` if it is not held. `None` if there is none.
    pub fn get(&mut self, tx: &impl WriteTx, id: ConversationId) -> Result<Option<Hot>> {
        if let Some(hot) = self.entries.get(&id) {
            return Ok(Some(hot.clone()));
        }
        Ok(self.load(tx, id)?.map(|(hot, _)| hot))
    }

    /// Reads the conversation's row from `tx` (with the batch's last seq) and holds it.
    pub fn load(
        &mut self,
        tx: &impl WriteTx,
        id: ConversationId,
    ) -> Result<Option<(Hot, ConversationRow)>> {
        let Some(mut row) = tx.conversation(id)? else {
            self.forget(id);
            return Ok(None);
        };
        if let Some(&seq) = self.dirty.get(&id) {
            row.last_seq = seq;
        }
        let members: Arc<[Uid]> = row.conversation.user_ids.clone().into();
        let hot = Hot {
            kind: row.conversation.kind,
            manager: row.conversation.manager_id,
            blocked: blocked_single_chat(tx, row.conversation.kind, &members)?,
            members,
            last_seq: row.last_seq,
        };
        self.put(id, hot.clone());
        Ok(Some((hot, row)))
    }

    /// A new conversation (or one just changed): held as given.
    pub fn put(&mut self, id: ConversationId, hot: Hot) {
        self.forget(id);
        self.members += hot.members.len();
        self.entries.put(id, hot);
        // Make room, but keep the one just put.
        while self.members > self.budget && self.entries.len() > 1 {
            match self.entries.pop_lru() {
                Some((_, gone)) => self.members -= gone.members.len(),
                None => break,
            }
        }
    }

    /// A block between `a` and `b` was set or lifted: the single chats of the two held here take
    /// the new state (blocks are rare; a scan of what is held is cheap beside them).
    pub fn refresh_blocked(&mut self, tx: &impl WriteTx, a: Uid, b: Uid) -> Result<()> {
        let blocked = tx.blocks(a, b)? || tx.blocks(b, a)?;
        for (_, hot) in self.entries.iter_mut() {
            if hot.kind == ConversationType::SingleChat
                && hot.members.contains(&a)
                && hot.members.contains(&b)
            {
                hot.blocked = blocked;
            }
        }
        Ok(())
    }

    /// A message took seq `seq` in the open transaction.
    pub fn advance(&mut self, id: ConversationId, seq: Seq) {
        if let Some(hot) = self.entries.get_mut(&id) {
            hot.last_seq = seq;
        }
        self.dirty.insert(id, seq);
    }

    /// The last seqs the batch moved, to write to their rows; the batch is over.
    pub fn take_dirty(&mut self) -> HashMap<ConversationId, Seq> {
        std::mem::take(&mut self.dirty)
    }

    /// After a rollback: nothing held can be trusted.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.dirty.clear();
        self.members = 0;
    }

    /// Another writer added messages to a conversation (nothing else changed): its last seq,
    /// if the conversation is held.
    pub fn moved_elsewhere(&mut self, id: ConversationId, last_seq: Seq) {
        if let Some(hot) = self.entries.peek_mut(&id) {
            hot.last_seq = last_seq;
        }
    }

    /// Drops a conversation (changed elsewhere: it loads again when next used).
    pub fn forget(&mut self, id: ConversationId) {
        if let Some(gone) = self.entries.pop(&id) {
            self.members -= gone.members.len();
        }
    }
}

/// Whether a conversation is a single chat whose two members block one another.
pub fn blocked_single_chat(
    tx: &impl WriteTx,
    kind: ConversationType,
    members: &[Uid],
) -> Result<bool> {
    Ok(match (kind, members) {
        (ConversationType::SingleChat, [a, b]) => tx.blocks(*a, *b)? || tx.blocks(*b, *a)?,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hot(members: usize) -> Hot {
        Hot {
            kind: ConversationType::GroupChat,
            manager: Uid::random(),
            members: (0..members).map(|_| Uid::random()).collect(),
            last_seq: 0,
            blocked: false,
        }
    }

    #[test]
    fn the_cache_is_bounded_by_members_not_conversations() {
        let mut cache = HotCache::new(1_000);
        let big: Vec<ConversationId> = (0..3).map(|_| ConversationId::random()).collect();
        for id in &big {
            cache.put(*id, hot(400));
        }
        assert!(cache.members_held() <= 1_000, "{}", cache.members_held());
        assert_eq!(cache.members_held(), 800, "the oldest went first");
        assert!(!cache.entries.contains(&big[0]));
        for _ in 0..100 {
            cache.put(ConversationId::random(), hot(2));
        }
        assert!(cache.members_held() <= 1_000);
        // One conversation larger than the budget is still held while in use.
        let huge = ConversationId::random();
        cache.put(huge, hot(5_000));
        assert!(cache.entries.contains(&huge));
        assert_eq!(cache.members_held(), 5_000);
    }
}
