//! What each request does: checks its parameters and the connection's state, then answers from
//! the readers or hands the change to the writer (which answers once it is committed).

use std::net::IpAddr;
use std::sync::Arc;

use im_proto::{
    check_display_name, encode_error, encode_event, encode_result, field_limits,
    normalize_username, BlockUser, Blocked, Call, ChangePassword, CreateConversation, Empty,
    ErrorBody, ErrorCode, Event, FindUsers, GetMessages, GetUsers, Hello, HelloOk, Pong, Request,
    RequestId, Resume, Resumed, SessionInfo, Sessions, SetTyping, SignIn, SignUp, SignUpMode,
    SignedIn, SignedUp, Typing, UnblockUser, UpdateConversation, User, Users, PROTOCOL_VERSION,
};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::auth;
use crate::error::{Error, Result};
use crate::hub::{ConnHandle, TokenHash};
use crate::metrics::SignInFailure;
use crate::store::{Direction, Origin, Reply, WriteCmd};
use crate::Shared;

/// The most text bytes one `get_messages` page carries before it stops early.
const PAGE_BYTE_BUDGET: usize = 256 * 1024;

/// A signed-in connection's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub token_hash: TokenHash,
}

/// Per-connection protocol state.
#[derive(Debug)]
pub struct ConnState {
    pub hello: bool,
    /// A change to hand to the writer (set by a request, taken by the connection).
    pub outgoing: Option<WriteCmd>,
    /// Frames read so far on this connection (the current one's number while it is handled).
    pub frames: u64,
    pub session: Option<Session>,
    pub peer: IpAddr,
    pub conn: Arc<ConnHandle>,
}

impl ConnState {
    /// A fresh connection from `peer`.
    pub fn new(peer: IpAddr, conn: Arc<ConnHandle>) -> Self {
        Self {
            hello: false,
            outgoing: None,
            frames: 0,
            session: None,
            peer,
            conn,
        }
    }

    fn origin(&self, session: &Session) -> Origin {
        Origin {
            uid: session.user.uid,
            conn: self.conn.id(),
        }
    }

    fn start_session(&mut self, shared: &Shared, user: User, token_hash: TokenHash) {
        shared.hub.register(user.uid, token_hash, self.conn.clone());
        tracing::debug!(conn = self.conn.id(), uid = %user.uid, "signed in");
        self.session = Some(Session { user, token_hash });
    }

    /// Signs the connection out locally (the session was revoked, or on disconnect).
    pub fn end_session(&mut self, shared: &Shared) {
        if let Some(session) = self.session.take() {
            shared.hub.unregister(session.user.uid, self.conn.id());
        }
    }
}

/// The refusal of any request but `hello` before `hello`.
pub fn hello_required() -> ErrorBody {
    ErrorBody::new(ErrorCode::HelloRequired, "the first request must be hello")
}

fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::refused(code, message)
}

fn reply<T: Serialize>(id: RequestId, value: &T) -> Result<Option<String>> {
    Ok(Some(encode_result(id, value)))
}

/// Handles one request. Returns the reply frame, or `None` when the writer will send it.
pub async fn dispatch(shared: &Shared, state: &mut ConnState, request: Request) -> Option<String> {
    let id = request.id;
    let op = request.call.name();
    match handle(shared, state, id, request.call).await {
        Ok(frame) => frame,
        Err(e) => {
            shared.metrics.error(e.to_body().code);
            if e.is_internal() {
                tracing::error!(conn = state.conn.id(), op, error = %e, "request failed");
            } else {
                tracing::debug!(conn = state.conn.id(), op, error = %e, "request refused");
            }
            Some(encode_error(Some(id), &e.to_body()))
        }
    }
}

