//! [`SenderFleet`]: the SDK sender processes (`im-chaos-sender`), each on its own folder. Starts
//! them, SIGKILLs them, restarts them on the same folder, notices crashes, and at the end asks
//! them to drain and waits until they have.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use im_proto::ConversationId;
use tokio::process::{Child, Command};

use crate::sdk_sender::{LOG_FILE, STOP_FILE};
use crate::sender_log::SenderLog;

/// One sender: who it is and where it works.
#[derive(Debug, Clone)]
pub struct SenderSpec {
    /// Its folder.
    pub dir: PathBuf,
    /// Its account.
    pub username: String,
    /// The account's password.
    pub password: String,
    /// The conversation it sends into.
    pub conversation: ConversationId,
}

#[derive(Debug)]
struct SenderProcess {
    spec: SenderSpec,
    child: Option<Child>,
}

/// Every sender process.
#[derive(Debug)]
pub struct SenderFleet {
    binary: PathBuf,
    /// The server's (or proxies') URLs: sender `i` starts on URL `i` (of the nodes of a
    /// cluster) and has the others as fallbacks.
    urls: Vec<String>,
    rate: f64,
    senders: Vec<SenderProcess>,
    /// SIGKILLs delivered.
    pub kills: u64,
    /// Exits nobody asked for, with the sender and its status.
    pub crashes: Vec<String>,
}

/// How the drain went.
#[derive(Debug, Clone, Default)]
pub struct DrainOutcome {
    /// Senders that drained and exited 0.
    pub drained: usize,
    /// Senders still sending when the time ran out.
    pub timed_out: Vec<String>,
}

impl SenderFleet {
    /// A fleet of `specs` running `binary` against `urls` at `rate` messages per second each.
    /// Nothing runs until [`start_all`](Self::start_all).
    pub fn new(binary: PathBuf, urls: Vec<String>, rate: f64, specs: Vec<SenderSpec>) -> Self {
        Self {
            binary,
            urls,
            rate,
            senders: specs
                .into_iter()
                .map(|spec| SenderProcess { spec, child: None })
                .collect(),
            kills: 0,
            crashes: Vec::new(),
        }
    }

    /// How many senders there are.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }

    /// Starts every sender.
    pub fn start_all(&mut self) -> Result<()> {
        (0..self.senders.len()).try_for_each(|i| self.start(i))
    }

    fn start(&mut self, i: usize) -> Result<()> {
        let sender = &mut self.senders[i];
        std::fs::create_dir_all(&sender.spec.dir)?;
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(sender.spec.dir.join("output.log"))?;
        let mut command = Command::new(&self.binary);
        let n = self.urls.len();
        for other in 1..n {
            command
                .arg("--fallback-url")
                .arg(&self.urls[(i + other) % n]);
        }
        let child = command
            .arg("--dir")
            .arg(&sender.spec.dir)
            .arg("--url")
            .arg(&self.urls[i % n])
            .arg("--username")
            .arg(&sender.spec.username)
            .arg("--conversation")
            .arg(sender.spec.conversation.to_string())
            .arg("--rate")
            .arg(self.rate.to_string())
            .env("IM_CHAOS_SENDER_PASSWORD", &sender.spec.password)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("running {}", self.binary.display()))?;
        sender.child = Some(child);
        Ok(())
    }

    /// SIGKILLs sender `i` (if it runs) and waits until it is gone. Returns whether it ran.
    pub async fn kill(&mut self, i: usize) -> Result<bool> {
        self.check()?;
        let Some(mut child) = self.senders[i].child.take() else {
            return Ok(false);
        };
        child.start_kill().context("SIGKILL a sender")?;
        child.wait().await?;
        self.kills += 1;
        Ok(true)
    }

    /// Starts sender `i` again on its folder (if it is not running).
    pub fn restart(&mut self, i: usize) -> Result<()> {
        if self.senders[i].child.is_none() {
            self.start(i)?;
        }
        Ok(())
    }

    /// Notices senders that exited on their own: records them as crashes and restarts them.
    pub fn check(&mut self) -> Result<()> {
        for i in 0..self.senders.len() {
            let sender = &mut self.senders[i];
            let exited = match sender.child.as_mut() {
                Some(child) => child.try_wait()?,
                None => None,
            };
            if let Some(status) = exited {
                let what = format!("{} exited with {status}", sender.spec.username);
                tracing::error!(
                    "{what} (see {})",
                    sender.spec.dir.join("output.log").display()
                );
                self.crashes.push(what);
                sender.child = None;
                self.start(i)?;
            }
        }
        Ok(())
    }

    /// Asks every sender to stop enqueueing and drain its outbox, and waits (at most until
    /// `deadline`) for each to exit 0. A sender that dies meanwhile is restarted to finish.
    pub async fn drain(&mut self, deadline: Instant) -> Result<DrainOutcome> {
        for i in 0..self.senders.len() {
            self.restart(i)?;
            std::fs::write(self.senders[i].spec.dir.join(STOP_FILE), b"")?;
        }
        let mut outcome = DrainOutcome::default();
        for i in 0..self.senders.len() {
            loop {
                let sender = &mut self.senders[i];
                let Some(child) = sender.child.as_mut() else {
                    break;
                };
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left.max(Duration::from_millis(1)), child.wait()).await {
                    Err(_) => {
                        outcome.timed_out.push(sender.spec.username.clone());
                        let _ = child.start_kill();
                        let _ = child.wait().await;
                        sender.child = None;
                    }
                    Ok(status) => {
                        let status = status?;
                        sender.child = None;
                        if status.success() {
                            outcome.drained += 1;
                        } else {
                            let what = format!(
                                "{} exited with {status} while draining",
                                sender.spec.username
                            );
                            tracing::error!("{what}");
                            self.crashes.push(what);
                            if Instant::now() < deadline {
                                self.start(i)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Every sender's spec and log (read now).
    pub fn logs(&self) -> Result<Vec<(SenderSpec, SenderLog)>> {
        self.senders
            .iter()
            .map(|s| Ok((s.spec.clone(), SenderLog::read(&s.spec.dir.join(LOG_FILE))?)))
            .collect()
    }
}
