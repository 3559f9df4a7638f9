//! The documented shape of every frame, result, event and model (docs/PROTOCOL.md §3, §4, §5,
//! §6), checked field by field on the raw JSON: which fields must be there, of which JSON type,
//! and the invariants the document states between them. The client applies it to everything it
//! reads, so every check also checks the shape of whatever it touches.

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use im_proto::ErrorBody;
use serde_json::{Map, Value};

/// A server frame, split by `type` (§3).
#[derive(Debug)]
pub enum Frame {
    /// `{"type":"result","id":N,"result":{…}}`.
    Result {
        /// The request id.
        id: u64,
        /// Always an object.
        result: Value,
    },
    /// `{"type":"error","id":N|null,"error":{"code","message"[,"retry_after_ms"]}}`.
    Error {
        /// The request id, if the server could read it.
        id: Option<u64>,
        /// The error body.
        error: ErrorBody,
    },
    /// `{"type":"event","event":"…","data":{…}}`.
    Event {
        /// The event's name.
        name: String,
        /// Its data.
        data: Value,
    },
}

/// Reads and checks one server frame.
pub fn server_frame(text: &str) -> Result<Frame> {
    ensure!(
        !text.contains('\n'),
        "a frame is one line of JSON (§3), this one has a line break: {text}"
    );
    let value: Value =
        serde_json::from_str(text).with_context(|| format!("a frame that is not JSON: {text}"))?;
    let frame = object("frame", &value)?;
    let kind = frame
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("a frame without a string type: {text}"))?;
    match kind {
        "result" => {
            let id = frame
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| anyhow!("a result whose id is not an unsigned integer: {text}"))?;
            let result = frame
                .get("result")
                .ok_or_else(|| anyhow!("a result frame without result: {text}"))?;
            ensure!(
                result.is_object(),
                "result is always a JSON object (§3.2): {text}"
            );
            Ok(Frame::Result {
                id,
                result: result.clone(),
            })
        }
        "error" => {
            let id = match frame.get("id") {
                Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    anyhow!("an error whose id is neither null nor an unsigned integer: {text}")
                })?),
                None => bail!("an error frame without id (null when unknown, §3.2): {text}"),
            };
            let body = frame
                .get("error")
                .ok_or_else(|| anyhow!("an error frame without error: {text}"))?;
            let body_map = object("error", body)?;
            let code = body_map
                .get("code")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("an error without a string code: {text}"))?;
            ensure!(
                body_map.get("message").is_some_and(Value::is_string),
                "an error without a string message: {text}"
            );
            if code == "rate_limited" {
                ensure!(
                    body_map.get("retry_after_ms").is_some_and(Value::is_u64),
                    "rate_limited carries an integer retry_after_ms (§3.2): {text}"
                );
            }
            let error: ErrorBody = serde_json::from_value(body.clone())
                .with_context(|| format!("an error body that does not decode: {text}"))?;
            Ok(Frame::Error { id, error })
        }
        "event" => {
            let name = frame
                .get("event")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("an event without a string name: {text}"))?;
            let data = frame
                .get("data")
                .ok_or_else(|| anyhow!("an event without data: {text}"))?;
            event(name, data).with_context(|| format!("the {name} event is not as documented"))?;
            Ok(Frame::Event {
                name: name.to_owned(),
                data: data.clone(),
            })
        }
        other => bail!("a frame of unknown type {other:?}: {text}"),
    }
}

