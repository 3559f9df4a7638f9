//! The Gtedx IM conformance kit: every promise of `docs/PROTOCOL.md` that a client can observe,
//! checked against a running server at any URL — every op and its result field by field, every
//! event and who receives it, every error code a client can provoke, the close codes, the plain
//! HTTP answers, the authorization matrix and the ordering promises.
//!
//! ```no_run
//! # async fn demo() {
//! let report = im_conformance::run("ws://127.0.0.1:7822/ws", &Default::default()).await;
//! for result in &report.results {
//!     println!("{}", im_conformance::Report::line(result));
//! }
//! assert!(report.success(), "{}", report.failure_details());
//! # }
//! ```
//!
//! Each check is isolated: it signs up fresh users whose names start with a random prefix for the
//! run, so the kit can run again and again against one long-lived server. A run makes 8 failed
//! sign-ins on purpose (the `sign_in` throttle is one of the promises); the server blocks an
//! address after 20 failures within 60 seconds, so run the kit at most twice a minute from one
//! address. What cannot be checked from outside (codes that need control of the
//! server) is listed in [`coverage::NOT_REMOTE`].
//!
//! Layout: [`client`] is the protocol client, [`shape`] the documented shape of every frame,
//! [`checks`] the checks by area, [`report`] the outcome, [`coverage`] what the checks cover.

pub mod checks;
pub mod client;
pub mod coverage;
pub mod report;
pub mod shape;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rand::Rng;
use serde_json::json;

pub use checks::{all_checks, Check};
pub use client::{Conn, Observer, Target};
pub use report::{CheckResult, Outcome, Report};

/// How to run the kit.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run only these checks: a full name (`events.message`) or an area (`events`). Empty: all.
    pub only: Vec<String>,
    /// The longest wait for any one thing: a connection, a reply, an event, a close.
    pub timeout: Duration,
    /// The longest one check may take.
    pub check_timeout: Duration,
    /// How many bytes of messages the slow-reader check (close 1013) sends first, to fill the
    /// TCP buffers between the server and a connection that does not read.
    pub slow_reader_fill_bytes: usize,
    /// How many small events it then piles up for that connection: more than the server's
    /// outbound queue (1024 frames, §2.5).
    pub slow_reader_frames: usize,
    /// The URLs of the server's other nodes (a cluster on one database): the checks' connections
    /// go to each node in turn, so every event crosses between nodes.
    pub other_nodes: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            only: Vec::new(),
            timeout: Duration::from_secs(10),
            check_timeout: Duration::from_secs(180),
            slow_reader_fill_bytes: 6 << 20,
            slow_reader_frames: 1024 + 128,
            other_nodes: Vec::new(),
        }
    }
}

