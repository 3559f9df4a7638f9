//! Adding and removing members of a group (leaving is removing yourself), with the manager's
//! hand-over and the frozen view of those who leave.

use im_proto::{
    AddMembers, ConversationRemoved, ConversationType, ErrorCode, Event, RemoveMembers, Uid,
};

use super::conversations::reload;
use super::{
    check_member_count, check_not_blocked_by, check_users_exist, dedupe, member_key, refused, Ctx,
};
use crate::error::{Error, Result};
use crate::store::command::{Origin, Value};
use crate::store::tx::WriteTx;

pub fn add<T: WriteTx>(ctx: &mut Ctx<'_, T>, by: Origin, p: &AddMembers) -> Result<Value> {
    let hot = ctx.member_of(p.conversation_id, by.uid)?;
    if hot.kind == ConversationType::SingleChat {
        return Err(refused(
            ErrorCode::SingleChatMembersFixed,
            "a single chat always has its two members; create a group instead",
        ));
    }
    if hot.manager != by.uid {
        return Err(refused(
            ErrorCode::NotManager,
            "only the manager may add members",
        ));
    }
    let new: Vec<Uid> = dedupe(p.user_ids.iter().copied())
        .into_iter()
        .filter(|u| !hot.members.contains(u))
        .collect();
    if new.is_empty() {
        return reload(ctx, p.conversation_id).map(Value::Conversation);
    }
    check_member_count(ctx.max_members, hot.members.len() + new.len())?;
    check_users_exist(ctx.tx, &new)?;
    check_not_blocked_by(ctx.tx, by.uid, &new)?;
    let version = ctx.next_version();
    ctx.tx
        .add_members(p.conversation_id, &new, hot.last_seq, version)?;
    let all: Vec<Uid> = hot.members.iter().chain(&new).copied().collect();
    ctx.tx.set_membership(
        p.conversation_id,
        all.len(),
        &member_key(&all),
        hot.manager,
        version,
    )?;
    let conversation = reload(ctx, p.conversation_id)?;
    ctx.push(
        new.into(),
        &Event::ConversationCreated(conversation.clone()),
        None,
    );
    ctx.push(
        hot.members,
        &Event::ConversationUpdated(conversation.clone()),
        Some(by.conn),
    );
    Ok(Value::Conversation(conversation))
}

pub fn remove<T: WriteTx>(ctx: &mut Ctx<'_, T>, by: Origin, p: &RemoveMembers) -> Result<Value> {
    let hot = ctx.member_of(p.conversation_id, by.uid)?;
    if hot.kind == ConversationType::SingleChat {
        return Err(refused(
            ErrorCode::SingleChatMembersFixed,
            "a single chat always has its two members",
        ));
    }
    let gone: Vec<Uid> = dedupe(p.user_ids.iter().copied())
        .into_iter()
        .filter(|u| hot.members.contains(u))
        .collect();
    if gone.iter().any(|u| *u != by.uid) && hot.manager != by.uid {
        return Err(refused(
            ErrorCode::NotManager,
            "only the manager may remove other members",
        ));
    }
    if gone.is_empty() {
        return reload(ctx, p.conversation_id).map(Value::Conversation);
    }
    let version = ctx.next_version();
    // What the leavers saw last: later changes stay hidden from them.
    let before = ctx
        .tx
        .conversation(p.conversation_id)?
        .ok_or_else(|| Error::Corrupt("conversation vanished".into()))?;
    let snapshot =
        serde_json::to_string(&before.conversation).map_err(|e| Error::Corrupt(e.to_string()))?;
    ctx.tx
        .remove_members(p.conversation_id, &gone, version, hot.last_seq, &snapshot)?;
    let remaining: Vec<Uid> = hot
        .members
        .iter()
        .filter(|u| !gone.contains(u))
        .copied()
        .collect();
    // The manager's hand-over: to the earliest remaining member (the last manager stays named
    // when nobody remains).
    let manager = if gone.contains(&hot.manager) {
        remaining.first().copied().unwrap_or(hot.manager)
    } else {
        hot.manager
    };
    ctx.tx.set_membership(
        p.conversation_id,
        remaining.len(),
        &member_key(&remaining),
        manager,
        version,
    )?;
    let conversation = reload(ctx, p.conversation_id)?;
    ctx.push(
        gone.into(),
        &Event::ConversationRemoved(ConversationRemoved {
            conversation_id: p.conversation_id,
            by: by.uid,
        }),
        Some(by.conn),
    );
    ctx.push(
        remaining.into(),
        &Event::ConversationUpdated(conversation.clone()),
        Some(by.conn),
    );
    Ok(Value::Conversation(conversation))
}
