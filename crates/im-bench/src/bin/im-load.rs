//! `im-load`: drives an im-server with users in 1:1 pairs (or groups), each sending 100-byte
//! texts to its conversation, open loop at a fixed offered rate (or closed loop as fast as acks
//! allow), and reports delivery rate, lost and duplicated messages, end-to-end and ack latency,
//! and the server's CPU and memory.
//!
//! Every message is stamped with the time it was *scheduled* to be sent, so a driver or server
//! that falls behind shows up as latency (no coordinated omission).
//!
//! With `--nats URL` the same load goes through a NATS server instead (core NATS, no
//! persistence: each conversation is a subject its members subscribe to), as the reference for
//! what the transport alone costs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use im_bench::{median, proc_sample, tree_sample, Session, Socket};
use im_proto::{decode_server_frame, ConversationId, Event, ServerFrame};
use tokio::sync::{Mutex as AsyncMutex, Semaphore};
use tokio_tungstenite::tungstenite::Message;

/// Load driver for im-server.
#[derive(Debug, Parser)]
#[command(name = "im-load", about)]
struct Args {
    /// Server URL; several, comma-separated, for the nodes of a cluster (user `i` on the
    /// `i % n`th: the two users of a pair on different nodes).
    #[arg(long, default_value = "ws://127.0.0.1:7822/ws", value_delimiter = ',')]
    url: Vec<String>,
    /// The server's pid, to report its CPU seconds and RSS (several, comma-separated, for the
    /// nodes of a cluster: summed).
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// The processes the server needs beside it — PostgreSQL's postmaster, the NATS server
    /// (comma-separated): their and their children's CPU seconds and writes count in the cost
    /// per message beside the server's.
    #[arg(long, value_delimiter = ',')]
    store_pid: Vec<u32>,
    /// Number of users (each one connection).
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Members per conversation: 2 for 1:1 pairs, more for the group variant.
    #[arg(long, default_value_t = 2)]
    group_size: usize,
    /// Offered rates in messages per second, comma-separated; 0 means as fast as acks allow.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    rates: Vec<u64>,
    /// Runs of each rate (the summary gives medians and ranges).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Seconds measured per rate.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds sent before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Bytes per text.
    #[arg(long, default_value_t = 100)]
    text_bytes: usize,
    /// Unacknowledged sends allowed per user at rate 0.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Username prefix (a random suffix keeps reruns on one database apart).
    #[arg(long, default_value = "load")]
    prefix: String,
    /// Random client ids (UUIDv4) instead of time-ordered ones (UUIDv7, what the SDK sends).
    #[arg(long)]
    random_client_ids: bool,
    /// Also print each run's figures as one JSON line.
    #[arg(long)]
    json: bool,
    /// Drive a NATS server at this URL instead of im-server (the transport reference).
    #[arg(long)]
    nats: Option<String>,
    /// Instead of driving anything, summarize the `--json` lines of earlier runs in these files
    /// (medians and ranges per offered rate).
    #[arg(long, num_args = 1..)]
    summarize: Vec<std::path::PathBuf>,
}

/// Everything one user's reader saw in one run.
#[derive(Debug)]
struct RunRecord {
    ack: Histogram<u64>,
    /// Delivery latency from the moment the sender wrote the message.
    e2e: Histogram<u64>,
    /// Delivery latency from the moment the message was scheduled (includes driver lag).
    e2e_sched: Histogram<u64>,
    /// How late the sender wrote messages relative to their schedule.
    lag: Histogram<u64>,
    /// n of this user's own messages acked.
    acked: Vec<u64>,
    acked_in_window: u64,
    /// (sender, n) received.
    received: HashSet<(u32, u64)>,
    received_in_window: u64,
    duplicates: u64,
    errors: u64,
}

impl RunRecord {
    fn new() -> Self {
        Self {
            ack: Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("histogram"),
            e2e: Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("histogram"),
            e2e_sched: Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("histogram"),
            lag: Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("histogram"),
            acked: Vec::new(),
            acked_in_window: 0,
            received: HashSet::new(),
            received_in_window: 0,
            duplicates: 0,
            errors: 0,
        }
    }
}

type Records = Arc<Mutex<HashMap<u32, RunRecord>>>;

