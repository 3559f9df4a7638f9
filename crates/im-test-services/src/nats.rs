//! A throwaway NATS server.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::{free_port, wait_for_port, Error, Result};

/// How long a start may take.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `nats-server` of its own on 127.0.0.1 on a free port, JetStream storing in a temp dir.
#[derive(Debug)]
pub struct Nats {
    dir: tempfile::TempDir,
    port: u16,
    child: Mutex<Option<Child>>,
}

impl Nats {
    /// Starts one.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("im-nats-").tempdir()?;
        // Another process may take the free port between the pick and the start: pick again.
        let mut last = None;
        for _ in 0..3 {
            let port = free_port()?;
            match spawn(dir.path(), port) {
                Ok(child) => {
                    return Ok(Self {
                        dir,
                        port,
                        child: Mutex::new(Some(child)),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three tries"))
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills it (SIGKILL); [`Self::start_again`] brings it back on the same port.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().expect("nats lock").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (stopping it first if it runs).
    pub fn start_again(&self) -> Result<()> {
        self.stop();
        let child = spawn(self.dir.path(), self.port)?;
        *self.child.lock().expect("nats lock") = Some(child);
        Ok(())
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(dir: &Path, port: u16) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("nats.log"))?;
    let mut child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir.join("jetstream"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::NotInstalled("nats-server".into(), "nats-server")
            }
            _ => Error::Io(e),
        })?;
    let ready = wait_for_port("nats-server", port, START_TIMEOUT, || {
        matches!(child.try_wait(), Ok(None))
    });
    match ready {
        Ok(()) => Ok(child),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}
