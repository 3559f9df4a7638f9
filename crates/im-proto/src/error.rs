//! Stable error codes and the error body every error frame carries.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, transient = $transient:literal; )*) => {
        /// A stable, machine-readable error code. Its snake_case spelling on the wire never changes;
        /// clients branch on it. A code this version does not know deserializes as [`ErrorCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code from a newer server that this version does not know.
            #[serde(other)]
            Unknown,
        }

        impl ErrorCode {
            /// Every code this version knows, in documentation order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $text, )*
                    ErrorCode::Unknown => "unknown",
                }
            }

            /// Whether the same request may succeed if retried later, unchanged
            /// (the server was busy or stopping, or a rate limit applied).
            pub fn is_transient(self) -> bool {
                match self {
                    $( ErrorCode::$variant => $transient, )*
                    ErrorCode::Unknown => false,
                }
            }
        }
    };
}

error_codes! {
    /// The frame is not a JSON object with an unsigned integer `id` and a string `op`
    /// (or it is a binary frame).
    MalformedFrame = "malformed_frame", transient = false;
    /// `op` names no operation this server knows.
    UnknownOp = "unknown_op", transient = false;
    /// A field is missing, has the wrong type or an invalid value; `message` names it.
    InvalidParams = "invalid_params", transient = false;
    /// An id field is not 32 lowercase hex characters.
    BadId = "bad_id", transient = false;
    /// The frame is larger than the server's `max_frame_bytes`.
    FrameTooLarge = "frame_too_large", transient = false;
    /// The first frame of a connection must be `hello`.
    HelloRequired = "hello_required", transient = false;
    /// The server does not speak the protocol version the client asked for.
    UnsupportedVersion = "unsupported_version", transient = false;
    /// The operation needs a signed-in connection (`sign_in` or `resume` first).
    Unauthenticated = "unauthenticated", transient = false;
    /// `sign_in`, `sign_up` or `resume` on a connection that is already signed in.
    AlreadySignedIn = "already_signed_in", transient = false;
    /// The username is not 3 to 32 characters from a-z 0-9 _ . -
    InvalidUsername = "invalid_username", transient = false;
    /// The password is shorter than 8 or longer than 256 bytes.
    InvalidPassword = "invalid_password", transient = false;
    /// The display name has text-direction or control characters, nothing visible, or is too
    /// long.
    InvalidDisplayName = "invalid_display_name", transient = false;
    /// Another account already has that username.
    UsernameTaken = "username_taken", transient = false;
    /// Unknown username or wrong password (deliberately not telling which).
    WrongCredentials = "wrong_credentials", transient = false;
    /// This server does not take sign-ups: its operator creates the accounts.
    SignUpClosed = "sign_up_closed", transient = false;
    /// This server takes sign-ups with an invite code only, and none was given.
    InviteRequired = "invite_required", transient = false;
    /// The invite code is unknown, used up or expired.
    InviteInvalid = "invite_invalid", transient = false;
    /// The account is disabled by the server's operator (the password was right).
    AccountDisabled = "account_disabled", transient = false;
    /// No session of the caller has that id.
    SessionNotFound = "session_not_found", transient = false;
    /// The session token is unknown, malformed or revoked: sign in again.
    InvalidToken = "invalid_token", transient = false;
    /// Too many requests on this connection, or too many failed sign-ins;
    /// `retry_after_ms` says when to try again.
    RateLimited = "rate_limited", transient = true;
    /// No user has that uid.
    UserNotFound = "user_not_found", transient = false;
    /// No conversation has that id.
    ConversationNotFound = "conversation_not_found", transient = false;
    /// The signed-in user is not a member of that conversation.
    NotMember = "not_member", transient = false;
    /// Only the conversation's manager may do that.
    NotManager = "not_manager", transient = false;
    /// One of the two has blocked the other: no messages in their single chat, no new
    /// conversation with them, no adding them to a group.
    Blocked = "blocked", transient = false;
    /// A `SINGLE_CHAT` always has its two members; start a group instead.
    SingleChatMembersFixed = "single_chat_members_fixed", transient = false;
    /// The conversation would have more members than `max_members`.
    TooManyMembers = "too_many_members", transient = false;
    /// The text is longer than `max_text_chars` characters.
    TextTooLong = "text_too_long", transient = false;
    /// The conversation has no message with that seq.
    MessageNotFound = "message_not_found", transient = false;
    /// Only the message's sender may do that (or, for `recall_message`, a group's manager).
    NotSender = "not_sender", transient = false;
    /// Too late: the message is older than the server's edit or recall window.
    WindowClosed = "window_closed", transient = false;
    /// Only a text message that was not recalled can be edited; a recalled message takes no
    /// reactions.
    NotEditable = "not_editable", transient = false;
    /// The message has reactions with `MAX_REACTIONS` (20) different emoji already.
    TooManyReactions = "too_many_reactions", transient = false;
    /// An HTTP request under `/v1/` is malformed: a bad path, header, JSON body or hash, a
    /// wrong content type or no length (HTTP 400, 411 or 415).
    InvalidRequest = "invalid_request", transient = false;
    /// The upload is larger than the server's `max_upload_bytes` (HTTP 413).
    TooLarge = "too_large", transient = false;
    /// The upload would take the user over their storage quota (HTTP 413).
    QuotaExceeded = "quota_exceeded", transient = false;
    /// The user has the most unfinished uploads the server allows (HTTP 429): finish or
    /// cancel one first.
    TooManyUploads = "too_many_uploads", transient = false;
    /// The caller has no unfinished upload with that id (unknown, another user's, expired,
    /// finished or cancelled): create it again to learn which (HTTP 404).
    UploadNotFound = "upload_not_found", transient = false;
    /// No blob with that hash that the caller may read (HTTP 404, whether it exists or not).
    BlobNotFound = "blob_not_found", transient = false;
    /// The request's `Upload-Offset` is not where the upload stands; the answer's
    /// `Upload-Offset` says where (HTTP 409).
    OffsetMismatch = "offset_mismatch", transient = false;
    /// The uploaded bytes' SHA-256 is not the one declared: the upload is deleted (HTTP 422).
    HashMismatch = "hash_mismatch", transient = false;
    /// Another request is writing this upload; `Retry-After` says when to try again (HTTP 423).
    UploadBusy = "upload_busy", transient = true;
    /// The blob a message names is not what the message says: its size, or (for an image or
    /// its thumbnail) its image type.
    BlobMismatch = "blob_mismatch", transient = false;
    /// The `Range` starts past the blob's end (HTTP 416).
    RangeNotSatisfiable = "range_not_satisfiable", transient = false;
    /// A title, icon, remark, attrs or display name is longer than its limit.
    FieldTooLong = "field_too_long", transient = false;
    /// The server is shutting down and took no action; retry on another connection.
    ShuttingDown = "shutting_down", transient = true;
    /// The server's disk is full: nothing was stored. `retry_after_ms` says when to try again
    /// (an outbox keeps the message and sends it again then, with the same client id).
    StorageFull = "storage_full", transient = true;
    /// The server cannot reach its database (PostgreSQL restarting or failing over): nothing
    /// was stored. `retry_after_ms` says when to try again; the server reconnects by itself.
    StoreUnavailable = "store_unavailable", transient = true;
    /// Something failed inside the server; nothing was half-done. Retrying may help.
    Internal = "internal", transient = true;
}

