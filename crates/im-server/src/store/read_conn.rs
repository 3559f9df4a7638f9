//! [`ReadConn`]: the queries the readers need from a storage backend, each returning plain rows.
//! What the server makes of them — membership checks, views, pages, sync — is in `read.rs` and
//! `rows.rs`, written against this trait only; SQLite's reader connections implement it here,
//! and the PostgreSQL backend will too (docs/CLUSTER.md).

use im_proto::{ConversationId, Message, Millis, Seq, Uid, User};
use rusqlite::{params, Connection, OptionalExtension};

use super::read::Direction;
use super::rows::{self, ConversationRow, MemberState};
use crate::admin::{AdminInvite, AdminSession, AdminUser};
use crate::blobs::{BlobId, BlobRow, UploadId, UploadRow};
use crate::error::Result;
use crate::hub::TokenHash;
use crate::store::session_id;

/// SQLite integers are signed: anything above this is "infinity" for a seq or version bound.
pub const MAX_BOUND: u64 = i64::MAX as u64;

/// The read queries of a storage backend.
pub trait ReadConn {
    /// A member's (or former member's) own state in a conversation.
    fn member_state(&self, uid: Uid, id: ConversationId) -> Result<Option<MemberState>>;
    /// Whether a conversation exists.
    fn conversation_exists(&self, id: ConversationId) -> Result<bool>;
    /// A conversation with its active members (in joining order) and bookkeeping.
    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>>;
    /// A conversation's active members, in joining order.
    fn active_members(&self, id: ConversationId) -> Result<Vec<Uid>>;
    /// One message by its seq (`None` for seq 0).
    fn message_by_seq(&self, id: ConversationId, seq: Seq) -> Result<Option<Message>>;
    /// The highest read mark among the active members other than `uid`.
    fn others_read_seq(&self, id: ConversationId, uid: Uid) -> Result<Seq>;
    /// `uid`'s memberships that changed after `since` (for a member: the conversation or the
    /// membership; for a former member: the membership), oldest change first, at most `limit`.
    fn changed_since(&self, uid: Uid, since: u64, limit: usize) -> Result<Vec<MemberState>>;
    /// `uid`'s active memberships with the conversation's version, below `before`, newest
    /// first, at most `limit`.
    fn newest_conversations(
        &self,
        uid: Uid,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MemberState, u64)>>;
    /// Messages after or before a seq, in that direction's order (ascending after, descending
    /// before), handed one at a time to `take` until it says stop or `limit` are taken.
    fn messages(
        &self,
        id: ConversationId,
        direction: Direction,
        limit: usize,
        take: &mut dyn FnMut(Message) -> bool,
    ) -> Result<()>;
    /// Messages of `id` changed (edited, recalled) after the change counter `after`, oldest
    /// change first, each with the counter of its change; at most `limit`.
    fn message_changes(
        &self,
        id: ConversationId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(Message, u64)>>;
    /// Whether `id` is a single chat.
    fn is_single_chat(&self, id: ConversationId) -> Result<bool>;
    /// Whether either of two users blocks the other.
    fn blocked_either_way(&self, a: Uid, b: Uid) -> Result<bool>;
    /// The users `uid` blocks, most recently blocked first.
    fn blocked_users(&self, uid: Uid) -> Result<Vec<Uid>>;
    /// An account by username, with its password hash and whether it is disabled.
    fn user_for_sign_in(&self, username: &str) -> Result<Option<(User, String, bool)>>;
    /// An account by (normalized) username.
    fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// An account by uid.
    fn user_by_uid(&self, uid: Uid) -> Result<Option<User>>;
    /// A user's sessions, newest first: (token hash, device, created at).
    fn sessions_of(&self, uid: Uid) -> Result<Vec<(TokenHash, String, Millis)>>;
    /// The user a session (by token hash) belongs to.
    fn session_user(&self, token_hash: &TokenHash) -> Result<Option<User>>;

    /// Accounts and stored sessions, counted.
    fn counts(&self) -> Result<(u64, u64)>;
    /// Every account, by username, with its number of sessions (for the operator).
    fn admin_users(&self) -> Result<Vec<AdminUser>>;
    /// One user's sessions or everyone's, by username then newest first (for the operator).
    fn admin_sessions(&self, uid: Option<Uid>) -> Result<Vec<AdminSession>>;
    /// Every session's token hash and owner (to find one by the id the operator was shown).
    fn session_owners(&self) -> Result<Vec<(TokenHash, Uid)>>;
    /// Invites with uses left, unexpired at `now`, oldest first (for the operator).
    fn open_invites(&self, now: Millis) -> Result<Vec<AdminInvite>>;
    /// An unfinished upload.
    fn upload(&self, id: UploadId) -> Result<Option<UploadRow>>;
    /// A blob, if `uid` may read it.
    fn visible_blob(&self, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>>;

    /// Where the order of every writer's commits stands (`None`: one writer, unnumbered).
    fn commit_order(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Connects again if the backend's connection was lost (called before each query; an
    /// embedded database has nothing to do).
    fn reconnect_if_lost(&self) -> Result<()> {
        Ok(())
    }
}

impl ReadConn for Connection {
    fn member_state(&self, uid: Uid, id: ConversationId) -> Result<Option<MemberState>> {
        Ok(self
            .prepare_cached(&format!(
                "SELECT {} FROM members WHERE uid = ?1 AND conversation_id = ?2",
                rows::MEMBER_COLUMNS
            ))?
            .query_row(params![uid.as_bytes(), id.as_bytes()], rows::member_state)
            .optional()?)
    }

    fn conversation_exists(&self, id: ConversationId) -> Result<bool> {
        Ok(self
            .prepare_cached("SELECT 1 FROM conversations WHERE id = ?1")?
            .exists([id.as_bytes()])?)
    }

    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        rows::conversation(self, id)
    }

    fn active_members(&self, id: ConversationId) -> Result<Vec<Uid>> {
        rows::active_members(self, id)
    }

    fn message_by_seq(&self, id: ConversationId, seq: Seq) -> Result<Option<Message>> {
        rows::message_by_seq(self, id, seq)
    }

    fn others_read_seq(&self, id: ConversationId, uid: Uid) -> Result<Seq> {
        Ok(self
            .prepare_cached(
                "SELECT coalesce(max(read_seq), 0) FROM members
                 WHERE conversation_id = ?1 AND uid <> ?2 AND active = 1",
            )?
            .query_row(params![id.as_bytes(), uid.as_bytes()], |r| r.get(0))?)
    }

    fn changed_since(&self, uid: Uid, since: u64, limit: usize) -> Result<Vec<MemberState>> {
        let mut stmt = self.prepare_cached(
            "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
                 m.left_snapshot, m.muted,
                 CASE WHEN m.active THEN max(c.version, c.changes_version, m.version)
                      ELSE m.version END AS v
             FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.uid = ?1 AND v > ?2
             ORDER BY v LIMIT ?3",
        )?;
        let states = stmt
            .query_map(
                params![uid.as_bytes(), since.min(MAX_BOUND), limit as i64],
                rows::member_state,
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(states)
    }

    fn newest_conversations(
        &self,
        uid: Uid,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(MemberState, u64)>> {
        let mut stmt = self.prepare_cached(
            "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
                 m.left_snapshot, m.muted, c.version
             FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.uid = ?1 AND m.active = 1 AND c.version < ?2
             ORDER BY c.version DESC LIMIT ?3",
        )?;
        let page = stmt
            .query_map(
                params![uid.as_bytes(), before.min(MAX_BOUND), limit as i64],
                |r| Ok((rows::member_state(r)?, r.get(7)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(page)
    }

    fn messages(
        &self,
        id: ConversationId,
        direction: Direction,
        limit: usize,
        take: &mut dyn FnMut(Message) -> bool,
    ) -> Result<()> {
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
        let mut stmt = self.prepare_cached(&sql)?;
        let mut found = stmt.query(params![id.as_bytes(), bound.min(MAX_BOUND), limit as i64])?;
        while let Some(row) = found.next()? {
            if !take(rows::message(row)?) {
                break;
            }
        }
        Ok(())
    }

    fn message_changes(
        &self,
        id: ConversationId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(Message, u64)>> {
        let mut stmt = self.prepare_cached(&format!(
            "SELECT {}, change_version FROM messages
             WHERE conversation_id = ?1 AND change_version > ?2
             ORDER BY change_version LIMIT ?3",
            rows::MESSAGE_COLUMNS
        ))?;
        let changes = stmt
            .query_map(
                params![id.as_bytes(), after.min(MAX_BOUND), limit as i64],
                |r| Ok((rows::message(r)?, r.get(13)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(changes)
    }

    fn is_single_chat(&self, id: ConversationId) -> Result<bool> {
        Ok(self
            .prepare_cached("SELECT type = 'SINGLE_CHAT' FROM conversations WHERE id = ?1")?
            .query_row([id.as_bytes()], |r| r.get(0))?)
    }

    fn blocked_either_way(&self, a: Uid, b: Uid) -> Result<bool> {
        Ok(self
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM blocks
                 WHERE (uid = ?1 AND blocked = ?2) OR (uid = ?2 AND blocked = ?1))",
            )?
            .query_row(params![a.as_bytes(), b.as_bytes()], |r| r.get(0))?)
    }

    fn blocked_users(&self, uid: Uid) -> Result<Vec<Uid>> {
        let mut stmt = self.prepare_cached(
            "SELECT blocked FROM blocks WHERE uid = ?1 ORDER BY created_at DESC, blocked",
        )?;
        let uids = stmt
            .query_map([uid.as_bytes()], |r| rows::uid(r, 0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(uids)
    }

    fn user_for_sign_in(&self, username: &str) -> Result<Option<(User, String, bool)>> {
        Ok(self
            .prepare_cached(&format!(
                "SELECT {}, password_hash, disabled FROM users WHERE username = ?1",
                rows::USER_COLUMNS
            ))?
            .query_row([username], |r| Ok((rows::user(r)?, r.get(3)?, r.get(4)?)))
            .optional()?)
    }

    fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(self
            .prepare_cached(&format!(
                "SELECT {} FROM users WHERE username = ?1",
                rows::USER_COLUMNS
            ))?
            .query_row([username], rows::user)
            .optional()?)
    }

    fn user_by_uid(&self, uid: Uid) -> Result<Option<User>> {
        Ok(self
            .prepare_cached(&format!(
                "SELECT {} FROM users WHERE uid = ?1",
                rows::USER_COLUMNS
            ))?
            .query_row([uid.as_bytes()], rows::user)
            .optional()?)
    }

    fn sessions_of(&self, uid: Uid) -> Result<Vec<(TokenHash, String, Millis)>> {
        let mut stmt = self.prepare_cached(
            "SELECT token_hash, device, created_at FROM sessions WHERE uid = ?1
             ORDER BY created_at DESC, rowid DESC",
        )?;
        let rows = stmt.query_map([uid.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn session_user(&self, token_hash: &TokenHash) -> Result<Option<User>> {
        Ok(self
            .prepare_cached(
                "SELECT u.uid, u.username, u.display_name FROM sessions s
                 JOIN users u ON u.uid = s.uid WHERE s.token_hash = ?1",
            )?
            .query_row([&token_hash[..]], rows::user)
            .optional()?)
    }

    fn counts(&self) -> Result<(u64, u64)> {
        Ok(self.query_row(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions)",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    fn admin_users(&self) -> Result<Vec<AdminUser>> {
        let mut stmt = self.prepare(
            "SELECT u.uid, u.username, u.display_name, u.created_at, u.disabled,
                    (SELECT count(*) FROM sessions s WHERE s.uid = u.uid)
             FROM users u ORDER BY u.username",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AdminUser {
                uid: Uid::from_bytes(r.get(0)?),
                username: r.get(1)?,
                display_name: r.get(2)?,
                created_at: r.get(3)?,
                disabled: r.get(4)?,
                sessions: r.get::<_, i64>(5)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn admin_sessions(&self, uid: Option<Uid>) -> Result<Vec<AdminSession>> {
        let mut stmt = self.prepare(
            "SELECT s.token_hash, u.username, s.device, s.created_at
             FROM sessions s JOIN users u ON u.uid = s.uid
             WHERE ?1 IS NULL OR s.uid = ?1
             ORDER BY u.username, s.created_at DESC",
        )?;
        let rows = stmt.query_map([uid.map(|u| *u.as_bytes())], |r| {
            Ok(AdminSession {
                id: session_id(&r.get::<_, [u8; 32]>(0)?),
                username: r.get(1)?,
                device: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn session_owners(&self) -> Result<Vec<(TokenHash, Uid)>> {
        let mut stmt = self.prepare("SELECT token_hash, uid FROM sessions")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, Uid::from_bytes(r.get(1)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn upload(&self, id: UploadId) -> Result<Option<UploadRow>> {
        super::sqlite_blobs::upload(self, id)
    }

    fn visible_blob(&self, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>> {
        super::sqlite_blobs::visible_blob(self, uid, sha256)
    }

    fn open_invites(&self, now: Millis) -> Result<Vec<AdminInvite>> {
        let mut stmt = self.prepare(
            "SELECT id, uses_left, expires_at, created_at FROM invites
             WHERE uses_left > 0 AND (expires_at IS NULL OR expires_at > ?1)
             ORDER BY created_at",
        )?;
        let rows = stmt.query_map(params![now], |r| {
            Ok(AdminInvite {
                id: r.get(0)?,
                uses_left: r.get(1)?,
                expires_at: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
