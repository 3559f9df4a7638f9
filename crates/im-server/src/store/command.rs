//! The writer's commands and what comes of them: [`WriteCmd`] (a change and where its answer
//! goes), [`Value`] (what a command produced, held until its transaction commits), [`Push`] (a
//! side effect carried out only after the commit), and settling answers onto connections or back
//! to waiting tasks.

use std::sync::Arc;

use im_proto::{
    encode_error, encode_result, encode_result_json, AddMembers, BlockState, ClientId,
    Conversation, ConversationId, CreateConversation, CreatedConversation, ErrorBody, ErrorCode,
    Message, MuteState, ReadMark, RemoveMembers, RequestId, Seq, Uid, UpdateConversation, User,
};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::blobs::{BlobId, BlobRow, Kind, UploadId, UploadLimits, UploadRow};
use crate::error::{Error, Result};
use crate::hub::{ConnHandle, ConnId, TokenHash};

/// Who asked for a change: the user, and the connection not to echo events to.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The signed-in user.
    pub uid: Uid,
    /// Their connection.
    pub conn: ConnId,
}

/// The id a session is named by in lists (16 hex characters of its token's hash: it names the
/// session without revealing anything that signs in).
pub fn session_id(token_hash: &TokenHash) -> String {
    token_hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the result of a command goes.
#[derive(Debug)]
pub enum Reply<T> {
    /// Encode it as the reply frame to request `id` and queue it on `conn` (in commit order with
    /// the events that connection receives).
    Frame {
        /// The request id.
        id: RequestId,
        /// The requesting connection.
        conn: Arc<ConnHandle>,
    },
    /// Hand it to a waiting task.
    Direct(oneshot::Sender<Result<T>>),
}

/// A change for the writer to make.
#[derive(Debug)]
pub enum WriteCmd {
    /// Store a new account, spending one use of an invite code (by its hash) when given.
    CreateUser {
        username: String,
        display_name: String,
        password_hash: String,
        invite: Option<TokenHash>,
        reply: Reply<User>,
    },
    /// Replace an account's password and sign out its sessions (all but `keep`).
    SetPassword {
        uid: Uid,
        password_hash: String,
        keep: Option<TokenHash>,
        reply: Reply<()>,
    },
    /// Disable (signing out every session) or enable an account.
    SetDisabled {
        uid: Uid,
        disabled: bool,
        reply: Reply<()>,
    },
    /// Delete one of a user's sessions, named by its id (see [`session_id`]).
    RevokeSessionById {
        uid: Uid,
        session_id: String,
        /// Who asked: the owner on this connection (not signed out by it), or the operator.
        skip: ConnId,
        reply: Reply<()>,
    },
    /// Store an invite code.
    CreateInvite {
        invite: crate::store::tx::NewInvite,
        reply: Reply<()>,
    },
    /// Delete an invite code by id.
    DeleteInvite { id: String, reply: Reply<()> },
    /// Store a new session.
    CreateSession {
        uid: Uid,
        token_hash: TokenHash,
        device: String,
        reply: Reply<()>,
    },
    /// Delete a session and tell its other connections.
    RevokeSession {
        by: Origin,
        token_hash: TokenHash,
        reply: Reply<()>,
    },
    /// Create (or, when unique, find) a conversation.
    CreateConversation {
        by: Origin,
        params: CreateConversation,
        reply: Reply<CreatedConversation>,
    },
    /// Change a conversation's fields.
    UpdateConversation {
        by: Origin,
        params: UpdateConversation,
        reply: Reply<Conversation>,
    },
    /// Add members to a group.
    AddMembers {
        by: Origin,
        params: AddMembers,
        reply: Reply<Conversation>,
    },
    /// Remove members from a group.
    RemoveMembers {
        by: Origin,
        params: RemoveMembers,
        reply: Reply<Conversation>,
    },
    /// Store a text message.
    Send {
        by: Origin,
        conversation_id: ConversationId,
        client_id: ClientId,
        /// What it says: a text, an image or a file.
        body: im_proto::MessageBody,
        /// The seq of the message it replies to.
        reply_to: Option<Seq>,
        /// Members it mentions, and `@all`.
        mentions: Vec<Uid>,
        mention_all: bool,
        /// The request's place among its connection's frames (for send holds).
        order: u64,
        reply: Reply<Message>,
    },
    /// Replace the text of one's own message.
    EditMessage {
        by: Origin,
        conversation_id: ConversationId,
        seq: Seq,
        text: String,
        reply: Reply<Message>,
    },
    /// Add or take back an emoji reaction.
    React {
        by: Origin,
        conversation_id: ConversationId,
        seq: Seq,
        emoji: String,
        on: bool,
        reply: Reply<Message>,
    },
    /// Recall a message for everyone.
    RecallMessage {
        by: Origin,
        conversation_id: ConversationId,
        seq: Seq,
        reply: Reply<Message>,
    },
    /// Move a read mark.
    MarkRead {
        by: Origin,
        conversation_id: ConversationId,
        seq: Seq,
        reply: Reply<ReadMark>,
    },
    /// Mute or un-mute a conversation for one member.
    Mute {
        by: Origin,
        conversation_id: ConversationId,
        muted: bool,
        reply: Reply<MuteState>,
    },
    /// Block or unblock a user.
    Block {
        by: Origin,
        user_id: Uid,
        blocked: bool,
        reply: Reply<BlockState>,
    },
    /// Write a timestamp, proving the database takes writes (the admin listener's `/readyz`).
    Probe { reply: Reply<()> },
    /// A change to an upload or a blob (`blobs/`), for the HTTP request that asked.
    Blob {
        cmd: BlobCmd,
        reply: Reply<BlobAnswer>,
    },
    /// Commit what came before, then stop; later commands are refused.
    Stop(oneshot::Sender<()>),
}

/// What a command produced.
#[derive(Debug, Clone)]
pub enum Value {
    Unit,
    User(User),
    Created(CreatedConversation),
    Conversation(Conversation),
    /// A stored message: just now (with its JSON, also sent as the event) or earlier (a resend).
    Message {
        message: Message,
        json: Option<Arc<str>>,
    },
    ReadMark(ReadMark),
    Mute(MuteState),
    Block(BlockState),
    Blob(BlobAnswer),
}

/// A change to an upload or a blob (see `rules/blobs.rs`).
#[derive(Debug, Clone)]
pub enum BlobCmd {
    /// Start an upload of content with this hash and size (or find the user's unfinished one,
    /// or learn that they have the blob already).
    Create {
        uid: Uid,
        sha256: BlobId,
        size: u64,
        limits: UploadLimits,
    },
    /// Let the request holding `token` write the upload from `offset`, if nobody else is and
    /// the upload stands there.
    Lease {
        id: UploadId,
        uid: Uid,
        offset: u64,
        token: u64,
    },
    /// Keep the lease a while longer.
    Renew { id: UploadId, token: u64 },
    /// Count the bytes up to `to` as stored, with the hash state after them.
    Checkpoint {
        id: UploadId,
        token: u64,
        from: u64,
        to: u64,
        hash_state: Vec<u8>,
        kind: Option<Kind>,
        expiry_ms: im_proto::Millis,
    },
    /// The upload is complete and verified; its bytes are at `object_key`.
    Finish {
        id: UploadId,
        token: u64,
        object_key: String,
        kind: Kind,
    },
    /// The request holding `token` is done with the upload for now.
    Release { id: UploadId, token: u64 },
    /// Delete the user's upload (nothing if it is gone).
    Cancel { id: UploadId, uid: Uid },
    /// Delete up to `limit` uploads that made no progress for too long.
    Sweep { limit: u32 },
}

/// Blob answers go to the HTTP task that asked ([`Reply::Direct`]), never into a frame.
impl Serialize for BlobAnswer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

/// What a [`BlobCmd`] came to.
#[derive(Debug, Clone)]
pub enum BlobAnswer {
    /// The caller has this blob already.
    Blob(BlobRow),
    /// The upload (as created, found or leased); `expired` are the caller's uploads deleted
    /// because they made no progress for too long (their staging files go too).
    Upload {
        row: UploadRow,
        created: bool,
        expired: Vec<UploadId>,
    },
    /// Another request holds the lease for this long still.
    Busy {
        retry_after_ms: u64,
    },
    /// The upload stands at this offset, not the one asked.
    Offset(u64),
    /// Finished: the blob, and this upload's own object to delete if the same content was
    /// stored already.
    Finished {
        blob: BlobRow,
        discard: Option<String>,
    },
    /// These expired uploads were deleted (their staging files go too).
    Swept(Vec<UploadId>),
    Done,
}

impl Value {
    /// A message as stored before (a resend, or a change that changes nothing): answered, and
    /// nobody is told again.
    pub fn unchanged(message: Message) -> Self {
        Value::Message {
            message,
            json: None,
        }
    }
}

/// A side effect of a command, carried out only once it is committed.
#[derive(Debug)]
pub enum Push {
    /// Queue `frame` for every connection of `to` but `skip`.
    Deliver {
        to: Arc<[Uid]>,
        frame: Utf8Bytes,
        skip: Option<ConnId>,
    },
    /// The session is gone: remember it as revoked, then sign out its other connections.
    Revoke {
        uid: Uid,
        session: TokenHash,
        skip: ConnId,
        frame: Utf8Bytes,
    },
}

/// What a committed batch hands its connections, in order: each command's answer, then its
/// pushes. With other nodes the sequencer delivers it in the batch's turn, so that replies and
/// events reach a connection in commit order, whichever node committed.
#[derive(Debug)]
pub enum Delivery {
    Answer(Answer),
    Push(Push),
}

impl Delivery {
    /// Carries it out on this node.
    pub fn carry_out(
        self,
        hub: &crate::hub::Hub,
        sessions: &super::SessionCache,
        metrics: &crate::metrics::Metrics,
    ) {
        match self {
            Delivery::Answer(answer) => answer.deliver(None),
            Delivery::Push(push) => push.carry_out(hub, sessions, metrics),
        }
    }
}

impl Push {
    /// Carries it out on this node, its transaction committed: frames queued for the
    /// connections here; a session remembered as revoked (whatever a racing read finds), then
    /// its connections here signed out.
    pub fn carry_out(
        self,
        hub: &crate::hub::Hub,
        sessions: &super::SessionCache,
        metrics: &crate::metrics::Metrics,
    ) {
        match self {
            Push::Deliver { to, frame, skip } => {
                let queued = hub.deliver(&to, &frame, skip);
                metrics.deliveries.increment(queued as u64);
            }
            Push::Revoke {
                uid,
                session,
                skip,
                frame,
            } => {
                sessions.lock().expect("session cache").put(session, None);
                hub.revoke(uid, &session, &frame, skip);
            }
        }
    }
}

/// Hands a result to a waiting task, given the commit error if the transaction failed.
pub type Handback = Box<dyn FnOnce(Option<&Error>) + Send>;

/// The answer to one command, ready to go once its transaction commits (or fails).
pub enum Answer {
    Frame {
        conn: Arc<ConnHandle>,
        id: RequestId,
        text: std::result::Result<String, ErrorBody>,
    },
    Direct(Handback),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Frame { id, text, .. } => f
                .debug_struct("Frame")
                .field("id", id)
                .field("ok", &text.is_ok())
                .finish(),
            Answer::Direct(_) => f.write_str("Direct"),
        }
    }
}

