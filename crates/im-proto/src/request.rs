//! Client → server requests: every operation, its parameters and its result type, and
//! [`parse_request`], which turns a text frame into a [`Request`] or a precise error.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorBody, ErrorCode};
use crate::ids::{ClientId, ConversationId, Uid, ID_EXPECTATION};
use crate::model::{Conversation, ConversationView, Limits, Message, Millis, Seq, User};
use crate::secret::Secret;

/// A request id chosen by the client; the reply carries the same id. Use values below 2^53 so
/// JavaScript clients can read them back exactly.
pub type RequestId = u64;

/// A request frame: `{"id": 1, "op": "send_text", ...parameters}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Echoed in the reply.
    pub id: RequestId,
    /// The operation and its parameters.
    #[serde(flatten)]
    pub call: Call,
}

/// An operation: its wire name, its parameter type (the implementor) and its result type.
pub trait Op: Serialize + Into<Call> {
    /// The `op` string.
    const NAME: &'static str;
    /// What a successful reply's `result` holds.
    type Output: Serialize + DeserializeOwned + Send + 'static;
}

macro_rules! ops {
    ($( $(#[$doc:meta])* $variant:ident($params:ident) = $name:literal -> $output:ty; )*) => {
        /// Every operation with its parameters, tagged by `op`.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "op")]
        pub enum Call {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($params), )*
        }

        impl Call {
            /// The `op` string.
            pub fn name(&self) -> &'static str {
                match self { $( Call::$variant(_) => $name, )* }
            }
        }

        /// Every `op` this version knows.
        pub const OPS: &[&str] = &[$($name),*];

        $(
            impl Op for $params {
                const NAME: &'static str = $name;
                type Output = $output;
            }
            impl From<$params> for Call {
                fn from(params: $params) -> Call { Call::$variant(params) }
            }
        )*

        /// Deserializes the parameters of `op` from `value` again, this time tracking the path
        /// of the field that fails.
        fn diagnose(op: &str, value: &Value) -> Option<serde_path_to_error::Error<serde_json::Error>> {
            match op {
                $( $name => serde_path_to_error::deserialize::<_, $params>(value).err(), )*
                _ => None,
            }
        }
    };
}

