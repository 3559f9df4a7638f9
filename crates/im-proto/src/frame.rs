//! Server → client frames: results, errors and pushed events. The server encodes them with
//! [`encode_result`], [`encode_error`] and [`encode_event`]; a client reads them with
//! [`decode_server_frame`].

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::ErrorBody;
use crate::ids::{ConversationId, Uid};
use crate::model::{Conversation, Message, Receipt, Typing};
use crate::request::RequestId;
use crate::request::{BlockState, MuteState};

macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($data:ty) = $name:literal; )*) => {
        /// Something the server pushes without being asked: `{"type":"event","event":…,"data":…}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "event", content = "data")]
        #[non_exhaustive]
        pub enum Event {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($data), )*
        }

        impl Event {
            /// The `event` string.
            pub fn name(&self) -> &'static str {
                match self { $( Event::$variant(_) => $name, )* }
            }

            /// The event's `data` as JSON text.
            pub fn data_json(&self) -> String {
                match self {
                    $( Event::$variant(data) => serde_json::to_string(data), )*
                }
                .expect("protocol types always serialize")
            }

            /// Decodes an event's `data` by its name. `Ok(None)` for an event this version does
            /// not know (clients should ignore those).
            pub fn decode(name: &str, data: &str) -> Result<Option<Event>, serde_json::Error> {
                Ok(Some(match name {
                    $( $name => Event::$variant(serde_json::from_str(data)?), )*
                    _ => return Ok(None),
                }))
            }
        }

        /// Every event name this version knows.
        pub const EVENTS: &[&str] = &[$($name),*];
    };
}

events! {
    /// A new message in one of your conversations (also sent to your other sessions when you
    /// sent it).
    Message(Message) = "message";
    /// A message was edited or recalled: the message as it is now (same `conversation_id` and
    /// `seq`).
    MessageUpdated(Message) = "message_updated";
    /// A member's read mark moved.
    Receipt(Receipt) = "receipt";
    /// A member started or stopped typing.
    Typing(Typing) = "typing";
    /// You became a member of a new conversation (or created it on another session).
    ConversationCreated(Conversation) = "conversation_created";
    /// A conversation you are in changed: title, icon, remark, attrs, members or manager.
    ConversationUpdated(Conversation) = "conversation_updated";
    /// You are no longer a member of a conversation (you left or were removed).
    ConversationRemoved(ConversationRemoved) = "conversation_removed";
    /// This connection's session was revoked (signed out elsewhere); it is signed out now.
    SignedOut(SignedOut) = "signed_out";
    /// You muted or un-muted a conversation on another session.
    MuteChanged(MuteState) = "mute_changed";
    /// You blocked or unblocked a user on another session.
    BlockChanged(BlockState) = "block_changed";
    /// Live events may have been missed (a server node lost touch with the others for a
    /// moment): `sync` from your cursor and fetch what is missing, as after reconnecting.
    SyncNeeded(SyncNeeded) = "sync_needed";
}

/// Data of `sync_needed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncNeeded {
    /// Why, for logs.
    pub reason: String,
}

/// Data of `conversation_removed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRemoved {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who removed you (yourself when you left).
    pub by: Uid,
}

/// Data of `signed_out`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOut {
    /// Why, for people.
    pub reason: String,
}

#[derive(Serialize)]
struct ResultFrame<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: RequestId,
    result: &'a T,
}

#[derive(Serialize)]
struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Option<RequestId>,
    error: &'a ErrorBody,
}

/// `{"type":"result","id":…,"result":…}`.
pub fn encode_result<T: Serialize>(id: RequestId, result: &T) -> String {
    serde_json::to_string(&ResultFrame {
        kind: "result",
        id,
        result,
    })
    .expect("protocol types always serialize")
}

/// `{"type":"error","id":…,"error":{"code":…,"message":…}}`; `id` is null when the request's id
/// could not be read.
pub fn encode_error(id: Option<RequestId>, error: &ErrorBody) -> String {
    serde_json::to_string(&ErrorFrame {
        kind: "error",
        id,
        error,
    })
    .expect("protocol types always serialize")
}

/// `{"type":"event","event":…,"data":…}`.
pub fn encode_event(event: &Event) -> String {
    encode_event_json(event.name(), &event.data_json())
}

