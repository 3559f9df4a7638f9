//! What each write command does, whatever the storage: checks, ids, versions, the writer's hot
//! cache, and the events to push once committed. Written against [`WriteTx`] only, so every
//! storage backend shares them. One file per group of commands.

mod accounts;
pub mod blobs;
mod conversations;
mod members;
mod messages;
mod privacy;

use std::sync::Arc;

use im_proto::{ConversationId, ErrorCode, Event, Millis, Uid};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::command::{Push, Value, WriteCmd};
use super::hot::{Hot, HotCache};
use super::tx::WriteTx;
use crate::error::{Error, Result};

/// What a command works with.
pub struct Ctx<'a, T: WriteTx> {
    pub tx: &'a T,
    pub hot: &'a mut HotCache,
    /// The server-wide change counter: every change stamps the next value.
    pub version: &'a mut u64,
    pub max_members: usize,
    /// Sessions one user may have (0: no limit); signing in beyond it ends the oldest.
    pub max_sessions: usize,
    /// How long after sending a message its sender may edit it, and recall it (ms).
    pub edit_window_ms: u64,
    pub recall_window_ms: u64,
    /// The side effects of the command being applied.
    pub pushes: Vec<Push>,
}

impl<T: WriteTx> Ctx<'_, T> {
    pub fn next_version(&mut self) -> u64 {
        *self.version += 1;
        *self.version
    }

    /// The conversation, checking that `uid` is an active member.
    pub fn member_of(&mut self, id: ConversationId, uid: Uid) -> Result<Hot> {
        match self.hot.get(self.tx, id)? {
            None => Err(refused(
                ErrorCode::ConversationNotFound,
                format!("no conversation {id}"),
            )),
            Some(hot) if !hot.members.contains(&uid) => Err(refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {id}"),
            )),
            Some(hot) => Ok(hot),
        }
    }

    /// Pushes `event` to the sessions of `to` (but `skip`) once committed.
    pub fn push(&mut self, to: Arc<[Uid]>, event: &Event, skip: Option<crate::hub::ConnId>) {
        self.pushes.push(Push::Deliver {
            to,
            frame: event_frame(event),
            skip,
        });
    }
}

/// Applies one command inside the open transaction. A refusal (`Error::Refused`) leaves nothing
/// written; any other error is the command's failure (the engine replays the batch without it).
pub fn apply<T: WriteTx>(ctx: &mut Ctx<'_, T>, cmd: &WriteCmd) -> Result<Value> {
    match cmd {
        WriteCmd::CreateUser {
            username,
            display_name,
            password_hash,
            invite,
            ..
        } => accounts::create_user(ctx, username, display_name, password_hash, invite.as_ref()),
        WriteCmd::SetPassword {
            uid,
            password_hash,
            keep,
            ..
        } => accounts::set_password(ctx, *uid, password_hash, keep.as_ref()),
        WriteCmd::SetDisabled { uid, disabled, .. } => accounts::set_disabled(ctx, *uid, *disabled),
        WriteCmd::RevokeSessionById {
            uid,
            session_id,
            skip,
            ..
        } => accounts::revoke_session_by_id(ctx, *uid, session_id, *skip),
        WriteCmd::CreateInvite { invite, .. } => accounts::create_invite(ctx, invite),
        WriteCmd::DeleteInvite { id, .. } => accounts::delete_invite(ctx, id),
        WriteCmd::CreateSession {
            uid,
            token_hash,
            device,
            ..
        } => accounts::create_session(ctx, *uid, token_hash, device),
        WriteCmd::RevokeSession { by, token_hash, .. } => {
            accounts::revoke_session(ctx, *by, token_hash)
        }
        WriteCmd::CreateConversation { by, params, .. } => conversations::create(ctx, *by, params),
        WriteCmd::UpdateConversation { by, params, .. } => conversations::update(ctx, *by, params),
        WriteCmd::AddMembers { by, params, .. } => members::add(ctx, *by, params),
        WriteCmd::RemoveMembers { by, params, .. } => members::remove(ctx, *by, params),
        WriteCmd::Send {
            by,
            conversation_id,
            client_id,
            body,
            reply_to,
            mentions,
            mention_all,
            ..
        } => messages::send(
            ctx,
            *by,
            *conversation_id,
            client_id,
            messages::NewMessage {
                body,
                reply_to: *reply_to,
                mentions,
                mention_all: *mention_all,
            },
        ),
        WriteCmd::React {
            by,
            conversation_id,
            seq,
            emoji,
            on,
            ..
        } => messages::react(ctx, *by, *conversation_id, *seq, emoji, *on),
        WriteCmd::EditMessage {
            by,
            conversation_id,
            seq,
            text,
            ..
        } => messages::edit(ctx, *by, *conversation_id, *seq, text),
        WriteCmd::RecallMessage {
            by,
            conversation_id,
            seq,
            ..
        } => messages::recall(ctx, *by, *conversation_id, *seq),
        WriteCmd::MarkRead {
            by,
            conversation_id,
            seq,
            ..
        } => messages::mark_read(ctx, *by, *conversation_id, *seq),
        WriteCmd::Mute {
            by,
            conversation_id,
            muted,
            ..
        } => privacy::mute(ctx, *by, *conversation_id, *muted),
        WriteCmd::Block {
            by,
            user_id,
            blocked,
            ..
        } => privacy::block(ctx, *by, *user_id, *blocked),
        WriteCmd::Blob { cmd, .. } => blobs::apply(ctx, cmd),
        WriteCmd::Probe { .. } => {
            ctx.tx.note_probe(now_millis())?;
            Ok(Value::Unit)
        }
        WriteCmd::Stop(_) => Err(Error::Corrupt("a stop is not a change".into())),
    }
}

