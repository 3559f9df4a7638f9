//! A release feed as the release workflow publishes it, served from a folder by a real static
//! HTTP server (Python's `http.server`): a signing key made with the Tauri CLI (`tauri signer
//! generate`), builds signed with it (`tauri signer sign --app-version`, as `tauri build` does),
//! and a `latest.json` naming them. Also the processes running a given executable, to see the
//! app restart into its update.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::{free_port, wait_for_port, Process};

/// The Tauri CLI the release uses (locked in `ui/package-lock.json`).
fn tauri_cli() -> Result<PathBuf> {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/node_modules/.bin/tauri");
    ensure!(
        cli.exists(),
        "{} is missing: run `npm ci` in ui/ first",
        cli.display()
    );
    Ok(cli)
}

/// A signing key pair in a folder, made by the Tauri CLI.
#[derive(Debug)]
pub struct SigningKey {
    private: PathBuf,
    /// The public key as the app's configuration holds it (base64 of minisign's key file).
    pub public: String,
}

impl SigningKey {
    /// Makes a new key pair (no password) in `dir`.
    pub fn generate(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let private = dir.join("update.key");
        let out = Command::new(tauri_cli()?)
            .args(["signer", "generate", "--ci", "--force", "-p", "", "-w"])
            .arg(&private)
            .output()
            .context("running tauri signer generate")?;
        ensure!(
            out.status.success(),
            "tauri signer generate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = std::fs::read_to_string(private.with_extension("key.pub"))
            .context("reading the public key")?
            .trim()
            .to_owned();
        Ok(Self { private, public })
    }

    /// Signs `file` for `version`; the signature as `latest.json` carries it.
    pub fn sign(&self, file: &Path, version: &str) -> Result<String> {
        let out = Command::new(tauri_cli()?)
            .args(["signer", "sign", "-p", "", "--app-version", version, "-f"])
            .arg(&self.private)
            .arg(file)
            .output()
            .context("running tauri signer sign")?;
        ensure!(
            out.status.success(),
            "tauri signer sign failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut sig = file.as_os_str().to_owned();
        sig.push(".sig");
        Ok(std::fs::read_to_string(sig)?.trim().to_owned())
    }
}

/// A folder served over HTTP on a free loopback port.
#[derive(Debug)]
pub struct UpdateFeed {
    dir: PathBuf,
    port: u16,
    _server: Process,
}

impl UpdateFeed {
    /// Serves `dir` (made if missing).
    pub fn serve(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting python3 -m http.server")?;
        let server = Process {
            child,
            name: "update feed".into(),
        };
        wait_for_port(port, "the update feed")?;
        Ok(Self {
            dir: dir.to_owned(),
            port,
            _server: server,
        })
    }

    /// The feed's address, as the app is told (`GTEDX_UPDATE_URL`).
    pub fn latest_json_url(&self) -> String {
        format!("http://127.0.0.1:{}/latest.json", self.port)
    }

    /// Puts a file in the feed; returns its URL.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<String> {
        std::fs::write(self.dir.join(name), bytes)?;
        Ok(format!("http://127.0.0.1:{}/{name}", self.port))
    }

    /// The file's path in the feed.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Announces `version` for Linux x86_64: the build at `url` with `signature` (written
    /// atomically, so the app never reads half a file).
    pub fn announce(&self, version: &str, notes: &str, url: &str, signature: &str) -> Result<()> {
        let platform = format!("linux-{}", std::env::consts::ARCH);
        let manifest = serde_json::json!({
            "version": version,
            "notes": notes,
            "pub_date": "2026-12-01T00:00:00Z",
            "platforms": { platform: { "signature": signature, "url": url } },
        });
        let tmp = self.dir.join("latest.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
        std::fs::rename(tmp, self.dir.join("latest.json"))?;
        Ok(())
    }
}

/// The ids of the processes whose executable is `exe` (read from `/proc/PID/exe`).
pub fn processes_running(exe: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path().join("exe")).ok()?;
            (target == exe).then_some(pid)
        })
        .collect()
}

/// Kills every process running `exe` when dropped (the app restarted by its update runs outside
/// the WebDriver session, so nothing else ends it).
#[derive(Debug)]
pub struct KillOnDrop(pub PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in processes_running(&self.0) {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }
}

/// A copy of `binary` in `dir`, as an installed app the update may replace, without its debug
/// information (as installers ship it; a fifth of the size to sign, serve and download).
/// Returns its path.
pub fn install_copy(binary: &Path, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let installed = dir.join(binary.file_name().context("the binary has no file name")?);
    let stripped = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&installed)
        .arg(binary)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(binary, &installed)
            .with_context(|| format!("copying {} to {}", binary.display(), installed.display()))?;
    }
    if !installed.exists() {
        bail!("{} was not copied", installed.display());
    }
    Ok(installed)
}