/// A result frame around a result that is already JSON text (so a value serialized once can
/// go out in several frames).
pub fn encode_result_json(id: RequestId, result_json: &str) -> String {
    let mut out = String::with_capacity(result_json.len() + 40);
    out.push_str(r#"{"type":"result","id":"#);
    write!(out, "{id}").expect("writing to a String cannot fail");
    out.push_str(r#","result":"#);
    out.push_str(result_json);
    out.push('}');
    out
}

/// An event frame around data that is already JSON text. `name` must be one of [`EVENTS`].
pub fn encode_event_json(name: &str, data_json: &str) -> String {
    debug_assert!(EVENTS.contains(&name));
    let mut out = String::with_capacity(data_json.len() + name.len() + 36);
    out.push_str(r#"{"type":"event","event":""#);
    out.push_str(name);
    out.push_str(r#"","data":"#);
    out.push_str(data_json);
    out.push('}');
    out
}

/// A frame from the server, as a client reads it.
#[derive(Debug, Clone)]
pub enum ServerFrame {
    /// The successful reply to request `id`; decode `result` as the op's
    /// [`Op::Output`](crate::Op::Output).
    Result {
        /// The request's id.
        id: RequestId,
        /// The result, still JSON.
        result: Box<RawValue>,
    },
    /// The failed reply to request `id` (or to an unreadable frame when `id` is `None`).
    Error {
        /// The request's id, if the server could read it.
        id: Option<RequestId>,
        /// The error.
        error: ErrorBody,
    },
    /// A pushed event.
    Event(Event),
    /// A pushed event this version does not know; ignore it.
    UnknownEvent(String),
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    id: Option<RequestId>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorBody>,
    #[serde(default, borrow)]
    event: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Why a server frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Not JSON, or a field has the wrong type.
    #[error("malformed server frame: {0}")]
    Json(#[from] serde_json::Error),
    /// A well-formed frame missing what its type needs.
    #[error("malformed server frame: {0}")]
    Shape(&'static str),
}

/// Reads a frame from the server.
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, FrameError> {
    let raw: RawFrame<'_> = serde_json::from_str(text)?;
    match raw.kind {
        "result" => Ok(ServerFrame::Result {
            id: raw.id.ok_or(FrameError::Shape("result without id"))?,
            result: raw
                .result
                .ok_or(FrameError::Shape("result without result"))?
                .to_owned(),
        }),
        "error" => Ok(ServerFrame::Error {
            id: raw.id,
            error: raw.error.ok_or(FrameError::Shape("error without error"))?,
        }),
        "event" => {
            let name = raw.event.ok_or(FrameError::Shape("event without name"))?;
            let data = raw.data.map(RawValue::get).unwrap_or("null");
            Ok(match Event::decode(&name, data)? {
                Some(event) => ServerFrame::Event(event),
                None => ServerFrame::UnknownEvent(name.into_owned()),
            })
        }
        _ => Err(FrameError::Shape("unknown frame type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::ids::{ClientId, MessageId};
    use crate::model::MessageBody;
    use crate::request::Pong;

    #[test]
    fn result_round_trips() {
        let text = encode_result(5, &Pong { time: 42 });
        assert_eq!(text, r#"{"type":"result","id":5,"result":{"time":42}}"#);
        match decode_server_frame(&text).unwrap() {
            ServerFrame::Result { id, result } => {
                assert_eq!(id, 5);
                let pong: Pong = serde_json::from_str(result.get()).unwrap();
                assert_eq!(pong.time, 42);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_round_trips_with_and_without_id() {
        let body = ErrorBody::new(ErrorCode::NotMember, "not a member");
        for id in [Some(3), None] {
            let text = encode_error(id, &body);
            match decode_server_frame(&text).unwrap() {
                ServerFrame::Error { id: got, error } => {
                    assert_eq!(got, id);
                    assert_eq!(error, body);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(encode_error(None, &body).contains(r#""id":null"#));
    }

    #[test]
    fn events_round_trip() {
        let message = Message {
            id: MessageId::time_ordered(),
            conversation_id: ConversationId::random(),
            seq: 1,
            from: Uid::random(),
            client_id: ClientId::random(),
            timestamp: 1,
            body: MessageBody::text("耗子，起床啦"),
            reply_to: None,
            edited_at: None,
            mentions: vec![],
            mention_all: false,
            reactions: vec![],
        };
        let events = vec![
            Event::Message(message.clone()),
            Event::MessageUpdated(Message {
                body: MessageBody::Recalled { by: message.from },
                ..message.clone()
            }),
            Event::Receipt(Receipt {
                conversation_id: message.conversation_id,
                uid: message.from,
                read_seq: 1,
            }),
            Event::Typing(Typing {
                conversation_id: message.conversation_id,
                uid: message.from,
                typing: true,
            }),
            Event::ConversationRemoved(ConversationRemoved {
                conversation_id: message.conversation_id,
                by: message.from,
            }),
            Event::SignedOut(SignedOut {
                reason: "signed out".into(),
            }),
            Event::MuteChanged(MuteState {
                conversation_id: message.conversation_id,
                muted: true,
            }),
            Event::BlockChanged(BlockState {
                user_id: message.from,
                blocked: true,
            }),
        ];
        for event in events {
            let text = encode_event(&event);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["type"], "event");
            assert_eq!(value["event"], event.name());
            match decode_server_frame(&text).unwrap() {
                ServerFrame::Event(back) => assert_eq!(back, event),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn preencoded_json_frames_match_the_typed_encoders() {
        let pong = Pong { time: 7 };
        let json = serde_json::to_string(&pong).unwrap();
        assert_eq!(encode_result_json(9, &json), encode_result(9, &pong));
        let event = Event::SignedOut(SignedOut { reason: "r".into() });
        let text = encode_event(&event);
        assert!(
            text.starts_with(r#"{"type":"event","event":"signed_out","data":{"#),
            "{text}"
        );
    }

    #[test]
    fn unknown_events_are_reported_not_fatal() {
        let frame =
            decode_server_frame(r#"{"type":"event","event":"recalled","data":{"x":1}}"#).unwrap();
        assert!(matches!(frame, ServerFrame::UnknownEvent(name) if name == "recalled"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_server_frame("nope").is_err());
        assert!(decode_server_frame(r#"{"type":"result"}"#).is_err());
        assert!(decode_server_frame(r#"{"type":"mystery"}"#).is_err());
    }
}
