//! Self-update: checks the signed release feed (tauri-plugin-updater) shortly after start and
//! daily, downloads a newer build in the background and verifies its signature, then installs it
//! and restarts when the user says so. The state the UI shows lives in [`UpdateMachine`].

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_updater::{Update, UpdaterExt};

use crate::dto::ImEvent;
use crate::error::AppError;
use crate::state::AppState;

type Result<T> = std::result::Result<T, AppError>;

/// Where the release feed is (`latest.json`): the configured endpoints unless this is set, e.g.
/// to a mirror inside an organisation (or the tests' local server).
pub const FEED_ENV: &str = "GTEDX_UPDATE_URL";
/// Debug builds only: the public key updates are signed with, instead of the release key (the
/// tests sign their own builds).
#[cfg(debug_assertions)]
pub const PUBKEY_ENV: &str = "GTEDX_UPDATE_PUBKEY";
/// The first check waits this long after start, so it never competes with the first paint.
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(20);
/// Checks are this far apart (by the wall clock, so a computer that sleeps still checks daily).
const CHECK_EVERY_MS: u64 = 24 * 60 * 60 * 1000;
/// How often the daily loop looks at the clock.
const WAKE_EVERY: Duration = Duration::from_secs(15 * 60);
/// Download progress reaches the UI at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Where the update stands, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum UpdateState {
    /// Nothing checked yet (or this build does not update itself).
    Idle,
    /// Asking the feed.
    Checking,
    /// The feed has nothing newer.
    UpToDate,
    /// A newer version is coming down.
    Downloading {
        version: String,
        received: u64,
        total: Option<u64>,
    },
    /// Downloaded and its signature verified: installed on "restart".
    Ready {
        version: String,
        notes: Option<String>,
    },
    /// Being installed; the app restarts when done.
    Installing { version: String },
    /// The last check or download failed (the next one tries again).
    Failed { error: AppError },
}

/// The update status the UI gets (command answers and `update` events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStatus {
    /// The running version.
    pub current_version: String,
    /// Checks at start and daily.
    pub auto_check: bool,
    /// When the last check finished (unix milliseconds).
    pub checked_at: Option<u64>,
    /// Where it stands.
    pub state: UpdateState,
}

/// The update's life, one step at a time: at most one check or download at once, an install only
/// of an update that is downloaded and verified, and a ready update kept until it is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMachine {
    state: UpdateState,
    checked_at: Option<u64>,
}

impl Default for UpdateMachine {
    fn default() -> Self {
        Self {
            state: UpdateState::Idle,
            checked_at: None,
        }
    }
}

impl UpdateMachine {
    /// Where it stands.
    pub fn state(&self) -> &UpdateState {
        &self.state
    }

    /// When the last check finished.
    pub fn checked_at(&self) -> Option<u64> {
        self.checked_at
    }

    /// A check may start: not while one runs, a download runs, an update waits to be installed
    /// or is being installed. Returns whether it started.
    pub fn begin_check(&mut self) -> bool {
        match self.state {
            UpdateState::Idle | UpdateState::UpToDate | UpdateState::Failed { .. } => {
                self.state = UpdateState::Checking;
                true
            }
            _ => false,
        }
    }

    /// The check found nothing newer.
    pub fn up_to_date(&mut self, now_ms: u64) {
        if self.state == UpdateState::Checking {
            self.state = UpdateState::UpToDate;
            self.checked_at = Some(now_ms);
        }
    }

    /// The check found `version`: its download starts.
    pub fn found(&mut self, version: &str, now_ms: u64) {
        if self.state == UpdateState::Checking {
            self.state = UpdateState::Downloading {
                version: version.to_owned(),
                received: 0,
                total: None,
            };
            self.checked_at = Some(now_ms);
        }
    }

    /// `chunk` more bytes came (of `total`, if the server said).
    pub fn progress(&mut self, chunk: u64, of: Option<u64>) {
        if let UpdateState::Downloading {
            received, total, ..
        } = &mut self.state
        {
            *received += chunk;
            *total = of;
        }
    }

