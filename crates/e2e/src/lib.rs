//! The end-to-end harness: the real `im-server` binary, the real desktop app driven through
//! `tauri-driver` + `WebKitWebDriver`, `dbus-monitor` watching notifications, and a tray on the
//! session bus (`tray`).
//!
//! It expects to run inside `.ci/desktop-env` (Xvfb, a D-Bus session, an unlocked gnome-keyring,
//! temporary HOME/XDG folders) and fails, never skips, when that environment is missing.

pub mod tray;
pub mod update_feed;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

/// How long a step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(30);

/// Fails unless the test runs in a display and D-Bus session.
pub fn require_desktop_session() -> Result<()> {
    for var in ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"] {
        if std::env::var_os(var).is_none() {
            bail!("{var} is not set: run the end-to-end tests through .ci/desktop-env (Xvfb + D-Bus + keyring)");
        }
    }
    Ok(())
}

/// The folder the built binaries are in (`GTEDX_BIN_DIR`, else the test binary's profile folder).
fn bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("GTEDX_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe()?;
    // target/debug/deps/desktop-xxxx → target/debug
    Ok(exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("cannot find the target folder from {}", exe.display()))?
        .to_owned())
}

/// A built binary, which must exist.
pub fn binary(name: &str) -> Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it first (cargo build -p gtedx-im -p im-server)",
            path.display()
        );
    }
    Ok(path)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, what: &str) -> Result<()> {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{what} did not open port {port}")
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
}

impl Process {
    /// Sends SIGTERM and waits for it to exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> Result<bool> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        Ok(self.child.wait()?.success())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = &self.name;
    }
}

/// The real server on a free port with its database in `dir`.
pub fn start_server(dir: &Path, port: u16) -> Result<(Process, String)> {
    start_server_with(dir, port, &[])
}

