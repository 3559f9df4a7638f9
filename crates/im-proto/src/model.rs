//! The things the protocol talks about: users, conversations (the seed's ten fields, verbatim),
//! messages, per-member state and the server's limits.

use serde::{Deserialize, Serialize};

use crate::ids::{ClientId, ConversationId, MessageId, Uid};

/// Milliseconds since the Unix epoch (UTC), as every timestamp on the wire.
pub type Millis = i64;

/// A per-conversation message sequence number: 1, 2, 3 … with no gaps. 0 means "none yet".
pub type Seq = u64;

/// A user as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// 32 lowercase hex characters.
    pub uid: Uid,
    /// Unique, lower case, 3 to 32 characters from `a-z 0-9 _ . -`.
    pub username: String,
    /// The name shown in the UI (defaults to the username).
    pub display_name: String,
}

/// `SINGLE_CHAT` (two members) or `GROUP_CHAT` (any other number), as in the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversationType {
    /// A conversation between exactly two users; its members never change.
    SingleChat,
    /// A group: members can be added and removed by the manager.
    GroupChat,
}

impl ConversationType {
    /// The type a new conversation with this many members gets.
    pub fn for_member_count(members: usize) -> Self {
        if members == 2 {
            Self::SingleChat
        } else {
            Self::GroupChat
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleChat => "SINGLE_CHAT",
            Self::GroupChat => "GROUP_CHAT",
        }
    }

    /// Parses the wire spelling.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "SINGLE_CHAT" => Some(Self::SingleChat),
            "GROUP_CHAT" => Some(Self::GroupChat),
            _ => None,
        }
    }
}

/// A conversation, with exactly the seed's ten fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Primary key.
    pub id: ConversationId,
    /// Shown in the conversation list.
    pub title: String,
    /// An icon URL (or empty).
    pub icon: String,
    /// The conversation's manager (its creator, until they leave).
    pub manager_id: Uid,
    /// Free text about the conversation.
    pub remark: String,
    /// The number of members.
    pub user_count: u32,
    /// Front-end extra parameters: any JSON object.
    pub attrs: serde_json::Map<String, serde_json::Value>,
    /// When it was created.
    pub create_time: Millis,
    /// `SINGLE_CHAT` or `GROUP_CHAT`.
    #[serde(rename = "type")]
    pub kind: ConversationType,
    /// Every member, the manager included, in the order they joined.
    pub user_ids: Vec<Uid>,
}

/// What a message carries. Clients must show an unknown `type` as "unsupported message" rather
/// than fail: it reads as [`MessageBody::Unsupported`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "content", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageBody {
    /// Plain text (the seed's `TextMessage`).
    Text {
        /// The text, at most `max_text_chars` characters.
        text: String,
    },
    /// An image (`send_image`): its blob, shown through its thumbnail first. (Boxed, as
    /// `File`: a text message stays small.)
    Image(Box<ImageContent>),
    /// A file (`send_file`): its blob, with its name.
    File(Box<FileContent>),
    /// A message recalled for everyone (`recall_message`): what it said is gone from the server.
    Recalled {
        /// Who recalled it: the sender, or a group's manager.
        by: Uid,
    },
    /// A `type` this version does not know (from a newer server): shown as "unsupported
    /// message", never sent. Read only; it serializes without its content.
    Unsupported,
}

impl<'de> Deserialize<'de> for MessageBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        struct Tagged {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            content: serde_json::Value,
        }
        #[derive(Deserialize)]
        struct TextContent {
            text: String,
        }
        #[derive(Deserialize)]
        struct RecalledContent {
            by: Uid,
        }
        let tagged = Tagged::deserialize(deserializer)?;
        Ok(match tagged.kind.as_str() {
            "text" => MessageBody::Text {
                text: serde_json::from_value::<TextContent>(tagged.content)
                    .map_err(D::Error::custom)?
                    .text,
            },
            // A newer server's image or file with content this version cannot read shows as
            // unsupported rather than failing the frame (and the page of history it came in).
            "image" => serde_json::from_value::<Box<ImageContent>>(tagged.content)
                .map_or(MessageBody::Unsupported, MessageBody::Image),
            "file" => serde_json::from_value::<Box<FileContent>>(tagged.content)
                .map_or(MessageBody::Unsupported, MessageBody::File),
            "recalled" => MessageBody::Recalled {
                by: serde_json::from_value::<RecalledContent>(tagged.content)
                    .map_err(D::Error::custom)?
                    .by,
            },
            _ => MessageBody::Unsupported,
        })
    }
}

