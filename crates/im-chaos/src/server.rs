//! [`ServerManager`]: runs the real `im-server` binary as a child process on a fixed address and
//! database, SIGKILLs it, restarts it on the same database, and measures each restart (spawn →
//! a `hello` answered).

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

use crate::wire::Wire;

/// How long a start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server process and what happened to it.
#[derive(Debug)]
pub struct ServerManager {
    binary: PathBuf,
    listen: SocketAddr,
    /// `--database`: an SQLite file or a PostgreSQL URL.
    database: String,
    /// `--cluster`: the NATS URL linking the nodes of a cluster.
    cluster: Option<String>,
    log: PathBuf,
    child: Option<Child>,
    /// SIGKILLs delivered.
    pub kills: u64,
    /// Restarts after a kill: spawn → `hello` answered.
    pub restart_times: Vec<Duration>,
    /// Exits nobody asked for (a crash), with their status.
    pub unexpected_exits: Vec<String>,
}

impl ServerManager {
    /// A manager for `binary` listening on `listen` with `database`; its output is appended to
    /// `log`. Nothing runs until [`start`](Self::start).
    pub fn new(binary: PathBuf, listen: SocketAddr, database: String, log: PathBuf) -> Self {
        Self {
            binary,
            listen,
            database,
            cluster: None,
            log,
            child: None,
            kills: 0,
            restart_times: Vec::new(),
            unexpected_exits: Vec::new(),
        }
    }

    /// The address it listens on.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// The URL clients use to reach the server directly.
    pub fn url(&self) -> String {
        format!("ws://{}{}", self.listen, im_proto::WS_PATH)
    }

    /// Makes it a node of the cluster linked by the NATS server at `nats`.
    pub fn in_cluster(mut self, nats: String) -> Self {
        self.cluster = Some(nats);
        self
    }

    /// Spawns the server and waits until it answers `hello`. Returns how long that took.
    pub async fn start(&mut self) -> Result<Duration> {
        if self.child.is_some() {
            bail!("the server is already running");
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let started = Instant::now();
        let mut command = Command::new(&self.binary);
        if let Some(nats) = &self.cluster {
            command.arg("--cluster").arg(nats);
        }
        let child = command
            .arg("--listen")
            .arg(self.listen.to_string())
            .arg("--admin-listen")
            .arg("off")
            .arg("--database")
            .arg(&self.database)
            .arg("--log")
            .arg("warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("running {}", self.binary.display()))?;
        self.child = Some(child);
        let url = self.url();
        loop {
            if let Some(status) = self.exited()? {
                bail!(
                    "im-server exited with {status} while starting (see {})",
                    self.log.display()
                );
            }
            if let Ok(wire) = Wire::connect(&url, Duration::from_secs(2)).await {
                let took = started.elapsed();
                wire.close().await;
                return Ok(took);
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "im-server did not answer hello within {START_TIMEOUT:?} (see {})",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGKILLs the server and waits for it to be gone. A server that had already exited on
    /// its own is recorded as an unexpected exit instead.
    pub async fn kill(&mut self) -> Result<()> {
        if self.check_alive()? {
            let child = self.child.as_mut().expect("checked alive");
            child.start_kill().context("SIGKILL im-server")?;
            child.wait().await?;
            self.kills += 1;
        }
        self.child = None;
        Ok(())
    }

    /// Kills and starts again, recording the restart time.
    pub async fn kill_and_restart(&mut self) -> Result<Duration> {
        self.kill().await?;
        let took = self.start().await?;
        self.restart_times.push(took);
        Ok(took)
    }

    /// True while the server runs. A server found exited is recorded as an unexpected exit.
    pub fn check_alive(&mut self) -> Result<bool> {
        match self.exited()? {
            None => Ok(self.child.is_some()),
            Some(status) => {
                tracing::error!(%status, "im-server exited on its own");
                self.unexpected_exits.push(status.to_string());
                self.child = None;
                Ok(false)
            }
        }
    }

    /// Makes sure the server runs (restarting it if it died on its own).
    pub async fn ensure_running(&mut self) -> Result<()> {
        if !self.check_alive()? {
            self.start().await?;
        }
        Ok(())
    }

    /// Stops the server with SIGTERM (a graceful shutdown) and returns its exit status.
    pub async fn stop(&mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the server is not running");
        };
        terminate(&child)?;
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                child.start_kill()?;
                child.wait().await?;
                bail!("im-server did not stop within 30 s of SIGTERM; killed it")
            }
        }
    }

    fn exited(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => Ok(child.try_wait()?),
            None => Ok(None),
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) -> Result<()> {
    use rustix::process::{kill_process, Pid, Signal};
    let pid = child
        .id()
        .and_then(|id| Pid::from_raw(id as i32))
        .context("the server has no pid")?;
    kill_process(pid, Signal::TERM).context("SIGTERM im-server")?;
    Ok(())
}

#[cfg(not(unix))]
fn terminate(_child: &Child) -> Result<()> {
    bail!("im-chaos runs on Unix only")
}
