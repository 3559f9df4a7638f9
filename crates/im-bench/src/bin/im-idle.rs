//! `im-idle`: as many signed-in idle connections as the descriptor limit allows, the server's
//! memory per connection, and then a reconnect storm: every connection dropped at once, messages
//! sent meanwhile, and all of them reconnecting, resuming and catching up at the same moment.
//!
//! ```sh
//! .ci/bench-server                 # part 4; or: im-idle --url ws://… --server-pid PID --connections 19000
//! ```
//!
//! Memory per connection = (server RSS with every connection open and idle − RSS before) /
//! connections. The storm is timed from the first reconnect to the last connection having
//! fetched what it missed; every connection must then hold exactly the messages sent while it was
//! away (nothing lost, nothing twice).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures_util::StreamExt;
use im_bench::{call, median, proc_sample, Session, Socket};
use im_proto::{ConversationId, GetMessages, Hello, Resume, Secret, Sync, PROTOCOL_VERSION};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Idle connections and reconnect storm benchmark.
#[derive(Debug, Parser)]
struct Args {
    /// Server URL.
    #[arg(long, default_value = "ws://127.0.0.1:7822/ws")]
    url: String,
    /// The server's pid (for its RSS).
    #[arg(long)]
    server_pid: u32,
    /// Accounts; connections are spread over them (several sessions per account, as devices).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Idle connections to open.
    #[arg(long, default_value_t = 19_000)]
    connections: usize,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 256)]
    parallel: usize,
    /// Messages sent into each conversation while everyone is away.
    #[arg(long, default_value_t = 3)]
    missed: usize,
    /// Seconds to stay idle before measuring memory.
    #[arg(long, default_value_t = 3)]
    idle_seconds: u64,
    /// Another node of the same cluster: instead of the clients dropping off, the server
    /// (`--server-pid`) is SIGKILLed, the messages are sent through this node, and every client
    /// reconnects here, resumes and catches up. The time from the kill is the figure.
    #[arg(long)]
    failover_url: Option<String>,
    /// The failover node's pid (its CPU during the storm).
    #[arg(long)]
    failover_pid: Option<u32>,
}

struct Account {
    token: Secret,
    conversation: ConversationId,
}

fn client_config() -> WebSocketConfig {
    // The driver holds as many sockets as the server: keep its buffers small too.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096)
}

async fn open(url: &str, client: &str) -> Result<Socket> {
    let mut socket = im_bench::open_as(url, Some(client_config()), client).await?;
    call(
        &mut socket,
        0,
        Hello {
            protocol: PROTOCOL_VERSION,
            client: Some("im-idle".into()),
        },
    )
    .await?;
    Ok(socket)
}

/// Connects and resumes a session, retrying while the server is busy accepting.
async fn connect_resumed(url: &str, token: &Secret) -> Result<Socket> {
    let mut wait = Duration::from_millis(20);
    for _ in 0..50 {
        // Each session is one simulated device, with its own TLS session cache.
        match open(url, token.expose()).await {
            Ok(mut socket) => {
                call(
                    &mut socket,
                    1,
                    Resume {
                        token: token.clone(),
                    },
                )
                .await?;
                return Ok(socket);
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(500));
            }
        }
    }
    bail!("could not connect to {url}")
}