ops! {
    /// Must be the first frame: names the protocol version.
    Hello(Hello) = "hello" -> HelloOk;
    /// Creates an account. Does not sign the connection in.
    SignUp(SignUp) = "sign_up" -> SignedUp;
    /// Signs the connection in and issues a session token.
    SignIn(SignIn) = "sign_in" -> SignedIn;
    /// Signs the connection in with a session token from an earlier `sign_in`.
    Resume(Resume) = "resume" -> Resumed;
    /// Revokes this connection's session token; the connection is signed out.
    SignOut(SignOut) = "sign_out" -> Empty;
    /// Changes the caller's password (given the current one); every other session is signed out.
    ChangePassword(ChangePassword) = "change_password" -> Empty;
    /// The caller's sessions (signed-in devices), newest first.
    ListSessions(ListSessions) = "list_sessions" -> Sessions;
    /// Signs one of the caller's other sessions out (a lost or old device).
    RevokeSession(RevokeSession) = "revoke_session" -> Empty;
    /// Liveness check; returns the server's clock.
    Ping(Ping) = "ping" -> Pong;
    /// Looks users up by username (exact, case-insensitive).
    FindUsers(FindUsers) = "find_users" -> Users;
    /// Looks users up by uid.
    GetUsers(GetUsers) = "get_users" -> Users;
    /// Creates a conversation (or, with `unique`, returns the one with exactly these members).
    CreateConversation(CreateConversation) = "create_conversation" -> CreatedConversation;
    /// One conversation as the caller sees it.
    GetConversation(GetConversation) = "get_conversation" -> ConversationView;
    /// The caller's conversations, most recently active first, paged.
    ListConversations(ListConversations) = "list_conversations" -> ConversationPage;
    /// The caller's conversations that changed since a cursor, oldest change first, paged.
    Sync(Sync) = "sync" -> SyncPage;
    /// Changes title, icon, remark or attrs.
    UpdateConversation(UpdateConversation) = "update_conversation" -> Conversation;
    /// Adds members to a group (manager only).
    AddMembers(AddMembers) = "add_members" -> Conversation;
    /// Removes members from a group (manager only; anyone may remove themselves).
    RemoveMembers(RemoveMembers) = "remove_members" -> Conversation;
    /// Sends a text message; acked once committed.
    SendText(SendText) = "send_text" -> Message;
    /// Sends an image uploaded beforehand (its blob and its thumbnail's); acked once committed.
    SendImage(SendImage) = "send_image" -> Message;
    /// Sends a file uploaded beforehand; acked once committed.
    SendFile(SendFile) = "send_file" -> Message;
    /// Replaces the text of one of the caller's text messages (within `edit_window_ms`).
    EditMessage(EditMessage) = "edit_message" -> Message;
    /// Recalls a message for everyone: its sender within `recall_window_ms`, or a group's manager.
    RecallMessage(RecallMessage) = "recall_message" -> Message;
    /// Adds or takes back the caller's emoji reaction to a message.
    React(React) = "react" -> Message;
    /// The messages of a conversation edited or recalled after a change counter, oldest change
    /// first, paged.
    GetMessageChanges(GetMessageChanges) = "get_message_changes" -> MessageChanges;
    /// A page of a conversation's messages, before or after a seq.
    GetMessages(GetMessages) = "get_messages" -> MessagePage;
    /// Marks messages up to a seq as read.
    MarkRead(MarkRead) = "mark_read" -> ReadMark;
    /// Tells the other members the caller is (or stopped) typing. Not stored.
    Typing(SetTyping) = "typing" -> Empty;
    /// Silences (or un-silences) a conversation's notifications for the caller, on every device.
    MuteConversation(MuteConversation) = "mute_conversation" -> MuteState;
    /// Blocks a user: they can no longer message the caller in a single chat, start a
    /// conversation with them or add them to a group.
    BlockUser(BlockUser) = "block_user" -> BlockState;
    /// Lifts a block.
    UnblockUser(UnblockUser) = "unblock_user" -> BlockState;
    /// The users the caller has blocked.
    GetBlocked(GetBlocked) = "get_blocked" -> Blocked;
}

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// `hello` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the client speaks (currently 1).
    pub protocol: u32,
    /// A free-form client name and version, for the server's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// `hello` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloOk {
    /// The version the connection will use.
    pub protocol: u32,
    /// Server name and version.
    pub server: String,
    /// The limits the server enforces.
    pub limits: Limits,
    /// The server's clock.
    pub time: Millis,
    /// Who may create an account (older servers: `open`).
    #[serde(default)]
    pub sign_up: SignUpMode,
}

/// Who may create an account on a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignUpMode {
    /// Anyone who can reach it.
    #[default]
    Open,
    /// Anyone with an invite code from its operator.
    Invite,
    /// No one: the operator creates the accounts.
    Closed,
}

impl SignUpMode {
    /// The mode as in settings and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SignUpMode::Open => "open",
            SignUpMode::Invite => "invite",
            SignUpMode::Closed => "closed",
        }
    }
}

impl std::str::FromStr for SignUpMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(SignUpMode::Open),
            "invite" => Ok(SignUpMode::Invite),
            "closed" => Ok(SignUpMode::Closed),
            other => Err(format!("{other:?}: expected open, invite or closed")),
        }
    }
}

/// `sign_up` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignUp {
    /// 3 to 32 characters from `a-z 0-9 _ . -` (upper case is folded to lower case).
    pub username: String,
    /// 8 to 256 bytes.
    pub password: Secret,
    /// Defaults to the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// An invite code from the server's operator (needed when `hello` says `sign_up: invite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<Secret>,
}

/// `sign_up` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedUp {
    /// The new account.
    pub user: User,
}

