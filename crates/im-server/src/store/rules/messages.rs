//! Sending messages (texts, images and files; gapless seqs from the hot cache, idempotent by
//! client id), editing and recalling them, and moving read marks.

use std::sync::Arc;

use im_proto::{
    encode_event_json, ClientId, ConversationId, ConversationType, ErrorCode, Event, Message,
    MessageBody, MessageId, Reaction, ReadMark, Receipt, Seq, Uid, MAX_REACTIONS,
};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{now_millis, refused, Ctx};
use crate::error::{Error, Result};
use crate::store::command::{Origin, Push, Value};
use crate::store::hot::Hot;
use crate::store::tx::WriteTx;

/// What a new message says besides its client id.
pub struct NewMessage<'a> {
    /// A text, an image or a file (checked for form before the writer).
    pub body: &'a MessageBody,
    pub reply_to: Option<Seq>,
    pub mentions: &'a [Uid],
    pub mention_all: bool,
}

pub fn send<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    client_id: &ClientId,
    new: NewMessage<'_>,
) -> Result<Value> {
    let NewMessage {
        body,
        reply_to,
        mentions,
        mention_all,
    } = new;
    let named = crate::blobs::content::named_blobs(body);
    let mut mentioned: Vec<Uid> = Vec::with_capacity(mentions.len());
    for &uid in mentions {
        if !mentioned.contains(&uid) {
            mentioned.push(uid);
        }
    }
    // Every refusal first looks for a resend: a message already stored under this client id
    // (before the sender left, before a block, …) gets its original, and nobody hears of it.
    let checked = ctx.member_of(id, by.uid).and_then(|hot| {
        match new_text_refusal(&hot, by, id, reply_to, &mentioned, mention_all) {
            Some(refusal) => Err(refusal),
            None => Ok(hot),
        }
    });
    // An image or a file names blobs the sender may read, as they are stored.
    let checked = checked.and_then(|hot| {
        let stored = named
            .iter()
            .map(|(blob, _, _)| ctx.tx.visible_blob(by.uid, *blob))
            .collect::<Result<Vec<_>>>()?;
        crate::blobs::content::check_stored(&named, &stored).map(|()| hot)
    });
    let hot = match checked {
        Ok(hot) => hot,
        Err(refusal) => {
            return match ctx.tx.message_by_client_id(id, by.uid, client_id)? {
                Some(original) => Ok(Value::unchanged(original)),
                None => Err(refusal),
            }
        }
    };
    let seq = hot.last_seq + 1;
    let message = Message {
        id: MessageId::time_ordered(),
        conversation_id: id,
        seq,
        from: by.uid,
        client_id: client_id.clone(),
        timestamp: now_millis(),
        body: body.clone(),
        reply_to,
        edited_at: None,
        mentions: mentioned,
        mention_all,
        reactions: Vec::new(),
    };
    if !ctx.tx.insert_message(&message)? {
        // A resend: the original, and nobody hears of it again.
        let original = ctx
            .tx
            .message_by_client_id(id, by.uid, client_id)?
            .ok_or_else(|| Error::Corrupt("conflicting message vanished".into()))?;
        return Ok(Value::unchanged(original));
    }
    if !named.is_empty() {
        // Members may read the blobs now (until a recall).
        let blobs: Vec<_> = named.iter().map(|(blob, _, _)| *blob).collect();
        ctx.tx.insert_message_blobs(id, seq, &blobs)?;
    }
    // The sender has read everything up to their own message.
    ctx.tx.raise_read_seq(by.uid, id, seq)?;
    ctx.hot.advance(id, seq);
    let json: Arc<str> = serde_json::to_string(&message)
        .expect("messages serialize")
        .into();
    ctx.pushes.push(Push::Deliver {
        to: hot.members,
        frame: Utf8Bytes::from(encode_event_json("message", &json)),
        skip: Some(by.conn),
    });
    Ok(Value::Message {
        message,
        json: Some(json),
    })
}