/// Checks a successful result of `op` (§5).
pub fn result(op: &str, v: &Value) -> Result<()> {
    match op {
        "hello" => {
            let m = fields(v, &["protocol", "server", "limits", "time"])?;
            ensure!(m["protocol"] == 1, "protocol is 1, not {}", m["protocol"]);
            ensure!(
                m["server"].as_str().is_some_and(|s| !s.is_empty()),
                "server is a non-empty string"
            );
            limits(&m["limits"]).context("limits")?;
            millis(&m["time"]).context("time")
        }
        "ping" => millis(&fields(v, &["time"])?["time"]).context("time"),
        "sign_up" | "resume" => user(&fields(v, &["user"])?["user"]).context("user"),
        "sign_in" => {
            let m = fields(v, &["user", "token"])?;
            user(&m["user"]).context("user")?;
            let token = m["token"].as_str().unwrap_or_default();
            ensure!(
                token.len() == 64
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "token is 64 lowercase hex characters, not {:?}",
                m["token"]
            );
            Ok(())
        }
        "sign_out" | "typing" => {
            ensure!(
                v == &Value::Object(Map::new()),
                "the result is {{}}, not {v}"
            );
            Ok(())
        }
        "find_users" | "get_users" => {
            for (i, u) in array(&fields(v, &["users"])?["users"])?.iter().enumerate() {
                user(u).with_context(|| format!("users[{i}]"))?;
            }
            Ok(())
        }
        "create_conversation" => {
            let m = fields(v, &["conversation", "created"])?;
            conversation(&m["conversation"]).context("conversation")?;
            ensure!(m["created"].is_boolean(), "created is a boolean");
            Ok(())
        }
        "get_conversation" => view(v, false),
        "list_conversations" => {
            let m = fields(v, &["conversations"])?;
            views(&m["conversations"], false)?;
            if let Some(next) = m.get("next_before") {
                ensure!(
                    next.is_u64(),
                    "next_before is an integer when present (absent on the last page), not {next}"
                );
            }
            Ok(())
        }
        "sync" => {
            let m = fields(v, &["conversations", "cursor", "has_more"])?;
            views(&m["conversations"], true)?;
            ensure!(m["cursor"].is_u64(), "cursor is an unsigned integer");
            ensure!(m["has_more"].is_boolean(), "has_more is a boolean");
            Ok(())
        }
        "update_conversation" | "add_members" | "remove_members" => conversation(v),
        "send_text" => message(v),
        "get_messages" => {
            let m = fields(v, &["messages", "has_more"])?;
            let messages = array(&m["messages"])?;
            for (i, msg) in messages.iter().enumerate() {
                message(msg).with_context(|| format!("messages[{i}]"))?;
            }
            let seqs: Vec<u64> = messages.iter().filter_map(|m| m["seq"].as_u64()).collect();
            ensure!(
                seqs.windows(2).all(|w| w[1] == w[0] + 1),
                "messages come in increasing seq order, consecutive: {seqs:?}"
            );
            ensure!(m["has_more"].is_boolean(), "has_more is a boolean");
            Ok(())
        }
        "mark_read" => {
            let m = fields(v, &["conversation_id", "read_seq", "unread_count"])?;
            id(&m["conversation_id"]).context("conversation_id")?;
            ensure!(m["read_seq"].is_u64(), "read_seq is an unsigned integer");
            ensure!(
                m["unread_count"].is_u64(),
                "unread_count is an unsigned integer"
            );
            Ok(())
        }
        "mute_conversation" => mute_state(v),
        "block_user" | "unblock_user" => block_state(v),
        "get_blocked" => {
            for (i, u) in array(&fields(v, &["user_ids"])?["user_ids"])?
                .iter()
                .enumerate()
            {
                id(u).with_context(|| format!("user_ids[{i}]"))?;
            }
            Ok(())
        }
        // An op the document does not name: nothing to hold it to.
        _ => Ok(()),
    }
}

/// Checks an event's data (§6). Events the document does not name are let through (§3.3:
/// clients ignore them).
pub fn event(name: &str, data: &Value) -> Result<()> {
    match name {
        "message" => message(data),
        "receipt" => {
            let m = fields(data, &["conversation_id", "uid", "read_seq"])?;
            id(&m["conversation_id"]).context("conversation_id")?;
            id(&m["uid"]).context("uid")?;
            ensure!(m["read_seq"].is_u64(), "read_seq is an unsigned integer");
            Ok(())
        }
        "typing" => {
            let m = fields(data, &["conversation_id", "uid", "typing"])?;
            id(&m["conversation_id"]).context("conversation_id")?;
            id(&m["uid"]).context("uid")?;
            ensure!(m["typing"].is_boolean(), "typing is a boolean");
            Ok(())
        }
        "conversation_created" | "conversation_updated" => conversation(data),
        "conversation_removed" => {
            let m = fields(data, &["conversation_id", "by"])?;
            id(&m["conversation_id"]).context("conversation_id")?;
            id(&m["by"]).context("by")
        }
        "signed_out" => {
            let m = fields(data, &["reason"])?;
            ensure!(m["reason"].is_string(), "reason is a string");
            Ok(())
        }
        "mute_changed" => mute_state(data),
        "block_changed" => block_state(data),
        _ => Ok(()),
    }
}

