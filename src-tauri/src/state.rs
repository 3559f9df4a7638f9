//! The app's managed state: the profile, the saved-credentials store, and the one running SDK
//! client (with the task forwarding its events to the UI).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use im_sdk::{ConversationId, DiskCache, ImClient, ImService, Session};
use tauri::{AppHandle, Runtime};

use crate::credentials::Credentials;
use crate::dto::Account;
use crate::error::AppError;
use crate::profile::Profile;

#[derive(Debug)]
struct Running {
    client: ImClient,
    forwarder: tauri::async_runtime::JoinHandle<()>,
}

/// Managed by Tauri; one per app.
#[derive(Debug)]
pub struct AppState {
    pub profile: Profile,
    pub credentials: Credentials,
    /// When the process started (for the "ready" measurement).
    pub started: Instant,
    data_dir: PathBuf,
    service: ImService,
    running: Mutex<Option<Running>>,
    active: Mutex<Option<ConversationId>>,
    /// Starting, restoring and stopping the client one at a time: two sign-ins at once must not
    /// leave a client running that nobody stops.
    lifecycle: tokio::sync::Mutex<()>,
    /// The ordered event stream to the web UI.
    pub ui_events: crate::ui_events::UiEvents,
    /// Message notifications (grouped per conversation where the platform allows).
    pub notifier: crate::notifications::Notifier,
    /// The app's settings on this computer.
    pub settings: crate::settings::SettingsFile,
    /// The language of the texts the backend shows itself (tray, notifications).
    pub locale: crate::texts::CurrentLocale,
    /// The unread total the tray and launcher show.
    unread: Mutex<crate::tray::UnreadTally>,
    /// The self-update's state and its verified download.
    pub updates: crate::updates::Updates,
}

impl AppState {
    /// State for `profile`, keeping account caches and settings under `data_dir`.
    pub fn new(profile: Profile, data_dir: PathBuf, started: Instant) -> Self {
        let settings = crate::settings::SettingsFile::load(&data_dir);
        let notifier = crate::notifications::Notifier::default();
        notifier.set_hide_text(!settings.get().show_text);
        notifier.set_paused_until(settings.get().paused_until_ms);
        Self {
            credentials: Credentials::new(profile.keyring_service()),
            profile,
            started,
            data_dir,
            service: ImService::new(),
            running: Mutex::new(None),
            active: Mutex::new(None),
            lifecycle: tokio::sync::Mutex::new(()),
            ui_events: Default::default(),
            notifier,
            settings,
            locale: crate::texts::CurrentLocale::new(crate::texts::Locale::from_env()),
            unread: Mutex::new(Default::default()),
            updates: Default::default(),
        }
    }

    /// Whether notifications show message text: applied at once and remembered in the data
    /// folder, so it holds from the next start on before the page has loaded (a session restored
    /// at start-up may notify of what it catches up).
    pub fn set_notification_text(&self, show: bool) -> std::io::Result<()> {
        self.notifier.set_hide_text(!show);
        self.settings.update(|s| s.show_text = show).map(drop)
    }

    /// Pauses notifications (or ends the pause): applied at once and remembered.
    pub fn pause_notifications(
        &self,
        span: crate::settings::PauseSpan,
    ) -> std::io::Result<crate::settings::Settings> {
        let until = span.until(chrono::Local::now());
        self.notifier.set_paused_until(until);
        self.settings.update(|s| s.paused_until_ms = until)
    }

    /// The unread counts behind the tray's total.
    pub fn unread(&self) -> std::sync::MutexGuard<'_, crate::tray::UnreadTally> {
        self.unread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The unread total (muted conversations left out).
    pub fn unread_total(&self) -> u64 {
        self.unread().total()
    }

    /// The running client.
    pub fn client(&self) -> Result<ImClient, AppError> {
        self.running
            .lock()
            .expect("state lock")
            .as_ref()
            .map(|r| r.client.clone())
            .ok_or_else(AppError::not_signed_in)
    }

    /// The disk cache of one account.
    pub fn cache_path(&self, uid: im_sdk::Uid) -> PathBuf {
        self.data_dir
            .join("accounts")
            .join(uid.to_string())
            .join("cache.sqlite3")
    }

