//! [`ReadConn`] on PostgreSQL: the readers' queries on one blocking `postgres` connection.

use im_proto::{ConversationId, Message, Millis, Seq, Uid, User};
use postgres::types::ToSql;
use postgres::{Client, Row};

use super::conn::PgConn;
use super::tx::{
    big, conversation_row, id16, message, unsigned, ACTIVE_MEMBERS_SQL, CONVERSATION_SQL,
};
use crate::admin::{AdminInvite, AdminSession, AdminUser};
use crate::blobs::{BlobId, BlobRow, UploadId, UploadRow};
use crate::error::{Error, Result};
use crate::hub::TokenHash;
use crate::store::read::Direction;
use crate::store::read_conn::{ReadConn, MAX_BOUND};
use crate::store::rows::{ConversationRow, MemberState};
use crate::store::session_id;

/// A reader's connection.
#[derive(Debug)]
pub struct PgReader {
    conn: PgConn,
}

impl PgReader {
    /// A reader over a connection to a migrated database.
    pub fn new(client: Client) -> Self {
        Self {
            conn: PgConn::new(client),
        }
    }

    /// A reader on its own connection to a migrated database, connected again when PostgreSQL
    /// drops it (at the next query).
    pub fn open(config: &postgres::Config) -> Result<Self> {
        Ok(Self {
            conn: PgConn::open(config)?,
        })
    }

    fn query(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.conn.query(sql, params)
    }

    fn query_opt(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        self.conn.query_opt(sql, params)
    }

    fn user(row: &Row) -> Result<User> {
        Ok(User {
            uid: Uid::from_bytes(id16(row.get(0))?),
            username: row.get(1),
            display_name: row.get(2),
        })
    }
}

/// A membership row read as `m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
/// m.left_snapshot, m.muted`.
fn member_state(row: &Row) -> Result<MemberState> {
    Ok(MemberState {
        id: ConversationId::from_bytes(id16(row.get(0))?),
        active: row.get(1),
        read_seq: unsigned(row.get(2))?,
        version: unsigned(row.get(3))?,
        left_seq: unsigned(row.get(4))?,
        left_snapshot: row.get(5),
        muted: row.get(6),
    })
}

fn bound(n: u64) -> Result<i64> {
    big(n.min(MAX_BOUND))
}

fn limit(n: usize) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Corrupt(format!("limit {n}")))
}

impl ReadConn for PgReader {
    fn member_state(&self, uid: Uid, id: ConversationId) -> Result<Option<MemberState>> {
        self.query_opt(
            "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
                 m.left_snapshot, m.muted
             FROM members m WHERE uid = $1 AND conversation_id = $2",
            &[&uid.as_bytes().as_slice(), &id.as_bytes().as_slice()],
        )?
        .map(|r| member_state(&r))
        .transpose()
    }