/// `{conversation_id, muted}`: the result of `mute_conversation` and the `mute_changed` event.
fn mute_state(v: &Value) -> Result<()> {
    let m = fields(v, &["conversation_id", "muted"])?;
    id(&m["conversation_id"]).context("conversation_id")?;
    ensure!(m["muted"].is_boolean(), "muted is a boolean");
    Ok(())
}

/// `{user_id, blocked}`: the result of `block_user`/`unblock_user` and the `block_changed` event.
fn block_state(v: &Value) -> Result<()> {
    let m = fields(v, &["user_id", "blocked"])?;
    id(&m["user_id"]).context("user_id")?;
    ensure!(m["blocked"].is_boolean(), "blocked is a boolean");
    Ok(())
}

/// A Conversation: exactly the ten fields of §4.6.
pub fn conversation(v: &Value) -> Result<()> {
    const TEN: [&str; 10] = [
        "id",
        "title",
        "icon",
        "manager_id",
        "remark",
        "user_count",
        "attrs",
        "create_time",
        "type",
        "user_ids",
    ];
    let m = fields(v, &TEN)?;
    let extra: Vec<&String> = m.keys().filter(|k| !TEN.contains(&k.as_str())).collect();
    ensure!(
        extra.is_empty(),
        "a conversation has exactly ten fields (§4.6), this one also {extra:?}"
    );
    id(&m["id"]).context("id")?;
    id(&m["manager_id"]).context("manager_id")?;
    for text in ["title", "icon", "remark"] {
        ensure!(m[text].is_string(), "{text} is a string");
    }
    ensure!(m["attrs"].is_object(), "attrs is an object");
    millis(&m["create_time"]).context("create_time")?;
    let kind = m["type"].as_str().unwrap_or_default();
    ensure!(
        kind == "SINGLE_CHAT" || kind == "GROUP_CHAT",
        "type is SINGLE_CHAT or GROUP_CHAT, not {}",
        m["type"]
    );
    let members = array(&m["user_ids"]).context("user_ids")?;
    for (i, uid) in members.iter().enumerate() {
        id(uid).with_context(|| format!("user_ids[{i}]"))?;
        ensure!(!members[..i].contains(uid), "user_ids lists {uid} twice");
    }
    ensure!(
        m["user_count"].as_u64() == Some(members.len() as u64),
        "user_count ({}) = user_ids.length ({})",
        m["user_count"],
        members.len()
    );
    if kind == "SINGLE_CHAT" {
        ensure!(members.len() == 2, "a SINGLE_CHAT has its two members: {v}");
    }
    Ok(())
}

/// A Message (§4.7).
pub fn message(v: &Value) -> Result<()> {
    let m = fields(
        v,
        &[
            "id",
            "conversation_id",
            "seq",
            "from",
            "client_id",
            "timestamp",
            "type",
            "content",
        ],
    )?;
    id(&m["id"]).context("id")?;
    id(&m["conversation_id"]).context("conversation_id")?;
    id(&m["from"]).context("from")?;
    ensure!(
        m["seq"].as_u64().is_some_and(|s| s >= 1),
        "seq is an integer from 1, not {}",
        m["seq"]
    );
    let client_id = m["client_id"].as_str().unwrap_or_default();
    ensure!(
        (1..=64).contains(&client_id.len())
            && client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "client_id is 1 to 64 characters from A-Z a-z 0-9 _ - (§4.2), not {}",
        m["client_id"]
    );
    millis(&m["timestamp"]).context("timestamp")?;
    ensure!(m["type"].is_string(), "type is a string");
    if m["type"] == "text" {
        let content = fields(&m["content"], &["text"]).context("content")?;
        ensure!(content["text"].is_string(), "content.text is a string");
    } else {
        ensure!(m["content"].is_object(), "content is an object");
    }
    Ok(())
}

