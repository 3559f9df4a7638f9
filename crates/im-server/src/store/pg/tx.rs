//! The writer on PostgreSQL: [`Backend`] on one blocking `postgres` connection owned by the writer
//! thread, and [`WriteTx`] as one prepared statement per operation (cached per connection).
//!
//! Round trips are PostgreSQL's cost, so what a send writes is held back: the batch's resend
//! keys are looked up in one query before it runs ([`Backend::expect_sends`]), its new messages
//! go in one multi-row insert, its senders' read marks and its conversations' last seqs in one
//! update each, written before any other statement (so every statement sees them) and at
//! commit. Everything else is one prepared statement per call. Locking the batch's
//! conversations for several nodes is the next step (docs/CLUSTER.md).

use im_proto::{
    ClientId, Conversation, ConversationId, ConversationType, Message, MessageBody, MessageId,
    Millis, Seq, Uid, User,
};
use postgres::{Client, Row};

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::conn::PgConn;
use crate::blobs::{BlobId, BlobRow, UploadId, UploadRow};

use crate::error::{Error, Result};
use crate::hub::TokenHash;
use crate::store::backend::{Backend, Begun, IdempotencyKey, Stale};
use crate::store::rows::ConversationRow;
use crate::store::tx::{Fields, NewInvite, WriteTx};

/// A seq, version or count as PostgreSQL's `bigint`.
pub(super) fn big(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Corrupt(format!("{n} does not fit a bigint")))
}

/// A `bigint` read back as a seq, version or count.
pub(super) fn unsigned(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::Corrupt(format!("negative value {n}")))
}

pub(super) fn id16(bytes: &[u8]) -> Result<[u8; 16]> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("an id of {} bytes", bytes.len())))
}

/// The change counter as committed: the highest version stamped on anything.
pub(super) fn current_version(conn: &PgConn) -> Result<u64> {
    let row = conn.query_opt("SELECT value FROM change_counter", &[])?;
    unsigned(row.map_or(0, |r| r.get(0)))
}

/// A send's idempotency key.
type Key = (ConversationId, Uid, ClientId);

/// What the open transaction holds back, to write in one statement each: the batch's new
/// messages, the read marks its senders raise and its conversations' last seqs. Written before any other statement runs (so
/// every statement sees them) and at commit.
#[derive(Debug, Default)]
struct Pending {
    /// The keys of the batch's sends, looked up before it ran ([`Backend::expect_sends`])…
    checked: HashSet<Key>,
    /// …those of them already stored (resends of earlier batches)…
    stored: HashSet<Key>,
    /// …and those this batch stores.
    held: HashSet<Key>,
    messages: Vec<Message>,
    raises: HashMap<(Uid, ConversationId), Seq>,
    /// Conversations' new last seq and version.
    last_seqs: HashMap<ConversationId, (Seq, u64)>,
    /// A block was set or lifted (other writers then forget all they cached).
    blocks_changed: bool,
}

/// The writer's PostgreSQL connection.
#[derive(Debug)]
pub struct PgBackend {
    conn: PgConn,
    pending: RefCell<Pending>,
    /// The change counter after this writer's last commit: its count of committed batches
    /// (`None` before the first), of batches that changed blocks, and its value.
    writes: Option<i64>,
    blocks: i64,
    committed_version: i64,
}

impl PgBackend {
    /// A backend over a connection to a migrated database ([`super::migrate`]).
    pub fn new(client: Client) -> Self {
        Self {
            conn: PgConn::new(client),
            pending: RefCell::new(Pending::default()),
            writes: None,
            blocks: 0,
            committed_version: 0,
        }
    }

    /// A backend on its own connection to a migrated database, connected again when
    /// PostgreSQL drops it (at the next batch).
    pub fn open(config: &postgres::Config) -> Result<Self> {
        Ok(Self {
            conn: PgConn::open(config)?,
            pending: RefCell::new(Pending::default()),
            writes: None,
            blocks: 0,
            committed_version: 0,
        })
    }
}

impl Backend for PgBackend {
    type Tx<'a> = PgTx<'a>;

