//! The admin operations: accounts (create, reset the password, disable, enable, list), sessions
//! (list, revoke) and invite codes (create, list, revoke). One implementation, run by the admin
//! listener inside the server (live connections are signed out at once) or by `im-server admin`
//! on the database of a stopped server; both go through the writer like every other change.

use im_proto::{ErrorBody, ErrorCode, Millis, Secret, Uid, User};
use serde::{Deserialize, Serialize};

use crate::auth::{self, Passwords};
use crate::error::{Error, Result};
use crate::store::{now_millis, NewInvite, Store, WriteCmd};

/// An admin operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    /// Creates an account; without a password, one is made up and returned.
    UserCreate {
        username: String,
        display_name: Option<String>,
        password: Option<Secret>,
    },
    /// Sets a new password (made up when none is given) and signs out every session.
    UserResetPassword {
        username: String,
        password: Option<Secret>,
    },
    /// Disables an account: it cannot sign in, and every session is signed out now.
    UserDisable { username: String },
    /// Lets a disabled account sign in again.
    UserEnable { username: String },
    /// Every account.
    UserList,
    /// Sessions (signed-in devices), of one account or all.
    SessionList { username: Option<String> },
    /// Signs one session out.
    SessionRevoke { session_id: String },
    /// A new invite code for `uses` sign-ups, valid for `expires_in_secs` (or for ever).
    InviteCreate {
        uses: u32,
        expires_in_secs: Option<u64>,
    },
    /// Invite codes that still work.
    InviteList,
    /// Withdraws an invite code.
    InviteRevoke { id: String },
}

/// What an admin operation returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AdminResponse {
    /// Done; nothing to report.
    Done,
    /// The account, and the password made up for it (shown once; none when one was given).
    User {
        user: User,
        password: Option<Secret>,
    },
    /// The password made up (none when one was given).
    Password {
        password: Option<Secret>,
    },
    Users {
        users: Vec<AdminUser>,
    },
    Sessions {
        sessions: Vec<AdminSession>,
    },
    /// The new code (shown once: only its hash is stored).
    Invite {
        invite: AdminInvite,
        code: Secret,
    },
    Invites {
        invites: Vec<AdminInvite>,
    },
}

/// An account as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub uid: Uid,
    pub username: String,
    pub display_name: String,
    pub created_at: Millis,
    pub disabled: bool,
    pub sessions: u64,
}

/// A session as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    pub id: String,
    pub username: String,
    pub device: String,
    pub created_at: Millis,
}

/// An invite code (without the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminInvite {
    pub id: String,
    pub uses_left: u32,
    pub expires_at: Option<Millis>,
    pub created_at: Millis,
}

fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::Refused(ErrorBody::new(code, message))
}

/// The uid of `username`, or `user_not_found`.
async fn uid_of(store: &Store, username: &str) -> Result<Uid> {
    let name = im_proto::normalize_username(username)
        .ok_or_else(|| refused(ErrorCode::InvalidUsername, format!("no user {username:?}")))?;
    store
        .find_users(vec![name])
        .await?
        .first()
        .map(|u| u.uid)
        .ok_or_else(|| refused(ErrorCode::UserNotFound, format!("no user {username:?}")))
}

/// The password to set: the one given (checked), or a new one to show the operator.
fn password_or_new(given: Option<Secret>) -> Result<(Secret, Option<Secret>)> {
    match given {
        Some(password) => {
            crate::ops::check_password(&password)?;
            Ok((password, None))
        }
        None => {
            let (made_up, _) = auth::new_code();
            Ok((made_up.clone(), Some(made_up)))
        }
    }
}

async fn set_disabled(store: &Store, username: &str, disabled: bool) -> Result<AdminResponse> {
    let uid = uid_of(store, username).await?;
    store
        .write(|reply| WriteCmd::SetDisabled {
            uid,
            disabled,
            reply,
        })
        .await?;
    tracing::info!(%uid, disabled, "account disabled or enabled by the operator");
    Ok(AdminResponse::Done)
}

