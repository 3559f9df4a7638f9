//! Queries, run on the reader pool. Every conversation query checks membership first.

use im_proto::{
    normalize_username, ConversationId, ConversationPage, ConversationView, ErrorCode, Message,
    MessagePage, Seq, SyncPage, Uid, User,
};
use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{self, MemberState};
use super::Store;
use crate::error::{Error, Result};
use crate::hub::TokenHash;

/// SQLite integers are signed: anything above this is "infinity" for a seq or version bound.
const MAX_BOUND: u64 = i64::MAX as u64;

/// The member's state, checking that `uid` is an active member of `id`.
fn require_member(conn: &Connection, uid: Uid, id: ConversationId) -> Result<MemberState> {
    let state = conn
        .prepare_cached(&format!(
            "SELECT {} FROM members WHERE uid = ?1 AND conversation_id = ?2",
            rows::MEMBER_COLUMNS
        ))?
        .query_row(params![uid.as_bytes(), id.as_bytes()], rows::member_state)
        .optional()?;
    match state {
        Some(state) if state.active => Ok(state),
        _ => {
            let exists = conn
                .prepare_cached("SELECT 1 FROM conversations WHERE id = ?1")?
                .exists([id.as_bytes()])?;
            Err(if exists {
                Error::refused(
                    ErrorCode::NotMember,
                    format!("you are not a member of conversation {id}"),
                )
            } else {
                Error::refused(
                    ErrorCode::ConversationNotFound,
                    format!("no conversation {id}"),
                )
            })
        }
    }
}

fn views(conn: &Connection, uid: Uid, page: &[MemberState]) -> Result<Vec<ConversationView>> {
    page.iter().map(|m| rows::view(conn, uid, m)).collect()
}

/// `uid`'s conversations that changed after `since`, oldest change first: a conversation counts
/// as changed for a member when it changed or their own membership did (joined, read mark), and
/// for a former member only when their membership did (they left or were removed).
pub(super) fn sync_page(conn: &Connection, uid: Uid, since: u64, limit: usize) -> Result<SyncPage> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
             m.left_snapshot, m.muted,
             CASE WHEN m.active THEN max(c.version, m.version) ELSE m.version END AS v
         FROM members m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.uid = ?1 AND v > ?2
         ORDER BY v LIMIT ?3",
    )?;
    let mut page: Vec<MemberState> = stmt
        .query_map(
            params![uid.as_bytes(), since.min(MAX_BOUND), limit as i64 + 1],
            rows::member_state,
        )?
        .collect::<rusqlite::Result<_>>()?;
    let has_more = page.len() > limit;
    page.truncate(limit);
    let conversations = views(conn, uid, &page)?;
    let cursor = conversations.last().map_or(since, |v| v.version);
    Ok(SyncPage {
        conversations,
        cursor,
        has_more,
    })
}

/// Which way `messages` pages.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// The newest messages below this seq.
    Before(Seq),
    /// The oldest messages above this seq.
    After(Seq),
}