    /// The download is complete and verified.
    pub fn downloaded(&mut self, notes: Option<String>) {
        if let UpdateState::Downloading { version, .. } = &self.state {
            self.state = UpdateState::Ready {
                version: version.clone(),
                notes,
            };
        }
    }

    /// The check or the download failed.
    pub fn failed(&mut self, error: AppError, now_ms: u64) {
        match self.state {
            UpdateState::Checking => self.checked_at = Some(now_ms),
            UpdateState::Downloading { .. } => {}
            _ => return,
        }
        self.state = UpdateState::Failed { error };
    }

    /// Installing starts; returns the version, or `None` when no update is ready.
    pub fn begin_install(&mut self) -> Option<String> {
        let UpdateState::Ready { version, .. } = &self.state else {
            return None;
        };
        let version = version.clone();
        self.state = UpdateState::Installing {
            version: version.clone(),
        };
        Some(version)
    }

    /// Installing failed: the update is ready again (to try once more).
    pub fn install_failed(&mut self, notes: Option<String>) {
        if let UpdateState::Installing { version } = &self.state {
            self.state = UpdateState::Ready {
                version: version.clone(),
                notes,
            };
        }
    }
}

/// The downloaded, verified update waiting for "restart".
struct Downloaded {
    update: Update,
    bytes: Vec<u8>,
}

/// The app's updates: the machine and the verified download, behind one lock.
#[derive(Default)]
pub struct Updates {
    inner: Mutex<(UpdateMachine, Option<Downloaded>)>,
}

impl std::fmt::Debug for Updates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.lock().expect("updates lock");
        f.debug_struct("Updates")
            .field("machine", &inner.0)
            .field("downloaded_bytes", &inner.1.as_ref().map(|d| d.bytes.len()))
            .finish()
    }
}

impl Updates {
    fn with<T>(&self, change: impl FnOnce(&mut UpdateMachine, &mut Option<Downloaded>) -> T) -> T {
        let mut inner = self.inner.lock().expect("updates lock");
        let (machine, downloaded) = &mut *inner;
        change(machine, downloaded)
    }
}

/// Whether this build updates itself: release builds do; a development build only when pointed
/// at a feed (it must not replace itself with a release).
pub fn self_updating() -> bool {
    !cfg!(debug_assertions) || std::env::var_os(FEED_ENV).is_some()
}

/// The status now.
pub fn status<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let state = app.state::<AppState>();
    let (machine, checked_at) = state
        .updates
        .with(|m, _| (m.state().clone(), m.checked_at()));
    UpdateStatus {
        current_version: app.package_info().version.to_string(),
        auto_check: state.settings.get().auto_update,
        checked_at,
        state: machine,
    }
}

