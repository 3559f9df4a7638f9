//! What crosses into the web UI: camelCase JSON shapes of `ui/src/lib/api.ts`. Nothing here
//! carries a password or token.

use im_sdk::{ConnectionState, Message, OutboxState, OutgoingMessage, User};
use serde::Serialize;

use crate::error::AppError;

/// The signed-in account.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub uid: String,
    pub username: String,
    pub display_name: String,
    pub server_url: String,
}

/// One of the account's signed-in devices.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    pub device: String,
    pub created_at: i64,
    pub current: bool,
}

impl From<im_sdk::SessionInfo> for SessionInfo {
    fn from(s: im_sdk::SessionInfo) -> Self {
        Self {
            id: s.id,
            device: s.device,
            created_at: s.created_at,
            current: s.current,
        }
    }
}

/// A member of a conversation, for its info dialog.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberInfo {
    pub uid: String,
    pub username: String,
    pub display_name: String,
    /// The group's manager (who may add and remove members).
    pub manager: bool,
    /// The signed-in user.
    pub me: bool,
}

/// Another user.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub uid: String,
    pub username: String,
    pub display_name: String,
}

impl From<&User> for UserInfo {
    fn from(u: &User) -> Self {
        Self {
            uid: u.uid.to_string(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
        }
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Sending,
    Sent,
    Failed,
}

/// A message in a conversation, sent or still in the outbox. `clientId` identifies it from
/// the moment it is written.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UiMessage {
    pub conversation_id: String,
    pub client_id: String,
    pub id: Option<String>,
    pub seq: Option<u64>,
    pub from: String,
    pub from_name: String,
    pub own: bool,
    pub text: String,
    pub timestamp: i64,
    pub status: MessageStatus,
    pub error: Option<AppError>,
    /// When its text was last edited.
    pub edited_at: Option<i64>,
    /// Recalled for everyone: `text` is empty.
    pub recalled: bool,
    /// A kind of message this version cannot show (from a newer server): `text` is empty.
    pub unsupported: bool,
    /// Who recalled it (the sender, or a group's manager).
    pub recalled_by_name: Option<String>,
    /// The message it replies to.
    pub reply_to: Option<ReplyPreview>,
    /// Until when (ms) the user may edit it; `None`: not editable.
    pub editable_until: Option<i64>,
    /// Until when (ms) the user may recall it; `None`: not recallable.
    pub recallable_until: Option<i64>,
    /// Members it mentions (uids), and `@all`.
    pub mentions: Vec<String>,
    pub mention_all: bool,
    /// It mentions the user (by name or `@all`) and is not theirs.
    pub mentions_me: bool,
    /// Its emoji reactions, each emoji in the order first used.
    pub reactions: Vec<UiReaction>,
}

/// One emoji's reactions on a message, as the UI shows them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UiReaction {
    pub emoji: String,
    pub count: usize,
    /// The user is among them.
    pub mine: bool,
    /// Who, by display name.
    pub names: Vec<String>,
}

/// The message a reply quotes, as this device's cache holds it (`from_name` and `text` are
/// `None` when it does not).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyPreview {
    pub seq: u64,
    pub from_name: Option<String>,
    pub text: Option<String>,
    pub recalled: bool,
}

impl UiMessage {
    /// A stored message (without the reply preview and the user's rights: see `view::message`).
    pub fn sent(m: &Message, me: &str, from_name: String) -> Self {
        let from = m.from.to_string();
        Self {
            conversation_id: m.conversation_id.to_string(),
            client_id: m.client_id.to_string(),
            id: Some(m.id.to_string()),
            seq: Some(m.seq),
            own: from == me,
            from,
            from_name,
            text: m.body.preview().to_owned(),
            timestamp: m.timestamp,
            status: MessageStatus::Sent,
            error: None,
            edited_at: m.edited_at,
            recalled: m.body.is_recalled(),
            // Images and files travel, but this version of the app does not show them yet
            // (issue 13's next steps): it says so rather than showing a bare name.
            unsupported: matches!(
                m.body,
                im_sdk::MessageBody::Unsupported
                    | im_sdk::MessageBody::Image(_)
                    | im_sdk::MessageBody::File(_)
            ),
            recalled_by_name: None,
            reply_to: None,
            editable_until: None,
            recallable_until: None,
            mentions: m.mentions.iter().map(|u| u.to_string()).collect(),
            mention_all: m.mention_all,
            mentions_me: me.parse().is_ok_and(|me| m.mentions_user(me)),
            reactions: Vec::new(),
        }
    }

    /// One of the user's messages still in the outbox.
    pub fn outgoing(m: &OutgoingMessage, me: &User) -> Self {
        let (status, error) = match &m.state {
            OutboxState::Sending => (MessageStatus::Sending, None),
            OutboxState::Failed { code, message } => (
                MessageStatus::Failed,
                Some(AppError::new(code, message.clone())),
            ),
        };
        Self {
            conversation_id: m.conversation_id.to_string(),
            client_id: m.client_id.to_string(),
            id: None,
            seq: None,
            from: me.uid.to_string(),
            from_name: me.display_name.clone(),
            own: true,
            text: m.text.clone(),
            timestamp: m.created_at,
            status,
            error,
            edited_at: None,
            recalled: false,
            unsupported: false,
            recalled_by_name: None,
            reply_to: m.reply_to.map(|seq| ReplyPreview {
                seq,
                from_name: None,
                text: None,
                recalled: false,
            }),
            editable_until: None,
            recallable_until: None,
            mentions: m.mentions.iter().map(|u| u.to_string()).collect(),
            mention_all: m.mention_all,
            mentions_me: false,
            reactions: Vec::new(),
        }
    }
}