impl MessageBody {
    /// A text body.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// The text of a text message, an image's caption, a file's caption or else its name;
    /// empty for a recalled one.
    pub fn preview(&self) -> &str {
        match self {
            Self::Text { text } => text,
            Self::Image(image) => image.caption.as_deref().unwrap_or_default(),
            Self::File(file) => file.caption.as_deref().unwrap_or(&file.name),
            Self::Recalled { .. } | Self::Unsupported => "",
        }
    }

    /// The blobs the message names (an image's and its thumbnail's, or a file's).
    pub fn blobs(&self) -> Vec<&str> {
        match self {
            Self::Image(image) => vec![image.blob.as_str(), image.thumbnail.blob.as_str()],
            Self::File(file) => vec![file.blob.as_str()],
            _ => Vec::new(),
        }
    }

    /// The wire name of the body's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image(_) => "image",
            Self::File(_) => "file",
            Self::Recalled { .. } => "recalled",
            Self::Unsupported => "unsupported",
        }
    }

    /// True for a recalled message.
    pub fn is_recalled(&self) -> bool {
        matches!(self, Self::Recalled { .. })
    }
}

/// What an image message says (`send_image`'s parameters, and the message's `content`). Its
/// bytes are a blob uploaded beforehand (PROTOCOL.md §11), named by SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageContent {
    /// The image's blob: 64 lowercase hex characters (its SHA-256).
    pub blob: String,
    /// Its size in bytes (as stored).
    pub size: u64,
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp` (what its bytes are).
    pub mime: String,
    /// Its size on screen, in pixels (1 to 32768 each).
    pub width: u32,
    pub height: u32,
    /// A small picture shown until (and instead of) the full image is fetched.
    pub thumbnail: Thumbnail,
    /// The file name it had, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text sent with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// An image's thumbnail: a blob of at most [`MAX_THUMBNAIL_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Its blob (SHA-256, 64 lowercase hex characters).
    pub blob: String,
    pub size: u64,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub mime: String,
    /// 1 to 1024 pixels each.
    pub width: u32,
    pub height: u32,
}

/// What a file message says (`send_file`'s parameters, and the message's `content`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    /// The file's blob (SHA-256, 64 lowercase hex characters).
    pub blob: String,
    /// Its size in bytes (as stored).
    pub size: u64,
    /// Its media type as the sender declares it (never trusted to open it).
    pub mime: String,
    /// Its name: 1 to 255 characters, no `/` or `\`, no control or text-direction characters.
    pub name: String,
    /// Text sent with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// The largest thumbnail, in bytes.
pub const MAX_THUMBNAIL_BYTES: u64 = 256 * 1024;
/// The longest file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Server-assigned, time-ordered.
    pub id: MessageId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Its position in the conversation: 1, 2, 3 … gapless.
    pub seq: Seq,
    /// The sender's uid.
    pub from: Uid,
    /// The sender-chosen idempotency key.
    pub client_id: ClientId,
    /// When the server committed it.
    pub timestamp: Millis,
    /// `type` and `content`.
    #[serde(flatten)]
    pub body: MessageBody,
    /// The seq of the message this one replies to (in the same conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// When its text was last edited (`edit_message`); absent when never edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Millis>,
    /// Members it mentions (`@name` in a group), in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Uid>,
    /// It mentions every member (`@all`, by the group's manager).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mention_all: bool,
    /// Emoji reactions (`react`), each emoji in the order first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
}

impl Message {
    /// Whether it mentions `uid` (by name, or `@all`) and was not sent by them.
    pub fn mentions_user(&self, uid: Uid) -> bool {
        self.from != uid && (self.mention_all || self.mentions.contains(&uid))
    }
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The emoji (one emoji, possibly with modifiers or joined: `👍🏽`, `👨‍👩‍👧`).
    pub emoji: String,
    /// Who reacted with it, in the order they did.
    pub user_ids: Vec<Uid>,
}

/// The most different emoji one message takes.
pub const MAX_REACTIONS: usize = 20;

/// Whether `s` is one emoji as `react` takes it: 1 to 32 bytes of emoji code points (pictographs,
/// symbols, keycaps, flags) with their modifiers, variation selectors and joiners; no text.
pub fn is_emoji(s: &str) -> bool {
    fn pictograph(c: char) -> bool {
        matches!(c as u32,
            0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF
            | 0x2190..=0x21FF | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x00A9 | 0x00AE | 0x203C
            | 0x2049 | 0x2122 | 0x2139 | 0x24C2 | 0x25AA..=0x25FE)
    }
    fn joiner(c: char) -> bool {
        matches!(c as u32, 0x200D | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F)
    }
    let keycap_base = |c: char| c.is_ascii_digit() || c == '#' || c == '*';
    !s.is_empty()
        && s.len() <= 32
        && s.chars().any(|c| pictograph(c) || c == '\u{20E3}')
        && s.chars()
            .all(|c| pictograph(c) || joiner(c) || keycap_base(c))
}