    fn begin(&mut self) -> Result<Begun> {
        *self.pending.get_mut() = Pending::default();
        self.conn.reconnect_if_lost()?;
        // The counter row, locked to commit: every node's batches take turns here, so versions
        // are in commit order and two batches never race for a conversation's next seq.
        let counter = self
            .conn
            .simple_first_row("BEGIN; SELECT value, writes, blocks FROM change_counter FOR UPDATE");
        let (value, writes, blocks) = match counter {
            Ok(Some(row)) if row.len() == 3 => (row[0], row[1], row[2]),
            Ok(_) => {
                self.roll_back();
                return Err(Error::Corrupt("the change counter row is missing".into()));
            }
            Err(e) => {
                self.roll_back();
                return Err(e);
            }
        };
        let stale = if self.writes == Some(writes) {
            Stale::Nothing
        } else if self.writes.is_none() || blocks != self.blocks {
            Stale::Everything
        } else {
            // Versions are in commit order: whatever changed since this writer's last commit
            // carries a higher one.
            // Most are only new messages: their last seq is all that moved.
            let changed = self.conn.query(
                "SELECT id, last_seq, membership_version > $1 FROM conversations
                 WHERE version > $1",
                &[&self.committed_version],
            );
            match changed {
                Ok(rows) => Stale::Conversations(
                    rows.iter()
                        .map(|r| {
                            let id = ConversationId::from_bytes(id16(r.get(0))?);
                            let members_changed: bool = r.get(2);
                            let last_seq =
                                (!members_changed).then(|| unsigned(r.get(1))).transpose()?;
                            Ok((id, last_seq))
                        })
                        .collect::<Result<_>>()?,
                ),
                Err(e) => {
                    self.roll_back();
                    return Err(e);
                }
            }
        };
        Ok(Begun {
            version: Some(unsigned(value)?),
            stale,
        })
    }

    fn expect_sends(&mut self, keys: &mut dyn Iterator<Item = IdempotencyKey<'_>>) -> Result<()> {
        let keys: Vec<IdempotencyKey<'_>> = keys.collect();
        if keys.is_empty() {
            return Ok(());
        }
        let client_ids: Vec<&str> = keys.iter().map(|(_, _, c)| c.as_str()).collect();
        let senders: Vec<&[u8]> = keys
            .iter()
            .map(|(_, u, _)| u.as_bytes().as_slice())
            .collect();
        let conversations: Vec<&[u8]> = keys
            .iter()
            .map(|(c, _, _)| c.as_bytes().as_slice())
            .collect();
        let stored = self.conn.query(
            "SELECT conversation_id, sender, client_id FROM messages
             WHERE (client_id, sender, conversation_id) IN
                 (SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]))",
            &[&client_ids, &senders, &conversations],
        )?;
        let pending = self.pending.get_mut();
        for row in &stored {
            pending.stored.insert((
                ConversationId::from_bytes(id16(row.get(0))?),
                Uid::from_bytes(id16(row.get(1))?),
                row.get::<_, &str>(2)
                    .parse::<ClientId>()
                    .map_err(|e| Error::Corrupt(format!("client id: {e}")))?,
            ));
        }
        pending
            .checked
            .extend(keys.iter().map(|(c, u, id)| (*c, *u, (*id).clone())));
        Ok(())
    }

    fn tx(&self) -> PgTx<'_> {
        PgTx {
            db: &self.conn,
            pending: &self.pending,
        }
    }

    fn commit(&mut self, version: u64) -> Result<()> {
        self.tx().flush()?;
        let blocks_changed = i64::from(std::mem::take(&mut self.pending.get_mut().blocks_changed));
        let row = self.conn.simple_first_row(&format!(
            "UPDATE change_counter SET value = {}, writes = writes + 1, blocks = blocks + {} \
             RETURNING writes, blocks; COMMIT",
            big(version)?,
            blocks_changed
        ))?;
        match row.as_deref() {
            Some(&[writes, blocks]) => {
                self.writes = Some(writes);
                self.blocks = blocks;
                self.committed_version = big(version)?;
                Ok(())
            }
            _ => Err(Error::Corrupt(format!(
                "the change counter's writes: {row:?}"
            ))),
        }
    }

    fn roll_back(&mut self) {
        *self.pending.get_mut() = Pending::default();
        if let Err(e) = self.conn.batch("ROLLBACK") {
            // A lost connection took the transaction with it; the next batch connects again.
            // Left inside a failed transaction on a live one, every later batch would fail
            // too: crash-only.
            if !self.conn.is_lost() {
                panic!("cannot roll back a failed write batch: {e}");
            }
        }
    }

    fn current_version(&self) -> Result<u64> {
        current_version(&self.conn)
    }

    fn after_commit(&mut self) {}

    fn commit_order(&self) -> Option<u64> {
        self.writes.and_then(|w| u64::try_from(w).ok())
    }

    fn mark_clean_stop(&mut self, version: u64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO server_state (key, value) VALUES ('checked_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&big(version)?],
            )
            .map(drop)
    }
}

