//! Accounts and sessions: sign-up (with invite codes), sign-in, sign-out, passwords, disabling
//! accounts and revoking sessions by id.

use im_proto::{ErrorCode, Event, SignedOut, Uid, User};

use super::{now_millis, refused, Ctx};
use crate::error::Result;
use crate::hub::{ConnId, TokenHash};
use crate::store::command::{Origin, Push, Value};
use crate::store::tx::{NewInvite, WriteTx};

pub fn create_user<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    username: &str,
    display_name: &str,
    password_hash: &str,
    invite: Option<&TokenHash>,
) -> Result<Value> {
    if let Some(code_hash) = invite {
        let usable = match ctx.tx.invite(code_hash)? {
            Some((uses_left, expires_at)) => {
                uses_left > 0 && expires_at.is_none_or(|at| now_millis() < at)
            }
            None => false,
        };
        if !usable {
            return Err(refused(
                ErrorCode::InviteInvalid,
                "this invite code is unknown, used up or expired; ask for a new one",
            ));
        }
    }
    let user = User {
        uid: Uid::random(),
        username: username.to_owned(),
        display_name: display_name.to_owned(),
    };
    if !ctx.tx.insert_user(&user, password_hash, now_millis())? {
        return Err(refused(
            ErrorCode::UsernameTaken,
            format!("the username {username:?} is taken"),
        ));
    }
    if let Some(code_hash) = invite {
        ctx.tx.spend_invite(code_hash)?;
    }
    Ok(Value::User(user))
}

/// Stores a session. Past the most sessions a user may have, the oldest ones end (their
/// connections are signed out once committed): a stolen password cannot pile up sessions, and the
/// owner is never locked out of signing in.
pub fn create_session<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    uid: Uid,
    token_hash: &TokenHash,
    device: &str,
) -> Result<Value> {
    // Checked here, in the writer's order: a sign-in that raced the account being disabled
    // cannot leave a session behind.
    if ctx.tx.user_disabled(uid)? != Some(false) {
        return Err(disabled());
    }
    ctx.tx
        .insert_session(token_hash, uid, device, now_millis())?;
    if ctx.max_sessions > 0 {
        let sessions = ctx.tx.sessions_of(uid)?;
        let excess = sessions.len().saturating_sub(ctx.max_sessions);
        for old in &sessions[..excess] {
            ctx.tx.delete_session(old)?;
            ctx.pushes.push(Push::Revoke {
                uid,
                session: *old,
                skip: 0,
                frame: super::event_frame(&Event::SignedOut(SignedOut {
                    reason: "signed out: this account signed in on too many devices".into(),
                })),
            });
        }
    }
    Ok(Value::Unit)
}

/// Deletes the session. Once committed, the session cache remembers it as revoked (so a racing
/// read cannot bring it back) and its other connections are signed out.
pub fn revoke_session<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    by: Origin,
    token_hash: &TokenHash,
) -> Result<Value> {
    ctx.tx.delete_session(token_hash)?;
    ctx.pushes.push(Push::Revoke {
        uid: by.uid,
        session: *token_hash,
        skip: by.conn,
        frame: super::event_frame(&Event::SignedOut(SignedOut {
            reason: "this session was signed out".into(),
        })),
    });
    Ok(Value::Unit)
}

fn disabled() -> crate::error::Error {
    refused(
        ErrorCode::AccountDisabled,
        "this account is disabled; ask the server's operator",
    )
}

fn no_user(uid: Uid) -> crate::error::Error {
    refused(ErrorCode::UserNotFound, format!("no user {uid}"))
}

/// Signs out `session` of `uid` (once committed) with `reason`.
fn sign_out<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    uid: Uid,
    session: TokenHash,
    skip: ConnId,
    reason: &str,
) -> Result<()> {
    ctx.tx.delete_session(&session)?;
    ctx.pushes.push(Push::Revoke {
        uid,
        session,
        skip,
        frame: super::event_frame(&Event::SignedOut(SignedOut {
            reason: reason.into(),
        })),
    });
    Ok(())
}

/// Replaces the password and signs out every session but `keep` (the one that changed it).
pub fn set_password<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    uid: Uid,
    password_hash: &str,
    keep: Option<&TokenHash>,
) -> Result<Value> {
    if ctx.tx.user_disabled(uid)?.is_none() {
        return Err(no_user(uid));
    }
    ctx.tx.set_password(uid, password_hash)?;
    for session in ctx.tx.sessions_of(uid)? {
        if Some(&session) != keep {
            sign_out(
                ctx,
                uid,
                session,
                0,
                "signed out: this account's password was changed",
            )?;
        }
    }
    Ok(Value::Unit)
}

/// Disables an account, signing out every session, or enables it again.
pub fn set_disabled<T: WriteTx>(ctx: &mut Ctx<'_, T>, uid: Uid, disabled: bool) -> Result<Value> {
    if ctx.tx.user_disabled(uid)?.is_none() {
        return Err(no_user(uid));
    }
    ctx.tx.set_disabled(uid, disabled)?;
    if disabled {
        for session in ctx.tx.sessions_of(uid)? {
            sign_out(
                ctx,
                uid,
                session,
                0,
                "signed out: this account was disabled by the server's operator",
            )?;
        }
    }
    Ok(Value::Unit)
}

/// Signs out one of `uid`'s sessions by its id.
pub fn revoke_session_by_id<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    uid: Uid,
    session_id: &str,
    skip: ConnId,
) -> Result<Value> {
    let session = ctx
        .tx
        .sessions_of(uid)?
        .into_iter()
        .find(|s| crate::store::session_id(s) == session_id)
        .ok_or_else(|| {
            refused(
                ErrorCode::SessionNotFound,
                format!("no session {session_id:?} of this account"),
            )
        })?;
    sign_out(
        ctx,
        uid,
        session,
        skip,
        "this session was signed out from another device",
    )?;
    Ok(Value::Unit)
}

pub fn create_invite<T: WriteTx>(ctx: &mut Ctx<'_, T>, invite: &NewInvite) -> Result<Value> {
    ctx.tx.insert_invite(invite, now_millis())?;
    Ok(Value::Unit)
}

pub fn delete_invite<T: WriteTx>(ctx: &mut Ctx<'_, T>, id: &str) -> Result<Value> {
    if !ctx.tx.delete_invite(id)? {
        return Err(refused(
            ErrorCode::InviteInvalid,
            format!("no invite {id:?}"),
        ));
    }
    Ok(Value::Unit)
}