/// How a user sends.
enum Link {
    /// A WebSocket to im-server and the conversation to send to.
    Im(Arc<AsyncMutex<SplitSink<Socket, Message>>>, ConversationId),
    /// A NATS connection and the conversation's subject.
    Nats(async_nats::Client, String),
}

struct User {
    index: u32,
    link: Link,
    records: Records,
    window: Arc<Semaphore>,
}

/// The shared clock: nanoseconds since the driver started.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.0).as_nanos() as u64
    }
}

/// What a run measures inside: scheduled times in [from, to) in clock nanos.
#[derive(Clone, Copy)]
struct Window {
    from: u64,
    to: u64,
}

impl Window {
    fn contains(&self, t: u64) -> bool {
        t >= self.from && t < self.to
    }
}

/// What each message carries: `r{run}|u{user}|n{n}|t{scheduled}|s{sent}|`, padded with `x`.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    run: u32,
    user: u32,
    n: u64,
    scheduled: u64,
    sent: u64,
}

impl Stamp {
    fn text(&self, bytes: usize) -> String {
        let mut text = format!(
            "r{}|u{}|n{}|t{}|s{}|",
            self.run, self.user, self.n, self.scheduled, self.sent
        );
        while text.len() < bytes {
            text.push('x');
        }
        text
    }

    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let mut field = |prefix: char| parts.next()?.strip_prefix(prefix)?.parse::<u64>().ok();
        Some(Self {
            run: field('r')? as u32,
            user: field('u')? as u32,
            n: field('n')?,
            scheduled: field('t')?,
            sent: field('s')?,
        })
    }
}

/// The run windows, shared with readers so they know what counts.
type Windows = Arc<Mutex<HashMap<u32, Window>>>;

/// Records a received message: duplicates, and its end-to-end latency if inside the window.
fn record_delivery(records: &Records, windows: &Windows, text: &str, now: u64) {
    let Some(stamp) = Stamp::parse(text) else {
        return;
    };
    let w = windows.lock().unwrap().get(&stamp.run).copied();
    let mut records = records.lock().unwrap();
    let r = records.entry(stamp.run).or_insert_with(RunRecord::new);
    if !r.received.insert((stamp.user, stamp.n)) {
        r.duplicates += 1;
        return;
    }
    if w.is_some_and(|w| w.contains(stamp.scheduled)) {
        r.received_in_window += 1;
        let _ = r.e2e.record(now.saturating_sub(stamp.sent).max(1));
        let _ = r
            .e2e_sched
            .record(now.saturating_sub(stamp.scheduled).max(1));
    }
}

/// Reads a NATS subscription (the conversation's subject), skipping the user's own messages.
async fn nats_reader(
    mut subscription: async_nats::Subscriber,
    me: u32,
    records: Records,
    windows: Windows,
    clock: Clock,
) {
    while let Some(message) = subscription.next().await {
        let now = clock.nanos(Instant::now());
        let Ok(text) = std::str::from_utf8(&message.payload) else {
            continue;
        };
        if Stamp::parse(text).is_some_and(|stamp| stamp.user == me) {
            continue;
        }
        record_delivery(&records, &windows, text, now);
    }
}

async fn reader(
    mut stream: futures_util::stream::SplitStream<Socket>,
    records: Records,
    windows: Windows,
    window_permits: Arc<Semaphore>,
    clock: Clock,
) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let now = clock.nanos(Instant::now());
        let Ok(frame) = decode_server_frame(text.as_str()) else {
            continue;
        };
        match frame {
            ServerFrame::Result { result, .. } => {
                // Only send_text replies carry a message with our stamp.
                let Ok(message) = serde_json::from_str::<im_proto::Message>(result.get()) else {
                    continue;
                };
                let Some(stamp) = Stamp::parse(message.body.preview()) else {
                    continue;
                };
                window_permits.add_permits(1);
                let w = windows.lock().unwrap().get(&stamp.run).copied();
                let mut records = records.lock().unwrap();
                let r = records.entry(stamp.run).or_insert_with(RunRecord::new);
                r.acked.push(stamp.n);
                if w.is_some_and(|w| w.contains(stamp.scheduled)) {
                    r.acked_in_window += 1;
                    let _ = r.ack.record(now.saturating_sub(stamp.sent).max(1));
                }
            }
            ServerFrame::Error { error, .. } => {
                window_permits.add_permits(1);
                eprintln!("error from server: {error}");
                let mut records = records.lock().unwrap();
                // Attribute to the newest run.
                if let Some(r) = records.values_mut().max_by_key(|r| r.acked.len()) {
                    r.errors += 1;
                }
            }
            ServerFrame::Event(Event::Message(message)) => {
                record_delivery(&records, &windows, message.body.preview(), now);
            }
            _ => {}
        }
    }
}

