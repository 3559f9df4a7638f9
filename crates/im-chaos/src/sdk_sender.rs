//! The SDK sender, the program `im-chaos-sender` runs: one user of the real SDK with a
//! [`DiskCache`] in its own folder, enqueueing messages into one conversation at a steady rate
//! and logging every enqueue and ack ([`crate::sender_log`]). im-chaos SIGKILLs it at random and
//! starts it again on the same folder; it then rebuilds its client from the saved session and
//! cache, and carries on with the next k.
//!
//! Its folder holds `session.json` (the session token: this is a test harness),
//! `cache.sqlite3` (the SDK's cache, outbox included), `events.log`, and, when im-chaos wants it
//! to finish, `stop`: it then stops enqueueing, waits until the outbox is empty, logs `drained`
//! and exits 0.
//!
//! It runs on a current-thread runtime on purpose: between `enqueue` returning and its log line
//! being written nothing else runs, so a message the log does not name is still in the outbox
//! when the process dies, and the next start finds it there and logs it as `recovered`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use im_proto::ConversationId;
use im_sdk::{
    Cache, ClientConfig, ClientEvent, DiskCache, ImClient, ImService, OutboxState, Secret, Session,
    TextMessage,
};

use crate::sender_log::{SenderLog, SenderLogWriter};
use crate::tag::MessageTag;

/// The name of the file whose presence asks a sender to drain and exit.
pub const STOP_FILE: &str = "stop";
/// The sender's event log in its folder.
pub const LOG_FILE: &str = "events.log";
/// The session file in its folder.
pub const SESSION_FILE: &str = "session.json";
/// The SDK cache in its folder.
pub const CACHE_FILE: &str = "cache.sqlite3";

/// What a sender needs to know (its command line).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "im-chaos-sender", about = "An SDK sender process for im-chaos")]
pub struct SenderOptions {
    /// Its folder: session, cache, event log.
    #[arg(long)]
    pub dir: PathBuf,
    /// The server URL (im-chaos passes its proxy's).
    #[arg(long)]
    pub url: String,
    /// Other nodes of the same server, tried in turn when `url` fails (repeatable).
    #[arg(long)]
    pub fallback_url: Vec<String>,
    /// The account to sign in with (once; later starts resume the saved session).
    #[arg(long)]
    pub username: String,
    /// The account's password.
    #[arg(long, env = "IM_CHAOS_SENDER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// The conversation to send into.
    #[arg(long)]
    pub conversation: ConversationId,
    /// Messages per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
}

/// The SDK settings of a sender: the defaults, except that a frozen network path (a few
/// seconds) is noticed and replaced, and reconnect attempts stay frequent, so one run sees many
/// reconnects.
pub fn client_config(fallback_servers: Vec<String>) -> ClientConfig {
    ClientConfig {
        ping_interval: Duration::from_secs(1),
        dead_after: Duration::from_secs(3),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        fallback_servers,
        ..ClientConfig::default()
    }
}