/// `sign_in` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignIn {
    /// The username (any case).
    pub username: String,
    /// The password.
    pub password: Secret,
    /// A label for the session, e.g. "Gtedx IM on Linux".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// `sign_in` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The signed-in user.
    pub user: User,
    /// The session token (64 hex characters): keep it secret; `resume` with it later.
    pub token: Secret,
}

/// `resume` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resume {
    /// A token from `sign_in`.
    pub token: Secret,
}

/// `resume` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The signed-in user.
    pub user: User,
}

/// `sign_out` parameters (none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SignOut {}

/// `change_password` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePassword {
    /// The current password.
    pub old_password: Secret,
    /// The new one: 8 to 256 bytes.
    pub new_password: Secret,
}

/// `list_sessions` parameters (none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListSessions {}

/// `list_sessions` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions {
    /// Newest first.
    pub sessions: Vec<SessionInfo>,
}

/// One signed-in device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Names the session for `revoke_session` (not its token: 16 hex characters).
    pub id: String,
    /// The label given at sign-in, e.g. "Gtedx IM on Linux".
    pub device: String,
    /// When it signed in.
    pub created_at: Millis,
    /// It is the session of the connection asking.
    pub current: bool,
}

/// `revoke_session` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokeSession {
    /// A session id from `list_sessions` (not the caller's own: that is `sign_out`).
    pub session_id: String,
}

/// `ping` parameters (none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ping {}

/// `ping` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The server's clock.
    pub time: Millis,
}

/// An empty result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `find_users` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindUsers {
    /// Usernames to look up (at most `max_page`); unknown ones are left out of the result.
    pub usernames: Vec<String>,
}

/// `get_users` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetUsers {
    /// Uids to look up (at most `max_page`); unknown ones are left out of the result.
    pub uids: Vec<Uid>,
}

/// `find_users` / `get_users` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Users {
    /// The users found.
    pub users: Vec<User>,
}

/// `create_conversation` parameters (the seed's `{title, user_ids}` plus the optional fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateConversation {
    /// The other members (the caller is always a member).
    pub user_ids: Vec<Uid>,
    /// Title (may be empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Extra front-end parameters (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<Map<String, Value>>,
    /// When true and a conversation with exactly these members exists, return it instead of
    /// creating another (the seed's "avoid duplicates" chapter). Absent or null means false.
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "null_is_false"
    )]
    pub unique: bool,
}

fn null_is_false<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

/// `create_conversation` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedConversation {
    /// The new conversation, or the existing one a unique create found.
    pub conversation: Conversation,
    /// False when a unique create returned an existing conversation.
    pub created: bool,
}

/// `get_conversation` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetConversation {
    /// Which conversation.
    pub conversation_id: ConversationId,
}

/// `list_conversations` parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListConversations {
    /// Page size (default and maximum `max_page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue after the previous page: pass its `next_before` (an opaque cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
}

/// `list_conversations` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPage {
    /// Most recently active first.
    pub conversations: Vec<ConversationView>,
    /// Pass as `before` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// `sync` parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sync {
    /// The `cursor` of the previous sync (0 the first time).
    pub since: u64,
    /// Page size (default and maximum `max_page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `sync` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPage {
    /// Conversations changed after `since` (new messages, members, fields, the caller's read
    /// mark, the caller's removal), oldest change first.
    pub conversations: Vec<ConversationView>,
    /// Pass as `since` next time.
    pub cursor: u64,
    /// True when more changed conversations wait: call again with `cursor` right away.
    pub has_more: bool,
}

/// `update_conversation` parameters: absent fields stay as they are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateConversation {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// New remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// New attrs (replaces the whole object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<Map<String, Value>>,
}

/// `add_members` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddMembers {
    /// Which conversation (a `GROUP_CHAT`).
    pub conversation_id: ConversationId,
    /// Users to add; those already members are skipped.
    pub user_ids: Vec<Uid>,
}

