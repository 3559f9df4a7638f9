//! The writer's SQLite: its transactions ([`Backend`] on the writer's connection, with the
//! checkpoint hand-off after each commit) and its statements ([`WriteTx`], prepared once,
//! cached).

use std::sync::Arc;

use im_proto::{ClientId, Conversation, ConversationId, Message, Millis, Seq, Uid, User};
use rusqlite::{params, Connection, OptionalExtension};

use super::backend::{Backend, Begun};
use super::checkpoint::Checkpointer;
use super::rows::{self, ConversationRow};
use super::tx::{Fields, NewInvite, WriteTx};
use crate::blobs::{BlobId, BlobRow, UploadId, UploadRow};
use crate::error::Result;
use crate::hub::TokenHash;

/// The writer's connection and the checkpointer it hands off to.
#[derive(Debug)]
pub struct SqliteBackend {
    conn: Connection,
    checkpointer: Arc<Checkpointer>,
}

impl SqliteBackend {
    /// A backend over an open, migrated writer connection.
    pub fn new(conn: Connection, checkpointer: Arc<Checkpointer>) -> Self {
        Self { conn, checkpointer }
    }

    /// The connection (tests inject faults through it).
    #[cfg(test)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Backend for SqliteBackend {
    type Tx<'a> = SqliteTx<'a>;

    fn begin(&mut self) -> Result<Begun> {
        // The only writer: what it remembers is the truth.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Begun::default())
    }

    fn tx(&self) -> SqliteTx<'_> {
        SqliteTx::new(&self.conn)
    }

    fn commit(&mut self, _version: u64) -> Result<()> {
        // The counter is the highest version stamped on a row (`consistency::current_version`).
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    fn roll_back(&mut self) {
        if let Err(e) = self.conn.execute_batch("ROLLBACK") {
            if !self.conn.is_autocommit() {
                // Left inside the failed transaction, every later batch would fail too:
                // crash-only (the process restarts and SQLite rolls it back on open).
                panic!("cannot roll back a failed write batch: {e}");
            }
        }
    }

    fn current_version(&self) -> Result<u64> {
        super::consistency::current_version(&self.conn)
    }

    fn after_commit(&mut self) {
        self.checkpointer.after_commit(&self.conn);
    }

    fn mark_clean_stop(&mut self, version: u64) -> Result<()> {
        super::consistency::mark_checked(&self.conn, version)
    }
}

impl Drop for SqliteBackend {
    /// Dropped with its writer — after `run`, or never run (as in tests) — it stops the
    /// checkpointer's thread, which would otherwise wait for requests for ever.
    fn drop(&mut self) {
        self.checkpointer.stop();
    }
}

/// The writer's connection, seen as a write transaction.
#[derive(Debug, Clone, Copy)]
pub struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteTx<'c> {
    /// Operations on `conn`, which must be inside a transaction.
    pub fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }
}

