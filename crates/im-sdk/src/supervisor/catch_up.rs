//! Catching up after (re)connecting: `sync` from the cache's cursor, then the messages each
//! changed conversation is missing, paged and paced; gaps seen in live events; the watermark.

use super::*;

impl Supervisor {
    /// Catch-up after connecting: every conversation that changed since the cursor, and for each
    /// the messages after the newest one in the cache. Returns (conversations, messages).
    pub(super) async fn catch_up(&mut self, conn: &mut Connection) -> Result<(usize, usize)> {
        let fresh = self.cache.sync_cursor()? == 0 && self.cache.conversations(0, 1)?.is_empty();
        let mut cursor = self.cache.sync_cursor()?;
        let since = (!fresh).then_some(cursor);
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
                let changes_after = self.apply_view(view, since)?;
                if !removed {
                    messages += self.fetch_missing(conn, id, last_seq, fresh).await?;
                }
                if let Some(after) = changes_after {
                    self.fetch_changes(conn, id, after).await?;
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

    /// Fetches the messages of `id` after the newest cached one, up to the server's `last_seq`.
    /// A fresh cache, or a gap wider than the catch-up limit, gets only the newest page (older
    /// history loads on demand).
    pub(super) async fn fetch_missing(
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

    /// Fetches and applies the edits and recalls of `id`'s messages after the change counter
    /// `after`, page by page. Returns how many cached messages changed.
    pub(super) async fn fetch_changes(
        &mut self,
        conn: &mut Connection,
        id: ConversationId,
        mut after: u64,
    ) -> Result<usize> {
        let mut count = 0;
        loop {
            let page = self
                .request(
                    conn,
                    GetMessageChanges {
                        conversation_id: id,
                        after,
                        limit: None,
                    },
                )
                .await?;
            after = page.next;
            count += self.apply_changes(id, page.messages, page.next)?;
            if !page.has_more {
                return Ok(count);
            }
        }
    }

    /// A `sync` page asked for while serving (after `sync_needed`): the views applied, a fill
    /// for each conversation short of its last seq, the cursor moved, and the next page asked
    /// for if there is one.
    /// `start` is the cursor the first page was asked from.
    pub(super) fn apply_sync_page(
        &mut self,
        page: SyncPage,
        start: u64,
        followups: &mut Vec<Followup>,
    ) -> Result<()> {
        for view in page.conversations {
            let (id, last_seq, removed) = (view.conversation.id, view.last_seq, view.removed);
            let changes_after = self.apply_view(view, Some(start))?;
            if !removed {
                followups.extend(self.gap(id, last_seq + 1)?);
            }
            if let Some(after) = changes_after {
                followups.push(Followup::Changes { id, after });
            }
        }
        self.cache.set_sync_cursor(page.cursor)?;
        if page.has_more {
            followups.push(Followup::Sync { start: Some(start) });
        }
        Ok(())
    }

    /// The fetch that fills the hole below `seen` (a message just received), if there is one
    /// and none is in flight. A hole wider than the catch-up limit is left to history paging.
    pub(super) fn gap(&mut self, id: ConversationId, seen: u64) -> Result<Option<Followup>> {
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
    pub(super) fn raise_watermark(&mut self, id: ConversationId, seq: u64) -> Result<()> {
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
    pub(super) fn contiguous_from(&self, id: ConversationId, from: u64) -> Result<u64> {
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
}