/// What each send carries.
#[derive(Clone, Copy)]
struct Content {
    /// Bytes per text.
    text_bytes: usize,
    /// UUIDv4 client ids instead of UUIDv7.
    random_client_ids: bool,
}

async fn sender(
    user: Arc<User>,
    run: u32,
    rate_per_user: f64,
    until: Instant,
    content: Content,
    clock: Clock,
    window: Window,
) -> Result<u64> {
    let mut n: u64 = 0;
    let mut request_id: u64 = 1_000_000 * (run as u64 + 1);
    let send = async |n: u64, scheduled: u64, request_id: u64| -> Result<()> {
        let sent = clock.nanos(Instant::now());
        let stamp = Stamp {
            run,
            user: user.index,
            n,
            scheduled,
            sent,
        };
        let text = stamp.text(content.text_bytes);
        let in_window = window.contains(scheduled);
        if in_window {
            let mut records = user.records.lock().unwrap();
            let r = records.entry(run).or_insert_with(RunRecord::new);
            let _ = r.lag.record(sent.saturating_sub(scheduled).max(1));
        }
        match &user.link {
            Link::Im(sink, conversation) => {
                let client_id = if content.random_client_ids {
                    uuid::Uuid::new_v4().simple()
                } else {
                    uuid::Uuid::now_v7().simple()
                };
                let frame = format!(
                    r#"{{"id":{request_id},"op":"send_text","conversation_id":"{conversation}","client_id":"{client_id}","text":"{text}"}}"#,
                );
                sink.lock().await.send(Message::text(frame)).await?;
            }
            Link::Nats(client, subject) => {
                client.publish(subject.clone(), text.into()).await?;
                // Core NATS has no ack: a published message counts as sent.
                let mut records = user.records.lock().unwrap();
                let r = records.entry(run).or_insert_with(RunRecord::new);
                r.acked.push(n);
                if in_window {
                    r.acked_in_window += 1;
                }
                drop(records);
                user.window.add_permits(1);
            }
        }
        Ok(())
    };
    if rate_per_user > 0.0 {
        let period = Duration::from_secs_f64(1.0 / rate_per_user);
        // Spread users' first sends over one period.
        let offset = period.mul_f64((user.index as f64 * 0.618_033_988_7) % 1.0);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        loop {
            let scheduled = ticks.tick().await.into_std();
            if scheduled >= until {
                break;
            }
            n += 1;
            request_id += 1;
            send(n, clock.nanos(scheduled), request_id).await?;
        }
    } else {
        while Instant::now() < until {
            let permit = user.window.acquire().await?;
            permit.forget();
            n += 1;
            request_id += 1;
            send(n, clock.nanos(Instant::now()), request_id).await?;
        }
    }
    Ok(n)
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Figures {
    users: usize,
    group_size: usize,
    /// Server nodes the users were spread over.
    #[serde(default)]
    nodes: usize,
    offered_per_s: u64,
    seconds: f64,
    acked_per_s: f64,
    deliveries_per_s: f64,
    sent: u64,
    lost: u64,
    duplicated: u64,
    errors: u64,
    e2e_p50_ms: f64,
    e2e_p99_ms: f64,
    e2e_p999_ms: f64,
    e2e_max_ms: f64,
    e2e_from_schedule_p99_ms: f64,
    send_lag_p99_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    ack_p50_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    ack_p99_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    ack_p999_ms: f64,
    server_cpu_s: Option<f64>,
    msgs_per_server_core_s: Option<f64>,
    /// Bytes the server wrote to storage per acked message in the measured window.
    #[serde(default)]
    server_written_per_msg: Option<f64>,
    server_rss_mib: Option<f64>,
    driver_cpu_share: f64,
    /// The database server's CPU seconds (`--store-pid` and its children).
    #[serde(default)]
    store_cpu_s: Option<f64>,
    /// Acked messages per core-second of the server and the database server together.
    #[serde(default)]
    msgs_per_core_s_with_store: Option<f64>,
    /// Bytes the database server wrote per acked message.
    #[serde(default)]
    store_written_per_msg: Option<f64>,
}

/// JSON has no NaN (serde_json writes it as `null`): reads `null` back as NaN, e.g. the ack
/// latencies of a NATS run, which has no acks.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    use serde::Deserialize;
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1e6
}