impl WriteTx for SqliteTx<'_> {
    fn insert_user(&self, user: &User, password_hash: &str, created_at: Millis) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO users (uid, username, display_name, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (username) DO NOTHING",
            )?
            .execute(params![
                user.uid.as_bytes(),
                user.username,
                user.display_name,
                password_hash,
                created_at
            ])?;
        Ok(inserted == 1)
    }

    fn missing_users(&self, uids: &[Uid]) -> Result<Vec<Uid>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM users WHERE uid = ?1")?;
        let mut missing = Vec::new();
        for uid in uids {
            if !stmt.exists([uid.as_bytes()])? {
                missing.push(*uid);
            }
        }
        Ok(missing)
    }

    fn insert_session(
        &self,
        token_hash: &TokenHash,
        uid: Uid,
        device: &str,
        at: Millis,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (token_hash, uid, device, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![&token_hash[..], uid.as_bytes(), device, at])?;
        Ok(())
    }

    fn delete_session(&self, token_hash: &TokenHash) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
            .execute([&token_hash[..]])?;
        Ok(())
    }

    fn sessions_of(&self, uid: Uid) -> Result<Vec<TokenHash>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT token_hash FROM sessions WHERE uid = ?1 ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([uid.as_bytes()], |r| r.get::<_, [u8; 32]>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        rows::conversation(self.conn, id)
    }

    fn conversation_by_members(&self, member_key: &[u8]) -> Result<Option<ConversationId>> {
        let id: Option<[u8; 16]> = self
            .conn
            .prepare_cached(
                "SELECT id FROM conversations WHERE member_key = ?1
                 ORDER BY create_time, rowid LIMIT 1",
            )?
            .query_row([member_key], |r| r.get(0))
            .optional()?;
        Ok(id.map(ConversationId::from_bytes))
    }

    fn insert_conversation(&self, c: &Conversation, member_key: &[u8], version: u64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (id, title, icon, manager_id, remark, user_count, attrs,
                     create_time, type, member_key, last_seq, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11)",
            )?
            .execute(params![
                c.id.as_bytes(),
                c.title,
                c.icon,
                c.manager_id.as_bytes(),
                c.remark,
                c.user_count,
                serde_json::Value::Object(c.attrs.clone()).to_string(),
                c.create_time,
                c.kind.as_str(),
                member_key,
                version
            ])?;
        Ok(())
    }

    fn update_conversation(&self, id: ConversationId, f: &Fields, version: u64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET
                     title = coalesce(?2, title), icon = coalesce(?3, icon),
                     remark = coalesce(?4, remark), attrs = coalesce(?5, attrs), version = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                id.as_bytes(),
                f.title,
                f.icon,
                f.remark,
                f.attrs,
                version
            ])?;
        Ok(())
    }

    fn set_membership(
        &self,
        id: ConversationId,
        count: usize,
        member_key: &[u8],
        manager: Uid,
        version: u64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET user_count = ?2, member_key = ?3, manager_id = ?4,
                     version = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id.as_bytes(),
                count as u32,
                member_key,
                manager.as_bytes(),
                version
            ])?;
        Ok(())
    }

    fn set_last_seq(&self, id: ConversationId, last_seq: Seq, version: u64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE conversations SET last_seq = ?2, version = ?3 WHERE id = ?1")?
            .execute(params![id.as_bytes(), last_seq, version])?;
        Ok(())
    }

    fn add_members(
        &self,
        id: ConversationId,
        uids: &[Uid],
        read_seq: Seq,
        version: u64,
    ) -> Result<()> {
        let next_position: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(max(position), -1) + 1 FROM members WHERE conversation_id = ?1",
            )?
            .query_row([id.as_bytes()], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO members (uid, conversation_id, position, active, read_seq, version)
             VALUES (?1, ?2, ?3, 1, ?4, ?5)
             ON CONFLICT (uid, conversation_id) DO UPDATE SET
                 active = 1, position = excluded.position, read_seq = excluded.read_seq,
                 version = excluded.version",
        )?;
        for (i, uid) in uids.iter().enumerate() {
            stmt.execute(params![
                uid.as_bytes(),
                id.as_bytes(),
                next_position + i as i64,
                read_seq,
                version
            ])?;
        }
        Ok(())
    }

    fn remove_members(
        &self,
        id: ConversationId,
        uids: &[Uid],
        version: u64,
        left_seq: Seq,
        snapshot: &str,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE members SET active = 0, version = ?3, left_seq = ?4, left_snapshot = ?5
             WHERE uid = ?1 AND conversation_id = ?2",
        )?;
        for uid in uids {
            stmt.execute(params![
                uid.as_bytes(),
                id.as_bytes(),
                version,
                left_seq,
                snapshot
            ])?;
        }
        Ok(())
    }

    fn read_seq(&self, uid: Uid, id: ConversationId) -> Result<Option<Seq>> {
        rows::read_seq(self.conn, uid, id)
    }

    fn set_read_seq(&self, uid: Uid, id: ConversationId, seq: Seq, version: u64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET read_seq = ?3, version = ?4
                 WHERE uid = ?1 AND conversation_id = ?2",
            )?
            .execute(params![uid.as_bytes(), id.as_bytes(), seq, version])?;
        Ok(())
    }

    fn muted(&self, uid: Uid, id: ConversationId) -> Result<Option<bool>> {
        Ok(self
            .conn
            .prepare_cached("SELECT muted FROM members WHERE uid = ?1 AND conversation_id = ?2")?
            .query_row(params![uid.as_bytes(), id.as_bytes()], |r| r.get(0))
            .optional()?)
    }

    fn set_muted(&self, uid: Uid, id: ConversationId, muted: bool, version: u64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET muted = ?3, version = ?4
                 WHERE uid = ?1 AND conversation_id = ?2",
            )?
            .execute(params![uid.as_bytes(), id.as_bytes(), muted, version])?;
        Ok(())
    }

    fn blocks(&self, uid: Uid, other: Uid) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM blocks WHERE uid = ?1 AND blocked = ?2")?
            .query_row(params![uid.as_bytes(), other.as_bytes()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn set_block(&self, uid: Uid, other: Uid, blocked: bool, at: Millis) -> Result<bool> {
        let changed = if blocked {
            self.conn
                .prepare_cached(
                    "INSERT INTO blocks (uid, blocked, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (uid, blocked) DO NOTHING",
                )?
                .execute(params![uid.as_bytes(), other.as_bytes(), at])?
        } else {
            self.conn
                .prepare_cached("DELETE FROM blocks WHERE uid = ?1 AND blocked = ?2")?
                .execute(params![uid.as_bytes(), other.as_bytes()])?
        };
        Ok(changed == 1)
    }

    fn raise_read_seq(&self, uid: Uid, id: ConversationId, seq: Seq) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET read_seq = ?3
                 WHERE uid = ?1 AND conversation_id = ?2 AND read_seq < ?3",
            )?
            .execute(params![uid.as_bytes(), id.as_bytes(), seq])?;
        Ok(())
    }

    fn insert_message(&self, m: &Message) -> Result<bool> {
        let kind = match &m.body {
            im_proto::MessageBody::Text { .. }
            | im_proto::MessageBody::Image(_)
            | im_proto::MessageBody::File(_) => m.body.kind(),
            other => {
                return Err(crate::error::Error::Corrupt(format!(
                    "cannot store a new message body {other:?}"
                )))
            }
        };
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO messages
                     (conversation_id, seq, id, sender, client_id, type, body, timestamp, reply_to,
                      mentions, mention_all)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (conversation_id, sender, client_id) DO NOTHING",
            )?
            .execute(params![
                m.conversation_id.as_bytes(),
                m.seq,
                m.id.as_bytes(),
                m.from.as_bytes(),
                m.client_id.as_str(),
                kind,
                rows::stored_body(&m.body),
                m.timestamp,
                m.reply_to,
                rows::stored_mentions(m),
                m.mention_all,
            ])?;
        Ok(inserted == 1)
    }

    fn message_by_seq(&self, id: ConversationId, seq: Seq) -> Result<Option<Message>> {
        rows::message_by_seq(self.conn, id, seq)
    }

    fn change_message(&self, m: &Message, version: u64) -> Result<()> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE messages SET type = ?3, body = ?4, edited_at = ?5, change_version = ?6,
                     reactions = ?7
                 WHERE conversation_id = ?1 AND seq = ?2",
            )?
            .execute(params![
                m.conversation_id.as_bytes(),
                m.seq,
                m.body.kind(),
                rows::stored_body(&m.body),
                m.edited_at,
                version,
                rows::stored_reactions(m),
            ])?;
        if changed != 1 {
            return Err(crate::error::Error::Corrupt(format!(
                "no message {} in conversation {} to change",
                m.seq, m.conversation_id
            )));
        }
        self.conn
            .prepare_cached("UPDATE conversations SET changes_version = ?2 WHERE id = ?1")?
            .execute(params![m.conversation_id.as_bytes(), version])?;
        Ok(())
    }

    fn message_by_client_id(
        &self,
        id: ConversationId,
        sender: Uid,
        client_id: &ClientId,
    ) -> Result<Option<Message>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM messages
                 WHERE conversation_id = ?1 AND sender = ?2 AND client_id = ?3",
                rows::MESSAGE_COLUMNS
            ))?
            .query_row(
                params![id.as_bytes(), sender.as_bytes(), client_id.as_str()],
                rows::message,
            )
            .optional()?)
    }

    fn blob(&self, sha256: BlobId) -> Result<Option<BlobRow>> {
        super::sqlite_blobs::blob(self.conn, sha256)
    }

    fn visible_blob(&self, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>> {
        super::sqlite_blobs::visible_blob(self.conn, uid, sha256)
    }

    fn insert_message_blobs(&self, id: ConversationId, seq: Seq, blobs: &[BlobId]) -> Result<()> {
        super::sqlite_blobs::insert_message_blobs(self.conn, id, seq, blobs)
    }

    fn delete_message_blobs(&self, id: ConversationId, seq: Seq) -> Result<()> {
        super::sqlite_blobs::delete_message_blobs(self.conn, id, seq)
    }

    fn insert_blob(&self, blob: &BlobRow) -> Result<()> {
        super::sqlite_blobs::insert_blob(self.conn, blob)
    }

    fn has_claim(&self, uid: Uid, sha256: BlobId) -> Result<bool> {
        super::sqlite_blobs::has_claim(self.conn, uid, sha256)
    }

    fn claim_blob(&self, uid: Uid, sha256: BlobId, at: Millis) -> Result<()> {
        super::sqlite_blobs::claim_blob(self.conn, uid, sha256, at)
    }

    fn upload(&self, id: UploadId) -> Result<Option<UploadRow>> {
        super::sqlite_blobs::upload(self.conn, id)
    }

    fn upload_of(&self, uid: Uid, sha256: BlobId) -> Result<Option<UploadRow>> {
        super::sqlite_blobs::upload_of(self.conn, uid, sha256)
    }

    fn insert_upload(&self, upload: &UploadRow) -> Result<()> {
        super::sqlite_blobs::insert_upload(self.conn, upload)
    }

    fn update_upload(&self, upload: &UploadRow) -> Result<()> {
        super::sqlite_blobs::update_upload(self.conn, upload)
    }

    fn delete_upload(&self, id: UploadId) -> Result<()> {
        super::sqlite_blobs::delete_upload(self.conn, id)
    }

    fn expired_uploads(&self, uid: Option<Uid>, now: Millis, limit: u32) -> Result<Vec<UploadId>> {
        super::sqlite_blobs::expired_uploads(self.conn, uid, now, limit)
    }

    fn upload_usage(&self, uid: Uid, now: Millis) -> Result<(u32, u64)> {
        super::sqlite_blobs::upload_usage(self.conn, uid, now)
    }

    fn note_probe(&self, at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO server_state (key, value) VALUES ('ready_probe_at', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([at])?;
        Ok(())
    }

    fn user_disabled(&self, uid: Uid) -> Result<Option<bool>> {
        Ok(self
            .conn
            .prepare_cached("SELECT disabled FROM users WHERE uid = ?1")?
            .query_row([uid.as_bytes()], |r| r.get::<_, bool>(0))
            .optional()?)
    }

    fn set_disabled(&self, uid: Uid, disabled: bool) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE users SET disabled = ?2 WHERE uid = ?1")?
            .execute(params![uid.as_bytes(), disabled])?;
        Ok(())
    }

    fn set_password(&self, uid: Uid, password_hash: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE users SET password_hash = ?2 WHERE uid = ?1")?
            .execute(params![uid.as_bytes(), password_hash])?;
        Ok(())
    }

    fn invite(&self, code_hash: &TokenHash) -> Result<Option<(u32, Option<Millis>)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT uses_left, expires_at FROM invites WHERE code_hash = ?1")?
            .query_row([&code_hash[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn spend_invite(&self, code_hash: &TokenHash) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = ?1")?
            .execute([&code_hash[..]])?;
        Ok(())
    }

    fn insert_invite(&self, invite: &NewInvite, created_at: Millis) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO invites (id, code_hash, uses_left, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                invite.id,
                &invite.code_hash[..],
                invite.uses,
                invite.expires_at,
                created_at
            ])?;
        Ok(())
    }

    fn delete_invite(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM invites WHERE id = ?1")?
            .execute([id])?
            == 1)
    }
}
