//! What the checks share: request parameters, the usual steps (create a conversation, send,
//! read a view or the whole history) and a collector for checks that report every mismatch at
//! once instead of stopping at the first.

use anyhow::{bail, Result};
use im_proto::{
    Conversation, ConversationId, ConversationView, CreatedConversation, ErrorBody, ErrorCode,
    Message, MessagePage, SyncPage, Uid,
};
use rand::Rng;
use serde_json::{json, Value};

use crate::client::{clip, Conn};

/// Fails with `what`, the expected and the actual value when they differ.
#[macro_export]
macro_rules! same {
    ($got:expr, $want:expr, $($what:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            anyhow::bail!("{}: expected {:?}, got {:?}", format!($($what)+), want, got);
        }
    }};
}

/// A fresh `client_id`: 32 random hex characters.
pub fn client_id() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("a hex digit"))
        .collect()
}

/// `send_text` parameters with a fresh client id.
pub fn text(conversation: ConversationId, body: &str) -> Value {
    json!({"conversation_id": conversation, "client_id": client_id(), "text": body})
}

/// Creates a conversation of `conn`'s user with `others` (a plain create).
pub async fn create(conn: &mut Conn, others: &[Uid], title: &str) -> Result<Conversation> {
    let result = conn
        .ok(
            "create_conversation",
            json!({"user_ids": others, "title": title}),
        )
        .await?;
    let created: CreatedConversation = conn.decode("create_conversation's result", &result)?;
    if !created.created {
        bail!("a plain create_conversation answered created: false: {result}");
    }
    Ok(created.conversation)
}

/// Sends a text; the stored message.
pub async fn send(conn: &mut Conn, conversation: ConversationId, body: &str) -> Result<Message> {
    let result = conn.ok("send_text", text(conversation, body)).await?;
    conn.decode("send_text's result", &result)
}

/// The conversation as `conn`'s user sees it.
pub async fn view(conn: &mut Conn, conversation: ConversationId) -> Result<ConversationView> {
    let result = conn
        .ok("get_conversation", json!({"conversation_id": conversation}))
        .await?;
    conn.decode("get_conversation's result", &result)
}

/// One `get_messages` page.
pub async fn page(conn: &mut Conn, params: Value) -> Result<MessagePage> {
    let result = conn.ok("get_messages", params).await?;
    conn.decode("get_messages' result", &result)
}

/// Every message of a conversation, paging forwards from the start.
pub async fn history(conn: &mut Conn, conversation: ConversationId) -> Result<Vec<Message>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = page(
            conn,
            json!({"conversation_id": conversation, "after": after}),
        )
        .await?;
        after = page.messages.last().map_or(after, |m| m.seq);
        all.extend(page.messages);
        if !page.has_more {
            return Ok(all);
        }
    }
}

/// One `sync` page.
pub async fn sync(conn: &mut Conn, since: u64, limit: Option<usize>) -> Result<SyncPage> {
    let result = conn
        .ok("sync", json!({"since": since, "limit": limit}))
        .await?;
    conn.decode("sync's result", &result)
}

/// Every conversation `sync` reports from `since`, paging until `has_more` is false; and the
/// last cursor.
pub async fn sync_all(conn: &mut Conn, since: u64) -> Result<(Vec<ConversationView>, u64)> {
    let mut views = Vec::new();
    let mut cursor = since;
    loop {
        let page = sync(conn, cursor, None).await?;
        cursor = page.cursor;
        views.extend(page.conversations);
        if !page.has_more {
            return Ok((views, cursor));
        }
    }
}

/// The ids of `views` without the user's barrier group.
pub fn ids_without_barrier(conn: &Conn, views: &[ConversationView]) -> Vec<ConversationId> {
    let barrier = conn.account().barrier;
    views
        .iter()
        .map(|v| v.conversation.id)
        .filter(|id| *id != barrier)
        .collect()
}

/// The texts of messages.
pub fn texts(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m.body.preview().to_owned())
        .collect()
}

/// `n` random uids (almost certainly nobody's).
pub fn random_uids(n: usize) -> Vec<Uid> {
    (0..n).map(|_| Uid::random()).collect()
}

/// Collects mismatches, so that a check reports all of them.
#[derive(Debug, Default)]
pub struct Findings(Vec<String>);

