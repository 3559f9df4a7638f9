//! The app's own settings on this computer (not the account's: they stay when signing out):
//! whether notifications show message text and until when they are paused, whether closing the
//! window keeps the app in the tray, whether the tray hint was shown, whether the app checks
//! for updates by itself, and whether WebKit draws with the GPU (Linux). Kept in
//! `<app data>/settings.json`, replaced atomically on every change, so they hold from the next
//! start on before the page has loaded.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The file in the data folder.
const FILE: &str = "settings.json";
/// Where the notification text setting was kept before this file existed.
const OLD_NOTIFICATION_FILE: &str = "notifications.json";

/// The settings' values. A field missing from the file takes its default, so a file written by
/// an older version keeps what it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Notifications show the message text (off: only that messages came).
    pub show_text: bool,
    /// Notifications are paused until then (unix milliseconds).
    pub paused_until_ms: Option<u64>,
    /// Closing the window hides it; the app stays in the tray (where there is one).
    pub close_to_tray: bool,
    /// The first close to the tray said so.
    pub tray_hint_shown: bool,
    /// The app checks for updates at start and daily.
    pub auto_update: bool,
    /// Linux: WebKit draws with its GPU compositor (from the next start; see `rendering.rs`).
    pub hardware_acceleration: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            show_text: true,
            paused_until_ms: None,
            close_to_tray: true,
            tray_hint_shown: false,
            auto_update: true,
            hardware_acceleration: false,
        }
    }
}

/// How long notifications are paused, as the tray menu and Settings offer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseSpan {
    /// For an hour from now.
    Hour,
    /// Until 08:00 tomorrow, local time.
    Tomorrow,
    /// Not paused.
    Off,
}

impl PauseSpan {
    /// Until when (unix milliseconds) a pause asked for at `now` lasts.
    pub fn until<Tz: chrono::TimeZone>(self, now: chrono::DateTime<Tz>) -> Option<u64> {
        let until = match self {
            PauseSpan::Off => return None,
            PauseSpan::Hour => now + chrono::TimeDelta::hours(1),
            PauseSpan::Tomorrow => {
                let morning = (now.date_naive() + chrono::Days::new(1))
                    .and_hms_opt(8, 0, 0)
                    .expect("08:00 exists");
                // The earliest 08:00 (a clock change can make it ambiguous); if a clock change
                // skips it, a day from now.
                now.timezone()
                    .from_local_datetime(&morning)
                    .earliest()
                    .unwrap_or_else(|| now + chrono::TimeDelta::days(1))
            }
        };
        u64::try_from(until.timestamp_millis()).ok()
    }
}

/// The settings and their file.
#[derive(Debug)]
pub struct SettingsFile {
    path: PathBuf,
    current: Mutex<Settings>,
}

