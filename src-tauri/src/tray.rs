//! The tray icon (Linux: a StatusNotifierItem through libayatana-appindicator; the Windows
//! notification area; the macOS menu bar) with the unread total beside it, its menu (open, pause
//! notifications for an hour or until tomorrow, resume, quit), the window closing to it, and the
//! unread total on the launcher icon where the desktop shows one.

use std::collections::HashMap;

use im_sdk::ConversationId;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;
use crate::texts::Text;

/// The tray icon's id.
pub const TRAY_ID: &str = "main";

/// The unread messages that count toward the total: each conversation's, muted ones left out
/// (they keep a quiet badge in the list but do not call for attention).
#[derive(Debug, Default)]
pub struct UnreadTally {
    by_conversation: HashMap<ConversationId, u64>,
    total: u64,
}

impl UnreadTally {
    /// The total now.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// A conversation's count changed (or it was muted or unmuted). True if the total changed.
    pub fn set(&mut self, conversation: ConversationId, unread: u64, muted: bool) -> bool {
        let counted = if muted { 0 } else { unread };
        let before = self.total;
        let old = if counted == 0 {
            self.by_conversation.remove(&conversation)
        } else {
            self.by_conversation.insert(conversation, counted)
        };
        self.total = self.total - old.unwrap_or(0) + counted;
        self.total != before
    }

    /// The user left the conversation. True if the total changed.
    pub fn remove(&mut self, conversation: ConversationId) -> bool {
        self.set(conversation, 0, false)
    }

    /// Every conversation's count afresh (after catching up, or at sign-in); conversations not
    /// named count nothing. True if the total changed.
    pub fn replace_all(
        &mut self,
        counts: impl IntoIterator<Item = (ConversationId, u64, bool)>,
    ) -> bool {
        let before = self.total;
        self.by_conversation.clear();
        self.total = 0;
        for (conversation, unread, muted) in counts {
            self.set(conversation, unread, muted);
        }
        self.total != before
    }
}

/// The menu's items, kept to change their texts and state.
struct TrayMenu<R: Runtime> {
    open: MenuItem<R>,
    pause_hour: MenuItem<R>,
    pause_tomorrow: MenuItem<R>,
    resume: MenuItem<R>,
    quit: MenuItem<R>,
}

/// The product name, as the window and notifications say it.
pub fn app_name<R: Runtime>(app: &AppHandle<R>) -> String {
    app.config()
        .product_name
        .clone()
        .unwrap_or_else(|| "Gtedx IM".into())
}

/// Puts the icon in the tray. Where the desktop has no tray this still succeeds (the icon is
/// not seen): closing the window then quits, see [`keeps_running_when_closed`].
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    // A tray is GTK widgets on Linux: none without GTK (tests on tauri's mock runtime).
    #[cfg(target_os = "linux")]
    if !gtk::is_initialized() {
        return Ok(());
    }
    let item = |id: &str| MenuItem::with_id(app, id, id, true, None::<&str>);
    let menu = TrayMenu {
        open: item("open")?,
        pause_hour: item("pause-hour")?,
        pause_tomorrow: item("pause-tomorrow")?,
        resume: item("resume")?,
        quit: item("quit")?,
    };
    let separator = || PredefinedMenuItem::separator(app);
    let tray_menu = Menu::with_items(
        app,
        &[
            &menu.open,
            &separator()?,
            &menu.pause_hour,
            &menu.pause_tomorrow,
            &menu.resume,
            &separator()?,
            &menu.quit,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(app_name(app))
        .menu(&tray_menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_main_window(app),
            "pause-hour" => pause(app, crate::settings::PauseSpan::Hour),
            "pause-tomorrow" => pause(app, crate::settings::PauseSpan::Tomorrow),
            "resume" => pause(app, crate::settings::PauseSpan::Off),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            // Windows and macOS: a left click brings the window (Linux trays open the menu).
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    app.manage(menu);
    refresh_menu(app);
    Ok(())
}

fn pause<R: Runtime>(app: &AppHandle<R>, span: crate::settings::PauseSpan) {
    let state = app.state::<AppState>();
    match state.pause_notifications(span) {
        Ok(_) => crate::desktop::changed(app),
        Err(e) => tracing::warn!(error = %e, "cannot save the notification pause"),
    }
}

/// Writes the menu's texts in the current language, with "resume" offered only while paused.
pub fn refresh_menu<R: Runtime>(app: &AppHandle<R>) {
    let Some(menu) = app.try_state::<TrayMenu<R>>() else {
        return;
    };
    let state = app.state::<AppState>();
    let locale = state.locale.get();
    let name = app_name(app);
    let paused = state.notifier.paused_until_ms().is_some();
    let results = [
        menu.open
            .set_text(Text::TrayOpen.fill(locale, &[("app", &name)])),
        menu.pause_hour.set_text(Text::TrayPauseHour.raw(locale)),
        menu.pause_tomorrow
            .set_text(Text::TrayPauseTomorrow.raw(locale)),
        menu.resume.set_text(Text::TrayResume.raw(locale)),
        menu.resume.set_enabled(paused),
        menu.quit.set_text(Text::TrayQuit.raw(locale)),
    ];
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        tracing::warn!(error = %e, "cannot update the tray menu");
    }
    show_unread(app, state.unread_total());
}

/// Shows the unread total: beside the tray icon (Linux: the indicator's label), in its tooltip,
/// and on the launcher icon (Linux: Unity's LauncherEntry, which docks and task bars read;
/// macOS: the dock badge).
pub fn show_unread<R: Runtime>(app: &AppHandle<R>, total: u64) {
    let name = app_name(app);
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let locale = app.state::<AppState>().locale.get();
        let (title, tooltip) = if total == 0 {
            (None, name.clone())
        } else {
            let n = total.to_string();
            (
                Some(n.clone()),
                Text::TrayUnread.fill(locale, &[("app", &name), ("n", &n)]),
            )
        };
        if let Err(e) = tray
            .set_title(title.as_deref())
            .and_then(|()| tray.set_tooltip(Some(tooltip)))
        {
            tracing::warn!(error = %e, "cannot show the unread total in the tray");
        }
    }
    app.state::<AppState>().notifier.launcher_count(app, total);
    #[cfg(target_os = "macos")]
    if let Some(window) = app.get_webview_window(crate::MAIN_WINDOW) {
        let _ = window.set_badge_count((total > 0).then_some(total as i64));
    }
}

