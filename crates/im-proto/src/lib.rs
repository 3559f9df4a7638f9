//! The Gtedx IM wire protocol: what server and clients say to each other, with no I/O.
//!
//! A connection is a WebSocket carrying JSON text frames. The client sends [`Request`]s
//! (`{"id":1,"op":"send_text",...}`), each answered by exactly one result or error frame with the
//! same `id`; the server also pushes [`Event`]s. The first request must be [`Hello`] naming
//! [`PROTOCOL_VERSION`]. `docs/PROTOCOL.md` in the repository describes every frame for people
//! writing clients in other languages.
//!
//! ```
//! use im_proto::{parse_request, Call, SendText, Request, ConversationId, ClientId};
//!
//! let frame = serde_json::to_string(&Request {
//!     id: 1,
//!     call: SendText {
//!         conversation_id: ConversationId::random(),
//!         client_id: ClientId::random(),
//!         text: "耗子，起床啦".into(),
//!         reply_to: None,
//!         mentions: vec![],
//!         mention_all: false,
//!     }
//!     .into(),
//! })
//! .unwrap();
//! assert!(matches!(parse_request(&frame).unwrap().call, Call::SendText(_)));
//! ```

mod error;
mod frame;
mod ids;
mod model;
mod request;
mod secret;

pub use error::{ErrorBody, ErrorCode};
pub use frame::{
    decode_server_frame, encode_error, encode_event, encode_event_json, encode_result,
    encode_result_json, ConversationRemoved, Event, FrameError, ServerFrame, SignedOut, SyncNeeded,
    EVENTS,
};
pub use ids::{BadClientId, BadId, ClientId, ConversationId, MessageId, Uid};
pub use model::{
    check_display_name, field_limits, is_emoji, normalize_username, BadDisplayName, Conversation,
    ConversationType, ConversationView, FileContent, ImageContent, Limits, Message, MessageBody,
    Millis, Reaction, Receipt, Seq, Thumbnail, Typing, User, MAX_FILE_NAME_CHARS, MAX_REACTIONS,
    MAX_THUMBNAIL_BYTES,
};
pub use request::{
    parse_request, AddMembers, BlockState, BlockUser, Blocked, Call, ChangePassword,
    ConversationPage, CreateConversation, CreatedConversation, EditMessage, Empty, FindUsers,
    GetBlocked, GetConversation, GetMessageChanges, GetMessages, GetUsers, Hello, HelloOk,
    ListConversations, ListSessions, MarkRead, MessageChanges, MessagePage, MuteConversation,
    MuteState, Op, Ping, Pong, React, ReadMark, RecallMessage, RemoveMembers, Request,
    RequestError, RequestId, Resume, Resumed, RevokeSession, SendBlob, SendFile, SendImage,
    SendText, SessionInfo, Sessions, SetTyping, SignIn, SignOut, SignUp, SignUpMode, SignedIn,
    SignedUp, Sync, SyncPage, UnblockUser, UpdateConversation, Users, OPS, PROTOCOL_VERSION,
};
pub use secret::Secret;

/// The WebSocket path the server accepts connections on.
pub const WS_PATH: &str = "/ws";