impl Findings {
    /// Records `what` unless `ok`.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    /// Records that `reply` (to `what`) was not the error `code`.
    pub fn code(
        &mut self,
        what: &str,
        reply: &std::result::Result<Value, ErrorBody>,
        code: ErrorCode,
    ) {
        match reply {
            Err(e) if e.code == code => {}
            Err(e) => self.0.push(format!(
                "{what}: expected {code}, got {}: {}",
                e.code, e.message
            )),
            Ok(v) => self.0.push(format!(
                "{what}: expected {code}, got result {}",
                clip(&v.to_string())
            )),
        }
    }

    /// Records a failure.
    pub fn push(&mut self, what: String) {
        self.0.push(what);
    }

    /// Fails with every mismatch, if any.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        bail!(
            "{} mismatch(es):\n  - {}",
            self.0.len(),
            self.0.join("\n  - ")
        )
    }
}

/// Valid parameters for every op, about conversation `c` and user `u`: what a well-formed
/// request looks like, so that a refusal is about who asks, not about the parameters.
pub fn params_for(op: &str, c: ConversationId, u: Uid) -> Value {
    match op {
        "hello" => json!({"protocol": 1}),
        "ping" | "sign_out" | "list_sessions" => json!({}),
        "change_password" => {
            json!({"old_password": "not-the-password", "new_password": "long-enough-password"})
        }
        "revoke_session" => json!({"session_id": "0123456789abcdef"}),
        "sign_up" => {
            json!({"username": format!("nobody-{}", &client_id()[..12]), "password": "long-enough-password"})
        }
        "sign_in" => json!({"username": "nobody-at-all", "password": "long-enough-password"}),
        "resume" => json!({"token": "0".repeat(64)}),
        "find_users" => json!({"usernames": ["nobody-at-all"]}),
        "get_users" => json!({"uids": [u]}),
        "create_conversation" => json!({"user_ids": [u]}),
        "get_conversation" => json!({"conversation_id": c}),
        "list_conversations" => json!({}),
        "sync" => json!({"since": 0}),
        "update_conversation" => json!({"conversation_id": c, "title": "taken over"}),
        "add_members" | "remove_members" => json!({"conversation_id": c, "user_ids": [u]}),
        "send_text" => json!({"conversation_id": c, "client_id": client_id(), "text": "let me in"}),
        "send_image" => json!({
            "conversation_id": c, "client_id": client_id(), "blob": "a".repeat(64), "size": 10,
            "mime": "image/png", "width": 10, "height": 10,
            "thumbnail": {"blob": "b".repeat(64), "size": 10, "mime": "image/png", "width": 10, "height": 10},
        }),
        "send_file" => json!({
            "conversation_id": c, "client_id": client_id(), "blob": "a".repeat(64), "size": 10,
            "mime": "text/plain", "name": "notes.txt",
        }),
        "get_messages" => json!({"conversation_id": c}),
        "edit_message" => json!({"conversation_id": c, "seq": 1, "text": "mine now"}),
        "recall_message" => json!({"conversation_id": c, "seq": 1}),
        "react" => json!({"conversation_id": c, "seq": 1, "emoji": "👍", "on": true}),
        "get_message_changes" => json!({"conversation_id": c, "after": 0}),
        "mark_read" => json!({"conversation_id": c, "seq": 1}),
        "typing" => json!({"conversation_id": c, "typing": true}),
        "mute_conversation" => json!({"conversation_id": c, "muted": true}),
        "block_user" | "unblock_user" => json!({"user_id": u}),
        "get_blocked" => json!({}),
        other => panic!("no parameters known for op {other}: add them here"),
    }
}

/// The ops that act on one conversation and need its membership (§5: "member").
pub const CONVERSATION_OPS: [&str; 15] = [
    "get_conversation",
    "update_conversation",
    "add_members",
    "remove_members",
    "send_text",
    "send_image",
    "send_file",
    "edit_message",
    "recall_message",
    "react",
    "get_message_changes",
    "get_messages",
    "mark_read",
    "typing",
    "mute_conversation",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_parameters() {
        for op in im_proto::OPS {
            let params = params_for(op, ConversationId::random(), Uid::random());
            let text = crate::client::request_text(1, op, params);
            assert!(
                im_proto::parse_request(&text).is_ok(),
                "{op}: {text} does not parse"
            );
        }
    }

    #[test]
    fn client_ids_are_valid() {
        let id = client_id();
        assert!(id.parse::<im_proto::ClientId>().is_ok(), "{id}");
    }
}