fn publish<R: Runtime>(app: &AppHandle<R>) {
    app.state::<AppState>().ui_events.send(ImEvent::Update {
        status: status(app),
    });
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The updater: the plugin's, with the feed and (debug builds) key overrides.
fn updater<R: Runtime>(app: &AppHandle<R>) -> Result<tauri_plugin_updater::Updater> {
    let mut builder = app.updater_builder();
    if let Some(feed) = std::env::var_os(FEED_ENV) {
        let feed = feed.to_string_lossy();
        let url = tauri::Url::parse(&feed).map_err(|e| {
            AppError::new(
                "update_unsupported",
                format!("{FEED_ENV} is not a URL: {e}"),
            )
        })?;
        builder = builder.endpoints(vec![url]).map_err(checking)?;
    }
    #[cfg(debug_assertions)]
    if let Ok(key) = std::env::var(PUBKEY_ENV) {
        builder = builder.pubkey(key);
    }
    builder.build().map_err(checking)
}

/// The stable code of an updater error at check or download time.
fn checking(e: tauri_plugin_updater::Error) -> AppError {
    use tauri_plugin_updater::Error as E;
    let message = e.to_string();
    match &e {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => AppError::new("update_signature", message),
        E::InvalidUpdaterFormat | E::BinaryNotFoundInArchive => {
            AppError::new("update_format", message)
        }
        E::EmptyEndpoints
        | E::UnsupportedOs
        | E::UnsupportedArch
        | E::TargetNotFound(_)
        | E::TargetsNotFound(_)
        | E::InsecureTransportProtocol => AppError::new("update_unsupported", message),
        _ => AppError::new("update_network", message),
    }
}

/// The stable code of an updater error at install time.
fn installing(e: tauri_plugin_updater::Error) -> AppError {
    match checking(e) {
        error if error.code == "update_network" => AppError::new("update_install", error.message),
        error => error,
    }
}

/// Starts a check unless a check, a download or an install runs, or an update is ready;
/// returns whether it started (the UI hears of it).
fn begin_check<R: Runtime>(app: &AppHandle<R>) -> bool {
    let started = app.state::<AppState>().updates.with(|m, _| m.begin_check());
    if started {
        publish(app);
    }
    started
}

/// Checks the feed now and downloads a newer build; the UI follows through `update` events.
pub async fn check<R: Runtime>(app: AppHandle<R>) {
    if begin_check(&app) {
        run_check(app).await;
    }
}

/// The check [`begin_check`] started: asks the feed, downloads and verifies what it offers.
async fn run_check<R: Runtime>(app: AppHandle<R>) {
    let state = app.state::<AppState>();
    let found = match updater(&app) {
        Ok(updater) => updater.check().await.map_err(checking),
        Err(e) => Err(e),
    };
    let update = match found {
        Ok(Some(update)) => update,
        Ok(None) => {
            state.updates.with(|m, _| m.up_to_date(now_ms()));
            tracing::info!("no newer version");
            return publish(&app);
        }
        Err(error) => {
            tracing::warn!(code = %error.code, message = %error.message, "update check failed");
            state.updates.with(|m, _| m.failed(error, now_ms()));
            return publish(&app);
        }
    };
    tracing::info!(version = %update.version, "downloading an update");
    state
        .updates
        .with(|m, _| m.found(&update.version, now_ms()));
    publish(&app);
    let mut last_progress = std::time::Instant::now();
    let progress_app = app.clone();
    let downloaded = update
        .download(
            move |chunk, total| {
                let state = progress_app.state::<AppState>();
                state.updates.with(|m, _| m.progress(chunk as u64, total));
                if last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = std::time::Instant::now();
                    publish(&progress_app);
                }
            },
            || {},
        )
        .await
        .map_err(checking);
    match downloaded {
        Ok(bytes) => {
            tracing::info!(version = %update.version, bytes = bytes.len(), "update downloaded and verified");
            let notes = update.body.clone();
            state.updates.with(|m, slot| {
                m.downloaded(notes);
                *slot = Some(Downloaded { update, bytes });
            });
        }
        Err(error) => {
            tracing::warn!(code = %error.code, message = %error.message, "update download refused");
            state.updates.with(|m, _| m.failed(error, now_ms()));
        }
    }
    publish(&app);
}

/// Checks shortly after start, then daily, while automatic checks are on (release builds, or a
/// development build given a feed).
pub fn check_periodically<R: Runtime>(app: &AppHandle<R>) {
    if !self_updating() {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(first_check_after()).await;
        loop {
            let (auto, checked_at) = {
                let state = app.state::<AppState>();
                let auto = state.settings.get().auto_update;
                (auto, state.updates.with(|m, _| m.checked_at()))
            };
            let due = checked_at.is_none_or(|at| now_ms().saturating_sub(at) >= CHECK_EVERY_MS);
            if auto && due {
                check(app.clone()).await;
            }
            tokio::time::sleep(WAKE_EVERY).await;
        }
    });
}

/// How long after start the first check waits (`GTEDX_UPDATE_FIRST_CHECK_MS` in development
/// builds, for the tests).
fn first_check_after() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("GTEDX_UPDATE_FIRST_CHECK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    FIRST_CHECK_AFTER
}

/// The update status now.
#[tauri::command]
pub fn update_status<R: Runtime>(app: AppHandle<R>) -> UpdateStatus {
    status(&app)
}

