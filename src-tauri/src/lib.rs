//! The Gtedx IM desktop app (Tauri 2): one SDK client in managed state, a disk cache per account
//! in the app data folder, credentials in the OS keyring, commands for the web UI in `ui/`, SDK
//! events forwarded to it on one channel, native notifications, and profiles.
//!
//! `run` is what `main` calls; [`app`] sets a Tauri builder up and is generic over the runtime,
//! so tests drive it with `tauri::test::mock_builder()`.

mod commands;
mod credentials;
mod deep_link;
mod desktop;
mod dto;
mod error;
mod events;
mod notifications;
mod profile;
mod rendering;
mod server_address;
mod settings;
mod state;
mod texts;
mod tray;
mod trust;
mod ui_events;
mod updates;
mod view;

use std::time::Instant;

use tauri::{Manager, RunEvent, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};

pub use credentials::Credentials;
pub use dto::{Account, ImEvent};
pub use error::AppError;
pub use profile::{Profile, PROFILE_ENV};
pub use state::AppState;

/// The main window's label.
pub const MAIN_WINDOW: &str = "main";

/// The argument that starts the app in the tray, window hidden (how it starts at login).
pub const MINIMIZED_ARG: &str = "--minimized";

/// Adds the app's plugins, state, commands and main window to a Tauri builder.
pub fn app<R: Runtime>(
    builder: tauri::Builder<R>,
    profile: Profile,
    started: Instant,
) -> tauri::Builder<R> {
    // Started at login: in the tray, with this profile.
    let mut autostart_args = vec![MINIMIZED_ARG.to_owned()];
    if let Some(name) = profile.name() {
        autostart_args.extend(["--profile".to_owned(), name.to_owned()]);
    }
    builder
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(
            // Size, position and maximized state; not visibility (start-up decides that).
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name(profile.autostart_name())
                .args(autostart_args)
                .build(),
        )
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::bootstrap,
            commands::restore_session,
            commands::server_address,
            commands::sign_up,
            commands::sign_in,
            commands::sign_out,
            commands::server_sign_up_mode,
            commands::list_sessions,
            commands::revoke_session,
            commands::change_password,
            commands::find_user,
            commands::list_conversations,
            commands::create_conversation,
            commands::load_messages,
            commands::search_messages,
            commands::cache_usage,
            commands::clear_cache,
            commands::send_text,
            commands::edit_message,
            commands::recall_message,
            commands::react,
            commands::delete_for_me,
            commands::retry_send,
            commands::mark_read,
            commands::set_typing,
            commands::set_active_conversation,
            commands::set_muted,
            commands::leave_conversation,
            commands::conversation_members,
            commands::update_conversation,
            commands::add_members,
            commands::remove_member,
            commands::block_user,
            commands::unblock_user,
            commands::blocked_users,
            commands::connection_state,
            commands::ui_ready,
            commands::subscribe_events,
            desktop::desktop_settings,
            desktop::set_notification_text,
            desktop::set_close_to_tray,
            desktop::set_start_at_login,
            desktop::mute_notifications,
            desktop::close_window,
            desktop::quit_app,
            desktop::set_locale,
            desktop::set_hardware_acceleration,
            desktop::restart_app,
            updates::update_status,
            updates::check_for_updates,
            updates::set_auto_update,
            updates::install_update,
        ])
        .setup(move |app| {
            tracing::debug!(since_start_ms = started.elapsed().as_secs_f64() * 1e3, "setup");
            let data_dir = app.path().app_data_dir()?;
            // It holds the message caches: private to the user (0700).
            if let Err(e) = state::private_data_dir(&data_dir) {
                tracing::warn!(error = %e, data = %data_dir.display(), "cannot make the data folder private");
            }
            tracing::info!(profile = profile.name().unwrap_or("default"), data = %data_dir.display(), "starting");
            // Before any connection: the extra authorities for self-hosted servers.
            trust::install_and_trust(&data_dir, &trust::from_args(std::env::args().skip(1)));
            let title = profile.window_title();
            app.manage(AppState::new(profile.clone(), data_dir, started));
            // Linux: the tray's library is loaded now, and its absence is a panic in
            // libappindicator-sys: the app then runs without a tray (closing it quits).
            let handle = app.handle().clone();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tray::create(&handle))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "no tray icon"),
                Err(_) => tracing::warn!("no tray icon: the AppIndicator library is missing"),
            }
            // Started at login: straight to the tray, if there is one to come back from.
            let hidden = std::env::args().any(|a| a == MINIMIZED_ARG) && tray::tray_available();
            let window = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::default())
                .title(title)
                .inner_size(1000.0, 700.0)
                .min_inner_size(720.0, 480.0)
                .visible(!hidden)
                .on_navigation(stays_in_app)
                .build()?;
            let handle = app.handle().clone();
            window.on_window_event(move |event| {
                if let WindowEvent::CloseRequested { api, .. } = event {
                    if tray::keeps_running_when_closed(&handle) {
                        api.prevent_close();
                        tray::close_main_window(&handle);
                    }
                }
            });
            // macOS hands links over as events (Linux and Windows as arguments, below).
            #[cfg(target_os = "macos")]
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let handle = app.handle().clone();
                app.deep_link().on_open_url(move |event| {
                    let links = event.urls().iter().filter_map(|u| deep_link::parse(u.as_str())).collect();
                    deep_link::follow(&handle, links);
                });
            }
            // Restore the saved session (keyring, cache, client) while the page loads; then
            // follow a link the app was started with.
            let handle = app.handle().clone();
            let links = deep_link::from_args(std::env::args().skip(1));
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<AppState>();
                if let Err(e) = state.restore(&handle).await {
                    tracing::info!(error = %e, "no session restored at start-up");
                }
                commands::retry_sign_outs_later(&handle);
                deep_link::follow(&handle, links);
            });
            updates::check_periodically(app.handle());
            Ok(())
        })
}