/// Keeps a connection open, reading (and so answering pings) until `stop`.
fn park(socket: Socket, stop: Arc<tokio::sync::Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut socket = socket;
        loop {
            tokio::select! {
                _ = stop.notified() => return,
                frame = socket.next() => if !matches!(frame, Some(Ok(_))) { return },
            }
        }
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let suffix = format!("{:x}", std::process::id());

    // Accounts in 1:1 pairs, one conversation per pair.
    eprintln!("signing up {} accounts …", args.users);
    let started = Instant::now();
    let mut sessions = Session::sign_up_many(
        &args.url,
        (0..args.users).map(|i| format!("idle{suffix}-{i}")),
        "idle-test-password",
    )
    .await?;
    let mut accounts: Vec<Account> = Vec::new();
    for pair in sessions.chunks_mut(2) {
        let other = pair[1].user.uid;
        let c = pair[0]
            .call(im_proto::CreateConversation {
                user_ids: vec![other],
                ..Default::default()
            })
            .await?;
        for s in pair.iter() {
            accounts.push(Account {
                token: s.token.clone(),
                conversation: c.conversation.id,
            });
        }
    }
    // The first account of each pair keeps a connection to send with during the storm.
    let mut senders: Vec<Session> = sessions.into_iter().step_by(2).collect();
    eprintln!("accounts ready in {:.1} s", started.elapsed().as_secs_f64());
    let accounts = Arc::new(accounts);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proc_sample(args.server_pid)?;

    // Open every idle connection.
    let started = Instant::now();
    let parallel = Arc::new(Semaphore::new(args.parallel));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut opening = Vec::new();
    for i in 0..args.connections {
        let url = args.url.clone();
        let accounts = accounts.clone();
        let parallel = parallel.clone();
        opening.push(tokio::spawn(async move {
            let _permit = parallel.acquire().await?;
            let account = &accounts[i % accounts.len()];
            connect_resumed(&url, &account.token).await
        }));
    }
    let mut parked = Vec::new();
    for h in opening {
        let socket = h.await?.context("opening an idle connection")?;
        parked.push(park(socket, stop.clone()));
    }
    let open_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let after = proc_sample(args.server_pid)?;
    let per_connection =
        (after.rss_bytes as f64 - before.rss_bytes as f64) / args.connections as f64;
    println!(
        "idle: {} signed-in connections opened in {open_seconds:.1} s; server RSS {:.1} → {:.1} MiB: {:.2} KiB per connection",
        args.connections,
        before.rss_bytes as f64 / 1048576.0,
        after.rss_bytes as f64 / 1048576.0,
        per_connection / 1024.0
    );

    // Everyone drops off at once (or their node dies); messages arrive while they are away.
    let killed_at = Instant::now();
    match &args.failover_url {
        None => stop.notify_waiters(),
        Some(_) => {
            let status = std::process::Command::new("kill")
                .args(["-KILL", &args.server_pid.to_string()])
                .status()?;
            if !status.success() {
                bail!("could not SIGKILL the server {}", args.server_pid);
            }
        }
    }
    for p in parked {
        let _ = p.await;
    }
    if args.failover_url.is_none() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let storm_url = args
        .failover_url
        .clone()
        .unwrap_or_else(|| args.url.clone());
    for (n, sender) in senders.iter_mut().enumerate() {
        let conversation = accounts
            .iter()
            .find(|a| a.token == sender.token)
            .map(|a| a.conversation)
            .context("sender's conversation")?;
        // After a kill the senders' own connections are gone too: they resume on the other node.
        let mut moved = match &args.failover_url {
            Some(url) => Some(connect_resumed(url, &sender.token).await?),
            None => None,
        };
        for k in 0..args.missed {
            let send = im_proto::SendText {
                conversation_id: conversation,
                client_id: im_proto::ClientId::random(),
                text: format!("missed {k}"),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            };
            match &mut moved {
                Some(socket) => {
                    call(socket, 10 + (n * args.missed + k) as u64, send).await?;
                }
                None => {
                    sender.call(send).await?;
                }
            }
        }
    }
    let sent_after_kill = killed_at.elapsed().as_secs_f64();

    // The storm: all reconnect, resume and catch up at the same moment.
    let storm_pid = args.failover_pid.unwrap_or(args.server_pid);
    let server_before = proc_sample(storm_pid)?;
    let driver_before = proc_sample(0)?;
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let mut storm = Vec::new();
    let gate = Arc::new(tokio::sync::Barrier::new(args.connections + 1));
    for i in 0..args.connections {
        let url = storm_url.clone();
        let accounts = accounts.clone();
        let gate = gate.clone();
        let done = done.clone();
        storm.push(tokio::spawn(async move {
            gate.wait().await;
            let begun = Instant::now();
            let account = &accounts[i % accounts.len()];
            let mut socket = connect_resumed(&url, &account.token).await?;
            let page = call(
                &mut socket,
                2,
                Sync {
                    since: 0,
                    limit: None,
                },
            )
            .await?;
            let mut got = Vec::new();
            for view in page.conversations {
                let messages = call(
                    &mut socket,
                    3,
                    GetMessages {
                        conversation_id: view.conversation.id,
                        after: Some(0),
                        before: None,
                        limit: None,
                    },
                )
                .await?;
                got.extend(messages.messages.into_iter().map(|m| m.seq));
            }
            done.fetch_add(1, Ordering::Relaxed);
            Ok::<_, anyhow::Error>((begun.elapsed(), got, socket))
        }));
    }
    gate.wait().await;
    let mut latencies = Vec::new();
    let mut lost = 0usize;
    let mut sockets = Vec::new();
    let expected: Vec<u64> = (1..=args.missed as u64).collect();
    for h in storm {
        let (elapsed, got, socket) = h.await??;
        latencies.push(elapsed.as_secs_f64() * 1e3);
        if got != expected {
            lost += 1;
        }
        sockets.push(socket);
    }
    let storm_seconds = started.elapsed().as_secs_f64();
    let server_cpu = proc_sample(storm_pid)?.cpu_seconds - server_before.cpu_seconds;
    let driver_cpu = proc_sample(0)?.cpu_seconds - driver_before.cpu_seconds;
    let p99 = {
        let mut sorted = latencies.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
    };
    println!(
        "storm: {} connections reconnected, resumed and caught up in {storm_seconds:.2} s (per connection median {:.0} ms, p99 {p99:.0} ms); {lost} with missing or extra messages; server RSS {:.1} MiB; CPU server {server_cpu:.2} s, driver {driver_cpu:.2} s{}",
        done.load(Ordering::Relaxed),
        median(&mut latencies),
        proc_sample(storm_pid)?.rss_bytes as f64 / 1048576.0,
        if driver_cpu > 0.9 * storm_seconds { " (driver-bound)" } else { "" }
    );
    if args.failover_url.is_some() {
        println!(
            "failover: the node SIGKILLed; {} s later the messages were stored through the other \
             node; every client back on it, resumed and caught up {:.2} s after the kill",
            (sent_after_kill * 100.0).round() / 100.0,
            killed_at.elapsed().as_secs_f64()
        );
    }
    if lost > 0 {
        bail!("{lost} connections did not get exactly the messages sent while they were away");
    }
    drop(sockets);
    Ok(())
}
