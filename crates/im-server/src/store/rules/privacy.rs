//! What each member decides for themselves: muting a conversation and blocking a user. Both
//! reach the member's other sessions as events.

use im_proto::{BlockState, ConversationId, ErrorCode, Event, MuteState, Uid};

use super::{check_users_exist, now_millis, refused, Ctx};
use crate::error::{Error, Result};
use crate::store::command::{Origin, Value};
use crate::store::tx::WriteTx;

pub fn mute<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    id: ConversationId,
    muted: bool,
) -> Result<Value> {
    ctx.member_of(id, by.uid)?;
    let was = ctx
        .tx
        .muted(by.uid, id)?
        .ok_or_else(|| Error::Corrupt("member row missing".into()))?;
    let state = MuteState {
        conversation_id: id,
        muted,
    };
    if was != muted {
        // The member's version moves, so `sync` brings the view to sessions that were away.
        let version = ctx.next_version();
        ctx.tx.set_muted(by.uid, id, muted, version)?;
        ctx.push(
            vec![by.uid].into(),
            &Event::MuteChanged(state.clone()),
            Some(by.conn),
        );
    }
    Ok(Value::Mute(state))
}

pub fn block<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    user_id: Uid,
    blocked: bool,
) -> Result<Value> {
    if user_id == by.uid {
        return Err(refused(
            ErrorCode::InvalidParams,
            "you cannot block yourself",
        ));
    }
    check_users_exist(ctx.tx, &[user_id])?;
    let state = BlockState { user_id, blocked };
    if ctx.tx.set_block(by.uid, user_id, blocked, now_millis())? {
        ctx.hot.refresh_blocked(ctx.tx, by.uid, user_id)?;
        ctx.push(
            vec![by.uid].into(),
            &Event::BlockChanged(state.clone()),
            Some(by.conn),
        );
    }
    Ok(Value::Block(state))
}
