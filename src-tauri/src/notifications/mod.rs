//! Native notifications for incoming messages: D-Bus `org.freedesktop.Notifications` on Linux
//! (our own connection, `dbus.rs`: grouped per conversation, clickable), the notification centre
//! through tauri-plugin-notification on macOS and Windows.
//!
//! Message text is other people's text: before it reaches the notification server it loses its
//! control characters (a U+0000 is invalid on D-Bus, and the bus drops the connection that sent
//! it — silencing every later notification), and where the server renders markup in bodies
//! (`body-markup`: dunst, KDE…) `&`, `<` and `>` are escaped, so a message cannot turn into bold
//! text or a link.

#[cfg(target_os = "linux")]
mod dbus;
mod grouped;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use im_sdk::ConversationId;
use tauri::{AppHandle, Manager, Runtime};
#[cfg(not(target_os = "linux"))]
use tauri_plugin_notification::NotificationExt;

/// Message notifications. On Linux (D-Bus) one per conversation, replaced with a count as
/// messages arrive, closed when the conversation is opened, and a click opens the conversation
/// in the raised window; elsewhere one per message, through the notification plugin.
#[derive(Default)]
pub struct Notifier {
    /// Privacy: notifications say that a message came, never what it says.
    hide_text: AtomicBool,
    /// Paused until then (unix milliseconds; 0: not paused).
    paused_until_ms: AtomicU64,
    #[cfg(target_os = "linux")]
    thread: std::sync::Mutex<Option<std::sync::mpsc::Sender<dbus::Command>>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("hide_text", &self.hide_text.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Whether notifications leave the message text out.
    pub fn set_hide_text(&self, hide: bool) {
        self.hide_text.store(hide, Ordering::Relaxed);
    }

    /// Whether notifications leave the message text out.
    pub fn hides_text(&self) -> bool {
        self.hide_text.load(Ordering::Relaxed)
    }

    /// Pauses notifications until then (unix milliseconds), or ends the pause.
    pub fn set_paused_until(&self, until_ms: Option<u64>) {
        self.paused_until_ms
            .store(until_ms.unwrap_or(0), Ordering::Relaxed);
    }

    /// Until when notifications are paused, if they are now.
    pub fn paused_until_ms(&self) -> Option<u64> {
        let until = self.paused_until_ms.load(Ordering::Relaxed);
        (until > now_ms()).then_some(until)
    }

    /// A message for `conversation` (already judged worth notifying, see [`should_notify`]);
    /// nothing while notifications are paused.
    pub fn message<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        conversation: ConversationId,
        title: &str,
        text: &str,
        locale: crate::texts::Locale,
    ) {
        if self.paused_until_ms().is_some() {
            return;
        }
        let title = without_controls(title);
        let preview = body_text(&preview(text), server_renders_markup());
        let hide_text = self.hides_text();
        #[cfg(target_os = "linux")]
        self.send(
            app,
            dbus::Command::Message {
                conversation,
                title,
                preview,
                hide_text,
                locale,
            },
        );
        #[cfg(not(target_os = "linux"))]
        {
            let _ = conversation;
            let body = if hide_text {
                crate::texts::Text::NewMessage.raw(locale).into()
            } else {
                preview
            };
            show_cleaned(app, title, body);
        }
    }

