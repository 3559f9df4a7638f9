//! Sending messages (gapless seqs from the hot cache, idempotent by client id) and moving read
//! marks.

use std::sync::Arc;

use im_proto::{
    encode_event_json, ClientId, ConversationId, ErrorCode, Event, Message, MessageBody, MessageId,
    ReadMark, Receipt, Seq,
};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{now_millis, refused, Ctx};
use crate::error::{Error, Result};
use crate::store::command::{Origin, Push, Value};
use crate::store::tx::WriteTx;

pub fn send_text<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    client_id: &ClientId,
    text: &str,
) -> Result<Value> {
    let hot = match ctx.member_of(id, by.uid) {
        Ok(hot) => hot,
        // A resend of a message stored before the sender left still gets its original.
        Err(refusal) => {
            return match ctx.tx.message_by_client_id(id, by.uid, client_id)? {
                Some(original) => Ok(Value::Message {
                    message: original,
                    json: None,
                }),
                None => Err(refusal),
            }
        }
    };
    if hot.blocked {
        // Still idempotent: a resend of what was stored before the block gets its original.
        return match ctx.tx.message_by_client_id(id, by.uid, client_id)? {
            Some(original) => Ok(Value::Message {
                message: original,
                json: None,
            }),
            None => Err(refused(
                ErrorCode::Blocked,
                "one of you has blocked the other: this chat takes no messages",
            )),
        };
    }
    let seq = hot.last_seq + 1;
    let message = Message {
        id: MessageId::time_ordered(),
        conversation_id: id,
        seq,
        from: by.uid,
        client_id: client_id.clone(),
        timestamp: now_millis(),
        body: MessageBody::Text {
            text: text.to_owned(),
        },
    };
    if !ctx.tx.insert_message(&message)? {
        // A resend: the original, and nobody hears of it again.
        let original = ctx
            .tx
            .message_by_client_id(id, by.uid, client_id)?
            .ok_or_else(|| Error::Corrupt("conflicting message vanished".into()))?;
        return Ok(Value::Message {
            message: original,
            json: None,
        });
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