/// Checks for an update now (in the background: `update` events follow).
#[tauri::command]
pub fn check_for_updates<R: Runtime>(app: AppHandle<R>) -> Result<UpdateStatus> {
    if !self_updating() {
        return Err(AppError::new(
            "update_unsupported",
            "this development build does not update itself",
        ));
    }
    if begin_check(&app) {
        tauri::async_runtime::spawn(run_check(app.clone()));
    }
    Ok(status(&app))
}

/// Turns the automatic checks on or off.
#[tauri::command]
pub fn set_auto_update<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<UpdateStatus> {
    state
        .settings
        .update(|s| s.auto_update = enabled)
        .map_err(|e| AppError::new("cache", format!("cannot save the setting: {e}")))?;
    publish(&app);
    Ok(status(&app))
}

/// Installs the ready update and restarts into it. On failure the update stays ready.
#[tauri::command]
pub async fn install_update<R: Runtime>(app: AppHandle<R>) -> Result<()> {
    let state = app.state::<AppState>();
    let taken = state.updates.with(|m, slot| match m.begin_install() {
        Some(_) => slot.take(),
        None => None,
    });
    let Some(downloaded) = taken else {
        return Err(AppError::new("update_install", "no update is ready"));
    };
    publish(&app);
    // The .deb/.rpm path asks for the administrator's password (pkexec): off the async runtime.
    let installed = tauri::async_runtime::spawn_blocking(move || {
        let result = downloaded.update.install(&downloaded.bytes);
        (downloaded, result)
    })
    .await
    .map_err(|e| AppError::new("update_install", e.to_string()))?;
    match installed {
        (Downloaded { update, .. }, Ok(())) => {
            tracing::info!(version = %update.version, "update installed: restarting");
            app.request_restart();
            Ok(())
        }
        (downloaded, Err(e)) => {
            let error = installing(e);
            tracing::warn!(code = %error.code, message = %error.message, "update install failed");
            let notes = downloaded.update.body.clone();
            state.updates.with(|m, slot| {
                m.install_failed(notes);
                *slot = Some(downloaded);
            });
            publish(&app);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One thing that can happen to the machine.
    #[derive(Debug, Clone)]
    enum Step {
        BeginCheck,
        UpToDate,
        Found(u8),
        Progress(u16, Option<u16>),
        Downloaded,
        Failed,
        BeginInstall,
        InstallFailed,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::BeginCheck),
            Just(Step::UpToDate),
            (1u8..5).prop_map(Step::Found),
            (any::<u16>(), proptest::option::of(any::<u16>()))
                .prop_map(|(c, t)| Step::Progress(c, t)),
            Just(Step::Downloaded),
            Just(Step::Failed),
            Just(Step::BeginInstall),
            Just(Step::InstallFailed),
        ]
    }

    /// The reference: which phase, which version is on its way, what was received.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Phase {
        Idle,
        Checking,
        UpToDate,
        Downloading,
        Ready,
        Installing,
        Failed,
    }

    fn phase(state: &UpdateState) -> Phase {
        match state {
            UpdateState::Idle => Phase::Idle,
            UpdateState::Checking => Phase::Checking,
            UpdateState::UpToDate => Phase::UpToDate,
            UpdateState::Downloading { .. } => Phase::Downloading,
            UpdateState::Ready { .. } => Phase::Ready,
            UpdateState::Installing { .. } => Phase::Installing,
            UpdateState::Failed { .. } => Phase::Failed,
        }
    }

    fn version_of(state: &UpdateState) -> Option<&str> {
        match state {
            UpdateState::Downloading { version, .. }
            | UpdateState::Ready { version, .. }
            | UpdateState::Installing { version } => Some(version),
            _ => None,
        }
    }

    proptest! {
        /// Any order of events: at most one check or download at once; an install starts only
        /// from a ready update and installs the version that was downloaded; a ready update
        /// survives every later check and failure until installed; progress adds up.
        #[test]
        fn the_machine_follows_the_reference(steps in proptest::collection::vec(step(), 0..60)) {
            let mut machine = UpdateMachine::default();
            let mut model = Phase::Idle;
            let mut model_version: Option<String> = None;
            let mut model_received: u64 = 0;
            let mut now = 1_000;
            for s in steps {
                now += 1;
                match s {
                    Step::BeginCheck => {
                        let may = matches!(model, Phase::Idle | Phase::UpToDate | Phase::Failed);
                        prop_assert_eq!(machine.begin_check(), may);
                        if may {
                            model = Phase::Checking;
                        }
                    }
                    Step::UpToDate => {
                        machine.up_to_date(now);
                        if model == Phase::Checking {
                            model = Phase::UpToDate;
                            prop_assert_eq!(machine.checked_at(), Some(now));
                        }
                    }
                    Step::Found(v) => {
                        machine.found(&format!("0.{v}.0"), now);
                        if model == Phase::Checking {
                            model = Phase::Downloading;
                            model_version = Some(format!("0.{v}.0"));
                            model_received = 0;
                        }
                    }
                    Step::Progress(chunk, total) => {
                        machine.progress(chunk.into(), total.map(u64::from));
                        if model == Phase::Downloading {
                            model_received += u64::from(chunk);
                            let UpdateState::Downloading { received, total: t, .. } = machine.state() else {
                                unreachable!()
                            };
                            prop_assert_eq!(*received, model_received);
                            prop_assert_eq!(*t, total.map(u64::from));
                        }
                    }
                    Step::Downloaded => {
                        machine.downloaded(Some("notes".into()));
                        if model == Phase::Downloading {
                            model = Phase::Ready;
                        }
                    }
                    Step::Failed => {
                        machine.failed(AppError::new("update_network", "down"), now);
                        if matches!(model, Phase::Checking | Phase::Downloading) {
                            model = Phase::Failed;
                            model_version = None;
                        }
                    }
                    Step::BeginInstall => {
                        let got = machine.begin_install();
                        if model == Phase::Ready {
                            prop_assert_eq!(got.as_deref(), model_version.as_deref());
                            model = Phase::Installing;
                        } else {
                            prop_assert_eq!(got, None);
                        }
                    }
                    Step::InstallFailed => {
                        machine.install_failed(None);
                        if model == Phase::Installing {
                            model = Phase::Ready;
                        }
                    }
                }
                prop_assert_eq!(phase(machine.state()), model);
                if matches!(model, Phase::Downloading | Phase::Ready | Phase::Installing) {
                    prop_assert_eq!(version_of(machine.state()), model_version.as_deref());
                }
            }
        }
    }

    #[test]
    fn the_status_is_what_the_ui_reads() {
        let status = UpdateStatus {
            current_version: "0.1.0".into(),
            auto_check: true,
            checked_at: Some(5),
            state: UpdateState::Downloading {
                version: "0.2.0".into(),
                received: 10,
                total: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!({
                "currentVersion": "0.1.0",
                "autoCheck": true,
                "checkedAt": 5,
                "state": {"kind": "downloading", "version": "0.2.0", "received": 10, "total": null},
            })
        );
        let failed = UpdateState::Failed {
            error: AppError::new("update_signature", "bad"),
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            serde_json::json!({"kind": "failed", "error": {"code": "update_signature", "message": "bad"}})
        );
    }

    #[test]
    fn signature_failures_have_their_own_code() {
        let e = tauri_plugin_updater::Error::SignedVersionMismatch {
            signed: "0.1.0".into(),
            announced: "0.2.0".into(),
        };
        assert_eq!(checking(e).code, "update_signature");
        assert_eq!(
            checking(tauri_plugin_updater::Error::InvalidUpdaterFormat).code,
            "update_format"
        );
        assert_eq!(
            installing(tauri_plugin_updater::Error::PackageInstallFailed).code,
            "update_install"
        );
        assert_eq!(
            checking(tauri_plugin_updater::Error::TargetNotFound(
                "linux-x86_64".into()
            ))
            .code,
            "update_unsupported"
        );
    }
}
