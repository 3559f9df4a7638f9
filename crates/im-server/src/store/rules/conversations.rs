//! Creating conversations (plain and unique) and changing their fields.

use std::sync::Arc;

use im_proto::{
    Conversation, ConversationId, ConversationType, CreateConversation, CreatedConversation, Event,
    Uid, UpdateConversation,
};

use super::{
    check_member_count, check_not_blocked_by, check_users_exist, dedupe, member_key, now_millis,
    Ctx,
};
use crate::error::{Error, Result};
use crate::store::command::{Origin, Value};
use crate::store::hot::{blocked_single_chat, Hot};
use crate::store::tx::{Fields, WriteTx};

pub fn create<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    params: &CreateConversation,
) -> Result<Value> {
    let members = dedupe(std::iter::once(by.uid).chain(params.user_ids.iter().copied()));
    check_member_count(ctx.max_members, members.len())?;
    check_users_exist(ctx.tx, &members[1..])?;
    check_not_blocked_by(ctx.tx, by.uid, &members[1..])?;
    let key = member_key(&members);
    if params.unique {
        if let Some(id) = ctx.tx.conversation_by_members(&key)? {
            let row = ctx
                .tx
                .conversation(id)?
                .ok_or_else(|| Error::Corrupt("conversation vanished".into()))?;
            return Ok(Value::Created(CreatedConversation {
                conversation: row.conversation,
                created: false,
            }));
        }
    }
    let version = ctx.next_version();
    let conversation = Conversation {
        id: ConversationId::random(),
        title: params.title.clone().unwrap_or_default(),
        icon: params.icon.clone().unwrap_or_default(),
        manager_id: by.uid,
        remark: params.remark.clone().unwrap_or_default(),
        user_count: members.len() as u32,
        attrs: params.attrs.clone().unwrap_or_default(),
        create_time: now_millis(),
        kind: ConversationType::for_member_count(members.len()),
        user_ids: members,
    };
    let c = &conversation;
    ctx.tx.insert_conversation(c, &key, version)?;
    ctx.tx.add_members(c.id, &c.user_ids, 0, version)?;
    let members: Arc<[Uid]> = c.user_ids.clone().into();
    let blocked = blocked_single_chat(ctx.tx, c.kind, &members)?;
    ctx.hot.put(
        c.id,
        Hot {
            kind: c.kind,
            manager: c.manager_id,
            members: members.clone(),
            last_seq: 0,
            blocked,
        },
    );
    ctx.push(
        members,
        &Event::ConversationCreated(conversation.clone()),
        Some(by.conn),
    );
    Ok(Value::Created(CreatedConversation {
        conversation,
        created: true,
    }))
}

/// The conversation as the open transaction has it, refreshing the hot cache from it.
pub fn reload<T: WriteTx>(ctx: &mut Ctx<'_, T>, id: ConversationId) -> Result<Conversation> {
    ctx.hot
        .load(ctx.tx, id)?
        .map(|(_, row)| row.conversation)
        .ok_or_else(|| Error::Corrupt(format!("conversation {id} vanished")))
}

pub fn update<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    p: &UpdateConversation,
) -> Result<Value> {
    let hot = ctx.member_of(p.conversation_id, by.uid)?;
    let fields = Fields {
        title: p.title.clone(),
        icon: p.icon.clone(),
        remark: p.remark.clone(),
        attrs: p
            .attrs
            .clone()
            .map(|a| serde_json::Value::Object(a).to_string()),
    };
    let nothing = fields.title.is_none()
        && fields.icon.is_none()
        && fields.remark.is_none()
        && fields.attrs.is_none();
    if nothing {
        return reload(ctx, p.conversation_id).map(Value::Conversation);
    }
    let version = ctx.next_version();
    ctx.tx
        .update_conversation(p.conversation_id, &fields, version)?;
    let conversation = reload(ctx, p.conversation_id)?;
    ctx.push(
        hot.members,
        &Event::ConversationUpdated(conversation.clone()),
        Some(by.conn),
    );
    Ok(Value::Conversation(conversation))
}