/// A User (§4.5).
pub fn user(v: &Value) -> Result<()> {
    let m = fields(v, &["uid", "username", "display_name"])?;
    id(&m["uid"]).context("uid")?;
    let name = m["username"].as_str().unwrap_or_default();
    ensure!(
        (3..=32).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c)),
        "username is 3 to 32 characters from a-z 0-9 _ . -, not {}",
        m["username"]
    );
    let display = m["display_name"].as_str().unwrap_or_default();
    ensure!(
        (1..=64).contains(&display.chars().count()),
        "display_name is 1 to 64 characters, not {}",
        m["display_name"]
    );
    Ok(())
}

/// A ConversationView (§4.8); `removed` only where `in_sync`.
pub fn view(v: &Value, in_sync: bool) -> Result<()> {
    let m = fields(
        v,
        &[
            "conversation",
            "last_seq",
            "last_message",
            "read_seq",
            "others_read_seq",
            "unread_count",
            "version",
            "muted",
        ],
    )?;
    conversation(&m["conversation"]).context("conversation")?;
    ensure!(m["muted"].is_boolean(), "muted is a boolean");
    let number = |field: &str| {
        m[field]
            .as_u64()
            .ok_or_else(|| anyhow!("{field} is an unsigned integer, not {}", m[field]))
    };
    let last_seq = number("last_seq")?;
    let read_seq = number("read_seq")?;
    let others = number("others_read_seq")?;
    let unread = number("unread_count")?;
    number("version")?;
    match &m["last_message"] {
        Value::Null => ensure!(
            last_seq == 0,
            "last_message is null only when last_seq is 0"
        ),
        msg => {
            message(msg).context("last_message")?;
            ensure!(
                msg["seq"].as_u64() == Some(last_seq),
                "last_message is the message with seq last_seq ({last_seq}), not {}",
                msg["seq"]
            );
            ensure!(
                msg["conversation_id"] == m["conversation"]["id"],
                "last_message belongs to the conversation"
            );
        }
    }
    ensure!(
        read_seq <= last_seq,
        "read_seq {read_seq} ≤ last_seq {last_seq}"
    );
    ensure!(
        others <= last_seq,
        "others_read_seq {others} ≤ last_seq {last_seq}"
    );
    ensure!(
        unread == last_seq - read_seq,
        "unread_count {unread} = last_seq {last_seq} − read_seq {read_seq}"
    );
    match m.get("removed") {
        None => {}
        Some(Value::Bool(true)) if in_sync => {
            ensure!(
                others == 0,
                "others_read_seq is 0 in a removed view, not {others}"
            );
        }
        Some(Value::Bool(true)) => bail!("removed appears only in sync results"),
        Some(other) => bail!("removed is present only as true, not {other}"),
    }
    Ok(())
}

fn views(v: &Value, in_sync: bool) -> Result<()> {
    for (i, item) in array(v).context("conversations")?.iter().enumerate() {
        view(item, in_sync).with_context(|| format!("conversations[{i}]"))?;
    }
    Ok(())
}

/// The limits of §4.10.
pub fn limits(v: &Value) -> Result<()> {
    let m = fields(
        v,
        &[
            "max_frame_bytes",
            "max_text_chars",
            "max_members",
            "requests_per_second",
            "request_burst",
            "max_page",
        ],
    )?;
    for (name, value) in m {
        ensure!(
            value.as_u64().is_some_and(|n| n > 0),
            "{name} is a positive integer, not {value}"
        );
    }
    Ok(())
}

/// An id: exactly 32 lowercase hex characters (§4.1).
pub fn id(v: &Value) -> Result<()> {
    let s = v.as_str().unwrap_or_default();
    ensure!(
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "an id is 32 lowercase hex characters, not {v}"
    );
    Ok(())
}

/// Milliseconds since the epoch (§4.3): an integer after 2001 (so not seconds).
pub fn millis(v: &Value) -> Result<()> {
    ensure!(
        v.as_i64().is_some_and(|t| t > 1_000_000_000_000),
        "a timestamp in milliseconds since the epoch, not {v}"
    );
    Ok(())
}