impl Options {
    /// Whether `--only` selects the check `name`.
    pub fn selects(&self, name: &str) -> bool {
        self.only.is_empty()
            || self.only.iter().any(|only| {
                name == only
                    || name
                        .strip_prefix(only.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
    }
}

/// A check that cannot run against this server's limits: reported as skipped, not failed.
#[derive(Debug)]
pub struct Skip(pub String);

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skip {}

/// What one check gets: the server, its limits, and fresh names.
#[derive(Debug, Clone)]
pub struct Ctx {
    target: Target,
    limits: im_proto::Limits,
    prefix: Arc<str>,
    options: Arc<Options>,
}

impl Ctx {
    /// A context outside a run, for checks that need control of the server and so run
    /// in-process (says hello to learn the limits).
    pub async fn connect(url: &str, options: &Options) -> Result<Self> {
        let mut target = Target::new(
            url,
            &options.other_nodes,
            options.timeout,
            Observer::default(),
        );
        let (_, limits) = probe(&target).await?;
        target.limits = Some(limits.clone());
        Ok(Self {
            target,
            limits,
            prefix: format!("{}x.", run_id()).into(),
            options: Arc::new(options.clone()),
        })
    }

    /// The server and how long to wait for it.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The limits the server announced in `hello`.
    pub fn limits(&self) -> &im_proto::Limits {
        &self.limits
    }

    /// The run's options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A username no other check or run uses: the run's random prefix, the check's number, `name`.
    pub fn username(&self, name: &str) -> String {
        let username = format!("{}{name}", self.prefix);
        assert!(
            username.len() <= 32,
            "{username:?} is too long for a username"
        );
        username
    }

    /// The password the kit gives `username`.
    pub fn password(username: &str) -> String {
        format!("{username}-password")
    }

    /// A connection that has not said hello.
    pub async fn open(&self, label: &str) -> Result<Conn> {
        Conn::open(&self.target, label).await
    }

    /// A connection that said hello and is not signed in.
    pub async fn anon(&self, label: &str) -> Result<Conn> {
        Conn::hello(&self.target, label).await
    }

    /// A fresh user, signed up and signed in on a new connection (labelled `name`), with its
    /// barrier group (see [`client::Account::barrier`]) created before any other session exists.
    pub async fn user(&self, name: &str) -> Result<Conn> {
        let username = self.username(name);
        let password = Self::password(&username);
        let mut conn = self.anon(name).await?;
        conn.ok(
            "sign_up",
            json!({"username": username, "password": password, "display_name": name.to_uppercase()}),
        )
        .await
        .with_context(|| format!("signing up {username}"))?;
        let signed = conn
            .ok(
                "sign_in",
                json!({"username": username, "password": password, "device": "im-conformance"}),
            )
            .await?;
        let user: im_proto::User = conn.decode("sign_in's user", &signed["user"])?;
        let token = client::str_field(&signed, "token")?.to_owned();
        let barrier = conn
            .ok(
                "create_conversation",
                json!({"user_ids": [], "title": "im-conformance barrier"}),
            )
            .await?;
        let barrier = conn.decode("the barrier group's id", &barrier["conversation"]["id"])?;
        conn.set_signed_in(client::Account {
            user,
            password,
            token,
            barrier,
        });
        Ok(conn)
    }
}

/// Says hello on a fresh connection: the server's name and limits.
async fn probe(target: &Target) -> Result<(String, im_proto::Limits)> {
    let mut conn = Conn::open(target, "probe").await?;
    let hello = conn
        .ok("hello", json!({"protocol": 1, "client": "im-conformance"}))
        .await?;
    let limits = conn.decode("hello's limits", &hello["limits"])?;
    let server = hello["server"].as_str().unwrap_or_default().to_owned();
    let _ = conn.send_close().await;
    Ok((server, limits))
}

fn run_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Runs every selected check against the server at `url`, one after another, and reports each.
pub async fn run(url: &str, options: &Options) -> Report {
    run_with(url, options, |_| {}).await
}

/// [`run`], calling `progress` with each check's result as soon as it is known.
pub async fn run_with(
    url: &str,
    options: &Options,
    mut progress: impl FnMut(&CheckResult),
) -> Report {
    let started = Instant::now();
    let options = Arc::new(options.clone());
    let probe_target = Target::new(url, &[], options.timeout, Observer::default());
    let hello = probe(&probe_target).await;
    let run = run_id();
    let mut results = Vec::new();
    for (number, check) in all_checks().into_iter().enumerate() {
        if !options.selects(check.name) {
            continue;
        }
        let observer = Observer::default();
        let began = Instant::now();
        let outcome = match &hello {
            Err(e) => Outcome::Failed(format!("could not say hello to {url}: {e:#}")),
            Ok((_, limits)) => {
                let cx = Ctx {
                    target: Target {
                        limits: Some(limits.clone()),
                        ..Target::new(url, &options.other_nodes, options.timeout, observer.clone())
                    },
                    limits: limits.clone(),
                    prefix: format!("{run}{number:03}.").into(),
                    options: options.clone(),
                };
                run_one(&check, cx, options.check_timeout).await
            }
        };
        let result = CheckResult {
            name: check.name,
            outcome,
            elapsed: began.elapsed(),
            covers: check.covers,
            observed: observer.snapshot(),
        };
        progress(&result);
        results.push(result);
    }
    let (server, limits) = match hello {
        Ok((server, limits)) => (Some(server), Some(limits)),
        Err(_) => (None, None),
    };
    Report {
        url: url.to_owned(),
        server,
        limits,
        results,
        elapsed: started.elapsed(),
    }
}

/// Runs one check in its own task, so that a panic or a hang is that check's failure alone.
async fn run_one(check: &Check, cx: Ctx, limit: Duration) -> Outcome {
    let task = tokio::spawn((check.run)(cx));
    let abort = task.abort_handle();
    match tokio::time::timeout(limit, task).await {
        Err(_) => {
            abort.abort();
            Outcome::Failed(format!("did not finish within {limit:?}"))
        }
        Ok(Err(join)) => Outcome::Failed(match join.try_into_panic() {
            Ok(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            ),
            Err(e) => format!("the check's task failed: {e}"),
        }),
        Ok(Ok(Ok(()))) => Outcome::Passed,
        Ok(Ok(Err(e))) => match e.downcast_ref::<Skip>() {
            Some(skip) => Outcome::Skipped(skip.0.clone()),
            None => Outcome::Failed(format!("{e:#}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_names_and_areas() {
        let options = Options {
            only: vec!["events".into(), "accounts.sign_up".into()],
            ..Options::default()
        };
        assert!(options.selects("events.message"));
        assert!(options.selects("accounts.sign_up"));
        assert!(!options.selects("accounts.sign_up_fields"));
        assert!(!options.selects("eventsx.message"));
        assert!(Options::default().selects("anything.at_all"));
    }

    #[test]
    fn run_ids_fit_in_usernames() {
        let id = run_id();
        assert_eq!(id.len(), 6);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
