//! The frame generator: a valid request for every op of the protocol (`im_proto::OPS`), filled
//! with real ids from the [`World`] (the caller's own conversations mostly, but also other
//! users' conversations, ones the caller left, empty ones), real tokens, real client ids for
//! resends, and texts from a corpus of awkward but valid Unicode.

use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::world::World;

/// Every op the generator knows how to fill in (checked against `im_proto::OPS` by a test).
pub const GENERATED: &[&str] = &[
    "hello",
    "ping",
    "sign_up",
    "sign_in",
    "resume",
    "sign_out",
    "change_password",
    "list_sessions",
    "revoke_session",
    "find_users",
    "get_users",
    "create_conversation",
    "get_conversation",
    "list_conversations",
    "sync",
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
    "block_user",
    "unblock_user",
    "get_blocked",
];

/// Texts that are valid message texts but awkward: CJK, emoji, RTL, zero-width, combining
/// marks, NUL, line breaks.
pub const TEXTS: &[&str] = &[
    "耗子，起床啦",
    "再睡五分钟",
    "hello",
    "👨‍👩‍👧‍👦🏳️‍🌈🇨🇳",
    "مرحبا بالعالم",
    "\u{202e}txet desrever\u{202c}",
    "zero\u{200b}width\u{200d}joiner\u{feff}",
    "e\u{301}\u{301}\u{301}\u{301}\u{301}",
    "nul\u{0}inside",
    "line\nbreak\r\ntab\t",
    "\u{10ffff}\u{fffd}\u{e000}",
    " leading and trailing ",
    "x",
    "'; DROP TABLE messages; --",
    "<script>alert(1)</script>",
    "%s%n%x{0}{}",
];

/// What the generator knows about the connection it writes for.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The real state.
    pub world: &'a World,
    /// The account the connection is signed in as, if any (else the one it would use).
    pub me: usize,
}

/// A random lowercase hex string of `len` characters.
pub fn hex(rng: &mut impl Rng, len: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdef";
    (0..len)
        .map(|_| DIGITS[rng.random_range(0..16)] as char)
        .collect()
}