impl SettingsFile {
    /// The settings saved in `data_dir`: the defaults when there are none or they cannot be
    /// read (logged), with the older notification file's setting carried over.
    pub fn load(data_dir: &Path) -> Self {
        let path = data_dir.join(FILE);
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(error = %e, file = %path.display(), "unreadable settings: using the defaults");
                Settings::default()
            }),
            Err(_) => Settings {
                show_text: old_notification_text(data_dir).unwrap_or(true),
                ..Settings::default()
            },
        };
        Self {
            path,
            current: Mutex::new(current),
        }
    }

    /// The settings now.
    pub fn get(&self) -> Settings {
        self.lock().clone()
    }

    /// Changes the settings with `change` and saves them; they change in memory even when the
    /// file cannot be written (the error says so).
    pub fn update(&self, change: impl FnOnce(&mut Settings)) -> std::io::Result<Settings> {
        let mut current = self.lock();
        change(&mut current);
        let settings = current.clone();
        // Written under the lock: two changes at once are saved in the order they were made.
        self.save(&settings)?;
        Ok(settings)
    }

    fn save(&self, settings: &Settings) -> std::io::Result<()> {
        let dir = self.path.parent().expect("a file in a folder");
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut file, settings)?;
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Settings> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The notification text setting as the older file kept it.
fn old_notification_text(data_dir: &Path) -> Option<bool> {
    let text = std::fs::read_to_string(data_dir.join(OLD_NOTIFICATION_FILE)).ok()?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()?
        .get("show_text")?
        .as_bool()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_then_what_was_saved_from_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let first = SettingsFile::load(dir.path());
        assert_eq!(first.get(), Settings::default());
        first
            .update(|s| {
                s.close_to_tray = false;
                s.paused_until_ms = Some(1_700_000_000_000);
            })
            .unwrap();
        let again = SettingsFile::load(dir.path());
        assert!(!again.get().close_to_tray);
        assert_eq!(again.get().paused_until_ms, Some(1_700_000_000_000));
        assert!(again.get().show_text);
    }

    #[test]
    fn the_older_notification_file_is_carried_over_and_a_damaged_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(OLD_NOTIFICATION_FILE),
            r#"{"show_text":false}"#,
        )
        .unwrap();
        assert!(!SettingsFile::load(dir.path()).get().show_text);
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        assert_eq!(SettingsFile::load(dir.path()).get(), Settings::default());
        // A file from a version that knew fewer settings keeps the ones it has.
        std::fs::write(dir.path().join(FILE), r#"{"show_text":false,"future":1}"#).unwrap();
        let settings = SettingsFile::load(dir.path()).get();
        assert!(!settings.show_text);
        assert!(settings.close_to_tray);
    }

    #[test]
    fn a_pause_lasts_an_hour_or_until_tomorrow_morning() {
        use chrono::TimeZone;
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let evening = shanghai.with_ymd_and_hms(2026, 12, 1, 22, 30, 0).unwrap();
        let ms = |t: chrono::DateTime<chrono::FixedOffset>| t.timestamp_millis() as u64;
        assert_eq!(
            PauseSpan::Hour.until(evening),
            Some(ms(shanghai
                .with_ymd_and_hms(2026, 12, 1, 23, 30, 0)
                .unwrap()))
        );
        assert_eq!(
            PauseSpan::Tomorrow.until(evening),
            Some(ms(shanghai.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap()))
        );
        // Just after midnight, "tomorrow" is the next morning, not this one.
        let night = shanghai.with_ymd_and_hms(2026, 12, 31, 0, 10, 0).unwrap();
        assert_eq!(
            PauseSpan::Tomorrow.until(night),
            Some(ms(shanghai.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap()))
        );
        assert_eq!(PauseSpan::Off.until(evening), None);
    }

    #[derive(Debug, Clone)]
    enum Change {
        ShowText(bool),
        Pause(Option<u64>),
        CloseToTray(bool),
        HintShown,
        AutoUpdate(bool),
        HardwareAcceleration(bool),
        Restart,
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            any::<bool>().prop_map(Change::ShowText),
            proptest::option::of(0u64..u64::MAX).prop_map(Change::Pause),
            any::<bool>().prop_map(Change::CloseToTray),
            Just(Change::HintShown),
            any::<bool>().prop_map(Change::AutoUpdate),
            any::<bool>().prop_map(Change::HardwareAcceleration),
            Just(Change::Restart),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Random changes and restarts against a plain struct: after each, the settings in
        /// memory and the ones a fresh start reads are the model's.
        #[test]
        fn changes_and_restarts_agree_with_a_model(changes in prop::collection::vec(change(), 1..30)) {
            let dir = tempfile::tempdir().unwrap();
            let mut file = SettingsFile::load(dir.path());
            let mut model = Settings::default();
            for c in changes {
                match c {
                    Change::ShowText(v) => { model.show_text = v; file.update(|s| s.show_text = v).unwrap(); }
                    Change::Pause(v) => { model.paused_until_ms = v; file.update(|s| s.paused_until_ms = v).unwrap(); }
                    Change::CloseToTray(v) => { model.close_to_tray = v; file.update(|s| s.close_to_tray = v).unwrap(); }
                    Change::HintShown => { model.tray_hint_shown = true; file.update(|s| s.tray_hint_shown = true).unwrap(); }
                    Change::AutoUpdate(v) => { model.auto_update = v; file.update(|s| s.auto_update = v).unwrap(); }
                    Change::HardwareAcceleration(v) => { model.hardware_acceleration = v; file.update(|s| s.hardware_acceleration = v).unwrap(); }
                    Change::Restart => file = SettingsFile::load(dir.path()),
                }
                prop_assert_eq!(&file.get(), &model);
                prop_assert_eq!(&SettingsFile::load(dir.path()).get(), &model);
            }
        }
    }
}