/// Why a member may not send this new text, if they may not: a blocked single chat, a reply to a
/// seq that does not exist, a mention of someone who is not a member, `@all` by anyone but a
/// group's manager.
fn new_text_refusal(
    hot: &Hot,
    by: Origin,
    id: ConversationId,
    reply_to: Option<Seq>,
    mentions: &[Uid],
    mention_all: bool,
) -> Option<Error> {
    if hot.blocked {
        return Some(refused(
            ErrorCode::Blocked,
            "one of you has blocked the other: this chat takes no messages",
        ));
    }
    // Seqs are gapless and messages never deleted: every seq up to the last one exists.
    if let Some(replied) = reply_to.filter(|&r| r == 0 || r > hot.last_seq) {
        return Some(refused(
            ErrorCode::MessageNotFound,
            format!("reply_to: conversation {id} has no message {replied}"),
        ));
    }
    if let Some(outsider) = mentions.iter().find(|u| !hot.members.contains(u)) {
        return Some(refused(
            ErrorCode::InvalidParams,
            format!("mentions: user {outsider} is not a member of conversation {id}"),
        ));
    }
    if mention_all && !(hot.kind == ConversationType::GroupChat && hot.manager == by.uid) {
        return Some(refused(
            ErrorCode::NotManager,
            "only the group's manager can mention everyone",
        ));
    }
    None
}

/// Refuses a change to a message in a single chat where one of the two blocks the other.
fn not_blocked(hot: &Hot) -> Result<()> {
    if hot.blocked {
        return Err(refused(
            ErrorCode::Blocked,
            "one of you has blocked the other: this chat takes no changes",
        ));
    }
    Ok(())
}

/// The message `seq` of conversation `id` (whose last seq is `last_seq`).
fn stored_message<T: WriteTx>(
    ctx: &Ctx<'_, T>,
    id: ConversationId,
    seq: Seq,
    last_seq: Seq,
) -> Result<Message> {
    let missing = || {
        refused(
            ErrorCode::MessageNotFound,
            format!("conversation {id} has no message {seq}"),
        )
    };
    if seq == 0 || seq > last_seq {
        return Err(missing());
    }
    ctx.tx.message_by_seq(id, seq)?.ok_or_else(missing)
}

/// Stores a changed message and tells every member's sessions (but the caller's connection).
fn store_change<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    message: Message,
    members: Arc<[im_proto::Uid]>,
) -> Result<Value> {
    let version = ctx.next_version();
    ctx.tx.change_message(&message, version)?;
    let json: Arc<str> = serde_json::to_string(&message)
        .expect("messages serialize")
        .into();
    ctx.pushes.push(Push::Deliver {
        to: members,
        frame: Utf8Bytes::from(encode_event_json("message_updated", &json)),
        skip: Some(by.conn),
    });
    Ok(Value::Message {
        message,
        json: Some(json),
    })
}

/// Replaces the text of the caller's own text message, within `ctx.edit_window_ms` of sending.
/// The same text again changes nothing (a retry) and tells nobody.
pub fn edit<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    seq: Seq,
    text: &str,
) -> Result<Value> {
    let hot = ctx.member_of(id, by.uid)?;
    let mut message = stored_message(ctx, id, seq, hot.last_seq)?;
    if message.from != by.uid {
        return Err(refused(
            ErrorCode::NotSender,
            "only its sender can edit a message",
        ));
    }
    match &message.body {
        MessageBody::Text { text: old } if old == text => return Ok(Value::unchanged(message)),
        MessageBody::Text { .. } => {}
        _ => {
            return Err(refused(
                ErrorCode::NotEditable,
                "only a text message that was not recalled can be edited",
            ))
        }
    }
    not_blocked(&hot)?;
    let now = now_millis();
    if now.saturating_sub(message.timestamp) > window(ctx.edit_window_ms) {
        return Err(refused(
            ErrorCode::WindowClosed,
            format!(
                "a message can be edited within {} minutes of sending it",
                ctx.edit_window_ms / 60_000
            ),
        ));
    }
    message.body = MessageBody::Text {
        text: text.to_owned(),
    };
    message.edited_at = Some(now);
    store_change(ctx, by, message, hot.members)
}