    /// The user opened `conversation`: its notification goes away.
    pub fn read<R: Runtime>(&self, app: &AppHandle<R>, conversation: ConversationId) {
        #[cfg(target_os = "linux")]
        {
            // Nothing to close before anything was shown.
            if self.thread.lock().map(|t| t.is_some()).unwrap_or(false) {
                self.send(app, dbus::Command::Read(conversation));
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (app, conversation);
    }

    /// A notice of the app's own about messages ("Tom added you to …"): nothing while
    /// notifications are paused. Failures are logged, never fatal.
    pub fn plain<R: Runtime>(&self, app: &AppHandle<R>, title: &str, body: &str) {
        if self.paused_until_ms().is_none() {
            self.hint(app, title, body);
        }
    }

    /// A notice about the app itself ("still running in the tray"), shown even while paused.
    pub fn hint<R: Runtime>(&self, app: &AppHandle<R>, title: &str, body: &str) {
        let title = without_controls(title);
        let body = body_text(body, server_renders_markup());
        #[cfg(target_os = "linux")]
        self.send(
            app,
            dbus::Command::Plain {
                summary: title,
                body,
            },
        );
        #[cfg(not(target_os = "linux"))]
        show_cleaned(app, title, body);
    }

    /// The unread total on the launcher's icon (Linux: Unity's LauncherEntry signal, read by
    /// docks and task bars; elsewhere see `tray::show_unread`).
    pub fn launcher_count<R: Runtime>(&self, app: &AppHandle<R>, count: u64) {
        #[cfg(target_os = "linux")]
        self.send(app, dbus::Command::LauncherCount(count));
        #[cfg(not(target_os = "linux"))]
        let _ = (app, count);
    }

    #[cfg(target_os = "linux")]
    fn send<R: Runtime>(&self, app: &AppHandle<R>, command: dbus::Command) {
        let mut thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        let commands = thread.get_or_insert_with(|| {
            let config = app.config();
            let sender = dbus::Sender {
                app_name: config
                    .product_name
                    .clone()
                    .unwrap_or_else(|| "Gtedx IM".into()),
                desktop_entry: crate::Profile::base_identifier(&config.identifier).to_owned(),
                icon: "gtedx-im".into(),
            };
            let app = app.clone();
            dbus::start(sender, move |conversation| {
                open_conversation(&app, conversation)
            })
        });
        if commands.send(command).is_err() {
            tracing::warn!("the notifications thread is gone");
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A click on a conversation's notification: the window comes up with that conversation open.
fn open_conversation<R: Runtime>(app: &AppHandle<R>, conversation: ConversationId) {
    tracing::debug!(%conversation, "notification clicked");
    crate::tray::show_main_window(app);
    app.state::<crate::AppState>()
        .ui_events
        .send(crate::dto::ImEvent::OpenConversation {
            conversation_id: conversation.to_string(),
        });
}

/// Whether an incoming message deserves a notification: never for the user's own messages, nor
/// for the conversation open in a focused window; otherwise yes.
pub fn should_notify(own: bool, window_focused: bool, open_here: bool) -> bool {
    !(own || (window_focused && open_here))
}

/// The preview: the first line, at most 120 characters.
pub fn preview(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(120).collect();
    if line.chars().count() > 120 || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Whether the main window has the keyboard focus.
pub fn main_window_focused<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

/// Text without control characters (each becomes a space; runs of them one space).
pub fn without_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_was_space = false;
    for c in text.chars() {
        if c.is_control() {
            if !last_was_space {
                out.push(' ');
            }
            last_was_space = true;
        } else {
            out.push(c);
            last_was_space = c == ' ';
        }
    }
    out
}

/// `&`, `<` and `>` escaped for a server that renders markup in notification bodies.
pub fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A notification body as the server should get it.
pub fn body_text(text: &str, server_renders_markup: bool) -> String {
    let plain = without_controls(text);
    if server_renders_markup {
        escape_markup(&plain)
    } else {
        plain
    }
}

/// Whether the notification server renders markup in bodies (asked once).
fn server_renders_markup() -> bool {
    static MARKUP: OnceLock<bool> = OnceLock::new();
    *MARKUP.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            match notify_rust::get_capabilities() {
                Ok(capabilities) => capabilities.iter().any(|c| c == "body-markup"),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot ask the notification server what it renders");
                    // Escaping is the safe side: a literal "&amp;" beats a forged link.
                    true
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        false
    })
}

/// Shows a notification through the plugin (title and body already cleaned); failures are
/// logged, never fatal.
#[cfg(not(target_os = "linux"))]
fn show_cleaned<R: Runtime>(app: &AppHandle<R>, title: String, body: String) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "notification failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_gets_notified() {
        assert!(!should_notify(true, false, false), "own messages never");
        assert!(!should_notify(false, true, true), "open and focused: no");
        assert!(
            should_notify(false, false, true),
            "open but window in the background"
        );
        assert!(
            should_notify(false, true, false),
            "another conversation is open"
        );
        assert!(should_notify(false, false, false));
    }

    #[test]
    fn control_characters_never_reach_the_bus() {
        assert_eq!(without_controls("a\u{0}b"), "a b");
        assert_eq!(without_controls("耗子\u{7}\u{1b}[31m起床"), "耗子 [31m起床");
        assert_eq!(without_controls("tab\there"), "tab here");
        assert!(!body_text("\u{0}\u{0}x", false).contains('\u{0}'));
    }

    #[test]
    fn markup_is_escaped_only_for_servers_that_render_it() {
        let text = "<b>urgent</b> <a href=\"https://phish.example\">your bank</a> & more";
        let escaped = body_text(text, true);
        assert_eq!(
            escaped,
            "&lt;b&gt;urgent&lt;/b&gt; &lt;a href=\"https://phish.example\"&gt;your bank&lt;/a&gt; &amp; more"
        );
        assert!(!escaped.contains('<'));
        assert_eq!(
            body_text(text, false),
            text,
            "plain-text servers show it as it is"
        );
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(preview("耗子，起床啦"), "耗子，起床啦");
        assert_eq!(preview("line one\nline two"), "line one…");
        assert_eq!(preview(&"x".repeat(200)).chars().count(), 121);
    }
}