fn start_server_with(
    dir: &Path,
    port: u16,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<(Process, String)> {
    let mut command = Command::new(binary("im-server")?);
    command
        .current_dir(dir)
        .env("IM_LISTEN", format!("127.0.0.1:{port}"))
        .env("IM_ADMIN_LISTEN", "127.0.0.1:0")
        .envs(env.iter().copied());
    let (process, url, _) = spawn_server(command)?;
    Ok((process, url))
}

/// A node of a cluster: the real server on a free port, on the PostgreSQL database at
/// `database` with the NATS server at `nats` between it and the other nodes.
pub fn start_cluster_node(
    dir: &Path,
    port: u16,
    database: &str,
    nats: &str,
) -> Result<(Process, String)> {
    start_server_with(
        dir,
        port,
        &[
            ("IM_DATABASE", std::ffi::OsStr::new(database)),
            ("IM_CLUSTER", std::ffi::OsStr::new(nats)),
        ],
    )
}

/// The real server as its operator runs it: `im-server --config FILE`. Returns it, the URL
/// clients connect to and the admin listener's `http://address`.
pub fn start_configured_server(dir: &Path, config: &Path) -> Result<(Process, String, String)> {
    let mut command = Command::new(binary("im-server")?);
    command.current_dir(dir).arg("--config").arg(config);
    for name in ["IM_LISTEN", "IM_ADMIN_LISTEN", "IM_DATABASE", "IM_SIGN_UP"] {
        command.env_remove(name);
    }
    let (process, url, admin) = spawn_server(command)?;
    Ok((
        process,
        url,
        admin.context("the server names its admin listener")?,
    ))
}

/// Runs an operator's command, `im-server --config FILE ARGS…`; what it printed.
pub fn operator(config: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(binary("im-server")?)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("IM_DATABASE")
        .env_remove("IM_ADMIN_LISTEN")
        .output()
        .context("running im-server")?;
    if !out.status.success() {
        bail!(
            "im-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts the server and reads its log until it says where it listens (and, when it has one,
/// where its admin listener is); the rest of the log is drained.
fn spawn_server(mut command: Command) -> Result<(Process, String, Option<String>)> {
    let mut child = command
        .env("IM_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting im-server")?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let word_after = |line: &str, at: usize| {
        line[at..]
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (mut url, mut admin) = (None, None);
    while url.is_none() || admin.is_none() {
        let line = lines.next().ok_or_else(|| anyhow!("im-server exited"))??;
        if let Some(at) = line.find("admin listener on http://") {
            let start = at + "admin listener on ".len();
            admin = Some(format!(
                "http://{}",
                word_after(&line, start + "http://".len())
            ));
        } else if let Some(at) = line.find("wss://").or_else(|| line.find("ws://")) {
            url = Some(
                line[at..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Ok((
        Process {
            child,
            name: "im-server".into(),
        },
        url.unwrap_or_default(),
        admin,
    ))
}

/// `dbus-monitor` recording `Notify` calls on the session bus into a file.
#[derive(Debug)]
pub struct NotificationMonitor {
    _process: Process,
    log: PathBuf,
}

impl NotificationMonitor {
    /// Starts watching; call before the notification is expected.
    pub fn start(log: PathBuf) -> Result<Self> {
        let out = std::fs::File::create(&log)?;
        let child = Command::new("dbus-monitor")
            .args([
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-monitor")?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Self {
            _process: Process {
                child,
                name: "dbus-monitor".into(),
            },
            log,
        })
    }

    /// Whether a `Notify` call carrying `text` was seen so far.
    pub fn seen(&self, text: &str) -> bool {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .split("method call")
            .skip(1)
            .any(|call| call.contains(text))
    }

    /// The notification a `Notify` call (as [`Self::wait_for`] returns it) replaces: its
    /// `replaces_id` argument, 0 for a new one.
    pub fn replaces_id(call: &str) -> Option<u32> {
        call.lines()
            .find_map(|line| line.trim().strip_prefix("uint32 "))
            .and_then(|id| id.trim().parse().ok())
    }

    /// Clicks the oldest notification on screen, as a person would (dunst invokes its
    /// `default` action).
    pub fn click_oldest() -> Result<()> {
        let status = Command::new("dunstctl")
            .args(["action", "0"])
            .status()
            .context("running dunstctl")?;
        anyhow::ensure!(status.success(), "dunstctl action failed: {status}");
        Ok(())
    }

    /// Closes every notification on screen (dunst), so the next one is the oldest.
    pub fn close_all() -> Result<()> {
        let status = Command::new("dunstctl")
            .arg("close-all")
            .status()
            .context("running dunstctl")?;
        anyhow::ensure!(status.success(), "dunstctl close-all failed: {status}");
        Ok(())
    }

    /// Waits until a `Notify` call carrying every one of `texts` was seen.
    pub async fn wait_for(&self, texts: &[&str]) -> Result<String> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            for call in log.split("method call").skip(1) {
                if texts.iter().all(|t| call.contains(t)) {
                    return Ok(call.to_owned());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no notification with {texts:?}; dbus-monitor saw:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A private X display (Xvfb) for one app, so that its screenshots show it alone whatever else
/// runs beside it. Without a window manager, X focuses the window under the pointer, which rests
/// at the screen's centre, inside the window: the app has the focus, as for a person using it,
/// until [`App::look_away`]. (Screenshots are taken of the display, not through WebDriver: WebKitGTK
/// without its GPU compositor, as the app draws by default, never answers WebDriver's
/// screenshot command.)
#[derive(Debug)]
struct Screen {
    number: u32,
    _xvfb: Process,
}

impl Screen {
    fn start() -> Result<Self> {
        // A free display number: the next one without a lock file whose server comes up (two
        // tests racing for one: the loser's server exits and it tries the next).
        let first = 100 + std::process::id() % 400;
        for number in (first..first + 200).map(|n| 100 + (n - 100) % 500) {
            if Path::new(&format!("/tmp/.X{number}-lock")).exists() {
                continue;
            }
            let child = Command::new("Xvfb")
                .arg(format!(":{number}"))
                .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb")?;
            let mut xvfb = Process {
                child,
                name: format!("Xvfb :{number}"),
            };
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
            for _ in 0..100 {
                if socket.exists() {
                    return Ok(Self {
                        number,
                        _xvfb: xvfb,
                    });
                }
                if let Ok(Some(_)) = xvfb.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        bail!("no free X display for the app")
    }

    fn display(&self) -> String {
        format!(":{}", self.number)
    }
}

/// One running instance of the desktop app, on its own X display, driven through its own
/// tauri-driver.
#[derive(Debug)]
pub struct App {
    pub client: Client,
    _driver: Process,
    screen: Screen,
    pub profile: String,
    shots: PathBuf,
}

impl App {
    /// Launches the app with `--profile NAME` under a new tauri-driver.
    pub async fn launch(profile: &str, shots: &Path) -> Result<Self> {
        Self::launch_with(profile, shots, &[]).await
    }

    /// Launches the app with `--profile NAME` and more arguments.
    pub async fn launch_with(profile: &str, shots: &Path, args: &[&str]) -> Result<Self> {
        Self::launch_installed(profile, shots, &binary("gtedx-im")?, args, &[]).await
    }

    /// Launches the app from `executable` (e.g. a copy installed where an update may replace
    /// it) with `--profile NAME`, more arguments and environment variables.
    pub async fn launch_installed(
        profile: &str,
        shots: &Path,
        executable: &Path,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Result<Self> {
        let (port, native) = (free_port()?, free_port()?);
        let screen = Screen::start()?;
        // The driver's and the app's output, kept with the screenshots to explain a failure.
        std::fs::create_dir_all(shots)?;
        let log = shots.join(format!("{profile}-{port}.log"));
        let output =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let driver = Command::new(tauri_driver()?)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", screen.display())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .context("starting tauri-driver")?;
        let driver = Process {
            child: driver,
            name: "tauri-driver".into(),
        };
        wait_for_port(port, "tauri-driver")?;
        let app_args: Vec<&str> = ["--profile", profile]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({
                "application": executable,
                "args": app_args,
            }),
        );
        let mut builder = ClientBuilder::native();
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        let client = tokio::time::timeout(STEP, builder.connect(&url))
            .await
            .map_err(|_| {
                anyhow!(
                    "the app ({profile}) did not start a WebDriver session in {STEP:?} (see {})",
                    log.display()
                )
            })?
            .with_context(|| format!("opening a WebDriver session for {profile}"))?;
        Ok(Self {
            client,
            _driver: driver,
            screen,
            profile: profile.to_owned(),
            shots: shots.to_owned(),
        })
    }

    /// The first element matching `css`, waiting for it.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(STEP)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("[{}] waiting for {css}", self.profile))
    }

    /// Waits until `check` returns something, polling.
    pub async fn until<T>(
        &self,
        what: &str,
        mut check: impl AsyncFnMut() -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + STEP;
        let mut last_error = None;
        loop {
            match check().await {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => {}
                Err(e) => last_error = Some(e),
            }
            if tokio::time::Instant::now() > deadline {
                let shot = self
                    .screenshot(&format!("failure-{}", self.profile))
                    .await
                    .ok();
                return Err(anyhow!(
                    "[{}] timed out waiting until {what} (last error: {last_error:?}; screenshot {shot:?})",
                    self.profile
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every element matching `css`, now.
    pub async fn all(&self, css: &str) -> Result<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(css)).await?)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.find(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {css}"))
    }

    /// Replaces the text of the input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let input = self.find(css).await?;
        input.clear().await?;
        input
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {css}"))
    }

    /// Types into the element matching `css` (without clearing it first).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        self.find(css)
            .await?
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {css}"))
    }

    /// Saves a screenshot of the app's window as `<shots>/<name>.png` (ImageMagick's `import`
    /// of its display, cut to the window).
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let (x, y, width, height) = self.client.get_window_rect().await?;
        std::fs::create_dir_all(&self.shots)?;
        let path = self.shots.join(format!("{name}.png"));
        let status = Command::new("import")
            .args([
                "-display",
                &self.screen.display(),
                "-window",
                "root",
                "-crop",
            ])
            .arg(format!("{width}x{height}+{x}+{y}"))
            .arg("+repage")
            .arg(&path)
            .status()
            .context("running import (ImageMagick)")?;
        anyhow::ensure!(status.success(), "import failed: {status}");
        Ok(path)
    }

    /// The person turns to another app: the pointer leaves the window (to the screen's far
    /// corner), which takes the focus away from it (X without a window manager focuses what is
    /// under the pointer).
    pub async fn look_away(&self) -> Result<()> {
        let status = Command::new("xdotool")
            .env("DISPLAY", self.screen.display())
            .args(["mousemove", "1279", "799"])
            .status()
            .context("running xdotool")?;
        anyhow::ensure!(status.success(), "xdotool mousemove failed: {status}");
        self.until("the window loses the focus", async || {
            let focused = self
                .client
                .execute("return document.hasFocus()", vec![])
                .await?;
            Ok((focused == serde_json::Value::Bool(false)).then_some(()))
        })
        .await
    }

    /// Scrolls the first element matching `css` into the middle of its scrolling box (for a
    /// screenshot that shows it).
    pub async fn scroll_to(&self, css: &str) -> Result<()> {
        let element = self.find(css).await?;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&element)?],
            )
            .await?;
        Ok(())
    }

    /// Ends the WebDriver session, which quits the app, and waits for the app's process to be
    /// gone: a profile's next launch would otherwise meet the single-instance lock of the one
    /// still exiting and hand over to it.
    pub async fn quit(self) -> Result<()> {
        let profile = self.profile.clone();
        self.client.close().await?;
        gone(&profile).await
    }

    /// Waits for the app's process to be gone (it quit by itself).
    pub async fn gone(&self) -> Result<()> {
        gone(&self.profile).await
    }

    /// Whether the app's process runs.
    pub fn running(&self) -> bool {
        app_running(&self.profile)
    }

    /// The page's `document.visibilityState`: "visible", or "hidden" while the window is.
    pub async fn visibility(&self) -> Result<String> {
        let state = self
            .client
            .execute("return document.visibilityState", vec![])
            .await?;
        Ok(state.as_str().unwrap_or_default().to_owned())
    }
}

/// Waits until no `gtedx-im --profile PROFILE` process runs.
async fn gone(profile: &str) -> Result<()> {
    let started = std::time::Instant::now();
    while app_running(profile) {
        if started.elapsed() > STEP {
            bail!("the app ({profile}) still runs after {STEP:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Whether a `gtedx-im --profile PROFILE` process is running (read from `/proc`).
fn app_running(profile: &str) -> bool {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    processes.flatten().any(|p| {
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            return false;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        args.first()
            .is_some_and(|exe| exe.ends_with(b"/gtedx-im") || *exe == b"gtedx-im")
            && args
                .windows(2)
                .any(|w| w[0] == b"--profile" && w[1] == profile.as_bytes())
    })
}

fn tauri_driver() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return Ok(path.into());
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("REAL_HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    let candidate = home.join("bin/tauri-driver");
    if candidate.exists() {
        return Ok(candidate);
    }
    Ok(PathBuf::from("tauri-driver"))
}

/// An element's text (its `textContent`, trimmed). WebKitWebDriver's "get element text" comes
/// back empty for these elements, so the DOM property is read instead.
pub async fn text(element: &Element) -> Result<String> {
    Ok(element
        .prop("textContent")
        .await?
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// The text of the first element matching `css` inside `element`, if there is one.
pub async fn text_in(element: &Element, css: &str) -> Result<Option<String>> {
    match element.find(Locator::Css(css)).await {
        Ok(found) => Ok(Some(text(&found).await?)),
        Err(e) if e.is_no_such_element() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
