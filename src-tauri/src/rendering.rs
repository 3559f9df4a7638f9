//! How WebKitGTK draws the window on Linux, decided before any webview exists: without its GPU
//! compositor (and without the DMA-BUF renderer) unless the user turned hardware acceleration on
//! in Settings. Measured here (BENCHMARKS.md): ~76 MiB less memory over the app's processes and
//! the first frame sooner; it also avoids the blank windows some graphics drivers give WebKitGTK.
//! Elsewhere (WebView2, WKWebView) the system decides and the setting does not apply.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// WebKitGTK's switches, as its environment variables.
#[cfg(target_os = "linux")]
const WEBKIT_SWITCHES: [&str; 2] = [
    "WEBKIT_DISABLE_COMPOSITING_MODE",
    "WEBKIT_DISABLE_DMABUF_RENDERER",
];

/// Whether this process draws with the GPU compositor (decided once, at start).
static ACTIVE: OnceLock<bool> = OnceLock::new();

/// Whether the setting applies on this system.
pub const APPLIES: bool = cfg!(target_os = "linux");

/// Whether the running app draws with hardware acceleration.
pub fn active() -> bool {
    *ACTIVE.get().unwrap_or(&!APPLIES)
}

/// The app data folder for `identifier`, as Tauri resolves it on Linux (`$XDG_DATA_HOME` or
/// `~/.local/share`), readable before Tauri starts.
pub fn data_dir(identifier: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))?;
    Some(base.join(identifier))
}

/// Chooses how WebKit draws, from the settings in `data_dir`. Call first thing in `main`, before
/// any thread starts: it sets environment variables. A user who set WebKit's variables
/// themselves keeps them.
pub fn choose(data_dir: Option<&Path>) {
    #[cfg(target_os = "linux")]
    {
        let user_chose = WEBKIT_SWITCHES
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        let wanted = data_dir.is_some_and(|dir| {
            crate::settings::SettingsFile::load(dir)
                .get()
                .hardware_acceleration
        });
        let gpu = if user_chose {
            std::env::var_os(WEBKIT_SWITCHES[0]).is_none()
        } else {
            if !wanted {
                for name in WEBKIT_SWITCHES {
                    // Edition 2021: safe; called before any other thread exists.
                    std::env::set_var(name, "1");
                }
            }
            wanted
        };
        let _ = ACTIVE.set(gpu);
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = data_dir;
        let _ = ACTIVE.set(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_folder_is_where_tauri_puts_it() {
        let dir = data_dir("im.gtedx.desktop").expect("HOME or XDG_DATA_HOME is set");
        assert!(dir.ends_with("im.gtedx.desktop"), "{}", dir.display());
        assert!(dir.is_absolute());
    }
}
