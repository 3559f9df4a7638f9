//! Linux: message notifications over D-Bus (`org.freedesktop.Notifications`) on
//! one connection the app keeps: one notification per conversation, replaced as messages arrive,
//! and a click on it reported (the Desktop Notifications Specification's `default` action); the
//! launcher icon's unread count goes out on the same connection.
//! Some servers (dunst) send a notification's signals only to the connection that sent it, so
//! the same connection sends and listens.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use im_sdk::ConversationId;
use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::Value;

use super::grouped::Groups;

const DESTINATION: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// What the notifications thread is asked to do.
pub enum Command {
    /// A message for a conversation: shown, or its notification replaced with a count.
    Message {
        conversation: ConversationId,
        title: String,
        preview: String,
        hide_text: bool,
        locale: crate::texts::Locale,
    },
    /// The user opened the conversation: its notification goes.
    Read(ConversationId),
    /// A notice of its own ("added you to …"), not grouped.
    Plain { summary: String, body: String },
    /// The unread total for the launcher's icon.
    LauncherCount(u64),
}

/// Who the notifications say they come from.
#[derive(Clone)]
pub struct Sender {
    /// The application name servers show (the product name).
    pub app_name: String,
    /// The desktop entry (the app's identifier), which desktops match the app by.
    pub desktop_entry: String,
    /// The icon's name in the icon theme.
    pub icon: String,
}

/// Starts the thread; `on_open` runs (on the listening thread) when a notification is clicked.
pub fn start(
    sender: Sender,
    on_open: impl Fn(ConversationId) + Send + Sync + 'static,
) -> mpsc::Sender<Command> {
    let (commands, received) = mpsc::channel();
    let on_open: Arc<dyn Fn(ConversationId) + Send + Sync> = Arc::new(on_open);
    let spawned = std::thread::Builder::new()
        .name("notifications".into())
        .spawn(move || run(&sender, &received, &on_open));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the notifications thread");
    }
    commands
}

fn run(
    sender: &Sender,
    commands: &mpsc::Receiver<Command>,
    on_open: &Arc<dyn Fn(ConversationId) + Send + Sync>,
) {
    let groups = Arc::new(Mutex::new(Groups::default()));
    let mut connection: Option<Connection> = None;
    for command in commands {
        let bus = match &connection {
            Some(bus) => bus.clone(),
            None => match Connection::session() {
                Ok(bus) => {
                    listen(bus.clone(), groups.clone(), on_open.clone());
                    connection = Some(bus.clone());
                    bus
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no session bus: notification not shown");
                    continue;
                }
            },
        };
        let sent = match command {
            Command::Message {
                conversation,
                title,
                preview,
                hide_text,
                locale,
            } => {
                let notice =
                    lock(&groups).message(conversation, &title, &preview, hide_text, locale);
                notify(
                    &bus,
                    sender,
                    &notice.summary,
                    &notice.body,
                    notice.replaces,
                    true,
                )
                .map(|id| lock(&groups).shown(conversation, id))
            }
            Command::Read(conversation) => match lock(&groups).read(conversation) {
                Some(id) => bus
                    .call_method(
                        Some(DESTINATION),
                        PATH,
                        Some(DESTINATION),
                        "CloseNotification",
                        &(id,),
                    )
                    .map(drop),
                None => Ok(()),
            },
            Command::Plain { summary, body } => {
                notify(&bus, sender, &summary, &body, None, false).map(drop)
            }
            Command::LauncherCount(count) => launcher_count(&bus, sender, count),
        };
        if let Err(e) = sent {
            // A bus that dropped the connection: the next notification opens a new one.
            tracing::warn!(error = %e, "notification failed");
            connection = None;
        }
    }
}

/// Sends one notification; the server's id for it.
fn notify(
    bus: &Connection,
    sender: &Sender,
    summary: &str,
    body: &str,
    replaces: Option<u32>,
    clickable: bool,
) -> zbus::Result<u32> {
    let actions: &[&str] = if clickable { &["default", "Open"] } else { &[] };
    let hints: HashMap<&str, Value<'_>> = HashMap::from([
        ("desktop-entry", Value::from(sender.desktop_entry.as_str())),
        ("category", Value::from("im.received")),
    ]);
    bus.call_method(
        Some(DESTINATION),
        PATH,
        Some(DESTINATION),
        "Notify",
        &(
            sender.app_name.as_str(),
            replaces.unwrap_or(0),
            sender.icon.as_str(),
            summary,
            body,
            actions,
            hints,
            -1i32,
        ),
    )?
    .body()
    .deserialize()
}

/// Unity's LauncherEntry API (also read by GNOME's Dash to Dock and KDE's task manager): a
/// broadcast signal naming the app's desktop entry with its count.
fn launcher_count(bus: &Connection, sender: &Sender, count: u64) -> zbus::Result<()> {
    let app_uri = format!("application://{}.desktop", sender.desktop_entry);
    let properties: HashMap<&str, Value<'_>> = HashMap::from([
        (
            "count",
            Value::from(i64::try_from(count).unwrap_or(i64::MAX)),
        ),
        ("count-visible", Value::from(count > 0)),
    ]);
    bus.emit_signal(
        None::<&str>,
        LAUNCHER_ENTRY_PATH,
        "com.canonical.Unity.LauncherEntry",
        "Update",
        &(app_uri, properties),
    )
}

/// Where the launcher entry's signals come from (any path of the app's own).
const LAUNCHER_ENTRY_PATH: &str = "/im/gtedx/LauncherEntry";

/// Listens to the server's signals on `bus`: clicks open their conversation, closed
/// notifications are forgotten.
fn listen(
    bus: Connection,
    groups: Arc<Mutex<Groups>>,
    on_open: Arc<dyn Fn(ConversationId) + Send + Sync>,
) {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(DESTINATION)
        .and_then(|rule| rule.path(PATH))
        .map(|rule| rule.build());
    let signals = match rule.and_then(|rule| MessageIterator::for_match_rule(rule, &bus, Some(64)))
    {
        Ok(signals) => signals,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen to notification clicks");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("notification-signals".into())
        .spawn(move || {
            for signal in signals.flatten() {
                let header = signal.header();
                match header.member().map(|m| m.as_str()) {
                    Some("ActionInvoked") => {
                        let Ok((id, action)) = signal.body().deserialize::<(u32, String)>() else {
                            continue;
                        };
                        let conversation = lock(&groups).conversation_of(id);
                        if let (Some(conversation), "default") = (conversation, action.as_str()) {
                            on_open(conversation);
                        }
                    }
                    Some("NotificationClosed") => {
                        if let Ok((id, _reason)) = signal.body().deserialize::<(u32, u32)>() {
                            lock(&groups).closed(id);
                        }
                    }
                    _ => {}
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the notification signals thread");
    }
}

fn lock(groups: &Mutex<Groups>) -> std::sync::MutexGuard<'_, Groups> {
    groups
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