/// Signs up users on im-server, creates their conversations, starts their readers.
async fn im_users(
    args: &Args,
    suffix: &str,
    windows: &Windows,
    clock: Clock,
) -> Result<Vec<Arc<User>>> {
    let mut sessions = Session::sign_up_many_on(
        &args.url,
        (0..args.users).map(|i| format!("{}{}-{}", args.prefix, suffix, i)),
        "load-test-password",
    )
    .await?;
    // The first member of each group creates its conversation.
    let mut conversations = Vec::new();
    for group in sessions.chunks_mut(args.group_size) {
        let others = group[1..].iter().map(|s| s.user.uid).collect();
        let c = group[0]
            .call(im_proto::CreateConversation {
                user_ids: others,
                ..Default::default()
            })
            .await
            .context("creating a conversation")?;
        conversations.push(c.conversation.id);
    }
    let mut users = Vec::new();
    for (i, session) in sessions.into_iter().enumerate() {
        let (sink, stream) = session.split();
        let records: Records = Arc::new(Mutex::new(HashMap::new()));
        let permits = Arc::new(Semaphore::new(args.window));
        tokio::spawn(reader(
            stream,
            records.clone(),
            windows.clone(),
            permits.clone(),
            clock,
        ));
        users.push(Arc::new(User {
            index: i as u32,
            link: Link::Im(
                Arc::new(AsyncMutex::new(sink)),
                conversations[i / args.group_size],
            ),
            records,
            window: permits,
        }));
    }
    Ok(users)
}