/// A conversation as seen by one member: the conversation plus where they stand in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    /// The conversation (seed fields).
    pub conversation: Conversation,
    /// The seq of the newest message (0 when there is none).
    pub last_seq: Seq,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// The newest seq this member has read (sending a message marks it read).
    pub read_seq: Seq,
    /// The highest read mark among the other members: in a `SINGLE_CHAT`, how far the other
    /// person has read (for "read" ticks). 0 for a conversation you left.
    pub others_read_seq: Seq,
    /// `last_seq - read_seq`.
    pub unread_count: u64,
    /// The change counter of the newest change this view reflects (see `sync`).
    pub version: u64,
    /// True when this user is no longer a member (they left or were removed). The view is then
    /// frozen as it was when they left: later changes to the conversation are not shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// True when this user has muted the conversation (`mute_conversation`): their apps do not
    /// notify them of its messages.
    #[serde(default)]
    pub muted: bool,
    /// The change counter of the newest edit or recall of one of its messages (0: none). Above
    /// your sync cursor, `get_message_changes` gives the changed messages.
    #[serde(default)]
    pub changes_version: u64,
}

/// A member's read mark, pushed to the conversation's other members and the reader's other sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who read.
    pub uid: Uid,
    /// The newest seq they have read.
    pub read_seq: Seq,
}

/// A typing notice (pushed, never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who is typing.
    pub uid: Uid,
    /// True while typing; false when they stopped. Clients should also expire a notice after
    /// about 6 seconds without a new one.
    pub typing: bool,
}

/// The server's limits, sent in the reply to `hello` so clients can check before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The largest frame the server reads, in bytes (UTF-8 JSON text).
    pub max_frame_bytes: usize,
    /// The longest text message, in Unicode characters.
    pub max_text_chars: usize,
    /// The most members a conversation may have.
    pub max_members: usize,
    /// Sustained requests per second allowed on one connection.
    pub requests_per_second: u32,
    /// Requests allowed in a burst above the sustained rate.
    pub request_burst: u32,
    /// The most items one page (`get_messages`, `list_conversations`, `sync`) returns.
    pub max_page: usize,
    /// How long after sending its sender may edit a text message, in milliseconds.
    #[serde(default = "default_edit_window_ms")]
    pub edit_window_ms: u64,
    /// How long after sending its sender may recall a message, in milliseconds (a group's
    /// manager may recall any message in it at any time).
    #[serde(default = "default_recall_window_ms")]
    pub recall_window_ms: u64,
    /// The largest blob (image or file) the server takes, in bytes; 0: attachments are off.
    /// Uploads go over HTTP on the server's port (PROTOCOL.md, "Blobs over HTTP").
    #[serde(default)]
    pub max_upload_bytes: u64,
    /// How far apart an upload's checkpoints are, in bytes: an interrupted upload resumes from
    /// the last one.
    #[serde(default)]
    pub upload_chunk_bytes: u64,
}

fn default_edit_window_ms() -> u64 {
    48 * 3600 * 1000
}

fn default_recall_window_ms() -> u64 {
    24 * 3600 * 1000
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            max_text_chars: 4096,
            max_members: 500,
            requests_per_second: 200,
            request_burst: 400,
            max_page: 200,
            edit_window_ms: default_edit_window_ms(),
            recall_window_ms: default_recall_window_ms(),
            max_upload_bytes: 100 * 1024 * 1024,
            upload_chunk_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Limits on the small text fields, in characters. Not configurable.
pub mod field_limits {
    /// Conversation title.
    pub const TITLE: usize = 200;
    /// Conversation icon URL.
    pub const ICON: usize = 2048;
    /// Conversation remark.
    pub const REMARK: usize = 1000;
    /// Conversation attrs, serialized JSON, in bytes.
    pub const ATTRS_BYTES: usize = 4096;
    /// A user's display name.
    pub const DISPLAY_NAME: usize = 64;
    /// Shortest and longest username.
    pub const USERNAME: std::ops::RangeInclusive<usize> = 3..=32;
    /// Shortest and longest password, in bytes.
    pub const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=256;
    /// Device label given at sign-in.
    pub const DEVICE: usize = 100;
}

/// Normalizes a username (trim, lower case) and checks its form.
pub fn normalize_username(raw: &str) -> Option<String> {
    let name = raw.trim().to_lowercase();
    let ok = field_limits::USERNAME.contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    ok.then_some(name)
}

/// Why a display name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadDisplayName {
    /// Text-direction controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) can make a
    /// name display as something else ("nimda metsys" shown as "system admin").
    #[error("a display name may not contain text-direction control characters")]
    DirectionControls,
    /// Control characters (line breaks, NUL…).
    #[error("a display name may not contain control characters")]
    ControlCharacters,
    /// Nothing visible: only spaces and zero-width characters.
    #[error("a display name needs at least one visible character")]
    Invisible,
    /// Longer than [`field_limits::DISPLAY_NAME`] characters (the server answers
    /// `field_too_long` for this one, `invalid_display_name` for the others).
    #[error("a display name may be at most 64 characters long")]
    TooLong,
}