/// Carries out one admin operation.
pub async fn execute(
    store: &Store,
    passwords: &Passwords,
    request: AdminRequest,
) -> Result<AdminResponse> {
    match request {
        AdminRequest::UserCreate {
            username,
            display_name,
            password,
        } => {
            let (username, display_name) =
                crate::ops::new_account(&username, display_name.as_deref())?;
            let (password, shown) = password_or_new(password)?;
            let password_hash = passwords.hash(password).await?;
            let user = store
                .write(|reply| WriteCmd::CreateUser {
                    username,
                    display_name,
                    password_hash,
                    invite: None,
                    reply,
                })
                .await?;
            tracing::info!(uid = %user.uid, username = %user.username, "account created by the operator");
            Ok(AdminResponse::User {
                user,
                password: shown,
            })
        }
        AdminRequest::UserResetPassword { username, password } => {
            let uid = uid_of(store, &username).await?;
            let (password, shown) = password_or_new(password)?;
            let password_hash = passwords.hash(password).await?;
            store
                .write(|reply| WriteCmd::SetPassword {
                    uid,
                    password_hash,
                    keep: None,
                    reply,
                })
                .await?;
            tracing::info!(%uid, "password reset by the operator");
            Ok(AdminResponse::Password { password: shown })
        }
        AdminRequest::UserDisable { username } => set_disabled(store, &username, true).await,
        AdminRequest::UserEnable { username } => set_disabled(store, &username, false).await,
        AdminRequest::UserList => Ok(AdminResponse::Users {
            users: store.read(|conn| conn.admin_users()).await?,
        }),
        AdminRequest::SessionList { username } => {
            let uid = match username {
                Some(name) => Some(uid_of(store, &name).await?),
                None => None,
            };
            Ok(AdminResponse::Sessions {
                sessions: store.read(move |conn| conn.admin_sessions(uid)).await?,
            })
        }
        AdminRequest::SessionRevoke { session_id } => {
            let owner = store
                .read(|conn| conn.session_owners())
                .await?
                .into_iter()
                .find(|(hash, _)| crate::store::session_id(hash) == session_id)
                .map(|(_, uid)| uid);
            let uid = owner.ok_or_else(|| {
                refused(
                    ErrorCode::SessionNotFound,
                    format!("no session {session_id:?}"),
                )
            })?;
            store
                .write(|reply| WriteCmd::RevokeSessionById {
                    uid,
                    session_id,
                    skip: 0,
                    reply,
                })
                .await?;
            Ok(AdminResponse::Done)
        }
        AdminRequest::InviteCreate {
            uses,
            expires_in_secs,
        } => {
            if uses == 0 {
                return Err(refused(ErrorCode::InvalidParams, "uses: at least 1"));
            }
            let (code, code_hash) = auth::new_code();
            let expires_at = expires_in_secs.map(|secs| {
                now_millis()
                    .saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
            });
            let invite = NewInvite {
                id: format!("{:012x}", rand::random::<u64>() >> 16),
                code_hash,
                uses,
                expires_at,
            };
            let shown = AdminInvite {
                id: invite.id.clone(),
                uses_left: uses,
                expires_at,
                created_at: now_millis(),
            };
            store
                .write(|reply| WriteCmd::CreateInvite { invite, reply })
                .await?;
            tracing::info!(id = %shown.id, uses, "invite code created");
            Ok(AdminResponse::Invite {
                invite: shown,
                code,
            })
        }
        AdminRequest::InviteList => {
            let now = now_millis();
            Ok(AdminResponse::Invites {
                invites: store.read(move |conn| conn.open_invites(now)).await?,
            })
        }
        AdminRequest::InviteRevoke { id } => {
            store
                .write(|reply| WriteCmd::DeleteInvite { id, reply })
                .await?;
            Ok(AdminResponse::Done)
        }
    }
}