/// A conversation in the list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationItem {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub display_title: String,
    /// A note about the conversation any member may write.
    pub remark: String,
    pub manager_id: String,
    pub user_ids: Vec<String>,
    pub last_message: Option<UiMessage>,
    pub unread_count: u64,
    pub read_seq: u64,
    pub last_seq: u64,
    pub peer_read_seq: u64,
    pub last_activity: i64,
    /// For a single chat: the other person (their name is the chat's name, whatever its title,
    /// and their `@username` shows who they really are).
    pub peer: Option<UserInfo>,
    /// The user muted it: no notifications, a quieter unread badge.
    pub muted: bool,
    /// Unread messages (as far as this device holds them) that mention the user.
    pub unread_mentions: u64,
}

/// The connection state for the banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum UiConnectionState {
    Connecting,
    Online,
    Offline,
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
    },
    /// The client stopped after an internal failure; restarting the app starts a new one.
    Failed {
        reason: String,
    },
}

impl From<&ConnectionState> for UiConnectionState {
    fn from(s: &ConnectionState) -> Self {
        match s {
            ConnectionState::Connecting => Self::Connecting,
            ConnectionState::Online => Self::Online,
            ConnectionState::Offline => Self::Offline,
            ConnectionState::Reconnecting { attempt, delay } => Self::Reconnecting {
                attempt: *attempt,
                delay_ms: delay.as_millis() as u64,
            },
            ConnectionState::Failed { reason } => Self::Failed {
                reason: reason.clone(),
            },
        }
    }
}

/// About the app.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub profile: Option<String>,
    pub default_server_url: String,
    pub max_text_chars: usize,
}

/// Everything the UI needs for its first screen, in one round trip.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    pub info: AppInfo,
    /// Signed in from the keyring, or `None` (then `error` may say why).
    pub account: Option<Account>,
    /// Why the saved session could not be restored (e.g. `keyring_unavailable`).
    pub error: Option<AppError>,
    /// The first page of the conversation list (empty when not signed in).
    pub conversations: Vec<ConversationItem>,
    pub connection: UiConnectionState,
}

/// A page of history, ascending.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<UiMessage>,
    pub has_more: bool,
}

/// A message a search found, with the title of its conversation (the message carries the
/// conversation's id).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub message: UiMessage,
    pub conversation_title: String,
}

/// The app's desktop settings as the Settings screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesktopSettings {
    /// Closing the window keeps the app running in the tray.
    pub close_to_tray: bool,
    /// The app starts when the user signs in to the computer.
    pub start_at_login: bool,
    /// Notifications are paused until then (unix milliseconds).
    pub notifications_muted_until: Option<u64>,
    /// The desktop shows tray icons (without one, closing the window quits).
    pub tray_available: bool,
    /// Linux: whether WebKit draws with the GPU, as chosen and as running (they differ until a
    /// restart); `None` where the system decides.
    pub hardware_acceleration: Option<HardwareAcceleration>,
}

/// The hardware acceleration setting (Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HardwareAcceleration {
    /// Chosen in Settings (applies from the next start).
    pub enabled: bool,
    /// What this run uses.
    pub active: bool,
}

/// Everything the backend pushes to the UI, on the one `im-event` channel.
#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ImEvent {
    /// A new message, or a change to one (same clientId): acked, failed.
    Message { message: UiMessage },
    /// A message was edited or recalled (by anyone, on any device; live or found while catching
    /// up): replace the one with the same conversation and seq.
    MessageUpdated { message: UiMessage },
    /// A conversation was created or changed (title, members, last message, unread, read ticks).
    Conversation { conversation: Box<ConversationItem> },
    /// The desktop settings changed outside the Settings screen (the tray menu paused
    /// notifications).
    DesktopSettings { settings: DesktopSettings },
    /// The self-update moved on (checking, progress, ready, failed).
    Update {
        status: crate::updates::UpdateStatus,
    },
    /// The user left or was removed.
    ConversationRemoved { conversation_id: String },
    /// Someone added the user to a group (the UI offers to leave or mute it).
    AddedToGroup {
        conversation_id: String,
        title: String,
        by: UserInfo,
    },
    /// The user blocked or unblocked someone (here or on another device).
    BlockChanged { uid: String, blocked: bool },
    /// The connection state changed.
    Connection { state: UiConnectionState },
    /// A member's read mark moved.
    Receipt {
        conversation_id: String,
        uid: String,
        read_seq: u64,
    },
    /// Someone is (or stopped) typing.
    Typing {
        conversation_id: String,
        uid: String,
        name: String,
        typing: bool,
    },
    /// The session ended (signed out elsewhere); back to the sign-in screen.
    SignedOut { reason: String },
    /// Something went wrong in the background.
    Error { error: AppError },
    /// Events may have been missed (after catching up, or an overflow): reload what is shown.
    Resync,
    /// Show this conversation (its notification was clicked; the window is already raised).
    OpenConversation { conversation_id: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_ui_shapes() {
        let e = ImEvent::ConversationRemoved {
            conversation_id: "c".into(),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"kind": "conversationRemoved", "conversationId": "c"})
        );
        let e = ImEvent::Connection {
            state: UiConnectionState::Reconnecting {
                attempt: 2,
                delay_ms: 1500,
            },
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"kind": "connection", "state": {"state": "reconnecting", "attempt": 2, "delayMs": 1500}})
        );
        assert_eq!(
            serde_json::to_value(ImEvent::Resync).unwrap(),
            serde_json::json!({"kind": "resync"})
        );
        let e = ImEvent::Receipt {
            conversation_id: "c".into(),
            uid: "u".into(),
            read_seq: 3,
        };
        assert_eq!(serde_json::to_value(&e).unwrap()["readSeq"], 3);
    }
}
