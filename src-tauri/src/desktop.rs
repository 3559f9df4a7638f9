//! The commands about the desktop around the chat: the window (close, quit, restart), the tray,
//! notification text and pause, start at login, hardware acceleration, and the language of the
//! backend's own texts.

use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_autostart::ManagerExt;

use crate::dto::{DesktopSettings, HardwareAcceleration, ImEvent};
use crate::error::AppError;
use crate::settings::PauseSpan;
use crate::state::AppState;
use crate::texts::Locale;
use crate::tray;

type Result<T> = std::result::Result<T, AppError>;

fn saving(e: std::io::Error) -> AppError {
    AppError::new("cache", format!("cannot save the setting: {e}"))
}

/// The settings as the UI shows them.
pub fn current<R: Runtime>(app: &AppHandle<R>) -> DesktopSettings {
    let state = app.state::<AppState>();
    let start_at_login = app.autolaunch().is_enabled().unwrap_or_else(|e| {
        tracing::debug!(error = %e, "cannot tell whether the app starts at login");
        false
    });
    DesktopSettings {
        close_to_tray: state.settings.get().close_to_tray,
        start_at_login,
        notifications_muted_until: state.notifier.paused_until_ms(),
        tray_available: tray::tray_available(),
        hardware_acceleration: crate::rendering::APPLIES.then(|| HardwareAcceleration {
            enabled: state.settings.get().hardware_acceleration,
            active: crate::rendering::active(),
        }),
    }
}

/// The settings changed outside the Settings screen: the UI and the tray menu hear of it.
pub fn changed<R: Runtime>(app: &AppHandle<R>) {
    tray::refresh_menu(app);
    app.state::<AppState>()
        .ui_events
        .send(ImEvent::DesktopSettings {
            settings: current(app),
        });
}

/// The desktop settings now.
#[tauri::command]
pub fn desktop_settings<R: Runtime>(app: AppHandle<R>) -> DesktopSettings {
    current(&app)
}

/// Whether notifications show the message text (privacy: off says only that a message came);
/// remembered for the next start.
#[tauri::command]
pub fn set_notification_text(state: State<'_, AppState>, show: bool) -> Result<()> {
    state.set_notification_text(show).map_err(saving)
}

/// Whether closing the window keeps the app running in the tray.
#[tauri::command]
pub fn set_close_to_tray<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<DesktopSettings> {
    state
        .settings
        .update(|s| s.close_to_tray = enabled)
        .map_err(saving)?;
    Ok(current(&app))
}

/// Whether the app starts (in the tray) when the user signs in to the computer.
#[tauri::command]
pub fn set_start_at_login<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Result<DesktopSettings> {
    let autostart = app.autolaunch();
    let done = if enabled {
        autostart.enable()
    } else {
        autostart.disable()
    };
    done.map_err(|e| AppError::new("autostart", format!("cannot change start at login: {e}")))?;
    Ok(current(&app))
}

/// Pauses notifications for an hour or until tomorrow morning, or resumes them.
#[tauri::command]
pub fn mute_notifications<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    span: PauseSpan,
) -> Result<DesktopSettings> {
    state.pause_notifications(span).map_err(saving)?;
    tray::refresh_menu(&app);
    Ok(current(&app))
}

/// Whether WebKit draws with the GPU from the next start (Linux; see `rendering.rs`).
#[tauri::command]
pub fn set_hardware_acceleration<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<DesktopSettings> {
    if !crate::rendering::APPLIES {
        return Err(AppError::new(
            "invalid_input",
            "the system decides how this window is drawn",
        ));
    }
    state
        .settings
        .update(|s| s.hardware_acceleration = enabled)
        .map_err(saving)?;
    Ok(current(&app))
}

/// Restarts the app (a setting that applies at start); the client closes cleanly first.
#[tauri::command]
pub fn restart_app<R: Runtime>(app: AppHandle<R>) {
    app.request_restart();
}

/// Ctrl+W: what the window's close button does (to the tray, or quit without one).
#[tauri::command]
pub fn close_window<R: Runtime>(app: AppHandle<R>) {
    tray::close_main_window(&app);
}

/// Ctrl+Q: quits the app (the client closes cleanly on the way out).
#[tauri::command]
pub fn quit_app<R: Runtime>(app: AppHandle<R>) {
    app.exit(0);
}

/// The UI's language, for the texts the backend shows itself (tray menu, notifications).
#[tauri::command]
pub fn set_locale<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, locale: Locale) {
    if state.locale.set(locale) {
        tray::refresh_menu(&app);
    }
}