/// The open transaction's statements.
#[derive(Debug, Clone, Copy)]
pub struct PgTx<'a> {
    db: &'a PgConn,
    pending: &'a RefCell<Pending>,
}

/// A message row: `conversation_id, seq, id, sender, client_id, type, body, timestamp,
/// reply_to, edited_at, mentions, mention_all, reactions`.
pub(super) fn message(row: &Row) -> Result<Message> {
    let kind: &str = row.get(5);
    let body = crate::store::rows::message_body(kind, row.get(6)).map_err(Error::Corrupt)?;
    let reply_to: Option<i64> = row.get(8);
    let (mentions, reactions) =
        crate::store::rows::message_extras(row.get(10), row.get(12)).map_err(Error::Corrupt)?;
    Ok(Message {
        conversation_id: ConversationId::from_bytes(id16(row.get(0))?),
        seq: unsigned(row.get(1))?,
        id: MessageId::from_bytes(id16(row.get(2))?),
        from: Uid::from_bytes(id16(row.get(3))?),
        client_id: row
            .get::<_, &str>(4)
            .parse::<ClientId>()
            .map_err(|e| Error::Corrupt(format!("client id: {e}")))?,
        timestamp: row.get(7),
        body,
        reply_to: reply_to.map(unsigned).transpose()?,
        edited_at: row.get(9),
        mentions,
        mention_all: row.get(11),
        reactions,
    })
}

impl PgTx<'_> {
    /// Writes what is held back: the new messages in one insert, the raised read marks in one
    /// update, the conversations' last seqs in another.
    fn flush(&self) -> Result<()> {
        let (messages, raises, last_seqs) = {
            let mut pending = self.pending.borrow_mut();
            (
                std::mem::take(&mut pending.messages),
                std::mem::take(&mut pending.raises),
                std::mem::take(&mut pending.last_seqs),
            )
        };
        if !messages.is_empty() {
            let mut conversations = Vec::with_capacity(messages.len());
            let mut seqs = Vec::with_capacity(messages.len());
            let mut ids = Vec::with_capacity(messages.len());
            let mut senders = Vec::with_capacity(messages.len());
            let mut client_ids = Vec::with_capacity(messages.len());
            let mut bodies = Vec::with_capacity(messages.len());
            let mut kinds = Vec::with_capacity(messages.len());
            let mut times = Vec::with_capacity(messages.len());
            let mut replies = Vec::with_capacity(messages.len());
            let mut mentions = Vec::with_capacity(messages.len());
            let mut mention_all = Vec::with_capacity(messages.len());
            for m in &messages {
                conversations.push(m.conversation_id.as_bytes().as_slice());
                seqs.push(big(m.seq)?);
                ids.push(m.id.as_bytes().as_slice());
                senders.push(m.from.as_bytes().as_slice());
                client_ids.push(m.client_id.as_str());
                bodies.push(crate::store::rows::stored_body(&m.body));
                kinds.push(m.body.kind());
                times.push(m.timestamp);
                replies.push(m.reply_to.map(big).transpose()?);
                mentions.push(crate::store::rows::stored_mentions(m));
                mention_all.push(m.mention_all);
            }
            let inserted = self.db.execute(
                "INSERT INTO messages
                     (conversation_id, seq, id, sender, client_id, type, body, timestamp, reply_to,
                      mentions, mention_all)
                 SELECT c, s, i, f, k, y, b, t, r, n, a
                 FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[], $5::text[],
                             $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::bool[],
                             $11::text[])
                     AS v(c, s, i, f, k, b, t, r, n, a, y)
                 ON CONFLICT (client_id, sender, conversation_id) DO NOTHING",
                &[
                    &conversations,
                    &seqs,
                    &ids,
                    &senders,
                    &client_ids,
                    &bodies,
                    &times,
                    &replies,
                    &mentions,
                    &mention_all,
                    &kinds,
                ],
            )?;
            // The batch looked its keys up inside this transaction and this writer is the only
            // one: a key stored meanwhile means the database changed under it. (With several
            // writers this becomes a transient failure of the batch: docs/CLUSTER.md.)
            if inserted != messages.len() as u64 {
                return Err(Error::Corrupt(format!(
                    "{} of {} held-back messages were stored meanwhile",
                    messages.len() as u64 - inserted,
                    messages.len()
                )));
            }
        }
        if !raises.is_empty() {
            let mut uids = Vec::with_capacity(raises.len());
            let mut conversations = Vec::with_capacity(raises.len());
            let mut seqs = Vec::with_capacity(raises.len());
            for ((uid, id), seq) in &raises {
                uids.push(uid.as_bytes().as_slice());
                conversations.push(id.as_bytes().as_slice());
                seqs.push(big(*seq)?);
            }
            self.db.execute(
                "UPDATE members m SET read_seq = v.seq
                 FROM unnest($1::bytea[], $2::bytea[], $3::bigint[]) AS v(uid, conversation_id, seq)
                 WHERE m.uid = v.uid AND m.conversation_id = v.conversation_id
                     AND m.read_seq < v.seq",
                &[&uids, &conversations, &seqs],
            )?;
        }
        if !last_seqs.is_empty() {
            let mut ids = Vec::with_capacity(last_seqs.len());
            let mut seqs = Vec::with_capacity(last_seqs.len());
            let mut versions = Vec::with_capacity(last_seqs.len());
            for (id, (seq, version)) in &last_seqs {
                ids.push(id.as_bytes().as_slice());
                seqs.push(big(*seq)?);
                versions.push(big(*version)?);
            }
            self.db.execute(
                "UPDATE conversations c SET last_seq = v.last_seq, version = v.version
                 FROM unnest($1::bytea[], $2::bigint[], $3::bigint[]) AS v(id, last_seq, version)
                 WHERE c.id = v.id",
                &[&ids, &seqs, &versions],
            )?;
        }
        Ok(())
    }

    fn active_members(&self, id: ConversationId) -> Result<Vec<Uid>> {
        self.db
            .query(ACTIVE_MEMBERS_SQL, &[&id.as_bytes().as_slice()])?
            .iter()
            .map(|r| Ok(Uid::from_bytes(id16(r.get(0))?)))
            .collect()
    }
}