impl Answer {
    /// The error code this answer carries to a connection, if it is an error.
    pub fn error_code(&self, failure: Option<&Error>) -> Option<ErrorCode> {
        match (self, failure) {
            (
                Answer::Frame {
                    text: Err(body), ..
                },
                _,
            ) => Some(body.code),
            (Answer::Frame { .. }, Some(e)) => Some(e.to_body().code),
            _ => None,
        }
    }

    /// Sends the answer; `failure` is the commit error if the transaction failed.
    pub fn deliver(self, failure: Option<&Error>) {
        match self {
            Answer::Frame { conn, id, text } => {
                let frame = match (failure, text) {
                    (Some(e), Ok(_)) => encode_error(Some(id), &e.to_body()),
                    (_, Ok(text)) => text,
                    (_, Err(body)) => encode_error(Some(id), &body),
                };
                conn.send(Utf8Bytes::from(frame));
                conn.end_request();
            }
            Answer::Direct(send) => send(failure),
        }
    }
}

impl<T: Serialize + Send + 'static> Reply<T> {
    /// The answer carrying `result`.
    pub fn settle(self, result: Result<T>) -> Answer {
        match self {
            Reply::Frame { id, conn } => Answer::Frame {
                conn,
                id,
                text: match result {
                    Ok(value) => Ok(encode_result(id, &value)),
                    Err(e) => Err(e.to_body()),
                },
            },
            Reply::Direct(tx) => Answer::Direct(Box::new(move |failure| {
                let result = match (failure, result) {
                    (Some(e), Ok(_)) => Err(Error::Refused(e.to_body())),
                    (_, result) => result,
                };
                let _ = tx.send(result);
            })),
        }
    }

    /// The connection a frame reply goes to.
    pub fn conn(&self) -> Option<&Arc<ConnHandle>> {
        match self {
            Reply::Frame { conn, .. } => Some(conn),
            Reply::Direct(_) => None,
        }
    }
}