/// Connects users to NATS, each subscribed to its conversation's subject.
async fn nats_users(
    args: &Args,
    url: &str,
    windows: &Windows,
    clock: Clock,
) -> Result<Vec<Arc<User>>> {
    let mut users = Vec::new();
    for i in 0..args.users {
        let client = async_nats::connect(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let subject = format!("conversation.{}", i / args.group_size);
        let subscription = client.subscribe(subject.clone()).await?;
        let records: Records = Arc::new(Mutex::new(HashMap::new()));
        tokio::spawn(nats_reader(
            subscription,
            i as u32,
            records.clone(),
            windows.clone(),
            clock,
        ));
        users.push(Arc::new(User {
            index: i as u32,
            link: Link::Nats(client, subject),
            records,
            window: Arc::new(Semaphore::new(args.window)),
        }));
    }
    // Let every subscription reach the server before anyone publishes.
    for u in &users {
        if let Link::Nats(client, _) = &u.link {
            client.flush().await?;
        }
    }
    Ok(users)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !args.summarize.is_empty() {
        let mut all: Vec<Figures> = Vec::new();
        for path in &args.summarize {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            for line in text.lines().filter(|l| l.starts_with('{')) {
                all.push(serde_json::from_str(line)?);
            }
        }
        let mut rates: Vec<u64> = Vec::new();
        for f in &all {
            if !rates.contains(&f.offered_per_s) {
                rates.push(f.offered_per_s);
            }
        }
        summarize(&rates, &all);
        return Ok(());
    }
    if args.group_size < 2 || args.users % args.group_size != 0 {
        bail!("--users must be a multiple of --group-size (at least 2)");
    }
    let clock = Clock(Instant::now());
    let suffix = format!(
        "{:x}",
        std::process::id() ^ (clock.0.elapsed().as_nanos() as u32)
    );
    eprintln!(
        "setting up {} users in conversations of {} …",
        args.users, args.group_size
    );
    let setup_start = Instant::now();
    let windows: Windows = Arc::new(Mutex::new(HashMap::new()));
    let users = match &args.nats {
        None => im_users(&args, &suffix, &windows, clock).await?,
        Some(url) => nats_users(&args, url, &windows, clock).await?,
    };
    eprintln!("set up in {:.1} s", setup_start.elapsed().as_secs_f64());

    let mut all = Vec::new();
    let schedule: Vec<u64> = (0..args.repeat.max(1))
        .flat_map(|_| args.rates.iter().copied())
        .collect();
    for (run, &rate) in schedule.iter().enumerate() {
        let run = run as u32;
        let begin = Instant::now();
        let measure_from = begin + Duration::from_secs_f64(args.warmup);
        let until = measure_from + Duration::from_secs_f64(args.duration);
        let run_window = Window {
            from: clock.nanos(measure_from),
            to: clock.nanos(until),
        };
        windows.lock().unwrap().insert(run, run_window);
        for u in &users {
            // Each run starts with exactly `window` permits per user: refill what the last
            // closed-loop run used, and drop the surplus that acks of open-loop runs added
            // (otherwise a max run after open-loop runs would keep ~1,000 sends in flight per
            // user and measure queueing instead of throughput).
            let available = u.window.available_permits();
            if available > args.window {
                u.window.forget_permits(available - args.window);
            } else {
                u.window.add_permits(args.window - available);
            }
        }
        let rate_per_user = rate as f64 / args.users as f64;
        let senders: Vec<_> = users
            .iter()
            .map(|u| {
                tokio::spawn(sender(
                    u.clone(),
                    run,
                    rate_per_user,
                    until,
                    Content {
                        text_bytes: args.text_bytes,
                        random_client_ids: args.random_client_ids,
                    },
                    clock,
                    run_window,
                ))
            })
            .collect();
        tokio::time::sleep_until(measure_from.into()).await;
        let server_before = sum_samples(&args.server_pid)?;
        let store_before = sum_trees(&args.store_pid)?;
        let driver_before = proc_sample(0)?;
        tokio::time::sleep_until(until.into()).await;
        let server_after = sum_samples(&args.server_pid)?;
        let store_after = sum_trees(&args.store_pid)?;
        let driver_after = proc_sample(0)?;
        let mut sent = 0;
        for s in senders {
            sent += s.await??;
        }
        // Wait for every acked message to reach every other member (or give up after 15 s).
        let deadline = Instant::now() + Duration::from_secs(15);
        let (mut lost, mut duplicated, mut errors);
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            (lost, duplicated, errors) = (0u64, 0u64, 0u64);
            for group in users.chunks(args.group_size) {
                for receiver in group {
                    let rec = receiver.records.lock().unwrap();
                    let r = rec.get(&run);
                    duplicated += r.map_or(0, |r| r.duplicates);
                    errors += r.map_or(0, |r| r.errors);
                    for sender in group.iter().filter(|s| s.index != receiver.index) {
                        let acked = sender
                            .records
                            .lock()
                            .unwrap()
                            .get(&run)
                            .map(|r| r.acked.clone())
                            .unwrap_or_default();
                        lost += acked
                            .iter()
                            .filter(|n| {
                                !r.is_some_and(|r| r.received.contains(&(sender.index, **n)))
                            })
                            .count() as u64;
                    }
                }
            }
            if lost == 0 || Instant::now() > deadline {
                break;
            }
        }
        let mut e2e = Histogram::<u64>::new_with_bounds(1, 120_000_000_000, 3)?;
        let mut ack = Histogram::<u64>::new_with_bounds(1, 120_000_000_000, 3)?;
        let mut e2e_sched = Histogram::<u64>::new_with_bounds(1, 120_000_000_000, 3)?;
        let mut lag = Histogram::<u64>::new_with_bounds(1, 120_000_000_000, 3)?;
        let (mut acked_in_window, mut received_in_window) = (0, 0);
        for u in &users {
            let rec = u.records.lock().unwrap();
            if let Some(r) = rec.get(&run) {
                e2e.add(&r.e2e)?;
                e2e_sched.add(&r.e2e_sched)?;
                lag.add(&r.lag)?;
                ack.add(&r.ack)?;
                acked_in_window += r.acked_in_window;
                received_in_window += r.received_in_window;
            }
        }
        let seconds = args.duration;
        let server_cpu = server_before
            .zip(server_after)
            .map(|(a, b)| b.cpu_seconds - a.cpu_seconds);
        let store_cpu = store_before
            .zip(store_after)
            .map(|(a, b)| b.cpu_seconds - a.cpu_seconds);
        let figures = Figures {
            users: args.users,
            group_size: args.group_size,
            nodes: args.url.len(),
            offered_per_s: rate,
            seconds,
            acked_per_s: acked_in_window as f64 / seconds,
            deliveries_per_s: received_in_window as f64 / seconds,
            sent,
            lost,
            duplicated,
            errors,
            e2e_p50_ms: ms(&e2e, 0.5),
            e2e_p99_ms: ms(&e2e, 0.99),
            e2e_p999_ms: ms(&e2e, 0.999),
            e2e_max_ms: e2e.max() as f64 / 1e6,
            e2e_from_schedule_p99_ms: ms(&e2e_sched, 0.99),
            send_lag_p99_ms: ms(&lag, 0.99),
            ack_p50_ms: ms(&ack, 0.5),
            ack_p99_ms: ms(&ack, 0.99),
            ack_p999_ms: ms(&ack, 0.999),
            server_cpu_s: server_cpu,
            msgs_per_server_core_s: server_cpu.map(|cpu| acked_in_window as f64 / cpu.max(1e-9)),
            server_written_per_msg: server_before
                .zip(server_after)
                .and_then(|(a, b)| Some(b.written_bytes?.saturating_sub(a.written_bytes?)))
                .map(|bytes| bytes as f64 / acked_in_window.max(1) as f64),
            server_rss_mib: server_after.map(|s| s.rss_bytes as f64 / 1048576.0),
            driver_cpu_share: (driver_after.cpu_seconds - driver_before.cpu_seconds) / seconds,
            store_cpu_s: store_cpu,
            msgs_per_core_s_with_store: server_cpu
                .zip(store_cpu)
                .map(|(s, d)| acked_in_window as f64 / (s + d).max(1e-9)),
            store_written_per_msg: store_before
                .zip(store_after)
                .and_then(|(a, b)| Some(b.written_bytes?.saturating_sub(a.written_bytes?)))
                .map(|bytes| bytes as f64 / acked_in_window.max(1) as f64),
        };
        print_figures(&figures);
        if args.json {
            println!("{}", serde_json::to_string(&figures)?);
        }
        all.push(figures);
    }
    if args.repeat > 1 {
        summarize(&args.rates, &all);
    }
    Ok(())
}