/// A conversation's row by id, read by [`conversation_row`].
pub(super) const CONVERSATION_SQL: &str =
    "SELECT id, title, icon, manager_id, remark, user_count, attrs, create_time, type, last_seq,
         version, changes_version
     FROM conversations WHERE id = $1";

/// A conversation's active members, in joining order.
pub(super) const ACTIVE_MEMBERS_SQL: &str =
    "SELECT uid FROM members WHERE conversation_id = $1 AND active ORDER BY position";

/// A row of [`CONVERSATION_SQL`], with its active members.
pub(super) fn conversation_row(row: &Row, user_ids: Vec<Uid>) -> Result<ConversationRow> {
    let attrs: &str = row.get(6);
    let kind: &str = row.get(8);
    let user_count: i32 = row.get(5);
    Ok(ConversationRow {
        conversation: Conversation {
            id: ConversationId::from_bytes(id16(row.get(0))?),
            title: row.get(1),
            icon: row.get(2),
            manager_id: Uid::from_bytes(id16(row.get(3))?),
            remark: row.get(4),
            user_count: u32::try_from(user_count)
                .map_err(|_| Error::Corrupt(format!("user_count {user_count}")))?,
            attrs: serde_json::from_str(attrs)
                .map_err(|e| Error::Corrupt(format!("attrs: {e}")))?,
            create_time: row.get(7),
            kind: ConversationType::from_wire(kind)
                .ok_or_else(|| Error::Corrupt(format!("conversation type {kind:?}")))?,
            user_ids,
        },
        last_seq: unsigned(row.get(9))?,
        version: unsigned(row.get(10))?,
        changes_version: unsigned(row.get(11))?,
    })
}