fn alnum(rng: &mut impl Rng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

impl Ctx<'_> {
    /// A conversation id: mostly one the caller is in, sometimes one it left, another user's,
    /// an empty group's, a learned one, a random one, or an id of another kind.
    pub fn conversation_id(&self, rng: &mut impl Rng) -> String {
        let world = self.world;
        match rng.random_range(0..100) {
            0..=59 => match world.member_of(self.me).choose(rng) {
                Some(c) => c.id.clone(),
                None => world.conversations[0].id.clone(),
            },
            60..=79 => world
                .conversations
                .choose(rng)
                .map(|c| c.id.clone())
                .unwrap_or_default(),
            80..=87 => world
                .learned_conversation(rng)
                .unwrap_or_else(|| hex(rng, 32)),
            88..=92 => hex(rng, 32),
            93..=96 => world
                .message_ids
                .choose(rng)
                .cloned()
                .unwrap_or_else(|| hex(rng, 32)),
            _ => self.uid(rng),
        }
    }

    /// A uid: one of the fuzzer's accounts (the caller's own sometimes), or an unknown one.
    pub fn uid(&self, rng: &mut impl Rng) -> String {
        let world = self.world;
        match rng.random_range(0..10) {
            0 => world.accounts[self.me].uid.clone(),
            1 => hex(rng, 32),
            _ => world
                .accounts
                .choose(rng)
                .map(|a| a.uid.clone())
                .unwrap_or_default(),
        }
    }

    fn uids(&self, rng: &mut impl Rng) -> Value {
        let limits = &self.world.limits;
        let n = match rng.random_range(0..100) {
            0..=9 => 0,
            10..=94 => rng.random_range(1..5),
            95..=97 => limits.max_page + 1,
            _ => limits.max_members + 1,
        };
        let mut out: Vec<Value> = (0..n).map(|_| Value::String(self.uid(rng))).collect();
        if n > 0 && rng.random_bool(0.1) {
            out.push(out[0].clone()); // a duplicate
        }
        Value::Array(out)
    }

    fn seq(&self, rng: &mut impl Rng) -> Value {
        let last = self
            .world
            .conversations
            .choose(rng)
            .map_or(0, |c| c.last_seq);
        json!(match rng.random_range(0..10) {
            0 => 0,
            1 => 1,
            2 | 3 => last,
            4 => last + 1,
            5 => 1 << 53,
            6 => i64::MAX as u64,
            7 => u64::MAX,
            _ => rng.random_range(0..=last + 3),
        })
    }

    fn limit(&self, rng: &mut impl Rng) -> Value {
        let max = self.world.limits.max_page as u64;
        json!(match rng.random_range(0..8) {
            0 => 1,
            1 => max,
            2 => max + 1,
            3 => 0,
            _ => rng.random_range(1..=max),
        })
    }

    /// A blob id: mostly 64 lowercase hex characters (of no stored blob), sometimes not.
    fn blob_id(&self, rng: &mut impl Rng) -> Value {
        match rng.random_range(0..10) {
            0 => json!("NOT-A-HASH"),
            1 => json!(42),
            _ => json!(hex(rng, 64)),
        }
    }

    /// A blob size: in range, 0, or past every limit.
    fn blob_size(&self, rng: &mut impl Rng) -> Value {
        match rng.random_range(0..6) {
            0 => json!(0),
            1 => json!(u64::MAX),
            2 => json!(-1),
            _ => json!(rng.random_range(1..10_000_000u64)),
        }
    }

    /// An image side in pixels: in range or not.
    fn side(&self, rng: &mut impl Rng) -> Value {
        match rng.random_range(0..6) {
            0 => json!(0),
            1 => json!(100_000),
            _ => json!(rng.random_range(1..4000u32)),
        }
    }

    fn text(&self, rng: &mut impl Rng) -> String {
        let max = self.world.limits.max_text_chars;
        match rng.random_range(0..20) {
            0 => "字".repeat(max),
            1 => "a".repeat(max + 1),
            2 => "   \t\n ".into(),
            3 => String::new(),
            _ => TEXTS.choose(rng).copied().unwrap_or("x").to_owned(),
        }
    }

    fn client_id(&self, rng: &mut impl Rng) -> String {
        match rng.random_range(0..10) {
            // A resend: one of the stored client ids (the caller's, or someone else's).
            0..=2 => self
                .world
                .conversations
                .choose(rng)
                .and_then(|c| c.sent.choose(rng))
                .map(|(_, id)| id.clone())
                .unwrap_or_else(|| alnum(rng, 12)),
            3 => alnum(rng, 64),
            4 => alnum(rng, 65),
            5 => "has space".into(),
            _ => {
                let len = rng.random_range(1..=40);
                alnum(rng, len)
            }
        }
    }

    /// A password that is wrong for every account.
    fn bad_password(rng: &mut impl Rng) -> String {
        match rng.random_range(0..4) {
            0 => "short".into(),
            1 => "p".repeat(257),
            2 => "".into(),
            _ => format!("wrong-{}", alnum(rng, 10)),
        }
    }

    /// A username to sign up or in with, and its password. Wrong passwords only ever go with
    /// decoy or unknown names; the main accounts get their right password (a real sign-in).
    fn credentials(&self, rng: &mut impl Rng) -> (String, String) {
        let world = self.world;
        let main = &world.accounts[..world.main_accounts];
        let decoys = &world.accounts[world.main_accounts..];
        match rng.random_range(0..10) {
            0 | 1 => {
                let a = main.choose(rng).expect("accounts");
                let name = if rng.random_bool(0.3) {
                    format!("  {}  ", a.username.to_uppercase())
                } else {
                    a.username.clone()
                };
                (name, a.password.clone())
            }
            2..=4 => match decoys.choose(rng) {
                Some(a) if rng.random_bool(0.5) => (a.username.clone(), a.password.clone()),
                Some(a) => (a.username.clone(), Self::bad_password(rng)),
                None => ("nobody".into(), Self::bad_password(rng)),
            },
            5 => (
                format!("new_{}", alnum(rng, 8).to_lowercase()),
                format!("pw-{}", alnum(rng, 12)),
            ),
            6 => ("ab".into(), Self::bad_password(rng)),
            7 => ("x".repeat(33), "long-enough-password".into()),
            8 => ("bad name!".into(), "long-enough-password".into()),
            _ => (
                format!("unknown_{}", alnum(rng, 6).to_lowercase()),
                Self::bad_password(rng),
            ),
        }
    }

    fn short_field(&self, rng: &mut impl Rng, max: usize) -> Value {
        match rng.random_range(0..10) {
            0 => Value::Null,
            1 => json!(""),
            2 => json!("é".repeat(max)),
            3 => json!("é".repeat(max + 1)),
            _ => json!(TEXTS.choose(rng).copied().unwrap_or("t")),
        }
    }

    fn attrs(&self, rng: &mut impl Rng) -> Value {
        match rng.random_range(0..6) {
            0 => json!({}),
            1 => json!({"big": "x".repeat(im_proto::field_limits::ATTRS_BYTES)}),
            2 => json!({"nested": {"a": [1, 2, {"b": null}]}, "emoji": "🐭"}),
            3 => Value::Null,
            _ => json!({"color": "red", "pinned": rng.random_bool(0.5)}),
        }
    }

    fn token(&self, rng: &mut impl Rng) -> String {
        let world = self.world;
        match rng.random_range(0..10) {
            0..=5 => world.token(self.me, rng).unwrap_or_else(|| hex(rng, 64)),
            6 => world.revoked_token(rng).unwrap_or_else(|| hex(rng, 64)),
            7 => hex(rng, 64).to_uppercase(),
            8 => hex(rng, 63),
            _ => hex(rng, 64),
        }
    }

    /// A valid request of `op` with request id `id`, as a JSON object.
    pub fn frame(&self, op: &str, id: u64, rng: &mut impl Rng) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        m.insert("op".into(), json!(op));
        let limits = &self.world.limits;
        let mut put = |k: &str, v: Value| {
            m.insert(k.into(), v);
        };
        match op {
            "hello" => {
                put("protocol", json!(if rng.random_bool(0.9) { 1 } else { 2 }));
                if rng.random_bool(0.5) {
                    put("client", json!("im-wire-fuzz/1 (мир)"));
                }
            }
            "ping" | "sign_out" => {}
            "sign_up" => {
                let (username, password) = self.credentials(rng);
                put("password", json!(password));
                put("username", json!(username));
                if rng.random_bool(0.5) {
                    put("display_name", self.short_field(rng, 64));
                }
            }
            "sign_in" => {
                let (username, password) = self.credentials(rng);
                put("password", json!(password));
                put("username", json!(username));
                if rng.random_bool(0.5) {
                    put("device", json!("d".repeat(rng.random_range(0..200))));
                }
            }
            "resume" => put("token", json!(self.token(rng))),
            // Never the right current password: the world's passwords stay as they are (and
            // wrong ones exercise the throttle).
            "change_password" => {
                put("old_password", json!(Self::bad_password(rng)));
                put("new_password", json!(Self::bad_password(rng)));
            }
            "list_sessions" => {}
            "revoke_session" => {
                let id = match rng.random_range(0..4) {
                    0 => {
                        let len = rng.random_range(0..40);
                        alnum(rng, len)
                    }
                    _ => hex(rng, 16),
                };
                put("session_id", json!(id));
            }
            "find_users" => {
                let n = if rng.random_bool(0.03) {
                    limits.max_page + 1
                } else {
                    rng.random_range(0..5)
                };
                put(
                    "usernames",
                    Value::Array((0..n).map(|_| json!(self.credentials(rng).0)).collect()),
                );
            }
            "get_users" => put("uids", self.uids(rng)),
            "create_conversation" => {
                put("user_ids", self.uids(rng));
                for (field, max) in [("title", 200), ("icon", 2048), ("remark", 1000)] {
                    if rng.random_bool(0.4) {
                        put(field, self.short_field(rng, max));
                    }
                }
                if rng.random_bool(0.3) {
                    put("attrs", self.attrs(rng));
                }
                if rng.random_bool(0.5) {
                    put(
                        "unique",
                        [json!(true), json!(false), Value::Null]
                            .choose(rng)
                            .cloned()
                            .unwrap_or_default(),
                    );
                }
            }
            "get_conversation" => put("conversation_id", json!(self.conversation_id(rng))),
            "list_conversations" => {
                if rng.random_bool(0.5) {
                    put("limit", self.limit(rng));
                }
                if rng.random_bool(0.5) {
                    put("before", self.seq(rng));
                }
            }
            "sync" => {
                put("since", self.seq(rng));
                if rng.random_bool(0.5) {
                    put("limit", self.limit(rng));
                }
            }
            "update_conversation" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                for (field, max) in [("title", 200), ("icon", 2048), ("remark", 1000)] {
                    if rng.random_bool(0.4) {
                        put(field, self.short_field(rng, max));
                    }
                }
                if rng.random_bool(0.3) {
                    put("attrs", self.attrs(rng));
                }
            }
            "add_members" | "remove_members" => {
                // Mostly groups: single chats only ever answer single_chat_members_fixed.
                let groups: Vec<&str> = self
                    .world
                    .conversations
                    .iter()
                    .filter(|c| c.group)
                    .map(|c| c.id.as_str())
                    .collect();
                let id = match groups.choose(rng) {
                    Some(id) if rng.random_bool(0.5) => (*id).to_owned(),
                    _ => self.conversation_id(rng),
                };
                put("conversation_id", json!(id));
                put("user_ids", self.uids(rng));
            }
            "send_text" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("client_id", json!(self.client_id(rng)));
                put("text", json!(self.text(rng)));
                if rng.random_bool(0.2) {
                    put("reply_to", self.seq(rng));
                }
            }
            "send_image" | "send_file" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("client_id", json!(self.client_id(rng)));
                put("blob", self.blob_id(rng));
                put("size", self.blob_size(rng));
                if op == "send_image" {
                    let mime = ["image/png", "image/jpeg", "IMAGE/WEBP", "image/tiff", "png"];
                    put("mime", json!(mime[rng.random_range(0..mime.len())]));
                    put("width", self.side(rng));
                    put("height", self.side(rng));
                    put(
                        "thumbnail",
                        json!({
                            "blob": self.blob_id(rng),
                            "size": self.blob_size(rng),
                            "mime": "image/jpeg",
                            "width": self.side(rng),
                            "height": self.side(rng),
                        }),
                    );
                } else {
                    put("mime", json!("application/pdf"));
                    let names = [
                        "Q3 report.pdf",
                        "../../etc/passwd",
                        "",
                        ".",
                        "a\u{202e}fdp.exe",
                    ];
                    put("name", json!(names[rng.random_range(0..names.len())]));
                }
                if rng.random_bool(0.3) {
                    put("caption", json!(self.text(rng)));
                }
                if rng.random_bool(0.2) {
                    put("reply_to", self.seq(rng));
                }
            }
            "edit_message" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("seq", self.seq(rng));
                put("text", json!(self.text(rng)));
            }
            "react" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("seq", self.seq(rng));
                let emoji = ["👍", "❤️", "🎉", "a", ""][rng.random_range(0..5)];
                put("emoji", json!(emoji));
                put("on", json!(rng.random_bool(0.7)));
            }
            "recall_message" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("seq", self.seq(rng));
            }
            "get_message_changes" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("after", self.seq(rng));
                if rng.random_bool(0.5) {
                    put("limit", self.limit(rng));
                }
            }
            "get_messages" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                match rng.random_range(0..4) {
                    0 => put("before", self.seq(rng)),
                    1 => put("after", self.seq(rng)),
                    2 => {
                        put("before", self.seq(rng));
                        put("after", self.seq(rng));
                    }
                    _ => {}
                }
                if rng.random_bool(0.5) {
                    put("limit", self.limit(rng));
                }
            }
            "mark_read" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("seq", self.seq(rng));
            }
            "typing" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("typing", json!(rng.random_bool(0.5)));
            }
            "mute_conversation" => {
                put("conversation_id", json!(self.conversation_id(rng)));
                put("muted", json!(rng.random_bool(0.5)));
            }
            "block_user" | "unblock_user" => put("user_id", json!(self.uid(rng))),
            "get_blocked" => {}
            _ => {} // an op newer than this generator: id and op only
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_op_has_a_generator() {
        let mut ops: Vec<&str> = im_proto::OPS.to_vec();
        let mut generated: Vec<&str> = GENERATED.to_vec();
        ops.sort_unstable();
        generated.sort_unstable();
        assert_eq!(ops, generated, "im_proto::OPS changed: teach the generator");
    }
}