impl ErrorCode {
    /// The HTTP status an answer with this code carries on the server's HTTP endpoints
    /// (`/v1/uploads`, `/v1/blobs`). Codes that only the WebSocket gives answer 400.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated | ErrorCode::InvalidToken => 401,
            ErrorCode::UploadNotFound | ErrorCode::BlobNotFound => 404,
            ErrorCode::OffsetMismatch => 409,
            ErrorCode::TooLarge | ErrorCode::QuotaExceeded => 413,
            ErrorCode::RangeNotSatisfiable => 416,
            ErrorCode::HashMismatch => 422,
            ErrorCode::UploadBusy => 423,
            ErrorCode::RateLimited | ErrorCode::TooManyUploads => 429,
            ErrorCode::Internal => 500,
            ErrorCode::ShuttingDown | ErrorCode::StoreUnavailable => 503,
            ErrorCode::StorageFull => 507,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of an error frame: a stable code, a sentence for people, and for `rate_limited`
/// the time to wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ErrorBody {
    /// The stable code to branch on.
    pub code: ErrorCode,
    /// A human-readable explanation; its wording may change between versions.
    pub message: String,
    /// With `rate_limited`: milliseconds to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorBody {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// A `rate_limited` error telling the client how long to wait.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: message.into(),
            retry_after_ms: Some(retry_after_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_with_their_wire_spelling() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
        }
    }

    #[test]
    fn a_newer_code_reads_as_unknown() {
        let code: ErrorCode = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(code, ErrorCode::Unknown);
        assert!(!code.is_transient());
    }

    #[test]
    fn rate_limited_carries_its_delay() {
        let body = ErrorBody::rate_limited("slow down", 1500);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code":"rate_limited","message":"slow down","retry_after_ms":1500})
        );
        assert!(body.code.is_transient());
        let plain = serde_json::to_value(ErrorBody::new(ErrorCode::NotMember, "no")).unwrap();
        assert!(plain.get("retry_after_ms").is_none());
    }
}