/// Recalls a message for everyone: its sender within `ctx.recall_window_ms` of sending it, or a
/// group's manager at any time. Recalling a recalled message changes nothing and tells nobody.
pub fn recall<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    seq: Seq,
) -> Result<Value> {
    let hot = ctx.member_of(id, by.uid)?;
    let mut message = stored_message(ctx, id, seq, hot.last_seq)?;
    if message.body.is_recalled() {
        return Ok(Value::unchanged(message));
    }
    let manager = hot.kind == ConversationType::GroupChat && hot.manager == by.uid;
    if !manager {
        if message.from != by.uid {
            return Err(refused(
                ErrorCode::NotSender,
                "only its sender or the group's manager can recall a message",
            ));
        }
        if now_millis().saturating_sub(message.timestamp) > window(ctx.recall_window_ms) {
            return Err(refused(
                ErrorCode::WindowClosed,
                format!(
                    "a message can be recalled within {} minutes of sending it",
                    ctx.recall_window_ms / 60_000
                ),
            ));
        }
    }
    if !message.body.blobs().is_empty() {
        // Its image or file is no longer readable through this conversation.
        ctx.tx.delete_message_blobs(id, seq)?;
    }
    message.body = MessageBody::Recalled { by: by.uid };
    store_change(ctx, by, message, hot.members)
}

/// Adds (`on`) or takes back the caller's reaction `emoji` to a message that is not recalled.
/// A reaction already there (or not there to take back) changes nothing and tells nobody.
pub fn react<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    seq: Seq,
    emoji: &str,
    on: bool,
) -> Result<Value> {
    let hot = ctx.member_of(id, by.uid)?;
    let mut message = stored_message(ctx, id, seq, hot.last_seq)?;
    if message.body.is_recalled() {
        return Err(refused(
            ErrorCode::NotEditable,
            "a recalled message takes no reactions",
        ));
    }
    not_blocked(&hot)?;
    let at = message.reactions.iter().position(|r| r.emoji == emoji);
    let changed = match (on, at) {
        (true, Some(i)) if !message.reactions[i].user_ids.contains(&by.uid) => {
            message.reactions[i].user_ids.push(by.uid);
            true
        }
        (true, None) => {
            if message.reactions.len() >= MAX_REACTIONS {
                return Err(refused(
                    ErrorCode::TooManyReactions,
                    format!("a message takes at most {MAX_REACTIONS} different emoji"),
                ));
            }
            message.reactions.push(Reaction {
                emoji: emoji.to_owned(),
                user_ids: vec![by.uid],
            });
            true
        }
        (false, Some(i)) if message.reactions[i].user_ids.contains(&by.uid) => {
            message.reactions[i].user_ids.retain(|u| *u != by.uid);
            if message.reactions[i].user_ids.is_empty() {
                message.reactions.remove(i);
            }
            true
        }
        _ => false,
    };
    if !changed {
        return Ok(Value::unchanged(message));
    }
    store_change(ctx, by, message, hot.members)
}

/// A window in milliseconds as a timestamp difference.
fn window(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

pub fn mark_read<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    seq: Seq,
) -> Result<Value> {
    let hot = ctx.member_of(id, by.uid)?;
    let old = ctx
        .tx
        .read_seq(by.uid, id)?
        .ok_or_else(|| Error::Corrupt("member row missing".into()))?;
    if old > hot.last_seq {
        return Err(Error::Corrupt(format!(
            "read mark {old} above last seq {} in conversation {id}",
            hot.last_seq
        )));
    }
    let read_seq = old.max(seq.min(hot.last_seq));
    if read_seq > old {
        let version = ctx.next_version();
        ctx.tx.set_read_seq(by.uid, id, read_seq, version)?;
        ctx.push(
            hot.members.clone(),
            &Event::Receipt(Receipt {
                conversation_id: id,
                uid: by.uid,
                read_seq,
            }),
            Some(by.conn),
        );
    }
    Ok(Value::ReadMark(ReadMark {
        conversation_id: id,
        read_seq,
        unread_count: hot.last_seq - read_seq,
    }))
}