    /// Starts the client for `session` (stopping any other), with the account's disk cache, and
    /// forwards its events to the UI. Returns at once: the client connects in the background.
    pub async fn start<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        session: Session,
    ) -> Result<Account, AppError> {
        let _one_at_a_time = self.lifecycle.lock().await;
        self.start_locked(app, session).await
    }

    async fn start_locked<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        session: Session,
    ) -> Result<Account, AppError> {
        self.stop_locked(false).await;
        let account = Account {
            uid: session.user.uid.to_string(),
            username: session.user.username.clone(),
            display_name: session.user.display_name.clone(),
            server_url: session.server_url.clone(),
        };
        // Opening runs migrations (and, for a damaged file, a rebuild): off the async threads.
        let path = self.cache_path(session.user.uid);
        let (cache, opened) = tokio::task::spawn_blocking(move || DiskCache::open_or_rebuild(path))
            .await
            .map_err(|e| AppError::new("internal", format!("opening the cache: {e}")))??;
        if let im_sdk::cache::Opened::Rebuilt {
            moved_to,
            reason,
            outbox_kept,
        } = &opened
        {
            // The client fills the new cache from the server; only unsent messages were local.
            tracing::warn!(
                damaged = %moved_to.display(),
                %reason,
                outbox_kept,
                "the local cache was damaged and has been rebuilt"
            );
        }
        let client = self.service.create_im_client(session)?;
        // Listen first: setting the cache starts the connection, whose first events (online,
        // caught up) the UI must not miss.
        let forwarder = crate::events::forward(app.clone(), client.clone());
        if let Err(e) = client.set_cache(cache) {
            forwarder.abort();
            return Err(e.into());
        }
        *self.running.lock().expect("state lock") = Some(Running { client, forwarder });
        Ok(account)
    }

    /// The running account, or the one saved in the keyring (started now). Concurrent callers
    /// (the start-up prefetch and the UI) share one restore.
    pub async fn restore<R: Runtime>(
        &self,
        app: &AppHandle<R>,
    ) -> Result<Option<Account>, AppError> {
        let _one_at_a_time = self.lifecycle.lock().await;
        if let Ok(client) = self.client() {
            let s = client.session();
            return Ok(Some(Account {
                uid: s.user.uid.to_string(),
                username: s.user.username.clone(),
                display_name: s.user.display_name.clone(),
                server_url: s.server_url.clone(),
            }));
        }
        let begun = Instant::now();
        let credentials = self.credentials.clone();
        let saved = blocking(move || credentials.load()).await?;
        let keyring_ms = begun.elapsed().as_secs_f64() * 1e3;
        let account = match saved {
            Some(session) => Some(self.start_locked(app, session).await?),
            None => None,
        };
        tracing::debug!(
            keyring_ms,
            total_ms = begun.elapsed().as_secs_f64() * 1e3,
            since_start_ms = self.started.elapsed().as_secs_f64() * 1e3,
            "restore"
        );
        Ok(account)
    }

    /// Stops the client (signing out on the server first when `sign_out`). Returns whether the
    /// session is revoked on the server (true when there was nothing to sign out).
    pub async fn stop(&self, sign_out: bool) -> bool {
        let _one_at_a_time = self.lifecycle.lock().await;
        self.stop_locked(sign_out).await
    }

    async fn stop_locked(&self, sign_out: bool) -> bool {
        let running = self.running.lock().expect("state lock").take();
        let mut revoked = true;
        if let Some(running) = running {
            if sign_out {
                revoked = running.client.sign_out().await;
            } else {
                running.client.close().await;
            }
            running.forwarder.abort();
        }
        *self.active.lock().expect("state lock") = None;
        revoked
    }

    /// Signs out: revokes the session on the server — or, offline, remembers to revoke it once
    /// the server can be reached (until then the token would still work) — and forgets it in the
    /// keyring. With `forget_data`, this account's messages are removed from this computer too.
    pub async fn sign_out(&self, forget_data: bool) -> Result<(), AppError> {
        let _one_at_a_time = self.lifecycle.lock().await;
        let session = self
            .running
            .lock()
            .expect("state lock")
            .as_ref()
            .map(|r| r.client.session().clone());
        let revoked = self.stop_locked(true).await;
        let credentials = self.credentials.clone();
        let pending = session.clone().filter(|_| !revoked);
        let forgotten = blocking(move || {
            if let Some(session) = &pending {
                credentials.queue_sign_out(session)?;
            }
            credentials.clear()
        })
        .await;
        // The data goes whatever the keyring said: the person asked for both.
        let removed = match (forget_data, &session) {
            (true, Some(session)) => {
                let folder = self.cache_path(session.user.uid);
                let folder = folder.parent().map(PathBuf::from).unwrap_or(folder);
                blocking(move || match std::fs::remove_dir_all(&folder) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(AppError::new(
                        "internal",
                        format!("removing {}: {e}", folder.display()),
                    )),
                })
                .await
            }
            _ => Ok(()),
        };
        for error in [&forgotten, &removed]
            .into_iter()
            .filter_map(|r| r.as_ref().err())
        {
            tracing::warn!(%error, "signing out");
        }
        forgotten.and(removed)
    }

    /// Revokes the sessions signed out while offline, where their server answers now. Returns
    /// how many are still pending.
    pub async fn retry_sign_outs(&self) -> Result<usize, AppError> {
        let credentials = self.credentials.clone();
        let pending = blocking(move || credentials.pending_sign_outs()).await?;
        let mut left = 0;
        for session in pending {
            let done = match im_sdk::sign_out(&session).await {
                Ok(()) => true,
                // Already revoked (or never valid): nothing left to do.
                Err(im_sdk::Error::SignedOut(_)) => true,
                Err(e) => {
                    tracing::debug!(error = %e, "a sign-out is still pending");
                    false
                }
            };
            if done {
                let credentials = self.credentials.clone();
                blocking(move || credentials.sign_out_done(&session)).await?;
                tracing::info!("a session signed out while offline is now revoked");
            } else {
                left += 1;
            }
        }
        Ok(left)
    }

    /// The conversation open in the UI.
    pub fn active(&self) -> Option<ConversationId> {
        *self.active.lock().expect("state lock")
    }

    /// Records which conversation the UI shows.
    pub fn set_active(&self, id: Option<ConversationId>) {
        *self.active.lock().expect("state lock") = id;
    }
}