/// Brings the main window up: shown, unminimized, focused.
pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(crate::MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Whether closing the window leaves the app running in the tray: the user wants it and a tray
/// is there to bring the window back from.
pub fn keeps_running_when_closed<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.state::<AppState>().settings.get().close_to_tray && tray_available()
}

/// Whether the desktop shows tray icons. Linux: a StatusNotifierWatcher is on the session bus
/// (GNOME without its AppIndicator extension has none); elsewhere always.
pub fn tray_available() -> bool {
    #[cfg(target_os = "linux")]
    {
        let answer = (|| -> zbus::Result<bool> {
            let bus = zbus::blocking::Connection::session()?;
            let watcher = zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher")?;
            Ok(zbus::blocking::fdo::DBusProxy::new(&bus)?.name_has_owner(watcher)?)
        })();
        answer.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "cannot ask the session bus for a tray");
            false
        })
    }
    #[cfg(not(target_os = "linux"))]
    true
}

/// The window's close button (or Ctrl+W): to the tray if it keeps the app running, the first
/// time saying so; otherwise the app quits.
pub fn close_main_window<R: Runtime>(app: &AppHandle<R>) {
    if !keeps_running_when_closed(app) {
        app.exit(0);
        return;
    }
    if let Some(window) = app.get_webview_window(crate::MAIN_WINDOW) {
        let _ = window.hide();
    }
    let state = app.state::<AppState>();
    if !state.settings.get().tray_hint_shown {
        let locale = state.locale.get();
        let name = app_name(app);
        state.notifier.hint(
            app,
            &Text::TrayHintTitle.fill(locale, &[("app", &name)]),
            Text::TrayHintBody.raw(locale),
        );
        if let Err(e) = state.settings.update(|s| s.tray_hint_shown = true) {
            tracing::warn!(error = %e, "cannot remember that the tray hint was shown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Set(usize, u64, bool),
        Remove(usize),
        ReplaceAll(Vec<(usize, u64, bool)>),
    }

    fn op() -> impl Strategy<Value = Op> {
        let entry = (0usize..6, 0u64..5, any::<bool>());
        prop_oneof![
            6 => entry.clone().prop_map(|(c, n, m)| Op::Set(c, n, m)),
            2 => (0usize..6).prop_map(Op::Remove),
            1 => prop::collection::vec(entry, 0..6).prop_map(Op::ReplaceAll),
        ]
    }

    proptest! {
        /// Random updates, removals and fresh counts against a map summed from scratch: the same
        /// total after every step, and "changed" exactly when it changed.
        #[test]
        fn the_total_is_the_sum_of_unmuted_counts(ops in prop::collection::vec(op(), 0..60)) {
            let ids: Vec<ConversationId> = (0..6).map(|_| ConversationId::random()).collect();
            let mut tally = UnreadTally::default();
            let mut model: HashMap<usize, (u64, bool)> = HashMap::new();
            let sum = |m: &HashMap<usize, (u64, bool)>| {
                m.values().filter(|(_, muted)| !muted).map(|(n, _)| n).sum::<u64>()
            };
            for op in ops {
                let before = sum(&model);
                let changed = match op {
                    Op::Set(c, n, muted) => {
                        model.insert(c, (n, muted));
                        tally.set(ids[c], n, muted)
                    }
                    Op::Remove(c) => {
                        model.remove(&c);
                        tally.remove(ids[c])
                    }
                    Op::ReplaceAll(entries) => {
                        model.clear();
                        for (c, n, muted) in &entries {
                            model.insert(*c, (*n, *muted));
                        }
                        tally.replace_all(entries.into_iter().map(|(c, n, m)| (ids[c], n, m)))
                    }
                };
                prop_assert_eq!(tally.total(), sum(&model));
                prop_assert_eq!(changed, before != sum(&model));
            }
        }
    }
}
