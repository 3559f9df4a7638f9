//! Reading rows back into protocol types, shared by the writer and the readers.

use im_proto::{
    ClientId, Conversation, ConversationId, ConversationType, ConversationView, Message,
    MessageBody, MessageId, Seq, Uid, User,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::read_conn::ReadConn;
use crate::error::{Error, Result};

fn conversion(
    idx: usize,
    ty: Type,
    err: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, Box::new(err))
}

/// Column `idx` as a user id.
pub fn uid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uid> {
    Ok(Uid::from_bytes(row.get(idx)?))
}

/// Column `idx` as a conversation id.
pub fn conversation_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<ConversationId> {
    Ok(ConversationId::from_bytes(row.get(idx)?))
}

/// The columns [`message`] reads, in order.
pub const MESSAGE_COLUMNS: &str = "conversation_id, seq, id, sender, client_id, type, body, \
     timestamp, reply_to, edited_at, mentions, mention_all, reactions";

/// The stored form of a message's mentions: a JSON array of uids, `None` for none.
pub fn stored_mentions(m: &Message) -> Option<String> {
    (!m.mentions.is_empty()).then(|| serde_json::to_string(&m.mentions).expect("uids serialize"))
}

/// The stored form of a message's reactions: JSON, `None` for none.
pub fn stored_reactions(m: &Message) -> Option<String> {
    (!m.reactions.is_empty())
        .then(|| serde_json::to_string(&m.reactions).expect("reactions serialize"))
}

/// Mentions and reactions read back from their stored forms.
pub fn message_extras(
    mentions: Option<String>,
    reactions: Option<String>,
) -> std::result::Result<(Vec<im_proto::Uid>, Vec<im_proto::Reaction>), String> {
    let mentions = match mentions {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("mentions: {e}"))?,
        None => Vec::new(),
    };
    let reactions = match reactions {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("reactions: {e}"))?,
        None => Vec::new(),
    };
    Ok((mentions, reactions))
}

/// A message body from its stored `type` and `body` (a recalled one keeps who recalled it).
pub fn message_body(kind: &str, body: String) -> std::result::Result<MessageBody, String> {
    match kind {
        "text" => Ok(MessageBody::Text { text: body }),
        "image" => serde_json::from_str(&body)
            .map(MessageBody::Image)
            .map_err(|e| format!("image content {body:?}: {e}")),
        "file" => serde_json::from_str(&body)
            .map(MessageBody::File)
            .map_err(|e| format!("file content {body:?}: {e}")),
        "recalled" => Ok(MessageBody::Recalled {
            by: body
                .parse()
                .map_err(|e| format!("recalled by {body:?}: {e}"))?,
        }),
        other => Err(format!("unknown message type {other:?}")),
    }
}

/// The stored `body` of a message body (see [`message_body`]).
pub fn stored_body(body: &MessageBody) -> std::borrow::Cow<'_, str> {
    match body {
        MessageBody::Recalled { by } => by.to_string().into(),
        MessageBody::Image(image) => serde_json::to_string(image)
            .expect("contents serialize")
            .into(),
        MessageBody::File(file) => serde_json::to_string(file)
            .expect("contents serialize")
            .into(),
        other => other.preview().into(),
    }
}

/// A `messages` row selected with [`MESSAGE_COLUMNS`].
pub fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    let client_id: String = row.get(4)?;
    let kind: String = row.get(5)?;
    let body = message_body(&kind, row.get(6)?)
        .map_err(|e| conversion(5, Type::Text, std::io::Error::other(e)))?;
    let (mentions, reactions) = message_extras(row.get(10)?, row.get(12)?)
        .map_err(|e| conversion(10, Type::Text, std::io::Error::other(e)))?;
    Ok(Message {
        conversation_id: conversation_id(row, 0)?,
        seq: row.get(1)?,
        id: MessageId::from_bytes(row.get(2)?),
        from: uid(row, 3)?,
        client_id: client_id
            .parse::<ClientId>()
            .map_err(|e| conversion(4, Type::Text, e))?,
        timestamp: row.get(7)?,
        body,
        reply_to: row.get(8)?,
        edited_at: row.get(9)?,
        mentions,
        mention_all: row.get(11)?,
        reactions,
    })
}

/// The columns [`user`] reads, in order.
pub const USER_COLUMNS: &str = "uid, username, display_name";

/// A `users` row selected with [`USER_COLUMNS`].
pub fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        uid: uid(row, 0)?,
        username: row.get(1)?,
        display_name: row.get(2)?,
    })
}

/// A conversation row with its bookkeeping.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub conversation: Conversation,
    pub last_seq: Seq,
    pub version: u64,
    /// The change counter of the newest edit or recall of one of its messages (0: none).
    pub changes_version: u64,
}

const CONVERSATION_COLUMNS: &str = "id, title, icon, manager_id, remark, user_count, attrs, \
     create_time, type, last_seq, version, changes_version";