/// True for characters that take no space and show nothing on their own.
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}'
                | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        )
}

/// Checks a display name (trimmed) so that it cannot pass for someone it is not by its
/// rendering: no text-direction or control characters, something visible. Lookalike names
/// ("t0m" beside "tom") are allowed; clients show the `@username` where identity matters.
pub fn check_display_name(raw: &str) -> Result<String, BadDisplayName> {
    let name = raw.trim();
    if name.chars().any(|c| {
        matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
    }) {
        return Err(BadDisplayName::DirectionControls);
    }
    if name.chars().any(char::is_control) {
        return Err(BadDisplayName::ControlCharacters);
    }
    if name.chars().all(invisible) {
        return Err(BadDisplayName::Invisible);
    }
    if name.chars().count() > field_limits::DISPLAY_NAME {
        return Err(BadDisplayName::TooLong);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_that_would_impersonate_by_rendering_are_refused() {
        assert_eq!(check_display_name("  Tom  ").unwrap(), "Tom");
        assert_eq!(check_display_name("耗子").unwrap(), "耗子");
        assert_eq!(
            check_display_name("👨\u{200D}👩\u{200D}👧 family").unwrap(),
            "👨\u{200D}👩\u{200D}👧 family"
        );
        assert_eq!(
            check_display_name("\u{202E}nimda metsys"),
            Err(BadDisplayName::DirectionControls)
        );
        assert_eq!(
            check_display_name("a\u{2067}b"),
            Err(BadDisplayName::DirectionControls)
        );
        assert_eq!(
            check_display_name("\u{200B}\u{200B}"),
            Err(BadDisplayName::Invisible)
        );
        assert_eq!(
            check_display_name(" \u{3164} "),
            Err(BadDisplayName::Invisible)
        );
        assert_eq!(
            check_display_name("tom\u{0}"),
            Err(BadDisplayName::ControlCharacters)
        );
        assert_eq!(
            check_display_name("two\nlines"),
            Err(BadDisplayName::ControlCharacters)
        );
        assert_eq!(
            check_display_name(&"x".repeat(65)),
            Err(BadDisplayName::TooLong)
        );
    }

    fn seed_conversation() -> Conversation {
        Conversation {
            id: "5f1c0b1a2b3c4d5e6f708192a3b4c5d6".parse().unwrap(),
            title: "Tom & Jerry".into(),
            icon: String::new(),
            manager_id: "9896d0783afa55ff194248ecc408baeb".parse().unwrap(),
            remark: String::new(),
            user_count: 2,
            attrs: serde_json::Map::new(),
            create_time: 1_764_096_000_000,
            kind: ConversationType::SingleChat,
            user_ids: vec![
                "9896d0783afa55ff194248ecc408baeb".parse().unwrap(),
                "0123456789abcdef0123456789abcdef".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn conversation_has_the_seed_fields_verbatim() {
        let json = serde_json::to_value(seed_conversation()).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "attrs",
                "create_time",
                "icon",
                "id",
                "manager_id",
                "remark",
                "title",
                "type",
                "user_count",
                "user_ids"
            ]
        );
        assert_eq!(json["type"], "SINGLE_CHAT");
        let back: Conversation = serde_json::from_value(json).unwrap();
        assert_eq!(back, seed_conversation());
    }

    #[test]
    fn message_round_trips_with_type_and_content() {
        let msg = Message {
            id: MessageId::time_ordered(),
            conversation_id: seed_conversation().id,
            seq: 1,
            from: seed_conversation().manager_id,
            client_id: "c1".parse().unwrap(),
            timestamp: 1_764_096_000_123,
            body: MessageBody::text("耗子，起床啦"),
            reply_to: None,
            edited_at: None,
            mentions: vec![],
            mention_all: false,
            reactions: vec![],
        };
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["type"], "text");
        assert_eq!(json["content"]["text"], "耗子，起床啦");
        assert!(json.get("reply_to").is_none() && json.get("edited_at").is_none());
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), msg);

        let recalled = Message {
            body: MessageBody::Recalled { by: msg.from },
            reply_to: Some(1),
            edited_at: Some(1_764_096_000_200),
            ..msg
        };
        let json = serde_json::to_value(&recalled).unwrap();
        assert_eq!(json["type"], "recalled");
        assert_eq!(json["content"]["by"], recalled.from.to_string());
        assert_eq!(
            (json["reply_to"].as_u64(), json["edited_at"].as_i64()),
            (Some(1), Some(1_764_096_000_200))
        );
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), recalled);
    }

    #[test]
    fn images_and_files_round_trip_with_their_content() {
        let image = MessageBody::Image(Box::new(ImageContent {
            blob: "9f".repeat(32),
            size: 2_481_731,
            mime: "image/jpeg".into(),
            width: 3024,
            height: 4032,
            thumbnail: Thumbnail {
                blob: "41".repeat(32),
                size: 31_877,
                mime: "image/jpeg".into(),
                width: 360,
                height: 480,
            },
            name: Some("IMG_2041.jpg".into()),
            caption: Some("the view from the roof".into()),
        }));
        let json = serde_json::to_value(&image).unwrap();
        assert_eq!(json["type"], "image");
        assert_eq!(json["content"]["thumbnail"]["width"], 360);
        assert_eq!(serde_json::from_value::<MessageBody>(json).unwrap(), image);
        assert_eq!(image.preview(), "the view from the roof");
        assert_eq!(image.blobs(), ["9f".repeat(32), "41".repeat(32)]);

        let file = MessageBody::File(Box::new(FileContent {
            blob: "c0".repeat(32),
            size: 52_428_800,
            mime: "application/pdf".into(),
            name: "Q3 report.pdf".into(),
            caption: None,
        }));
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["type"], "file");
        assert!(
            json["content"].get("caption").is_none(),
            "no caption: absent"
        );
        assert_eq!(serde_json::from_value::<MessageBody>(json).unwrap(), file);
        assert_eq!(
            file.preview(),
            "Q3 report.pdf",
            "a file without a caption: its name"
        );
    }

    #[test]
    fn a_type_from_a_newer_server_reads_as_unsupported() {
        let json = r#"{"id":"01a2142b1cd2710eb2c140dd4c2b3c91","conversation_id":"0eebf6e330b64d92bc607f41309d62b7","seq":3,"from":"62c55add6b6f43c4bfd9c4547b597b7a","client_id":"c3","timestamp":1,"type":"video","content":{"blob":"ab","width":4,"height":3}}"#;
        let m: Message = serde_json::from_str(json).unwrap();
        assert_eq!(m.body, MessageBody::Unsupported);
        // An image whose content this version cannot read, too.
        let odd_image = json.replace(r#""type":"video""#, r#""type":"image""#);
        let m: Message = serde_json::from_str(&odd_image).unwrap();
        assert_eq!(m.body, MessageBody::Unsupported);
        assert_eq!((m.seq, m.body.preview()), (3, ""));
        let event = format!(r#"{{"type":"event","event":"message","data":{json}}}"#);
        assert!(matches!(
            crate::decode_server_frame(&event).unwrap(),
            crate::ServerFrame::Event(crate::Event::Message(_))
        ));
    }

    #[test]
    fn type_follows_member_count() {
        assert_eq!(
            ConversationType::for_member_count(2),
            ConversationType::SingleChat
        );
        for n in [1, 3, 10] {
            assert_eq!(
                ConversationType::for_member_count(n),
                ConversationType::GroupChat
            );
        }
        for t in [ConversationType::SingleChat, ConversationType::GroupChat] {
            assert_eq!(ConversationType::from_wire(t.as_str()), Some(t));
        }
    }

    #[test]
    fn usernames_are_normalized() {
        assert_eq!(normalize_username(" Tom ").as_deref(), Some("tom"));
        assert_eq!(
            normalize_username("jerry.m-2_x").as_deref(),
            Some("jerry.m-2_x")
        );
        assert_eq!(normalize_username("to"), None);
        assert_eq!(normalize_username("tom cat"), None);
        assert_eq!(normalize_username("汤姆汤姆"), None);
        assert_eq!(normalize_username(&"a".repeat(33)), None);
    }
}
