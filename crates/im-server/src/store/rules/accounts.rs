//! Accounts and sessions: sign-up, sign-in, sign-out.

use im_proto::{ErrorCode, Event, SignedOut, Uid, User};

use super::{now_millis, refused, Ctx};
use crate::error::Result;
use crate::hub::TokenHash;
use crate::store::command::{Origin, Push, Value};
use crate::store::tx::WriteTx;

pub fn create_user<T: WriteTx>(
    ctx: &mut Ctx<'_, T>,
    username: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<Value> {
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