fn conversation_row(row: &Row<'_>) -> rusqlite::Result<ConversationRow> {
    let attrs: String = row.get(6)?;
    let kind: String = row.get(8)?;
    Ok(ConversationRow {
        conversation: Conversation {
            id: conversation_id(row, 0)?,
            title: row.get(1)?,
            icon: row.get(2)?,
            manager_id: uid(row, 3)?,
            remark: row.get(4)?,
            user_count: row.get(5)?,
            attrs: serde_json::from_str(&attrs).map_err(|e| conversion(6, Type::Text, e))?,
            create_time: row.get(7)?,
            kind: ConversationType::from_wire(&kind).ok_or_else(|| {
                conversion(
                    8,
                    Type::Text,
                    std::io::Error::other(format!("type {kind:?}")),
                )
            })?,
            user_ids: Vec::new(),
        },
        last_seq: row.get(9)?,
        version: row.get(10)?,
        changes_version: row.get(11)?,
    })
}

/// The active members of a conversation, in joining order.
pub fn active_members(conn: &Connection, id: ConversationId) -> Result<Vec<Uid>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM members WHERE conversation_id = ?1 AND active = 1 ORDER BY position",
    )?;
    let rows = stmt.query_map([id.as_bytes()], |r| uid(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A conversation with its members, or `None` if there is no such conversation.
pub fn conversation(conn: &Connection, id: ConversationId) -> Result<Option<ConversationRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"
    ))?;
    let Some(mut row) = stmt
        .query_row([id.as_bytes()], conversation_row)
        .optional()?
    else {
        return Ok(None);
    };
    row.conversation.user_ids = active_members(conn, id)?;
    Ok(Some(row))
}

/// A user's read mark in a conversation, if they are (or were) a member.
pub fn read_seq(conn: &Connection, uid: Uid, id: ConversationId) -> Result<Option<Seq>> {
    let mut stmt = conn
        .prepare_cached("SELECT read_seq FROM members WHERE uid = ?1 AND conversation_id = ?2")?;
    Ok(stmt
        .query_row(params![uid.as_bytes(), id.as_bytes()], |r| r.get(0))
        .optional()?)
}

/// One message by its seq.
pub fn message_by_seq(conn: &Connection, id: ConversationId, seq: Seq) -> Result<Option<Message>> {
    if seq == 0 {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND seq = ?2"
    ))?;
    Ok(stmt
        .query_row(params![id.as_bytes(), seq], message)
        .optional()?)
}

/// A member's own state in a conversation.
#[derive(Debug, Clone)]
pub struct MemberState {
    pub id: ConversationId,
    pub active: bool,
    pub read_seq: Seq,
    pub version: u64,
    /// For a former member: the last seq and the conversation as they were when they left.
    pub left_seq: Seq,
    pub left_snapshot: Option<String>,
    /// The member muted the conversation.
    pub muted: bool,
}

/// The columns [`member_state`] reads, in order (from `members`).
pub const MEMBER_COLUMNS: &str =
    "conversation_id, active, read_seq, version, left_seq, left_snapshot, muted";

/// A `members` row selected with [`MEMBER_COLUMNS`] (optionally prefixed by a table alias).
pub fn member_state(row: &Row<'_>) -> rusqlite::Result<MemberState> {
    Ok(MemberState {
        id: conversation_id(row, 0)?,
        active: row.get(1)?,
        read_seq: row.get(2)?,
        version: row.get(3)?,
        left_seq: row.get(4)?,
        left_snapshot: row.get(5)?,
        muted: row.get(6)?,
    })
}

/// A conversation as `uid` sees it. A former member sees it as it was when they left.
pub fn view<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    member: &MemberState,
) -> Result<ConversationView> {
    if !member.active {
        let conversation = match &member.left_snapshot {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| Error::Corrupt(format!("left_snapshot: {e}")))?,
            None => return Err(Error::Corrupt("former member without a snapshot".into())),
        };
        let read_seq = member.read_seq.min(member.left_seq);
        return Ok(ConversationView {
            conversation,
            last_seq: member.left_seq,
            last_message: conn.message_by_seq(member.id, member.left_seq)?,
            read_seq,
            others_read_seq: 0,
            unread_count: member.left_seq - read_seq,
            version: member.version,
            removed: true,
            muted: member.muted,
            changes_version: 0,
        });
    }
    let row = conn
        .conversation(member.id)?
        .ok_or_else(|| Error::Corrupt(format!("member of missing conversation {}", member.id)))?;
    let last_message = conn.message_by_seq(member.id, row.last_seq)?;
    let read_seq = member.read_seq.min(row.last_seq);
    Ok(ConversationView {
        last_seq: row.last_seq,
        last_message,
        read_seq,
        others_read_seq: conn.others_read_seq(member.id, uid)?.min(row.last_seq),
        unread_count: row.last_seq - read_seq,
        version: row.version.max(row.changes_version).max(member.version),
        removed: false,
        muted: member.muted,
        changes_version: row.changes_version,
        conversation: row.conversation,
    })
}