/// The value of the wrong kind for its command: a bug, answered `internal`.
fn mismatch(value: &Value) -> Error {
    Error::Corrupt(format!(
        "a command produced the wrong kind of value: {value:?}"
    ))
}

impl WriteCmd {
    /// Answers the command with `error` without doing it.
    pub fn refuse(self, error: Error) {
        self.settle(Err(error)).deliver(None);
    }

    /// The answer to this command for what it produced (or the refusal).
    pub fn settle(self, result: Result<Value>) -> Answer {
        match self {
            WriteCmd::CreateUser { reply, .. } => reply.settle(result.and_then(|v| match v {
                Value::User(u) => Ok(u),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::CreateSession { reply, .. }
            | WriteCmd::RevokeSession { reply, .. }
            | WriteCmd::SetPassword { reply, .. }
            | WriteCmd::SetDisabled { reply, .. }
            | WriteCmd::RevokeSessionById { reply, .. }
            | WriteCmd::CreateInvite { reply, .. }
            | WriteCmd::DeleteInvite { reply, .. }
            | WriteCmd::Probe { reply } => reply.settle(result.and_then(|v| match v {
                Value::Unit => Ok(()),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::CreateConversation { reply, .. } => {
                reply.settle(result.and_then(|v| match v {
                    Value::Created(c) => Ok(c),
                    other => Err(mismatch(&other)),
                }))
            }
            WriteCmd::UpdateConversation { reply, .. }
            | WriteCmd::AddMembers { reply, .. }
            | WriteCmd::RemoveMembers { reply, .. } => reply.settle(result.and_then(|v| match v {
                Value::Conversation(c) => Ok(c),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::Send { reply, .. }
            | WriteCmd::EditMessage { reply, .. }
            | WriteCmd::React { reply, .. }
            | WriteCmd::RecallMessage { reply, .. } => match (result, reply) {
                // One serialization for the caller's answer and everyone's event.
                (
                    Ok(Value::Message {
                        json: Some(json), ..
                    }),
                    Reply::Frame { id, conn },
                ) => Answer::Frame {
                    conn,
                    id,
                    text: Ok(encode_result_json(id, &json)),
                },
                (result, reply) => reply.settle(result.and_then(|v| match v {
                    Value::Message { message, .. } => Ok(message),
                    other => Err(mismatch(&other)),
                })),
            },
            WriteCmd::MarkRead { reply, .. } => reply.settle(result.and_then(|v| match v {
                Value::ReadMark(r) => Ok(r),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::Blob { reply, .. } => reply.settle(result.and_then(|v| match v {
                Value::Blob(b) => Ok(b),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::Mute { reply, .. } => reply.settle(result.and_then(|v| match v {
                Value::Mute(m) => Ok(m),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::Block { reply, .. } => reply.settle(result.and_then(|v| match v {
                Value::Block(b) => Ok(b),
                other => Err(mismatch(&other)),
            })),
            WriteCmd::Stop(done) => {
                let _ = done.send(());
                Answer::Direct(Box::new(|_| {}))
            }
        }
    }
}