/// CPU, memory and writes of the server's processes, summed (`None` without any).
fn sum_samples(pids: &[u32]) -> Result<Option<im_bench::ProcSample>> {
    sum(pids, proc_sample)
}

/// [`sum_samples`] over process trees (PostgreSQL's backends are the postmaster's children).
fn sum_trees(pids: &[u32]) -> Result<Option<im_bench::ProcSample>> {
    sum(pids, tree_sample)
}

fn sum(
    pids: &[u32],
    sample: fn(u32) -> Result<im_bench::ProcSample>,
) -> Result<Option<im_bench::ProcSample>> {
    let mut total: Option<im_bench::ProcSample> = None;
    for &pid in pids {
        let one = sample(pid)?;
        total = Some(match total {
            None => one,
            Some(t) => im_bench::ProcSample {
                cpu_seconds: t.cpu_seconds + one.cpu_seconds,
                rss_bytes: t.rss_bytes + one.rss_bytes,
                written_bytes: t.written_bytes.zip(one.written_bytes).map(|(a, b)| a + b),
            },
        });
    }
    Ok(total)
}

/// Medians (and ranges) per offered rate over the repeated runs.
fn summarize(rates: &[u64], all: &[Figures]) {
    println!(
        "\nsummary (median, range) over {} runs per rate:",
        all.len() / rates.len().max(1)
    );
    for &rate in rates {
        let runs: Vec<&Figures> = all.iter().filter(|f| f.offered_per_s == rate).collect();
        let stat = |get: fn(&Figures) -> f64| {
            let mut v: Vec<f64> = runs
                .iter()
                .map(|f| get(f))
                .filter(|x| x.is_finite())
                .collect();
            if v.is_empty() {
                return "-".to_owned();
            }
            let (lo, hi) = v
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
            let m = median(&mut v);
            if m >= 100.0 {
                format!("{m:.0} ({lo:.0}–{hi:.0})")
            } else {
                format!("{m:.2} ({lo:.2}–{hi:.2})")
            }
        };
        let offered = if rate == 0 {
            "max".to_owned()
        } else {
            rate.to_string()
        };
        println!(
            "offered {offered:>6}/s: acked/s {} | e2e p50 {} p99 {} p99.9 {} ms | ack p50 {} p99 {} ms | msgs per server core-s {} | written B/msg {} | server rss MiB {} | lost {} dup {}{}",
            stat(|f| f.acked_per_s),
            stat(|f| f.e2e_p50_ms),
            stat(|f| f.e2e_p99_ms),
            stat(|f| f.e2e_p999_ms),
            stat(|f| f.ack_p50_ms),
            stat(|f| f.ack_p99_ms),
            stat(|f| f.msgs_per_server_core_s.unwrap_or(f64::NAN)),
            stat(|f| f.server_written_per_msg.unwrap_or(f64::NAN)),
            stat(|f| f.server_rss_mib.unwrap_or(f64::NAN)),
            runs.iter().map(|f| f.lost).sum::<u64>(),
            runs.iter().map(|f| f.duplicated).sum::<u64>(),
            if runs.iter().any(|f| f.store_cpu_s.is_some()) {
                format!(
                    " | database cpu share {} | msgs per core-s with the database {} | database written B/msg {}",
                    stat(|f| f.store_cpu_s.unwrap_or(f64::NAN) / f.seconds),
                    stat(|f| f.msgs_per_core_s_with_store.unwrap_or(f64::NAN)),
                    stat(|f| f.store_written_per_msg.unwrap_or(f64::NAN)),
                )
            } else {
                String::new()
            },
        );
    }
}

