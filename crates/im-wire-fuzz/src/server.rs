//! The server under attack: starting the real `im-server` binary on a free loopback port with a
//! temporary database and its log captured to a file, checking that it is still alive, its
//! memory, stopping it, and reading its log for panics.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long the server may take to start listening (an upper bound, not an expectation).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `im-server` next to this executable (both are built into the same target folder).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("im-server")))
        .unwrap_or_else(|| PathBuf::from("im-server"))
}

/// Settings for a server the fuzzer starts itself.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `im-server` binary.
    pub binary: PathBuf,
    /// Folder for the database and the log.
    pub dir: PathBuf,
    /// `--log` filter.
    pub log_filter: String,
    /// `--max-frame-bytes`.
    pub max_frame_bytes: usize,
    /// `--requests-per-second`.
    pub requests_per_second: u32,
    /// `--request-burst`.
    pub request_burst: u32,
    /// `--max-members`.
    pub max_members: usize,
}

/// A running `im-server` child process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/ws`.
    pub url: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts the server on `127.0.0.1:0` and waits until its log says where it listens.
    pub fn start(launch: &Launch) -> Result<Self> {
        if !launch.binary.is_file() {
            bail!(
                "no im-server binary at {} (build it with `cargo build -p im-server`, or pass --server-bin)",
                launch.binary.display()
            );
        }
        let log = launch.dir.join("im-server.log");
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(&launch.binary)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--admin-listen")
            .arg("off")
            .arg("--database")
            .arg(launch.dir.join("im-server.sqlite3"))
            .arg("--log")
            .arg(&launch.log_filter)
            .arg("--max-frame-bytes")
            .arg(launch.max_frame_bytes.to_string())
            .arg("--requests-per-second")
            .arg(launch.requests_per_second.to_string())
            .arg("--request-burst")
            .arg(launch.request_burst.to_string())
            .arg("--max-members")
            .arg(launch.max_members.to_string())
            // Plain log lines (no colour codes) so that they can be searched.
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        let mut server = Self {
            child,
            url: String::new(),
            log,
        };
        server.url = server.wait_listening()?;
        Ok(server)
    }

    fn wait_listening(&mut self) -> Result<String> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "im-server exited during start-up ({status}); its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(url) = text.lines().find_map(listening_url) {
                return Ok(url);
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("im-server did not report listening within {START_TIMEOUT:?}; log:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `None` while running; its exit status once it has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Resident memory, from `/proc` (Linux).
    pub fn rss_bytes(&self) -> Option<u64> {
        rss_bytes(self.pid())
    }

    /// Stops the server with SIGTERM (graceful shutdown) and waits for it, killing it if it
    /// does not stop within `grace`.
    pub fn stop(mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.exited() {
            return Ok(status);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let started = Instant::now();
        while started.elapsed() < grace {
            if let Some(status) = self.exited() {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        Ok(self.child.wait()?)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `ws://…/ws` URL in the server's "listening on" log line.
fn listening_url(line: &str) -> Option<String> {
    let start = line.find("listening on ws://")? + "listening on ".len();
    let url = line[start..].split_whitespace().next()?;
    Some(url.trim_end_matches(['"', ',']).to_owned())
}

/// Resident memory of a process, from `/proc/PID/status`.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// The current length of a log file (where this run's part of it starts).
pub fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// What the server's log says about the run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogScan {
    /// Lines reporting a panic.
    pub panics: Vec<String>,
    /// How many lines reported a panic.
    pub panic_count: u64,
    /// How many lines are at ERROR level.
    pub error_lines: u64,
    /// The first few ERROR lines.
    pub first_errors: Vec<String>,
    /// Lines read.
    pub lines: u64,
}

/// Reads the log from byte `from` on, looking for panics and errors.
pub fn scan_log(path: &Path, from: u64) -> Result<LogScan> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::new(file);
    let mut scan = LogScan::default();
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        scan.lines += 1;
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end();
        let error = line.contains(" ERROR ") || line.starts_with("ERROR");
        let lower = line.to_ascii_lowercase();
        if lower.contains("panicked") || (error && lower.contains("panic")) {
            scan.panic_count += 1;
            if scan.panics.len() < 20 {
                scan.panics.push(cut(line, 2000));
            }
        }
        if error {
            scan.error_lines += 1;
            if scan.first_errors.len() < 20 {
                scan.first_errors.push(cut(line, 1000));
            }
        }
    }
    Ok(scan)
}

fn cut(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_owned();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_url_in_the_listening_line() {
        let line = "2026-11-30T10:00:00.000Z  INFO im_server: listening on ws://127.0.0.1:40123/ws addr=127.0.0.1:40123 database=/tmp/x";
        assert_eq!(
            listening_url(line).as_deref(),
            Some("ws://127.0.0.1:40123/ws")
        );
        assert_eq!(listening_url("INFO something else"), None);
    }

    #[test]
    fn counts_panics_and_errors_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let before = "x ERROR im_server: thread panicked before the run\n";
        std::fs::write(
            &path,
            format!(
                "{before}a  INFO fine\nb ERROR im_server::main: panicked thread=\"tokio\" panic=boom\nc ERROR request failed\n"
            ),
        )
        .unwrap();
        let scan = scan_log(&path, before.len() as u64).unwrap();
        assert_eq!(scan.lines, 3);
        assert_eq!(scan.panic_count, 1);
        assert_eq!(scan.error_lines, 2);
    }
}
