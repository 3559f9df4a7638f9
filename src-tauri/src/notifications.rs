//! Native notifications for incoming messages (tauri-plugin-notification: D-Bus
//! `org.freedesktop.Notifications` on Linux, the notification centre on macOS and Windows).

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

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

/// Shows a notification; failures are logged, never fatal.
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
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
    fn previews_are_one_short_line() {
        assert_eq!(preview("耗子，起床啦"), "耗子，起床啦");
        assert_eq!(preview("line one\nline two"), "line one…");
        assert_eq!(preview(&"x".repeat(200)).chars().count(), 121);
    }
}