fn print_figures(f: &Figures) {
    let offered = if f.offered_per_s == 0 {
        "max".to_owned()
    } else {
        f.offered_per_s.to_string()
    };
    let driver_bound = f.driver_cpu_share > 0.9 || f.send_lag_p99_ms > 5.0;
    println!(
        "offered {offered:>6}/s | acked {:>8.0}/s deliveries {:>8.0}/s | lost {} dup {} err {} | e2e p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.1} ms (p99 {:.2} from schedule; send lag p99 {:.2}) | ack p50 {:.2} p99 {:.2} ms | server cpu {} | msgs/core-s {} | written {} | rss {} | driver cpu {:.0}%{}",
        f.acked_per_s,
        f.deliveries_per_s,
        f.lost,
        f.duplicated,
        f.errors,
        f.e2e_p50_ms,
        f.e2e_p99_ms,
        f.e2e_p999_ms,
        f.e2e_max_ms,
        f.e2e_from_schedule_p99_ms,
        f.send_lag_p99_ms,
        f.ack_p50_ms,
        f.ack_p99_ms,
        f.server_cpu_s.map_or("-".into(), |c| format!("{:.2} s ({:.0}% of a core)", c, 100.0 * c / f.seconds)),
        f.msgs_per_server_core_s.map_or("-".into(), |m| format!("{m:.0}")),
        f.server_written_per_msg.map_or("-".into(), |b| format!("{b:.0} B/msg")),
        f.server_rss_mib.map_or("-".into(), |m| format!("{m:.1} MiB")),
        100.0 * f.driver_cpu_share,
        if driver_bound { " (driver-bound)" } else { "" },
    );
    if let Some(cpu) = f.store_cpu_s {
        println!(
            "    database cpu {cpu:.2} s ({:.0}% of a core) | msgs per core-s of server + database {} | database written {}",
            100.0 * cpu / f.seconds,
            f.msgs_per_core_s_with_store.map_or("-".into(), |m| format!("{m:.0}")),
            f.store_written_per_msg.map_or("-".into(), |b| format!("{b:.0} B/msg")),
        );
    }
}