/// Runs a sender until it has drained after a stop request.
pub async fn run(options: SenderOptions) -> Result<()> {
    if options.rate.is_nan() || options.rate <= 0.0 {
        bail!("--rate must be above 0");
    }
    let dir = &options.dir;
    std::fs::create_dir_all(dir)?;
    let log_path = dir.join(LOG_FILE);
    let previous = SenderLog::read(&log_path)?;
    let log = Arc::new(Mutex::new(SenderLogWriter::open(&log_path)?));
    log.lock().expect("log lock").started()?;

    let session = session(&options).await?;
    let cache = DiskCache::open(dir.join(CACHE_FILE))?;
    // Before the client starts (and could send and drop them), log the messages a kill caught
    // between `enqueue` and their log line.
    let mut last_k = previous.last_k();
    for entry in cache.outbox()? {
        match MessageTag::parse(&entry.text) {
            Some(tag) if tag.sender == options.username && tag.k > last_k => {
                log.lock()
                    .expect("log lock")
                    .enqueued(tag.k, &entry.client_id, true)?;
                last_k = tag.k;
            }
            _ => {}
        }
    }

    let client = ImService::with_config(client_config(options.fallback_url.clone()))
        .create_im_client(session)?;
    let events = client.events();
    let me = options.username.clone();
    let (log_events, client_events) = (log.clone(), client.clone());
    tokio::spawn(async move {
        if let Err(error) = log_outcomes(events, &me, &client_events, &log_events).await {
            tracing::error!(%error, "writing the event log failed");
            std::process::exit(1);
        }
    });
    client.set_cache(cache)?;
    let conversation = loop {
        match client.conversation(options.conversation).await {
            Ok(conversation) => break conversation,
            Err(error) => {
                tracing::debug!(%error, "conversation not available yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / options.rate));
    let stop = dir.join(STOP_FILE);
    let parent = Parent::now();
    let mut k = last_k + 1;
    loop {
        ticker.tick().await;
        parent.exit_if_gone();
        if stop.exists() {
            break;
        }
        let text = MessageTag::new(&options.username, k).text();
        let entry = conversation.enqueue(TextMessage::new(text))?;
        log.lock()
            .expect("log lock")
            .enqueued(k, &entry.client_id, false)?;
        k += 1;
    }

    // Drain: everything enqueued must be acknowledged (or refused for good) before leaving.
    loop {
        let sending = client
            .outbox()?
            .iter()
            .filter(|e| e.state == OutboxState::Sending)
            .count();
        if sending == 0 {
            break;
        }
        parent.exit_if_gone();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the acks already announced reach the log before saying so.
    tokio::time::sleep(Duration::from_millis(200)).await;
    log.lock().expect("log lock").drained()?;
    client.close().await;
    Ok(())
}

/// The saved session, or a new one from signing in (retried until the server answers) that is
/// then saved.
async fn session(options: &SenderOptions) -> Result<Session> {
    let path = options.dir.join(SESSION_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()));
    }
    let started = Instant::now();
    let password = Secret::new(options.password.clone());
    let urls: Vec<&String> = std::iter::once(&options.url)
        .chain(&options.fallback_url)
        .collect();
    let mut attempt = 0;
    let session = loop {
        attempt += 1;
        match im_sdk::sign_in(
            urls[attempt % urls.len()],
            &options.username,
            &password,
            Some("im-chaos-sender"),
        )
        .await
        {
            Ok(session) => break session,
            Err(error) if started.elapsed() < Duration::from_secs(120) => {
                tracing::debug!(%error, "sign-in failed; retrying");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(error) => return Err(error).context("signing in"),
        }
    };
    save_atomically(&path, &serde_json::to_string(&session)?)?;
    Ok(session)
}

fn save_atomically(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// Logs every ack and refusal of this sender's messages.
async fn log_outcomes(
    mut events: im_sdk::EventStream,
    me: &str,
    client: &ImClient,
    log: &Mutex<SenderLogWriter>,
) -> Result<()> {
    while let Some(event) = events.next().await {
        match event {
            ClientEvent::MessageSent(message) => {
                if let Some(tag) = MessageTag::parse(message.body.preview()) {
                    if tag.sender == me {
                        log.lock().expect("log lock").acked(tag.k, message.seq)?;
                    }
                }
            }
            ClientEvent::MessageFailed {
                client_id, error, ..
            } => {
                tracing::error!(%client_id, %error, "a message was refused for good");
                // The refused message stays in the outbox (marked failed): its text has its k.
                let k = client
                    .outbox()?
                    .into_iter()
                    .find(|e| e.client_id == client_id)
                    .and_then(|e| MessageTag::parse(&e.text))
                    .map_or(0, |tag| tag.k);
                log.lock().expect("log lock").failed(k, error.code())?;
            }
            ClientEvent::Lagged(missed) => {
                tracing::warn!(missed, "the event log missed events");
            }
            _ => {}
        }
    }
    Ok(())
}

/// The im-chaos process that started this sender. If it dies without stopping its senders (it
/// was SIGKILLed itself), the sender notices that it was re-parented and exits instead of
/// sending forever.
struct Parent(Option<u32>);

impl Parent {
    fn now() -> Self {
        #[cfg(unix)]
        return Self(Some(std::os::unix::process::parent_id()));
        #[cfg(not(unix))]
        return Self(None);
    }

    fn exit_if_gone(&self) {
        #[cfg(unix)]
        if self.0 != Some(std::os::unix::process::parent_id()) {
            tracing::warn!("im-chaos is gone; exiting");
            std::process::exit(3);
        }
    }
}