/// `remove_members` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveMembers {
    /// Which conversation (a `GROUP_CHAT`).
    pub conversation_id: ConversationId,
    /// Members to remove; non-members are skipped.
    pub user_ids: Vec<Uid>,
}

/// `send_text` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendText {
    /// Where to send.
    pub conversation_id: ConversationId,
    /// The idempotency key: resending with the same one returns the original message.
    pub client_id: ClientId,
    /// 1 to `max_text_chars` characters, not only white space.
    pub text: String,
    /// The seq of a message in the same conversation that this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// Members the text mentions (`@name`): current members of the conversation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Uid>,
    /// `@all`: every member (only the manager of a group).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mention_all: bool,
}

/// `send_image` and `send_file` parameters: those of `send_text` but the text, and what the
/// message says (an image's or a file's content, flattened beside them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendBlob<C> {
    pub conversation_id: ConversationId,
    /// The idempotency key, as for `send_text`.
    pub client_id: ClientId,
    /// What the message says (becomes its `content`). Boxed: a request is held while it is
    /// handled, and most are far smaller.
    #[serde(flatten)]
    pub content: Box<C>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Uid>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mention_all: bool,
}

/// `send_image` parameters.
pub type SendImage = SendBlob<crate::ImageContent>;
/// `send_file` parameters.
pub type SendFile = SendBlob<crate::FileContent>;

/// `react` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct React {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// Which of its messages (not a recalled one).
    pub seq: Seq,
    /// One emoji.
    pub emoji: String,
    /// True to add the caller's reaction, false to take it back.
    pub on: bool,
}

/// `edit_message` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditMessage {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// Which of its messages: one the caller sent, a text, not recalled.
    pub seq: Seq,
    /// The new text, as for `send_text`.
    pub text: String,
}

/// `recall_message` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecallMessage {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// Which of its messages.
    pub seq: Seq,
}

/// `get_message_changes` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetMessageChanges {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// Changes after this change counter (your sync cursor, or `next` of the previous page).
    pub after: u64,
    /// Page size (default and maximum `max_page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `get_message_changes` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageChanges {
    /// Each changed message as it is now, oldest change first.
    pub messages: Vec<Message>,
    /// The change counter to ask `after` next (the last change on this page, or `after`).
    pub next: u64,
    /// True when more changes follow.
    pub has_more: bool,
}

/// `get_messages` parameters. With neither `before` nor `after`: the newest page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetMessages {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// Messages with a seq below this, the newest of them (history, paging backwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Seq>,
    /// Messages with a seq above this, the oldest of them (catch-up, paging forwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Seq>,
    /// Page size (default and maximum `max_page`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `get_messages` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    /// In ascending seq order, gapless.
    pub messages: Vec<Message>,
    /// True when more messages lie beyond this page in the direction asked.
    pub has_more: bool,
}

/// `mark_read` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarkRead {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// The newest seq read. Read marks only move forward and stop at the last message.
    pub seq: Seq,
}

/// `mark_read` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMark {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// The caller's read mark now.
    pub read_seq: Seq,
    /// Messages after it.
    pub unread_count: u64,
}

/// `typing` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetTyping {
    /// Which conversation.
    pub conversation_id: ConversationId,
    /// True when typing started (repeat every few seconds while typing), false when it stopped.
    pub typing: bool,
}

/// `mute_conversation` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MuteConversation {
    /// Which conversation (one the caller is a member of).
    pub conversation_id: ConversationId,
    /// True to silence it, false to hear it again.
    pub muted: bool,
}

/// `mute_conversation` result, and the data of the `mute_changed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteState {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Whether the caller has it muted now.
    pub muted: bool,
}

/// `block_user` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockUser {
    /// Whom to block (not the caller).
    pub user_id: Uid,
}

/// `unblock_user` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnblockUser {
    /// Whom to unblock.
    pub user_id: Uid,
}

/// `block_user` and `unblock_user` result, and the data of the `block_changed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockState {
    /// The user.
    pub user_id: Uid,
    /// Whether the caller blocks them now.
    pub blocked: bool,
}