    fn conversation_exists(&self, id: ConversationId) -> Result<bool> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM conversations WHERE id = $1",
                &[&id.as_bytes().as_slice()],
            )?
            .is_some())
    }

    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        let Some(row) = self.query_opt(CONVERSATION_SQL, &[&id.as_bytes().as_slice()])? else {
            return Ok(None);
        };
        conversation_row(&row, self.active_members(id)?).map(Some)
    }

    fn active_members(&self, id: ConversationId) -> Result<Vec<Uid>> {
        self.query(ACTIVE_MEMBERS_SQL, &[&id.as_bytes().as_slice()])?
            .iter()
            .map(|r| Ok(Uid::from_bytes(id16(r.get(0))?)))
            .collect()
    }

    fn message_by_seq(&self, id: ConversationId, seq: Seq) -> Result<Option<Message>> {
        if seq == 0 {
            return Ok(None);
        }
        self.query_opt(
            "SELECT conversation_id, seq, id, sender, client_id, type, body, timestamp,
                 reply_to, edited_at, mentions, mention_all, reactions
             FROM messages WHERE conversation_id = $1 AND seq = $2",
            &[&id.as_bytes().as_slice(), &big(seq)?],
        )?
        .map(|r| message(&r))
        .transpose()
    }

    fn others_read_seq(&self, id: ConversationId, uid: Uid) -> Result<Seq> {
        let row = self.query_opt(
            "SELECT coalesce(max(read_seq), 0) FROM members
             WHERE conversation_id = $1 AND uid <> $2 AND active",
            &[&id.as_bytes().as_slice(), &uid.as_bytes().as_slice()],
        )?;
        unsigned(row.map_or(0, |r| r.get(0)))
    }

    fn changed_since(&self, uid: Uid, since: u64, count: usize) -> Result<Vec<MemberState>> {
        self.query(
            "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
                 m.left_snapshot, m.muted
             FROM (
                 SELECT m.*, CASE WHEN m.active
                                  THEN GREATEST(c.version, c.changes_version, m.version)
                                  ELSE m.version END AS v
                 FROM members m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.uid = $1) m
             WHERE m.v > $2 ORDER BY m.v LIMIT $3",
            &[&uid.as_bytes().as_slice(), &bound(since)?, &limit(count)?],
        )?
        .iter()
        .map(member_state)
        .collect()
    }

    fn newest_conversations(
        &self,
        uid: Uid,
        before: u64,
        count: usize,
    ) -> Result<Vec<(MemberState, u64)>> {
        self.query(
            "SELECT m.conversation_id, m.active, m.read_seq, m.version, m.left_seq,
                 m.left_snapshot, m.muted, c.version
             FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.uid = $1 AND m.active AND c.version < $2
             ORDER BY c.version DESC LIMIT $3",
            &[&uid.as_bytes().as_slice(), &bound(before)?, &limit(count)?],
        )?
        .iter()
        .map(|r| Ok((member_state(r)?, unsigned(r.get(7))?)))
        .collect()
    }

    fn message_changes(
        &self,
        id: ConversationId,
        after: u64,
        count: usize,
    ) -> Result<Vec<(Message, u64)>> {
        self.query(
            "SELECT conversation_id, seq, id, sender, client_id, type, body, timestamp,
                 reply_to, edited_at, mentions, mention_all, reactions, change_version
             FROM messages WHERE conversation_id = $1 AND change_version > $2
             ORDER BY change_version LIMIT $3",
            &[&id.as_bytes().as_slice(), &bound(after)?, &limit(count)?],
        )?
        .iter()
        .map(|r| Ok((message(r)?, unsigned(r.get(13))?)))
        .collect()
    }

    fn messages(
        &self,
        id: ConversationId,
        direction: Direction,
        count: usize,
        take: &mut dyn FnMut(Message) -> bool,
    ) -> Result<()> {
        let (sql, seq) = match direction {
            Direction::After(seq) => (
                "SELECT conversation_id, seq, id, sender, client_id, type, body, timestamp,
                     reply_to, edited_at, mentions, mention_all, reactions
                 FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                seq,
            ),
            Direction::Before(seq) => (
                "SELECT conversation_id, seq, id, sender, client_id, type, body, timestamp,
                     reply_to, edited_at, mentions, mention_all, reactions
                 FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                seq,
            ),
        };
        let rows = self.query(
            sql,
            &[&id.as_bytes().as_slice(), &bound(seq)?, &limit(count)?],
        )?;
        for row in &rows {
            if !take(message(row)?) {
                break;
            }
        }
        Ok(())
    }

    fn is_single_chat(&self, id: ConversationId) -> Result<bool> {
        Ok(self
            .query_opt(
                "SELECT type = 'SINGLE_CHAT' FROM conversations WHERE id = $1",
                &[&id.as_bytes().as_slice()],
            )?
            .is_some_and(|r| r.get(0)))
    }

    fn blocked_either_way(&self, a: Uid, b: Uid) -> Result<bool> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM blocks
                 WHERE (uid = $1 AND blocked = $2) OR (uid = $2 AND blocked = $1) LIMIT 1",
                &[&a.as_bytes().as_slice(), &b.as_bytes().as_slice()],
            )?
            .is_some())
    }

    fn blocked_users(&self, uid: Uid) -> Result<Vec<Uid>> {
        self.query(
            "SELECT blocked FROM blocks WHERE uid = $1 ORDER BY created_at DESC, blocked",
            &[&uid.as_bytes().as_slice()],
        )?
        .iter()
        .map(|r| Ok(Uid::from_bytes(id16(r.get(0))?)))
        .collect()
    }

    fn user_for_sign_in(&self, username: &str) -> Result<Option<(User, String, bool)>> {
        self.query_opt(
            "SELECT uid, username, display_name, password_hash, disabled
             FROM users WHERE username = $1",
            &[&username],
        )?
        .map(|r| Ok((Self::user(&r)?, r.get(3), r.get(4))))
        .transpose()
    }

    fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        self.query_opt(
            "SELECT uid, username, display_name FROM users WHERE username = $1",
            &[&username],
        )?
        .map(|r| Self::user(&r))
        .transpose()
    }

    fn user_by_uid(&self, uid: Uid) -> Result<Option<User>> {
        self.query_opt(
            "SELECT uid, username, display_name FROM users WHERE uid = $1",
            &[&uid.as_bytes().as_slice()],
        )?
        .map(|r| Self::user(&r))
        .transpose()
    }

    fn sessions_of(&self, uid: Uid) -> Result<Vec<(TokenHash, String, Millis)>> {
        self.query(
            "SELECT token_hash, device, created_at FROM sessions WHERE uid = $1
             ORDER BY created_at DESC, made DESC",
            &[&uid.as_bytes().as_slice()],
        )?
        .iter()
        .map(|r| {
            let hash: TokenHash = r
                .get::<_, &[u8]>(0)
                .try_into()
                .map_err(|_| Error::Corrupt("a token hash not of 32 bytes".into()))?;
            Ok((hash, r.get(1), r.get(2)))
        })
        .collect()
    }

    fn session_user(&self, token_hash: &TokenHash) -> Result<Option<User>> {
        self.query_opt(
            "SELECT u.uid, u.username, u.display_name FROM sessions s
             JOIN users u ON u.uid = s.uid WHERE s.token_hash = $1",
            &[&token_hash.as_slice()],
        )?
        .map(|r| Self::user(&r))
        .transpose()
    }

    fn counts(&self) -> Result<(u64, u64)> {
        let row = self.query_opt(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions)",
            &[],
        )?;
        let (users, sessions) = row.map_or((0, 0), |r| (r.get(0), r.get(1)));
        Ok((unsigned(users)?, unsigned(sessions)?))
    }

    fn admin_users(&self) -> Result<Vec<AdminUser>> {
        self.query(
            "SELECT u.uid, u.username, u.display_name, u.created_at, u.disabled,
                    (SELECT count(*) FROM sessions s WHERE s.uid = u.uid)
             FROM users u ORDER BY u.username",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(AdminUser {
                uid: Uid::from_bytes(id16(r.get(0))?),
                username: r.get(1),
                display_name: r.get(2),
                created_at: r.get(3),
                disabled: r.get(4),
                sessions: unsigned(r.get(5))?,
            })
        })
        .collect()
    }

    fn admin_sessions(&self, uid: Option<Uid>) -> Result<Vec<AdminSession>> {
        let uid = uid.map(|u| u.as_bytes().to_vec());
        self.query(
            "SELECT s.token_hash, u.username, s.device, s.created_at
             FROM sessions s JOIN users u ON u.uid = s.uid
             WHERE $1::bytea IS NULL OR s.uid = $1
             ORDER BY u.username, s.created_at DESC, s.made DESC",
            &[&uid],
        )?
        .iter()
        .map(|r| {
            Ok(AdminSession {
                id: session_id(&token_hash(r.get(0))?),
                username: r.get(1),
                device: r.get(2),
                created_at: r.get(3),
            })
        })
        .collect()
    }

    fn session_owners(&self) -> Result<Vec<(TokenHash, Uid)>> {
        self.query("SELECT token_hash, uid FROM sessions", &[])?
            .iter()
            .map(|r| Ok((token_hash(r.get(0))?, Uid::from_bytes(id16(r.get(1))?))))
            .collect()
    }

    fn upload(&self, id: UploadId) -> Result<Option<UploadRow>> {
        super::blobs::upload(&self.conn, id)
    }

    fn visible_blob(&self, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>> {
        super::blobs::visible_blob(&self.conn, uid, sha256)
    }

    fn open_invites(&self, now: Millis) -> Result<Vec<AdminInvite>> {
        self.query(
            "SELECT id, uses_left, expires_at, created_at FROM invites
             WHERE uses_left > 0 AND (expires_at IS NULL OR expires_at > $1)
             ORDER BY created_at",
            &[&now],
        )?
        .iter()
        .map(|r| {
            Ok(AdminInvite {
                id: r.get(0),
                uses_left: u32::try_from(r.get::<_, i32>(1))
                    .map_err(|_| Error::Corrupt("negative uses left".into()))?,
                expires_at: r.get(2),
                created_at: r.get(3),
            })
        })
        .collect()
    }

    fn commit_order(&self) -> Result<Option<u64>> {
        let row = self.query_opt("SELECT writes FROM change_counter", &[])?;
        row.map(|r| unsigned(r.get(0))).transpose()
    }

    fn reconnect_if_lost(&self) -> Result<()> {
        self.conn.reconnect_if_lost()
    }
}

/// A session's token hash as stored.
fn token_hash(bytes: &[u8]) -> Result<TokenHash> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt("a token hash not of 32 bytes".into()))
}

impl PgReader {
    /// The highest change counter stamped on anything.
    pub fn current_version(&self) -> Result<u64> {
        super::tx::current_version(&self.conn)
    }
}