impl WriteTx for PgTx<'_> {
    fn insert_user(&self, user: &User, password_hash: &str, created_at: Millis) -> Result<bool> {
        self.flush()?;
        let inserted = self.db.execute(
            "INSERT INTO users (uid, username, display_name, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING",
            &[
                &user.uid.as_bytes().as_slice(),
                &user.username,
                &user.display_name,
                &password_hash,
                &created_at,
            ],
        )?;
        Ok(inserted == 1)
    }

    fn missing_users(&self, uids: &[Uid]) -> Result<Vec<Uid>> {
        self.flush()?;
        let mut missing = Vec::new();
        for uid in uids {
            let found = self.db.query_opt(
                "SELECT 1 FROM users WHERE uid = $1",
                &[&uid.as_bytes().as_slice()],
            )?;
            if found.is_none() {
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
        self.flush()?;
        self.db
            .execute(
                "INSERT INTO sessions (token_hash, uid, device, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    &token_hash.as_slice(),
                    &uid.as_bytes().as_slice(),
                    &device,
                    &at,
                ],
            )
            .map(drop)
    }

    fn delete_session(&self, token_hash: &TokenHash) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "DELETE FROM sessions WHERE token_hash = $1",
                &[&token_hash.as_slice()],
            )
            .map(drop)
    }

    fn sessions_of(&self, uid: Uid) -> Result<Vec<TokenHash>> {
        self.flush()?;
        // `made` (an identity) breaks ties between sessions made in the same millisecond, as
        // SQLite's rowid does.
        self.db
            .query(
                "SELECT token_hash FROM sessions WHERE uid = $1 ORDER BY created_at, made",
                &[&uid.as_bytes().as_slice()],
            )?
            .iter()
            .map(|r| {
                r.get::<_, &[u8]>(0)
                    .try_into()
                    .map_err(|_| Error::Corrupt("a token hash not of 32 bytes".into()))
            })
            .collect()
    }

    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>> {
        self.flush()?;
        let Some(row) = self
            .db
            .query_opt(CONVERSATION_SQL, &[&id.as_bytes().as_slice()])?
        else {
            return Ok(None);
        };
        conversation_row(&row, self.active_members(id)?).map(Some)
    }

    fn conversation_by_members(&self, member_key: &[u8]) -> Result<Option<ConversationId>> {
        self.flush()?;
        // The oldest: by create_time, then by the order they were made in (`made`).
        self.db
            .query_opt(
                "SELECT id FROM conversations WHERE member_key = $1
                 ORDER BY create_time, made LIMIT 1",
                &[&member_key],
            )?
            .map(|r| Ok(ConversationId::from_bytes(id16(r.get(0))?)))
            .transpose()
    }

    fn insert_conversation(&self, c: &Conversation, member_key: &[u8], version: u64) -> Result<()> {
        self.flush()?;
        let user_count = i32::try_from(c.user_count)
            .map_err(|_| Error::Corrupt(format!("user_count {}", c.user_count)))?;
        self.db
            .execute(
                "INSERT INTO conversations (id, title, icon, manager_id, remark, user_count, attrs,
                     create_time, type, member_key, last_seq, version, membership_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11)",
                &[
                    &c.id.as_bytes().as_slice(),
                    &c.title,
                    &c.icon,
                    &c.manager_id.as_bytes().as_slice(),
                    &c.remark,
                    &user_count,
                    &serde_json::Value::Object(c.attrs.clone()).to_string(),
                    &c.create_time,
                    &c.kind.as_str(),
                    &member_key,
                    &big(version)?,
                ],
            )
            .map(drop)
    }

    fn update_conversation(&self, id: ConversationId, f: &Fields, version: u64) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "UPDATE conversations SET
                     title = coalesce($2, title), icon = coalesce($3, icon),
                     remark = coalesce($4, remark), attrs = coalesce($5, attrs), version = $6
                 WHERE id = $1",
                &[
                    &id.as_bytes().as_slice(),
                    &f.title,
                    &f.icon,
                    &f.remark,
                    &f.attrs,
                    &big(version)?,
                ],
            )
            .map(drop)
    }

    fn set_membership(
        &self,
        id: ConversationId,
        count: usize,
        member_key: &[u8],
        manager: Uid,
        version: u64,
    ) -> Result<()> {
        self.flush()?;
        let count = i32::try_from(count).map_err(|_| Error::Corrupt(format!("{count} members")))?;
        self.db
            .execute(
                "UPDATE conversations SET user_count = $2, member_key = $3, manager_id = $4,
                     version = $5, membership_version = $5 WHERE id = $1",
                &[
                    &id.as_bytes().as_slice(),
                    &count,
                    &member_key,
                    &manager.as_bytes().as_slice(),
                    &big(version)?,
                ],
            )
            .map(drop)
    }

    fn set_last_seq(&self, id: ConversationId, last_seq: Seq, version: u64) -> Result<()> {
        // Held back with the messages: the engine sets every conversation's at the batch's end.
        self.pending
            .borrow_mut()
            .last_seqs
            .insert(id, (last_seq, version));
        Ok(())
    }

    fn add_members(
        &self,
        id: ConversationId,
        uids: &[Uid],
        read_seq: Seq,
        version: u64,
    ) -> Result<()> {
        self.flush()?;
        let next: i32 = self
            .db
            .query_opt(
                "SELECT coalesce(max(position), -1) + 1 FROM members WHERE conversation_id = $1",
                &[&id.as_bytes().as_slice()],
            )?
            .map_or(0, |r| r.get(0));
        for (i, uid) in uids.iter().enumerate() {
            let position =
                next + i32::try_from(i).map_err(|_| Error::Corrupt(format!("{i} new members")))?;
            self.db.execute(
                "INSERT INTO members (uid, conversation_id, position, active, read_seq, version)
                 VALUES ($1, $2, $3, true, $4, $5)
                 ON CONFLICT (uid, conversation_id) DO UPDATE SET
                     active = true, position = excluded.position, read_seq = excluded.read_seq,
                     version = excluded.version",
                &[
                    &uid.as_bytes().as_slice(),
                    &id.as_bytes().as_slice(),
                    &position,
                    &big(read_seq)?,
                    &big(version)?,
                ],
            )?;
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
        self.flush()?;
        for uid in uids {
            self.db.execute(
                "UPDATE members SET active = false, version = $3, left_seq = $4, left_snapshot = $5
                 WHERE uid = $1 AND conversation_id = $2",
                &[
                    &uid.as_bytes().as_slice(),
                    &id.as_bytes().as_slice(),
                    &big(version)?,
                    &big(left_seq)?,
                    &snapshot,
                ],
            )?;
        }
        Ok(())
    }

    fn read_seq(&self, uid: Uid, id: ConversationId) -> Result<Option<Seq>> {
        self.flush()?;
        self.db
            .query_opt(
                "SELECT read_seq FROM members WHERE uid = $1 AND conversation_id = $2",
                &[&uid.as_bytes().as_slice(), &id.as_bytes().as_slice()],
            )?
            .map(|r| unsigned(r.get(0)))
            .transpose()
    }

    fn set_read_seq(&self, uid: Uid, id: ConversationId, seq: Seq, version: u64) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "UPDATE members SET read_seq = $3, version = $4
                 WHERE uid = $1 AND conversation_id = $2",
                &[
                    &uid.as_bytes().as_slice(),
                    &id.as_bytes().as_slice(),
                    &big(seq)?,
                    &big(version)?,
                ],
            )
            .map(drop)
    }

    fn muted(&self, uid: Uid, id: ConversationId) -> Result<Option<bool>> {
        self.flush()?;
        Ok(self
            .db
            .query_opt(
                "SELECT muted FROM members WHERE uid = $1 AND conversation_id = $2",
                &[&uid.as_bytes().as_slice(), &id.as_bytes().as_slice()],
            )?
            .map(|r| r.get(0)))
    }

    fn set_muted(&self, uid: Uid, id: ConversationId, muted: bool, version: u64) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "UPDATE members SET muted = $3, version = $4
                 WHERE uid = $1 AND conversation_id = $2",
                &[
                    &uid.as_bytes().as_slice(),
                    &id.as_bytes().as_slice(),
                    &muted,
                    &big(version)?,
                ],
            )
            .map(drop)
    }

    fn blocks(&self, uid: Uid, other: Uid) -> Result<bool> {
        self.flush()?;
        Ok(self
            .db
            .query_opt(
                "SELECT 1 FROM blocks WHERE uid = $1 AND blocked = $2",
                &[&uid.as_bytes().as_slice(), &other.as_bytes().as_slice()],
            )?
            .is_some())
    }

    fn set_block(&self, uid: Uid, other: Uid, blocked: bool, at: Millis) -> Result<bool> {
        self.flush()?;
        let (uid, other) = (uid.as_bytes().as_slice(), other.as_bytes().as_slice());
        let changed = if blocked {
            self.db.execute(
                "INSERT INTO blocks (uid, blocked, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (uid, blocked) DO NOTHING",
                &[&uid, &other, &at],
            )?
        } else {
            self.db.execute(
                "DELETE FROM blocks WHERE uid = $1 AND blocked = $2",
                &[&uid, &other],
            )?
        };
        if changed == 1 {
            self.pending.borrow_mut().blocks_changed = true;
        }
        Ok(changed == 1)
    }

    fn raise_read_seq(&self, uid: Uid, id: ConversationId, seq: Seq) -> Result<()> {
        let mut pending = self.pending.borrow_mut();
        let raised = pending.raises.entry((uid, id)).or_insert(seq);
        *raised = (*raised).max(seq);
        Ok(())
    }

    fn insert_message(&self, m: &Message) -> Result<bool> {
        let kind = match &m.body {
            MessageBody::Text { .. } | MessageBody::Image(_) | MessageBody::File(_) => {
                m.body.kind()
            }
            other => {
                return Err(Error::Corrupt(format!(
                    "cannot store a message body {other:?}"
                )))
            }
        };
        let key = (m.conversation_id, m.from, m.client_id.clone());
        {
            let mut pending = self.pending.borrow_mut();
            if pending.checked.contains(&key) {
                if pending.stored.contains(&key) || pending.held.contains(&key) {
                    return Ok(false);
                }
                pending.held.insert(key);
                pending.messages.push(m.clone());
                return Ok(true);
            }
        }
        // Not looked up before the batch: stored here and now.
        self.flush()?;
        let inserted = self.db.execute(
            "INSERT INTO messages
                 (conversation_id, seq, id, sender, client_id, type, body, timestamp, reply_to,
                  mentions, mention_all)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (client_id, sender, conversation_id) DO NOTHING",
            &[
                &m.conversation_id.as_bytes().as_slice(),
                &big(m.seq)?,
                &m.id.as_bytes().as_slice(),
                &m.from.as_bytes().as_slice(),
                &m.client_id.as_str(),
                &kind,
                &crate::store::rows::stored_body(&m.body).as_ref(),
                &m.timestamp,
                &m.reply_to.map(big).transpose()?,
                &crate::store::rows::stored_mentions(m),
                &m.mention_all,
            ],
        )?;
        Ok(inserted == 1)
    }

    fn message_by_seq(&self, id: ConversationId, seq: Seq) -> Result<Option<Message>> {
        self.flush()?;
        self.db
            .query_opt(
                "SELECT conversation_id, seq, id, sender, client_id, type, body, timestamp,
                     reply_to, edited_at, mentions, mention_all, reactions
                 FROM messages WHERE conversation_id = $1 AND seq = $2",
                &[&id.as_bytes().as_slice(), &big(seq)?],
            )?
            .map(|r| message(&r))
            .transpose()
    }

    fn change_message(&self, m: &Message, version: u64) -> Result<()> {
        self.flush()?;
        let id = m.conversation_id.as_bytes().as_slice();
        let version = big(version)?;
        let changed = self.db.execute(
            "UPDATE messages SET type = $3, body = $4, edited_at = $5, change_version = $6,
                 reactions = $7
             WHERE conversation_id = $1 AND seq = $2",
            &[
                &id,
                &big(m.seq)?,
                &m.body.kind(),
                &crate::store::rows::stored_body(&m.body).as_ref(),
                &m.edited_at,
                &version,
                &crate::store::rows::stored_reactions(m),
            ],
        )?;
        if changed != 1 {
            return Err(Error::Corrupt(format!(
                "no message {} in conversation {} to change",
                m.seq, m.conversation_id
            )));
        }
        self.db.execute(
            "UPDATE conversations SET changes_version = $2 WHERE id = $1",
            &[&id, &version],
        )?;
        Ok(())
    }

    fn message_by_client_id(
        &self,
        id: ConversationId,
        sender: Uid,
        client_id: &ClientId,
    ) -> Result<Option<Message>> {
        self.flush()?;
        self.db
            .query_opt(
                "SELECT conversation_id, seq, id, sender, client_id, type, body, timestamp,
                     reply_to, edited_at, mentions, mention_all, reactions
                 FROM messages WHERE conversation_id = $1 AND sender = $2 AND client_id = $3",
                &[
                    &id.as_bytes().as_slice(),
                    &sender.as_bytes().as_slice(),
                    &client_id.as_str(),
                ],
            )?
            .map(|r| message(&r))
            .transpose()
    }

    fn user_disabled(&self, uid: Uid) -> Result<Option<bool>> {
        self.flush()?;
        Ok(self
            .db
            .query_opt(
                "SELECT disabled FROM users WHERE uid = $1",
                &[&uid.as_bytes().as_slice()],
            )?
            .map(|r| r.get(0)))
    }

    fn set_disabled(&self, uid: Uid, disabled: bool) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "UPDATE users SET disabled = $2 WHERE uid = $1",
                &[&uid.as_bytes().as_slice(), &disabled],
            )
            .map(drop)
    }

    fn set_password(&self, uid: Uid, password_hash: &str) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "UPDATE users SET password_hash = $2 WHERE uid = $1",
                &[&uid.as_bytes().as_slice(), &password_hash],
            )
            .map(drop)
    }

    fn invite(&self, code_hash: &TokenHash) -> Result<Option<(u32, Option<Millis>)>> {
        self.flush()?;
        self.db
            .query_opt(
                "SELECT uses_left, expires_at FROM invites WHERE code_hash = $1",
                &[&code_hash.as_slice()],
            )?
            .map(|r| {
                let uses: i32 = r.get(0);
                let uses =
                    u32::try_from(uses).map_err(|_| Error::Corrupt(format!("{uses} uses left")))?;
                Ok((uses, r.get(1)))
            })
            .transpose()
    }

    fn spend_invite(&self, code_hash: &TokenHash) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = $1",
                &[&code_hash.as_slice()],
            )
            .map(drop)
    }

    fn insert_invite(&self, invite: &NewInvite, created_at: Millis) -> Result<()> {
        self.flush()?;
        let uses = i32::try_from(invite.uses)
            .map_err(|_| Error::Corrupt(format!("{} uses", invite.uses)))?;
        self.db
            .execute(
                "INSERT INTO invites (id, code_hash, uses_left, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &invite.id,
                    &invite.code_hash.as_slice(),
                    &uses,
                    &invite.expires_at,
                    &created_at,
                ],
            )
            .map(drop)
    }

    fn delete_invite(&self, id: &str) -> Result<bool> {
        self.flush()?;
        Ok(self
            .db
            .execute("DELETE FROM invites WHERE id = $1", &[&id])?
            == 1)
    }

    fn blob(&self, sha256: BlobId) -> Result<Option<BlobRow>> {
        self.flush()?;
        super::blobs::blob(self.db, sha256)
    }

    fn visible_blob(&self, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>> {
        self.flush()?;
        super::blobs::visible_blob(self.db, uid, sha256)
    }

    fn insert_message_blobs(&self, id: ConversationId, seq: Seq, blobs: &[BlobId]) -> Result<()> {
        self.flush()?;
        super::blobs::insert_message_blobs(self.db, id, seq, blobs)
    }

    fn delete_message_blobs(&self, id: ConversationId, seq: Seq) -> Result<()> {
        self.flush()?;
        super::blobs::delete_message_blobs(self.db, id, seq)
    }

    fn insert_blob(&self, blob: &BlobRow) -> Result<()> {
        self.flush()?;
        super::blobs::insert_blob(self.db, blob)
    }

    fn has_claim(&self, uid: Uid, sha256: BlobId) -> Result<bool> {
        self.flush()?;
        super::blobs::has_claim(self.db, uid, sha256)
    }

    fn claim_blob(&self, uid: Uid, sha256: BlobId, at: Millis) -> Result<()> {
        self.flush()?;
        super::blobs::claim_blob(self.db, uid, sha256, at)
    }

    fn upload(&self, id: UploadId) -> Result<Option<UploadRow>> {
        self.flush()?;
        super::blobs::upload(self.db, id)
    }

    fn upload_of(&self, uid: Uid, sha256: BlobId) -> Result<Option<UploadRow>> {
        self.flush()?;
        super::blobs::upload_of(self.db, uid, sha256)
    }

    fn insert_upload(&self, upload: &UploadRow) -> Result<()> {
        self.flush()?;
        super::blobs::insert_upload(self.db, upload)
    }

    fn update_upload(&self, upload: &UploadRow) -> Result<()> {
        self.flush()?;
        super::blobs::update_upload(self.db, upload)
    }

    fn delete_upload(&self, id: UploadId) -> Result<()> {
        self.flush()?;
        super::blobs::delete_upload(self.db, id)
    }

    fn expired_uploads(&self, uid: Option<Uid>, now: Millis, limit: u32) -> Result<Vec<UploadId>> {
        self.flush()?;
        super::blobs::expired_uploads(self.db, uid, now, limit)
    }

    fn upload_usage(&self, uid: Uid, now: Millis) -> Result<(u32, u64)> {
        self.flush()?;
        super::blobs::upload_usage(self.db, uid, now)
    }

    fn note_probe(&self, at: Millis) -> Result<()> {
        self.flush()?;
        self.db
            .execute(
                "INSERT INTO server_state (key, value) VALUES ('ready_probe_at', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&at],
            )
            .map(drop)
    }
}