/// `get_blocked` parameters (none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GetBlocked {}

/// `get_blocked` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The users the caller blocks, most recently blocked first.
    pub user_ids: Vec<Uid>,
}

/// Why a frame could not be read as a request: the error to send back, with the request id
/// when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// The request's id, if the frame had a readable one.
    pub id: Option<RequestId>,
    /// What to answer.
    pub error: ErrorBody,
}

impl RequestError {
    fn new(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id,
            error: ErrorBody::new(code, message),
        }
    }
}

/// Reads a text frame as a request. On failure says precisely why: `malformed_frame` (not JSON,
/// not an object, no usable `id` or `op`), `unknown_op`, `bad_id` or `invalid_params` (naming
/// the field).
pub fn parse_request(text: &str) -> Result<Request, RequestError> {
    serde_json::from_str::<Request>(text).map_err(|fast_error| explain(text, fast_error))
}

/// The slow path: the frame failed to parse; work out the most useful error.
fn explain(text: &str, fast_error: serde_json::Error) -> RequestError {
    use ErrorCode::*;
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return RequestError::new(None, MalformedFrame, format!("not valid JSON: {e}")),
    };
    let Some(object) = value.as_object() else {
        return RequestError::new(None, MalformedFrame, "a request must be a JSON object");
    };
    let id = match object.get("id") {
        Some(v) => match v.as_u64() {
            Some(id) => id,
            None => {
                return RequestError::new(None, MalformedFrame, "id must be an unsigned integer")
            }
        },
        None => return RequestError::new(None, MalformedFrame, "missing request id"),
    };
    let Some(op) = object.get("op").and_then(Value::as_str) else {
        return RequestError::new(Some(id), MalformedFrame, "op must be a string");
    };
    if !OPS.contains(&op) {
        let shown: String = op.chars().take(64).collect();
        return RequestError::new(Some(id), UnknownOp, format!("unknown op {shown:?}"));
    }
    match diagnose(op, &value) {
        Some(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            // A string that is not an id is `bad_id`; a value of the wrong JSON type (a number,
            // null, an object) is `invalid_params`, as for any other field (§3.1).
            let code = if inner.contains(ID_EXPECTATION) && !inner.starts_with("invalid type") {
                BadId
            } else {
                InvalidParams
            };
            let message = if path == "." {
                format!("{op}: {inner}")
            } else {
                format!("{op}: {path}: {inner}")
            };
            RequestError::new(Some(id), code, message)
        }
        None => RequestError::new(Some(id), InvalidParams, format!("{op}: {fast_error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> RequestError {
        parse_request(text).unwrap_err()
    }

    #[test]
    fn send_text_round_trips() {
        let request = Request {
            id: 7,
            call: SendText {
                conversation_id: "5f1c0b1a2b3c4d5e6f708192a3b4c5d6".parse().unwrap(),
                client_id: "c-1".parse().unwrap(),
                text: "耗子，起床啦".into(),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            }
            .into(),
        };
        let text = serde_json::to_string(&request).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["op"], "send_text");
        assert_eq!(value["id"], 7);
        assert_eq!(value["text"], "耗子，起床啦");
        let back = parse_request(&text).unwrap();
        assert_eq!(back.id, 7);
        match back.call {
            Call::SendText(p) => assert_eq!(p.text, "耗子，起床啦"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_op_round_trips_by_name() {
        let calls: Vec<Call> = vec![
            Hello {
                protocol: 1,
                client: Some("t".into()),
            }
            .into(),
            SignUp {
                username: "tom".into(),
                password: "p".into(),
                display_name: None,
                invite: None,
            }
            .into(),
            SignIn {
                username: "tom".into(),
                password: "p".into(),
                device: None,
            }
            .into(),
            Resume { token: "t".into() }.into(),
            SignOut {}.into(),
            ChangePassword {
                old_password: "old".into(),
                new_password: "new".into(),
            }
            .into(),
            ListSessions {}.into(),
            RevokeSession {
                session_id: "0123456789abcdef".into(),
            }
            .into(),
            Ping {}.into(),
            FindUsers {
                usernames: vec!["jerry".into()],
            }
            .into(),
            GetUsers {
                uids: vec![Uid::random()],
            }
            .into(),
            CreateConversation {
                user_ids: vec![Uid::random()],
                unique: true,
                ..Default::default()
            }
            .into(),
            GetConversation {
                conversation_id: ConversationId::random(),
            }
            .into(),
            ListConversations::default().into(),
            Sync {
                since: 3,
                limit: Some(10),
            }
            .into(),
            UpdateConversation {
                conversation_id: ConversationId::random(),
                title: Some("x".into()),
                icon: None,
                remark: None,
                attrs: None,
            }
            .into(),
            AddMembers {
                conversation_id: ConversationId::random(),
                user_ids: vec![],
            }
            .into(),
            RemoveMembers {
                conversation_id: ConversationId::random(),
                user_ids: vec![],
            }
            .into(),
            SendText {
                conversation_id: ConversationId::random(),
                client_id: ClientId::random(),
                text: "hi".into(),
                reply_to: Some(1),
                mentions: vec![Uid::random()],
                mention_all: true,
            }
            .into(),
            SendImage {
                conversation_id: ConversationId::random(),
                client_id: "i1".parse().unwrap(),
                content: Box::new(crate::ImageContent {
                    blob: "9f".repeat(32),
                    size: 2_481_731,
                    mime: "image/jpeg".into(),
                    width: 3024,
                    height: 4032,
                    thumbnail: crate::Thumbnail {
                        blob: "41".repeat(32),
                        size: 31_877,
                        mime: "image/jpeg".into(),
                        width: 360,
                        height: 480,
                    },
                    name: Some("IMG_2041.jpg".into()),
                    caption: Some("the view".into()),
                }),
                reply_to: Some(2),
                mentions: vec![],
                mention_all: false,
            }
            .into(),
            SendFile {
                conversation_id: ConversationId::random(),
                client_id: "f1".parse().unwrap(),
                content: Box::new(crate::FileContent {
                    blob: "c0".repeat(32),
                    size: 52_428_800,
                    mime: "application/pdf".into(),
                    name: "Q3 report.pdf".into(),
                    caption: None,
                }),
                reply_to: None,
                mentions: vec![Uid::random()],
                mention_all: false,
            }
            .into(),
            EditMessage {
                conversation_id: ConversationId::random(),
                seq: 1,
                text: "hi!".into(),
            }
            .into(),
            RecallMessage {
                conversation_id: ConversationId::random(),
                seq: 1,
            }
            .into(),
            React {
                conversation_id: ConversationId::random(),
                seq: 1,
                emoji: "👍".into(),
                on: true,
            }
            .into(),
            GetMessageChanges {
                conversation_id: ConversationId::random(),
                after: 7,
                limit: Some(10),
            }
            .into(),
            GetMessages {
                conversation_id: ConversationId::random(),
                before: Some(5),
                after: None,
                limit: None,
            }
            .into(),
            MarkRead {
                conversation_id: ConversationId::random(),
                seq: 3,
            }
            .into(),
            SetTyping {
                conversation_id: ConversationId::random(),
                typing: true,
            }
            .into(),
            MuteConversation {
                conversation_id: ConversationId::random(),
                muted: true,
            }
            .into(),
            BlockUser {
                user_id: Uid::random(),
            }
            .into(),
            UnblockUser {
                user_id: Uid::random(),
            }
            .into(),
            GetBlocked {}.into(),
        ];
        assert_eq!(calls.len(), OPS.len(), "a new op needs a case here");
        for (i, call) in calls.into_iter().enumerate() {
            let name = call.name();
            let text = serde_json::to_string(&Request { id: i as u64, call }).unwrap();
            let back = parse_request(&text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(back.id, i as u64);
            assert_eq!(back.call.name(), name);
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
    }

    #[test]
    fn not_json_is_malformed() {
        let e = err("{\"id\":1,");
        assert_eq!((e.id, e.error.code), (None, ErrorCode::MalformedFrame));
        assert_eq!(err("[1,2]").error.code, ErrorCode::MalformedFrame);
        assert_eq!(err("\"hello\"").error.code, ErrorCode::MalformedFrame);
    }

    #[test]
    fn missing_or_bad_request_id_is_malformed() {
        assert_eq!(
            err(r#"{"op":"ping"}"#).error.code,
            ErrorCode::MalformedFrame
        );
        assert_eq!(
            err(r#"{"id":"1","op":"ping"}"#).error.code,
            ErrorCode::MalformedFrame
        );
        assert_eq!(
            err(r#"{"id":-1,"op":"ping"}"#).error.code,
            ErrorCode::MalformedFrame
        );
        let e = err(r#"{"id":4,"op":7}"#);
        assert_eq!((e.id, e.error.code), (Some(4), ErrorCode::MalformedFrame));
    }

    #[test]
    fn unknown_op_keeps_the_id() {
        let e = err(r#"{"id":9,"op":"launch_missiles"}"#);
        assert_eq!((e.id, e.error.code), (Some(9), ErrorCode::UnknownOp));
        assert!(e.error.message.contains("launch_missiles"));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = err(
            r#"{"id":3,"op":"send_text","conversation_id":"5f1c0b1a2b3c4d5e6f708192a3b4c5d6","client_id":"a","text":5}"#,
        );
        assert_eq!((e.id, e.error.code), (Some(3), ErrorCode::InvalidParams));
        assert!(e.error.message.contains("text"), "{}", e.error.message);
        let e = err(r#"{"id":3,"op":"send_text","client_id":"a","text":"x"}"#);
        assert_eq!(e.error.code, ErrorCode::InvalidParams);
        assert!(
            e.error.message.contains("conversation_id"),
            "{}",
            e.error.message
        );
        let e = err(
            r#"{"id":3,"op":"send_text","conversation_id":"5f1c0b1a2b3c4d5e6f708192a3b4c5d6","client_id":"a b","text":"x"}"#,
        );
        assert_eq!(e.error.code, ErrorCode::InvalidParams);
        assert!(e.error.message.contains("client_id"), "{}", e.error.message);
    }

    #[test]
    fn an_id_field_of_the_wrong_json_type_is_invalid_params() {
        for value in ["5", "null", "{}", "[\"5f1c0b1a2b3c4d5e6f708192a3b4c5d6\"]"] {
            let e = err(&format!(
                r#"{{"id":3,"op":"get_conversation","conversation_id":{value}}}"#
            ));
            assert_eq!(
                (e.id, e.error.code),
                (Some(3), ErrorCode::InvalidParams),
                "{value}: {}",
                e.error.message
            );
            assert!(
                e.error.message.contains("conversation_id"),
                "{}",
                e.error.message
            );
        }
    }

    #[test]
    fn bad_ids_get_bad_id() {
        let e = err(r#"{"id":3,"op":"get_conversation","conversation_id":"nope"}"#);
        assert_eq!((e.id, e.error.code), (Some(3), ErrorCode::BadId));
        assert!(
            e.error.message.contains("conversation_id"),
            "{}",
            e.error.message
        );
        let e = err(
            r#"{"id":3,"op":"create_conversation","user_ids":["9896d0783afa55ff194248ecc408baeb","XYZ"]}"#,
        );
        assert_eq!(e.error.code, ErrorCode::BadId);
        assert!(
            e.error.message.contains("user_ids[1]"),
            "{}",
            e.error.message
        );
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let r = parse_request(r#"{"id":1,"op":"ping","future_field":true}"#).unwrap();
        assert_eq!(r.call.name(), "ping");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let r =
            parse_request(r#"{"id":1,"op":"sign_in","username":"tom","password":"s3cret-pass"}"#)
                .unwrap();
        assert!(!format!("{r:?}").contains("s3cret-pass"));
    }
}