/// Writes the last seq (and a new version) of every conversation that got messages in the batch.
/// Every change gets its own version, so that `sync` can page by version without ties.
pub fn flush_last_seqs<T: WriteTx>(ctx: &mut Ctx<'_, T>) -> Result<()> {
    for (id, last_seq) in ctx.hot.take_dirty() {
        let version = ctx.next_version();
        ctx.tx.set_last_seq(id, last_seq, version)?;
    }
    Ok(())
}

pub fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::refused(code, message)
}

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

pub fn event_frame(event: &Event) -> Utf8Bytes {
    Utf8Bytes::from(im_proto::encode_event(event))
}

/// The sorted member uids, concatenated: finds the unique conversation of a set of members.
pub fn member_key(members: &[Uid]) -> Vec<u8> {
    let mut sorted: Vec<&Uid> = members.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .flat_map(|u| u.as_bytes().iter().copied())
        .collect()
}

/// Keeps the first occurrence of each uid, in order.
pub fn dedupe(uids: impl IntoIterator<Item = Uid>) -> Vec<Uid> {
    let mut out: Vec<Uid> = Vec::new();
    for uid in uids {
        if !out.contains(&uid) {
            out.push(uid);
        }
    }
    out
}

pub fn check_member_count(max_members: usize, n: usize) -> Result<()> {
    if n > max_members {
        return Err(refused(
            ErrorCode::TooManyMembers,
            format!("a conversation may have at most {max_members} members, this would have {n}"),
        ));
    }
    Ok(())
}

pub fn check_users_exist(tx: &impl WriteTx, uids: &[Uid]) -> Result<()> {
    match tx.missing_users(uids)?.first() {
        Some(uid) => Err(refused(ErrorCode::UserNotFound, format!("no user {uid}"))),
        None => Ok(()),
    }
}

/// Refuses when one of `uids` blocks `actor` (who may then not start a conversation with them or
/// add them to one).
pub fn check_not_blocked_by(tx: &impl WriteTx, actor: Uid, uids: &[Uid]) -> Result<()> {
    for &uid in uids {
        if uid != actor && tx.blocks(uid, actor)? {
            return Err(refused(
                ErrorCode::Blocked,
                format!("user {uid} does not accept conversations with you"),
            ));
        }
    }
    Ok(())
}