/// Whether the window may go to `url`: only the app's own pages. A remote page in the window
/// could pose as the sign-in screen (the app's commands would refuse it, but a user would not
/// know); links to the web belong in the system browser.
pub fn stays_in_app(url: &tauri::Url) -> bool {
    let allowed = match url.scheme() {
        // The embedded UI: tauri://localhost (Linux, macOS), http(s)://tauri.localhost (Windows).
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => url.as_str() == "about:blank",
    };
    if !allowed {
        tracing::warn!(%url, "navigation away from the app refused");
    }
    allowed
}

/// The app's Tauri context (`tauri.conf.json`, the embedded UI, the capabilities).
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

fn init_logging() {
    let filter = std::env::var("GTEDX_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the app until it quits.
pub fn run() {
    let started = Instant::now();
    init_logging();
    let profile =
        match Profile::from_args(std::env::args().skip(1), std::env::var(PROFILE_ENV).ok()) {
            Ok(profile) => profile,
            Err(e) => {
                eprintln!("gtedx-im: {e}");
                std::process::exit(2);
            }
        };
    let mut context = context::<tauri::Wry>();
    // The identifier decides the data folder and the single-instance key: one per profile.
    let identifier = profile.identifier(&context.config().identifier);
    // Before any webview (and any thread): how WebKit draws, from this profile's settings.
    rendering::choose(rendering::data_dir(&identifier).as_deref());
    context.config_mut().identifier = identifier;
    let builder =
        tauri::Builder::default().plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            // A second launch of the same profile brings this window up instead, following a
            // link it was given.
            tray::show_main_window(app);
            deep_link::follow(app, deep_link::from_args(args.iter().skip(1)));
        }));
    let app = match app(builder, profile, started).build(context) {
        Ok(app) => app,
        Err(tauri::Error::PluginInitialization(plugin, error)) if plugin == "single-instance" => {
            // Another instance of this profile holds the lock but did not take our arguments:
            // it is quitting (it left the bus without replying). Start afresh once it is gone.
            start_again_after_lost_handover(&error)
        }
        Err(error) => {
            eprintln!("gtedx-im: the app could not start: {error}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // Close the client cleanly: its socket, its supervisor, the cache.
            let state = handle.state::<AppState>();
            tauri::async_runtime::block_on(state.stop(false));
        }
    });
}

/// The environment variable counting how often this launch started again (see below).
const START_ATTEMPT_ENV: &str = "GTEDX_START_ATTEMPT";
/// How often a launch starts again while an exiting instance still holds the profile's lock.
const MAX_START_ATTEMPTS: u32 = 20;

/// A launch met the profile's single-instance lock held by an instance that is exiting: the
/// hand-over of our arguments failed (the D-Bus name's owner disconnected without replying).
/// Its name is released with its connection, so this process starts again from the beginning
/// (the same executable, arguments and environment) after a short pause: it then either becomes
/// the running instance or hands over to one that answers. A fresh process rather than a
/// second `build` in this one: the first build already set up the windowing toolkit.
fn start_again_after_lost_handover(error: &str) -> ! {
    let attempt: u32 = std::env::var(START_ATTEMPT_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        + 1;
    if attempt > MAX_START_ATTEMPTS {
        eprintln!(
            "gtedx-im: another instance of this profile holds its lock and does not answer \
             ({error}); tried {MAX_START_ATTEMPTS} times"
        );
        std::process::exit(1);
    }
    tracing::warn!(attempt, %error, "the running instance is exiting: starting again");
    std::thread::sleep(std::time::Duration::from_millis(
        100 * u64::from(attempt.min(5)),
    ));
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("gtedx-im: cannot start again: {e}");
            std::process::exit(1);
        }
    };
    let mut command = std::process::Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(START_ATTEMPT_ENV, attempt.to_string());
    #[cfg(unix)]
    {
        // The same process (its id, which WebDriver and launchers watch) with a fresh image.
        use std::os::unix::process::CommandExt;
        let e = command.exec();
        eprintln!("gtedx-im: cannot start again: {e}");
        std::process::exit(1);
    }
    #[cfg(not(unix))]
    {
        match command.spawn() {
            Ok(_) => std::process::exit(0),
            Err(e) => {
                eprintln!("gtedx-im: cannot start again: {e}");
                std::process::exit(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stays_in_app;

    #[test]
    fn the_window_stays_on_the_apps_own_pages() {
        for ok in [
            "tauri://localhost/",
            "tauri://localhost/index.html#chat",
            "http://tauri.localhost/",
            "about:blank",
        ] {
            assert!(stays_in_app(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "https://example.org/",
            "https://tauri.localhost.evil.example/",
            "tauri://evil/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://localhost:5173/",
        ] {
            assert!(!stays_in_app(&bad.parse().unwrap()), "{bad}");
        }
    }
}