fn object<'a>(what: &str, v: &'a Value) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| anyhow!("{what} is a JSON object, not {v}"))
}

fn array(v: &Value) -> Result<&Vec<Value>> {
    v.as_array()
        .ok_or_else(|| anyhow!("an array was expected, not {v}"))
}

/// The object `v`, which must have every one of `required`.
fn fields<'a>(v: &'a Value, required: &[&str]) -> Result<&'a Map<String, Value>> {
    let m = object("the value", v)?;
    let missing: Vec<&&str> = required.iter().filter(|f| !m.contains_key(**f)).collect();
    ensure!(missing.is_empty(), "missing {missing:?} in {v}");
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed_conversation() -> Value {
        json!({
            "id": "0eebf6e330b64d92bc607f41309d62b7",
            "title": "Tom & Jerry",
            "icon": "",
            "manager_id": "62c55add6b6f43c4bfd9c4547b597b7a",
            "remark": "",
            "user_count": 2,
            "attrs": {},
            "create_time": 1795634699472i64,
            "type": "SINGLE_CHAT",
            "user_ids": ["62c55add6b6f43c4bfd9c4547b597b7a", "e19f49d51d03439db7297f27fb4d6904"]
        })
    }

    #[test]
    fn the_documents_frames_pass() {
        let result = r#"{"type":"result","id":6,"result":{"id":"01a2142b1cd2710eb2c140dd4c2b3c91","conversation_id":"0eebf6e330b64d92bc607f41309d62b7","seq":1,"from":"62c55add6b6f43c4bfd9c4547b597b7a","client_id":"7d3f1c9e-2b4a-4e8f-9c61-0a5b3d2e1f40","timestamp":1795634699474,"type":"text","content":{"text":"耗子，起床啦"}}}"#;
        match server_frame(result).unwrap() {
            Frame::Result { id, result } => {
                assert_eq!(id, 6);
                message(&result).unwrap();
            }
            other => panic!("{other:?}"),
        }
        let error = r#"{"type":"error","id":null,"error":{"code":"malformed_frame","message":"not valid JSON"}}"#;
        assert!(matches!(
            server_frame(error).unwrap(),
            Frame::Error { id: None, .. }
        ));
        let limited = r#"{"type":"error","id":1389,"error":{"code":"rate_limited","message":"too many requests on this connection","retry_after_ms":1}}"#;
        server_frame(limited).unwrap();
        let receipt = r#"{"type":"event","event":"receipt","data":{"conversation_id":"0eebf6e330b64d92bc607f41309d62b7","uid":"e19f49d51d03439db7297f27fb4d6904","read_seq":1}}"#;
        server_frame(receipt).unwrap();
        conversation(&seed_conversation()).unwrap();
    }

    #[test]
    fn departures_from_the_document_are_caught() {
        assert!(server_frame(r#"{"type":"result","id":1,"result":[]}"#).is_err());
        assert!(server_frame(
            r#"{"type":"error","id":1,"error":{"code":"rate_limited","message":"slow"}}"#
        )
        .is_err());
        let mut eleven = seed_conversation();
        eleven["extra"] = json!(1);
        assert!(conversation(&eleven).is_err());
        let mut miscounted = seed_conversation();
        miscounted["user_count"] = json!(3);
        assert!(conversation(&miscounted).is_err());
        assert!(id(&json!("0EEBF6E330B64D92BC607F41309D62B7")).is_err());
        assert!(result("sign_out", &json!({"x": 1})).is_err());
        let view = json!({
            "conversation": seed_conversation(), "last_seq": 2, "last_message": null,
            "read_seq": 1, "others_read_seq": 0, "unread_count": 1, "version": 4, "muted": false
        });
        let mut fine = view.clone();
        fine["last_seq"] = json!(0);
        fine["read_seq"] = json!(0);
        fine["unread_count"] = json!(0);
        super::view(&fine, false).unwrap();
        let mut unmuted = fine.clone();
        unmuted.as_object_mut().unwrap().remove("muted");
        assert!(super::view(&unmuted, false).is_err(), "muted is required");
        assert!(
            super::view(&view, false).is_err(),
            "last_message null with last_seq 2"
        );
    }
}