impl Store {
    /// The account and password hash for a sign-in.
    pub async fn user_for_sign_in(&self, username: String) -> Result<Option<(User, String, bool)>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {}, password_hash, disabled FROM users WHERE username = ?1",
                    rows::USER_COLUMNS
                ))?
                .query_row([username], |r| Ok((rows::user(r)?, r.get(3)?, r.get(4)?)))
                .optional()?)
        })
        .await
    }

    /// A user's sessions, newest first: (token hash, device, created at).
    pub async fn sessions_of(
        &self,
        uid: Uid,
    ) -> Result<Vec<(TokenHash, String, im_proto::Millis)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT token_hash, device, created_at FROM sessions WHERE uid = ?1
                 ORDER BY created_at DESC, rowid DESC",
            )?;
            let rows =
                stmt.query_map([uid.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// The user a session token (by hash) belongs to, from the database.
    pub(super) async fn session_user_stored(&self, token_hash: TokenHash) -> Result<Option<User>> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT u.uid, u.username, u.display_name FROM sessions s
                     JOIN users u ON u.uid = s.uid WHERE s.token_hash = ?1",
                )?
                .query_row([&token_hash[..]], rows::user)
                .optional()?)
        })
        .await
    }

    /// Users by username (exact after normalizing); unknown names are skipped.
    pub async fn find_users(&self, usernames: Vec<String>) -> Result<Vec<User>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM users WHERE username = ?1",
                rows::USER_COLUMNS
            ))?;
            let mut found: Vec<User> = Vec::new();
            for name in usernames.iter().filter_map(|n| normalize_username(n)) {
                if let Some(user) = stmt.query_row([name], rows::user).optional()? {
                    if !found.iter().any(|u| u.uid == user.uid) {
                        found.push(user);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    /// Users by uid; unknown uids are skipped.
    pub async fn get_users(&self, uids: Vec<Uid>) -> Result<Vec<User>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM users WHERE uid = ?1",
                rows::USER_COLUMNS
            ))?;
            let mut found: Vec<User> = Vec::new();
            for uid in uids {
                if found.iter().any(|u| u.uid == uid) {
                    continue;
                }
                if let Some(user) = stmt.query_row([uid.as_bytes()], rows::user).optional()? {
                    found.push(user);
                }
            }
            Ok(found)
        })
        .await
    }

    /// One conversation as `uid` sees it.
    pub async fn conversation_view(
        &self,
        uid: Uid,
        id: ConversationId,
    ) -> Result<ConversationView> {
        self.read(move |conn| {
            let member = require_member(conn, uid, id)?;
            rows::view(conn, uid, &member)
        })
        .await
    }
    /// Who hears `uid` typing in `id`: the other members, or nobody in a single chat where one
    /// of the two blocks the other.
    pub async fn typing_audience(&self, uid: Uid, id: ConversationId) -> Result<Vec<Uid>> {
        self.read(move |conn| {
            require_member(conn, uid, id)?;
            let others: Vec<Uid> = rows::active_members(conn, id)?
                .into_iter()
                .filter(|m| *m != uid)
                .collect();
            let single: bool = conn
                .prepare_cached("SELECT type = 'SINGLE_CHAT' FROM conversations WHERE id = ?1")?
                .query_row([id.as_bytes()], |r| r.get(0))?;
            if let (true, [other]) = (single, others.as_slice()) {
                let blocked: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM blocks
                         WHERE (uid = ?1 AND blocked = ?2) OR (uid = ?2 AND blocked = ?1))",
                    )?
                    .query_row(params![uid.as_bytes(), other.as_bytes()], |r| r.get(0))?;
                if blocked {
                    return Ok(Vec::new());
                }
            }
            Ok(others)
        })
        .await
    }

    /// The users `uid` blocks, most recently blocked first.
    pub async fn blocked_users(&self, uid: Uid) -> Result<Vec<Uid>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT blocked FROM blocks WHERE uid = ?1 ORDER BY created_at DESC, blocked",
            )?;
            let uids = stmt
                .query_map([uid.as_bytes()], |r| rows::uid(r, 0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(uids)
        })
        .await
    }

    /// `uid`'s conversations, most recently changed first.
    pub async fn list_conversations(
        &self,
        uid: Uid,
        before: Option<u64>,
        limit: usize,
    ) -> Result<ConversationPage> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
                     m.left_snapshot, m.muted, c.version
                 FROM members m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.uid = ?1 AND m.active = 1 AND c.version < ?2
                 ORDER BY c.version DESC LIMIT ?3",
            )?;
            let mut page: Vec<(MemberState, u64)> = stmt
                .query_map(
                    params![
                        uid.as_bytes(),
                        before.unwrap_or(MAX_BOUND).min(MAX_BOUND),
                        limit as i64 + 1
                    ],
                    |r| Ok((rows::member_state(r)?, r.get(7)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            let next_before = if page.len() > limit {
                page.truncate(limit);
                page.last().map(|(_, v)| *v)
            } else {
                None
            };
            Ok(ConversationPage {
                conversations: views(
                    conn,
                    uid,
                    &page.into_iter().map(|(m, _)| m).collect::<Vec<_>>(),
                )?,
                next_before,
            })
        })
        .await
    }

    /// `uid`'s conversations that changed after `since`, oldest change first.
    pub async fn sync(&self, uid: Uid, since: u64, limit: usize) -> Result<SyncPage> {
        self.read(move |conn| sync_page(conn, uid, since, limit))
            .await
    }

    /// A page of messages, checked for membership. The page stops early (with `has_more`) once
    /// its texts pass `byte_budget`, so one frame stays bounded however long the messages are.
    pub async fn messages(
        &self,
        uid: Uid,
        id: ConversationId,
        direction: Direction,
        limit: usize,
        byte_budget: usize,
    ) -> Result<MessagePage> {
        self.read(move |conn| {
            require_member(conn, uid, id)?;
            let (sql, bound) = match direction {
                Direction::After(seq) => (
                    format!(
                        "SELECT {} FROM messages WHERE conversation_id = ?1 AND seq > ?2
                         ORDER BY seq LIMIT ?3",
                        rows::MESSAGE_COLUMNS
                    ),
                    seq,
                ),
                Direction::Before(seq) => (
                    format!(
                        "SELECT {} FROM messages WHERE conversation_id = ?1 AND seq < ?2
                         ORDER BY seq DESC LIMIT ?3",
                        rows::MESSAGE_COLUMNS
                    ),
                    seq,
                ),
            };
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![
                id.as_bytes(),
                bound.min(MAX_BOUND),
                limit as i64 + 1
            ])?;
            let mut messages: Vec<Message> = Vec::new();
            let mut bytes = 0;
            let mut has_more = false;
            while let Some(row) = rows.next()? {
                if messages.len() == limit || (bytes >= byte_budget && !messages.is_empty()) {
                    has_more = true;
                    break;
                }
                let message = rows::message(row)?;
                bytes += message.body.preview().len() + 200;
                messages.push(message);
            }
            if matches!(direction, Direction::Before(_)) {
                messages.reverse();
            }
            Ok(MessagePage { messages, has_more })
        })
        .await
    }
}