async fn handle(
    shared: &Shared,
    state: &mut ConnState,
    id: RequestId,
    call: Call,
) -> Result<Option<String>> {
    let call = match call {
        Call::Hello(p) => return hello(shared, state, id, p),
        _ if !state.hello => return Err(Error::Refused(hello_required())),
        Call::Ping(_) => return reply(id, &Pong { time: now_millis() }),
        Call::SignUp(p) => return sign_up(shared, state, id, p).await,
        Call::SignIn(p) => return sign_in(shared, state, id, p).await,
        Call::Resume(p) => return resume(shared, state, id, p).await,
        call => call,
    };
    let Some(session) = state.session.clone() else {
        return Err(refused(
            ErrorCode::Unauthenticated,
            "sign in first (sign_in or resume)",
        ));
    };
    let limits = &shared.config.limits;
    let by = state.origin(&session);
    let uid = session.user.uid;
    let conn = state.conn.clone();
    macro_rules! frame {
        () => {
            Reply::Frame {
                id,
                conn: conn.clone(),
            }
        };
    }
    // The three sends: their common parameters, and what each says.
    macro_rules! send {
        ($p:ident, $body:expr, $op:literal) => {{
            check_reply_to($p.reply_to, $op)?;
            submit(
                shared,
                state,
                WriteCmd::Send {
                    by,
                    conversation_id: $p.conversation_id,
                    client_id: $p.client_id,
                    body: $body,
                    reply_to: $p.reply_to,
                    mentions: $p.mentions,
                    mention_all: $p.mention_all,
                    order: state.frames,
                    reply: frame!(),
                },
            )
            .await
        }};
    }
    // Block and unblock share one arm; this says which.
    let blocking = matches!(call, Call::BlockUser(_));
    match call {
        Call::SignOut(_) => {
            let token_hash = session.token_hash;
            shared
                .store
                .write(|reply| WriteCmd::RevokeSession {
                    by,
                    token_hash,
                    reply,
                })
                .await?;
            state.end_session(shared);
            reply(id, &Empty {})
        }
        Call::FindUsers(FindUsers { usernames }) => {
            check_count("usernames", usernames.len(), limits.max_page)?;
            shared.guard.lookup(uid)?;
            reply(
                id,
                &Users {
                    users: shared.store.find_users(usernames).await?,
                },
            )
        }
        Call::GetUsers(GetUsers { uids }) => {
            check_count("uids", uids.len(), limits.max_page)?;
            reply(
                id,
                &Users {
                    users: shared.store.get_users(uids).await?,
                },
            )
        }
        Call::CreateConversation(p) => {
            check_conversation_fields(&p)?;
            if p.user_ids.len() > limits.max_members {
                return Err(too_many_members(limits.max_members));
            }
            shared.guard.create_conversation(uid, p.user_ids.len())?;
            submit(
                shared,
                state,
                WriteCmd::CreateConversation {
                    by,
                    params: p,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::GetConversation(p) => reply(
            id,
            &shared
                .store
                .conversation_view(uid, p.conversation_id)
                .await?,
        ),
        Call::ListConversations(p) => {
            let limit = page_limit(p.limit, limits.max_page)?;
            reply(
                id,
                &shared
                    .store
                    .list_conversations(uid, p.before, limit)
                    .await?,
            )
        }
        Call::Sync(p) => {
            let limit = page_limit(p.limit, limits.max_page)?;
            reply(id, &shared.store.sync(uid, p.since, limit).await?)
        }
        Call::UpdateConversation(p) => {
            check_update_fields(&p)?;
            submit(
                shared,
                state,
                WriteCmd::UpdateConversation {
                    by,
                    params: p,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::AddMembers(p) => {
            if p.user_ids.len() > limits.max_members {
                return Err(too_many_members(limits.max_members));
            }
            shared.guard.add_members(uid, p.user_ids.len())?;
            submit(
                shared,
                state,
                WriteCmd::AddMembers {
                    by,
                    params: p,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::RemoveMembers(p) => {
            check_count("user_ids", p.user_ids.len(), limits.max_members)?;
            submit(
                shared,
                state,
                WriteCmd::RemoveMembers {
                    by,
                    params: p,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::SendText(p) => {
            check_text(&p.text, limits.max_text_chars, "send_text")?;
            send!(p, im_proto::MessageBody::Text { text: p.text }, "send_text")
        }
        Call::SendImage(mut p) => {
            crate::blobs::content::check_image(&mut p.content, content_limits(limits))?;
            send!(p, im_proto::MessageBody::Image(p.content), "send_image")
        }
        Call::SendFile(mut p) => {
            crate::blobs::content::check_file(&mut p.content, content_limits(limits))?;
            send!(p, im_proto::MessageBody::File(p.content), "send_file")
        }
        Call::EditMessage(p) => {
            check_text(&p.text, limits.max_text_chars, "edit_message")?;
            submit(
                shared,
                state,
                WriteCmd::EditMessage {
                    by,
                    conversation_id: p.conversation_id,
                    seq: p.seq,
                    text: p.text,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::React(p) => {
            if !im_proto::is_emoji(&p.emoji) {
                return Err(refused(
                    ErrorCode::InvalidParams,
                    "react: emoji must be one emoji",
                ));
            }
            submit(
                shared,
                state,
                WriteCmd::React {
                    by,
                    conversation_id: p.conversation_id,
                    seq: p.seq,
                    emoji: p.emoji,
                    on: p.on,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::RecallMessage(p) => {
            submit(
                shared,
                state,
                WriteCmd::RecallMessage {
                    by,
                    conversation_id: p.conversation_id,
                    seq: p.seq,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::GetMessageChanges(p) => {
            let limit = page_limit(p.limit, limits.max_page)?;
            let page = shared
                .store
                .message_changes(uid, p.conversation_id, p.after, limit, PAGE_BYTE_BUDGET)
                .await?;
            reply(id, &page)
        }
        Call::GetMessages(p) => get_messages(shared, uid, id, p).await,
        Call::MarkRead(p) => {
            submit(
                shared,
                state,
                WriteCmd::MarkRead {
                    by,
                    conversation_id: p.conversation_id,
                    seq: p.seq,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::Typing(p) => typing(shared, state, uid, id, p).await,
        Call::MuteConversation(p) => {
            submit(
                shared,
                state,
                WriteCmd::Mute {
                    by,
                    conversation_id: p.conversation_id,
                    muted: p.muted,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::BlockUser(BlockUser { user_id }) | Call::UnblockUser(UnblockUser { user_id }) => {
            submit(
                shared,
                state,
                WriteCmd::Block {
                    by,
                    user_id,
                    blocked: blocking,
                    reply: frame!(),
                },
            )
            .await
        }
        Call::GetBlocked(_) => reply(
            id,
            &Blocked {
                user_ids: shared.store.blocked_users(uid).await?,
            },
        ),
        Call::ChangePassword(p) => change_password(shared, state, &session, id, p).await,
        Call::ListSessions(_) => {
            let sessions = shared
                .store
                .sessions_of(uid)
                .await?
                .into_iter()
                .map(|(hash, device, created_at)| SessionInfo {
                    id: crate::store::session_id(&hash),
                    device,
                    created_at,
                    current: hash == session.token_hash,
                })
                .collect();
            reply(id, &Sessions { sessions })
        }
        Call::RevokeSession(p) => {
            if p.session_id == crate::store::session_id(&session.token_hash) {
                return Err(refused(
                    ErrorCode::InvalidParams,
                    "session_id: this is the connection's own session; use sign_out",
                ));
            }
            shared
                .store
                .write(|reply| WriteCmd::RevokeSessionById {
                    uid,
                    session_id: p.session_id,
                    skip: conn.id(),
                    reply,
                })
                .await?;
            reply(id, &Empty {})
        }
        Call::Hello(_) | Call::Ping(_) | Call::SignUp(_) | Call::SignIn(_) | Call::Resume(_) => {
            unreachable!("handled before authentication")
        }
    }
}

/// Hands a change to the connection to submit to the writer (which answers it on the
/// connection's queue once committed). The connection submits it without blocking its loop.
async fn submit(_shared: &Shared, state: &mut ConnState, cmd: WriteCmd) -> Result<Option<String>> {
    state.conn.begin_request();
    state.outgoing = Some(cmd);
    Ok(None)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn hello(
    shared: &Shared,
    state: &mut ConnState,
    id: RequestId,
    p: Hello,
) -> Result<Option<String>> {
    if p.protocol != PROTOCOL_VERSION {
        return Err(refused(
            ErrorCode::UnsupportedVersion,
            format!(
                "this server speaks protocol {PROTOCOL_VERSION}, not {}",
                p.protocol
            ),
        ));
    }
    if !state.hello {
        tracing::debug!(
            conn = state.conn.id(),
            client = p.client.as_deref().unwrap_or("?"),
            "hello"
        );
    }
    state.hello = true;
    reply(
        id,
        &HelloOk {
            protocol: PROTOCOL_VERSION,
            server: format!("im-server/{}", env!("CARGO_PKG_VERSION")),
            limits: shared.config.limits.clone(),
            time: now_millis(),
            sign_up: shared.config.sign_up,
        },
    )
}

fn not_signed_in(state: &ConnState) -> Result<()> {
    if state.session.is_some() {
        return Err(refused(
            ErrorCode::AlreadySignedIn,
            "this connection is already signed in; sign_out first",
        ));
    }
    Ok(())
}

pub(crate) fn check_password(password: &im_proto::Secret) -> Result<()> {
    let len = password.expose().len();
    if !field_limits::PASSWORD_BYTES.contains(&len) {
        return Err(refused(
            ErrorCode::InvalidPassword,
            format!(
                "a password must be {} to {} bytes long",
                field_limits::PASSWORD_BYTES.start(),
                field_limits::PASSWORD_BYTES.end()
            ),
        ));
    }
    Ok(())
}

/// A new account's username and display name (the username when none is given), checked.
pub(crate) fn new_account(username: &str, display_name: Option<&str>) -> Result<(String, String)> {
    let username = normalize_username(username).ok_or_else(|| {
        refused(
            ErrorCode::InvalidUsername,
            "a username is 3 to 32 characters from a-z 0-9 _ . -",
        )
    })?;
    let display_name = match display_name.map(str::trim) {
        Some(name) if !name.is_empty() => check_display_name(name).map_err(|e| match e {
            im_proto::BadDisplayName::TooLong => refused(
                ErrorCode::FieldTooLong,
                format!(
                    "display_name has {} characters; the limit is {}",
                    name.chars().count(),
                    field_limits::DISPLAY_NAME
                ),
            ),
            e => refused(ErrorCode::InvalidDisplayName, e.to_string()),
        })?,
        _ => username.clone(),
    };
    Ok((username, display_name))
}

async fn sign_up(
    shared: &Shared,
    state: &mut ConnState,
    id: RequestId,
    p: SignUp,
) -> Result<Option<String>> {
    not_signed_in(state)?;
    let invite = match (shared.config.sign_up, &p.invite) {
        (SignUpMode::Open, _) => None,
        (SignUpMode::Closed, _) => {
            return Err(refused(
                ErrorCode::SignUpClosed,
                "this server does not take sign-ups; ask its operator for an account",
            ))
        }
        (SignUpMode::Invite, None) => {
            return Err(refused(
                ErrorCode::InviteRequired,
                "this server takes sign-ups with an invite code from its operator",
            ))
        }
        (SignUpMode::Invite, Some(code)) => Some(auth::invite_hash(code).ok_or_else(|| {
            refused(
                ErrorCode::InviteInvalid,
                "this is not an invite code (16 letters and digits, as XXXX-XXXX-XXXX-XXXX)",
            )
        })?),
    };
    let (username, display_name) = new_account(&p.username, p.display_name.as_deref())?;
    check_password(&p.password)?;
    // Every attempt that gets this far costs a password hash: counted per address.
    shared.guard.sign_up(state.peer)?;
    let password_hash = shared.passwords.hash(p.password).await?;
    let user = shared
        .store
        .write(|reply| WriteCmd::CreateUser {
            username,
            display_name,
            password_hash,
            invite,
            reply,
        })
        .await?;
    shared.metrics.sign_ups.increment(1);
    tracing::info!(uid = %user.uid, username = %user.username, "account created");
    reply(id, &SignedUp { user })
}

/// The sign-in throttle before a password is checked: refused (and counted) while `username` is
/// slowed down from this address.
fn throttle_gate(shared: &Shared, state: &ConnState, username: &str, message: &str) -> Result<()> {
    shared
        .guard
        .sign_ins
        .check(username, state.peer)
        .map_err(|wait_ms| {
            shared.metrics.sign_in_failed(SignInFailure::Throttled);
            Error::Refused(ErrorBody::rate_limited(message, wait_ms))
        })
}

/// A wrong password for `username`: counted by the throttle and the metrics; the refusal.
fn wrong_password(shared: &Shared, state: &ConnState, username: &str, message: &str) -> Error {
    shared.sign_in_outcome(username, state.peer, false);
    shared
        .metrics
        .sign_in_failed(SignInFailure::WrongCredentials);
    refused(ErrorCode::WrongCredentials, message)
}

async fn sign_in(
    shared: &Shared,
    state: &mut ConnState,
    id: RequestId,
    p: SignIn,
) -> Result<Option<String>> {
    not_signed_in(state)?;
    let username = p.username.trim().to_lowercase();
    throttle_gate(
        shared,
        state,
        &username,
        "too many failed sign-ins; wait before trying again",
    )?;
    let stored = match normalize_username(&username) {
        Some(name) => shared.store.user_for_sign_in(name).await?,
        None => None,
    };
    let (user, hash, disabled) = match stored {
        Some((user, hash, disabled)) => (Some(user), Some(hash), disabled),
        None => (None, None, false),
    };
    let matches = shared.passwords.verify(p.password, hash).await?;
    let user = match (matches, user) {
        (true, Some(_)) if disabled => {
            shared.metrics.sign_in_failed(SignInFailure::Disabled);
            tracing::info!(peer = %state.peer, "sign-in to a disabled account");
            return Err(refused(
                ErrorCode::AccountDisabled,
                "this account is disabled; ask the server's operator",
            ));
        }
        (true, Some(user)) => user,
        _ => {
            tracing::info!(peer = %state.peer, "failed sign-in");
            return Err(wrong_password(
                shared,
                state,
                &username,
                "wrong username or password",
            ));
        }
    };
    shared.sign_in_outcome(&username, state.peer, true);
    let (token, token_hash) = auth::new_token();
    let device: String = p
        .device
        .unwrap_or_default()
        .chars()
        .take(field_limits::DEVICE)
        .collect();
    let uid = user.uid;
    shared
        .store
        .write(|reply| WriteCmd::CreateSession {
            uid,
            token_hash,
            device,
            reply,
        })
        .await?;
    shared.store.remember_session(token_hash, user.clone());
    state.start_session(shared, user.clone(), token_hash);
    reply(id, &SignedIn { user, token })
}

/// Changes the caller's password: the current one must match (a stolen session alone cannot
/// take the account over), failures count toward the sign-in throttle, and every other session
/// is signed out.
async fn change_password(
    shared: &Shared,
    state: &mut ConnState,
    session: &Session,
    id: RequestId,
    p: ChangePassword,
) -> Result<Option<String>> {
    check_password(&p.new_password)?;
    let username = session.user.username.clone();
    throttle_gate(
        shared,
        state,
        &username,
        "too many wrong passwords; wait before trying again",
    )?;
    let stored = shared
        .store
        .user_for_sign_in(username.clone())
        .await?
        .map(|(_, hash, _)| hash);
    if !shared.passwords.verify(p.old_password, stored).await? {
        return Err(wrong_password(
            shared,
            state,
            &username,
            "the current password is wrong",
        ));
    }
    shared.sign_in_outcome(&username, state.peer, true);
    let password_hash = shared.passwords.hash(p.new_password).await?;
    let (uid, keep) = (session.user.uid, session.token_hash);
    shared
        .store
        .write(|reply| WriteCmd::SetPassword {
            uid,
            password_hash,
            keep: Some(keep),
            reply,
        })
        .await?;
    tracing::info!(%uid, "password changed");
    reply(id, &Empty {})
}

async fn resume(
    shared: &Shared,
    state: &mut ConnState,
    id: RequestId,
    p: Resume,
) -> Result<Option<String>> {
    not_signed_in(state)?;
    let invalid = || {
        refused(
            ErrorCode::InvalidToken,
            "unknown or revoked session token; sign in again",
        )
    };
    let token_hash = auth::parse_token(&p.token).ok_or_else(invalid)?;
    let user = shared
        .store
        .session_user(token_hash)
        .await?
        .ok_or_else(invalid)?;
    state.start_session(shared, user.clone(), token_hash);
    // A revocation commits by remembering the session as revoked, then telling the session's
    // connections. Checked again now that this one is registered: either it is told, or it sees
    // the revocation here — never neither.
    if shared.store.is_revoked(&token_hash) {
        state.end_session(shared);
        return Err(invalid());
    }
    reply(id, &Resumed { user })
}

/// Refuses a message text that is too long or has nothing but white space.
/// A reply names a seq: 1 or more.
fn check_reply_to(reply_to: Option<im_proto::Seq>, op: &str) -> Result<()> {
    if reply_to == Some(0) {
        return Err(refused(
            ErrorCode::InvalidParams,
            format!("{op}: reply_to is a seq, 1 or more"),
        ));
    }
    Ok(())
}

fn content_limits(limits: &im_proto::Limits) -> crate::blobs::content::ContentLimits {
    crate::blobs::content::ContentLimits {
        max_upload_bytes: limits.max_upload_bytes,
        max_text_chars: limits.max_text_chars,
    }
}

fn check_text(text: &str, max_chars: usize, op: &str) -> Result<()> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(refused(
            ErrorCode::TextTooLong,
            format!("text has {chars} characters; the limit is {max_chars}"),
        ));
    }
    if text.trim().is_empty() {
        return Err(refused(
            ErrorCode::InvalidParams,
            format!("{op}: text is empty"),
        ));
    }
    Ok(())
}

async fn get_messages(
    shared: &Shared,
    uid: im_proto::Uid,
    id: RequestId,
    p: GetMessages,
) -> Result<Option<String>> {
    let limit = page_limit(p.limit, shared.config.limits.max_page)?;
    let direction = match (p.before, p.after) {
        (Some(_), Some(_)) => {
            return Err(refused(
                ErrorCode::InvalidParams,
                "get_messages: give before or after, not both",
            ))
        }
        (None, Some(after)) => Direction::After(after),
        (before, None) => Direction::Before(before.unwrap_or(u64::MAX)),
    };
    let page = shared
        .store
        .messages(uid, p.conversation_id, direction, limit, PAGE_BYTE_BUDGET)
        .await?;
    reply(id, &page)
}

async fn typing(
    shared: &Shared,
    state: &ConnState,
    uid: im_proto::Uid,
    id: RequestId,
    p: SetTyping,
) -> Result<Option<String>> {
    let others = shared.store.typing_audience(uid, p.conversation_id).await?;
    let frame = Utf8Bytes::from(encode_event(&Event::Typing(Typing {
        conversation_id: p.conversation_id,
        uid,
        typing: p.typing,
    })));
    shared.hub.deliver(&others, &frame, Some(state.conn.id()));
    if let Some(cluster) = &shared.cluster {
        cluster.volatile(&others, &frame);
    }
    reply(id, &Empty {})
}

fn page_limit(limit: Option<usize>, max: usize) -> Result<usize> {
    match limit {
        None => Ok(max),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(refused(
            ErrorCode::InvalidParams,
            format!("limit must be 1 to {max}, not {n}"),
        )),
    }
}

fn check_count(field: &str, n: usize, max: usize) -> Result<()> {
    if n > max {
        return Err(refused(
            ErrorCode::InvalidParams,
            format!("{field}: at most {max} at a time, not {n}"),
        ));
    }
    Ok(())
}

fn too_many_members(max: usize) -> Error {
    refused(
        ErrorCode::TooManyMembers,
        format!("a conversation may have at most {max} members"),
    )
}

fn check_len(field: &str, value: &str, max_chars: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max_chars {
        return Err(refused(
            ErrorCode::FieldTooLong,
            format!("{field} has {n} characters; the limit is {max_chars}"),
        ));
    }
    Ok(())
}

fn check_fields(
    title: Option<&str>,
    icon: Option<&str>,
    remark: Option<&str>,
    attrs: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<()> {
    check_len("title", title.unwrap_or_default(), field_limits::TITLE)?;
    check_len("icon", icon.unwrap_or_default(), field_limits::ICON)?;
    check_len("remark", remark.unwrap_or_default(), field_limits::REMARK)?;
    if let Some(attrs) = attrs {
        let bytes = serde_json::to_string(attrs)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if bytes > field_limits::ATTRS_BYTES {
            return Err(refused(
                ErrorCode::FieldTooLong,
                format!(
                    "attrs is {bytes} bytes of JSON; the limit is {}",
                    field_limits::ATTRS_BYTES
                ),
            ));
        }
    }
    Ok(())
}

fn check_conversation_fields(p: &CreateConversation) -> Result<()> {
    check_fields(
        p.title.as_deref(),
        p.icon.as_deref(),
        p.remark.as_deref(),
        p.attrs.as_ref(),
    )
}

fn check_update_fields(p: &UpdateConversation) -> Result<()> {
    check_fields(
        p.title.as_deref(),
        p.icon.as_deref(),
        p.remark.as_deref(),
        p.attrs.as_ref(),
    )
}
