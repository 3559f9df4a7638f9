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
    restoring: tokio::sync::Mutex<()>,
}

impl AppState {
    /// State for `profile`, keeping account caches under `data_dir`.
    pub fn new(profile: Profile, data_dir: PathBuf, started: Instant) -> Self {
        Self {
            credentials: Credentials::new(profile.keyring_service()),
            profile,
            started,
            data_dir,
            service: ImService::new(),
            running: Mutex::new(None),
            active: Mutex::new(None),
            restoring: tokio::sync::Mutex::new(()),
        }
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
        self.stop(false).await;
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
        let _once = self.restoring.lock().await;
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
        let saved = self.credentials.load()?;
        let keyring_ms = begun.elapsed().as_secs_f64() * 1e3;
        let account = match saved {
            Some(session) => Some(self.start(app, session).await?),
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

    /// Stops the client (signing out on the server first when `sign_out`).
    pub async fn stop(&self, sign_out: bool) {
        let running = self.running.lock().expect("state lock").take();
        if let Some(running) = running {
            if sign_out {
                running.client.sign_out().await;
            } else {
                running.client.close().await;
            }
            running.forwarder.abort();
        }
        *self.active.lock().expect("state lock") = None;
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