/// Runs keyring and file-system work off the async threads (the keyring may wait on D-Bus, even
/// on an unlock prompt).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| AppError::new("internal", format!("background task failed: {e}")))?
}

/// Makes the app's data folder private to the user (0700): it holds the message caches.
pub fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_text_setting_holds_from_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let state = || AppState::new(Profile::default_profile(), data.clone(), Instant::now());
        assert!(
            !state().notifier.hides_text(),
            "shown until asked otherwise"
        );
        state().set_notification_text(false).unwrap();
        assert!(state().notifier.hides_text(), "remembered");
        state().set_notification_text(true).unwrap();
        assert!(!state().notifier.hides_text());
        std::fs::write(data.join("settings.json"), "{not json").unwrap();
        assert!(!state().notifier.hides_text(), "a damaged file means shown");
    }

    #[test]
    fn a_notification_pause_holds_from_the_next_start_until_it_ends() {
        use crate::settings::PauseSpan;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let state = || AppState::new(Profile::default_profile(), data.clone(), Instant::now());
        assert_eq!(state().notifier.paused_until_ms(), None);
        let until = state()
            .pause_notifications(PauseSpan::Hour)
            .unwrap()
            .paused_until_ms
            .unwrap();
        assert_eq!(
            state().notifier.paused_until_ms(),
            Some(until),
            "remembered"
        );
        state().pause_notifications(PauseSpan::Off).unwrap();
        assert_eq!(state().notifier.paused_until_ms(), None);
        // A pause that ended while the app was not running is over.
        state()
            .settings
            .update(|s| s.paused_until_ms = Some(1_000))
            .unwrap();
        assert_eq!(state().notifier.paused_until_ms(), None);
    }
}
