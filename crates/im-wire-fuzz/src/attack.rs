//! The attack loop: many concurrent connections, each reconnecting as the server closes it,
//! sending generated and mutated requests for every op plus frame-level abuse (binary frames,
//! fragmented messages, frames at and above `max_frame_bytes`, invalid UTF-8, pings with payload,
//! close frames with odd codes, reserved bits and opcodes, floods past the rate limit, requests
//! before `hello` and after `sign_out`) and broken handshakes (plain HTTP, garbage), while a
//! reader per connection tallies every reply and flags what a correct server never does.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use im_proto::{decode_server_frame, Event, ServerFrame, SignedIn};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Semaphore};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Ws};
use crate::generate::Ctx;
use crate::mutate::{Mutator, Payload};
use crate::stats::{show_bytes, Finding, Stats};
use crate::world::World;

/// Where the ids of requests sent as generated (unmutated) start.
const VALID_IDS: u64 = 1 << 40;
/// Requests in flight per connection before the writer waits for replies.
const WINDOW: usize = 32;
/// Frames remembered per connection, to reproduce a finding.
const RECENT: usize = 12;
/// Requests remembered per connection while they await their reply.
const PENDING_KEPT: usize = 4096;
/// How long a connection that the server is closing may take to end (an upper bound).
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// How the attack runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `ws://…/ws`.
    pub url: String,
    /// The server's address.
    pub addr: SocketAddr,
    /// Concurrent connections.
    pub connections: usize,
    /// Frames to send in all.
    pub frames: u64,
    /// The run's seed.
    pub seed: u64,
    /// Fraction of requests that are mutated (the rest go out valid).
    pub mutate_ratio: f64,
    /// Longest wait for a reply before the server counts as hung (an upper bound).
    pub reply_timeout: Duration,
    /// Give each connection its own loopback source address (the server throttles failed
    /// sign-ins per address).
    pub spread_sources: bool,
}

/// The seed of worker `index`'s random generator, derived from the run's seed.
pub fn worker_seed(seed: u64, index: usize) -> u64 {
    // SplitMix64 of seed + index: distinct, well-spread streams per worker.
    let mut z = seed.wrapping_add((index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The loopback address set-up connections come from (none for a remote server).
pub fn setup_source(addr: SocketAddr) -> Option<IpAddr> {
    loopback(addr).then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
}

/// The loopback address token refills come from: only correct passwords are sent from it, so it
/// is never throttled.
fn refill_source(addr: SocketAddr) -> Option<IpAddr> {
    loopback(addr).then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)))
}

/// The loopback address the final check's normal client comes from.
pub fn verify_source(addr: SocketAddr) -> Option<IpAddr> {
    loopback(addr).then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4)))
}

fn loopback(addr: SocketAddr) -> bool {
    matches!(addr.ip(), IpAddr::V4(v4) if v4.is_loopback())
}

fn worker_source(plan: &Plan, index: usize) -> Option<IpAddr> {
    (plan.spread_sources && loopback(plan.addr)).then(|| {
        let n = index as u32;
        IpAddr::V4(Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8))
    })
}

/// The frame budget shared by all workers.
#[derive(Debug)]
struct Budget(AtomicI64);

impl Budget {
    /// Takes `n` frames if that many are left.
    fn take(&self, n: u64) -> bool {
        let n = n as i64;
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                (left >= n).then_some(left - n)
            })
            .is_ok()
    }
}

/// Runs the attack until `plan.frames` frames are sent. A frame taken from the budget is not
/// always sent (the server may close the connection first), so a short round is topped up by
/// another one for what is missing.
pub async fn run(plan: &Plan, world: Arc<World>, stats: Arc<Stats>) -> Result<()> {
    // Broken handshakes in progress at once, over all workers.
    let raw_slots = Arc::new(Semaphore::new(64));
    for round in 0..5u64 {
        let sent = Stats::get(&stats.frames);
        if sent >= plan.frames {
            break;
        }
        let budget = Arc::new(Budget(AtomicI64::new((plan.frames - sent) as i64)));
        let mut handles = Vec::new();
        for index in 0..plan.connections.max(1) {
            // Round 0 keeps the seeds of earlier versions; top-ups get seeds of their own.
            let seed = worker_seed(plan.seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15), index);
            let mut worker = Worker {
                plan: plan.clone(),
                seed,
                rng: StdRng::seed_from_u64(seed),
                mutator: Mutator::new(world.limits.max_frame_bytes),
                source: worker_source(plan, index),
                me: index % world.main_accounts,
                world: world.clone(),
                stats: stats.clone(),
                budget: budget.clone(),
                next_id: 1,
                last_text: String::from(r#"{"id":1,"op":"ping"}"#),
                raw_slots: raw_slots.clone(),
                raw_tasks: Vec::new(),
            };
            handles.push(tokio::spawn(async move { worker.run().await }));
        }
        for handle in handles {
            handle.await??;
        }
    }
    Ok(())
}

/// A reply the writer waits for.
#[derive(Debug)]
enum Reply {
    Result,
    Error(String),
}

#[derive(Debug)]
struct Pending {
    op: String,
    /// Sent as generated, unmutated: a correct server never calls it unreadable.
    valid: bool,
    frame: String,
    waiter: Option<oneshot::Sender<Reply>>,
}

/// What the writer and the reader of one connection share.
#[derive(Debug)]
struct Conn {
    window: Semaphore,
    pending: Mutex<BTreeMap<u64, Pending>>,
    recent: Mutex<VecDeque<String>>,
    signed_in: AtomicBool,
    token: Mutex<Option<String>>,
    worker_seed: u64,
}

impl Conn {
    /// The connection's session ended (its own `sign_out`, or the token was signed out
    /// elsewhere): the token is dead.
    fn signed_out(&self, world: &World) {
        if self.signed_in.swap(false, Ordering::Relaxed) {
            if let Some(token) = self.token.lock().expect("token").take() {
                world.revoke(&token);
            }
        }
    }

    fn remember(&self, bytes: &[u8]) {
        let mut recent = self.recent.lock().expect("recent");
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(show_bytes(bytes, 4096));
    }

    fn finding(&self, kind: &str, detail: String, frames: Option<Vec<String>>) -> Finding {
        Finding {
            kind: kind.into(),
            detail,
            worker_seed: self.worker_seed,
            frames: frames.unwrap_or_else(|| {
                self.recent
                    .lock()
                    .expect("recent")
                    .iter()
                    .cloned()
                    .collect()
            }),
        }
    }
}

/// How a connection ended, as its reader saw it.
#[derive(Debug)]
struct Ended {
    close: Option<u16>,
}

struct Worker {
    plan: Plan,
    seed: u64,
    rng: StdRng,
    mutator: Mutator,
    source: Option<IpAddr>,
    me: usize,
    world: Arc<World>,
    stats: Arc<Stats>,
    budget: Arc<Budget>,
    next_id: u64,
    last_text: String,
    raw_slots: Arc<Semaphore>,
    raw_tasks: Vec<tokio::task::JoinHandle<()>>,
}

type Sink = SplitSink<Ws, Message>;

/// Why a session stopped early.
enum Stop {
    /// The frame budget is spent.
    Budget,
    /// The connection is over: the server closed it, or must close it after what we sent.
    Closed,
    /// The server stopped answering (already recorded as a finding).
    Hung,
}

impl Worker {
    async fn run(&mut self) -> Result<()> {
        while self.budget.0.load(Ordering::Relaxed) > 0 {
            if self.rng.random_bool(0.04) {
                if self.budget.take(1) {
                    let raw = RawSession {
                        url: self.plan.url.clone(),
                        addr: self.plan.addr,
                        source: self.source,
                        seed: self.seed,
                        rng: StdRng::seed_from_u64(self.rng.random()),
                        stats: self.stats.clone(),
                    };
                    let permit = self.raw_slots.clone().acquire_owned().await;
                    self.raw_tasks.retain(|t| !t.is_finished());
                    self.raw_tasks.push(tokio::spawn(async move {
                        let _permit = permit;
                        raw.run().await;
                    }));
                }
                continue;
            }
            match client::open(&self.plan.url, self.plan.addr, self.source).await {
                Ok(ws) => {
                    self.stats.connections.fetch_add(1, Ordering::Relaxed);
                    self.session(ws).await;
                }
                Err(e) => {
                    self.stats.finding(Finding {
                        kind: "connect_failed".into(),
                        detail: format!("{e:#}"),
                        worker_seed: self.seed,
                        frames: Vec::new(),
                    });
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        for task in self.raw_tasks.drain(..) {
            let _ = task.await;
        }
        Ok(())
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            world: &self.world,
            me: self.me,
        }
    }

    /// One WebSocket connection, from handshake to close.
    async fn session(&mut self, ws: Ws) {
        let (mut sink, stream) = ws.split();
        let conn = Arc::new(Conn {
            window: Semaphore::new(WINDOW),
            pending: Mutex::new(BTreeMap::new()),
            recent: Mutex::new(VecDeque::new()),
            signed_in: AtomicBool::new(false),
            token: Mutex::new(None),
            worker_seed: self.seed,
        });
        let mut reader = tokio::spawn(read_loop(
            stream,
            conn.clone(),
            self.stats.clone(),
            self.world.clone(),
        ));
        if self.rng.random_bool(0.2) {
            self.me = self.rng.random_range(0..self.world.main_accounts);
        }
        let mut outcome = self.drive(&mut sink, &conn).await;
        if matches!(outcome, Ok(()) | Err(Stop::Budget)) && !self.all_answered(&conn).await {
            outcome = Err(Stop::Hung);
        }
        let mut ours = false;
        let wait = match outcome {
            Ok(()) if self.rng.random_bool(0.5) => {
                // Just hang up: both halves of the socket go away at once.
                drop(sink);
                reader.abort();
                self.stats.close("dropped_by_client");
                return;
            }
            Ok(()) | Err(Stop::Budget) => {
                let _ = sink.send(Message::Close(None)).await;
                ours = true;
                true
            }
            // The server is closing the connection (or must, after what we sent).
            Err(Stop::Closed) => true,
            Err(Stop::Hung) => false,
        };
        if !wait {
            reader.abort();
            self.stats.close("abandoned_hung");
            return;
        }
        match tokio::time::timeout(CLOSE_WAIT, &mut reader).await {
            Ok(Ok(Ended { close })) => {
                let code = close.map_or("none".into(), |c| c.to_string());
                if ours {
                    // The server's answer to our own close frame.
                    self.stats.close(&format!("answer_to_client_close:{code}"));
                } else {
                    self.stats.close(&code);
                }
            }
            Ok(Err(_)) => self.stats.close("reader_failed"),
            Err(_) => {
                reader.abort();
                self.stats.close("still_open");
                self.stats.finding(conn.finding(
                    "not_closed",
                    format!(
                        "the connection was still open {CLOSE_WAIT:?} after a close frame or a frame the server must close on"
                    ),
                    None,
                ));
            }
        }
    }

    /// Waits until every request sent on a connection the server keeps open has had its reply,
    /// and checks that none had two: each request gets exactly one reply (PROTOCOL.md §3.2).
    async fn all_answered(&self, conn: &Conn) -> bool {
        let all = WINDOW as u32;
        let drained = tokio::time::timeout(self.plan.reply_timeout, conn.window.acquire_many(all));
        match drained.await {
            Ok(Ok(permits)) => drop(permits),
            // The server closed the connection meanwhile: what was in flight is lost, as
            // documented.
            Ok(Err(_)) => return true,
            Err(_) => {
                self.no_reply(conn, "some requests");
                return false;
            }
        }
        let extra = conn.window.available_permits().saturating_sub(WINDOW);
        if extra > 0 {
            self.stats.finding(conn.finding(
                "extra_reply",
                format!("{extra} more replies than requests on one connection"),
                None,
            ));
        }
        true
    }

    async fn drive(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        // Requests before hello.
        if self.rng.random_bool(0.08) {
            self.stats.attack("before_hello");
            for _ in 0..self.rng.random_range(1..4) {
                self.request(sink, conn).await?;
            }
        }
        if self.rng.random_bool(0.95) {
            let id = self.valid_id();
            let hello = json!({"id": id, "op": "hello", "protocol": 1, "client": "im-wire-fuzz"});
            self.call(sink, conn, id, "hello", hello.to_string())
                .await?;
        }
        if self.rng.random_bool(0.85) {
            self.authenticate(sink, conn).await?;
        } else {
            self.stats.attack("anonymous");
        }
        let actions = self.rng.random_range(20..600);
        for _ in 0..actions {
            if !conn.signed_in.load(Ordering::Relaxed) && self.rng.random_bool(0.05) {
                // Requests after sign_out carried on for a while; now sign in again.
                self.authenticate(sink, conn).await?;
            }
            self.action(sink, conn).await?;
        }
        Ok(())
    }

    /// A fresh request id for a frame that may be damaged.
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh request id for a frame sent as generated. These live far above the others, so
    /// that damage to a mutated frame's id (a flipped bit, an inserted digit) does not turn it
    /// into a valid frame's id and have its reply taken for that frame's.
    fn valid_id(&mut self) -> u64 {
        VALID_IDS + self.id()
    }

    /// Resume with a known token of `self.me` (refilling the pool with a sign-in when it is
    /// empty).
    async fn authenticate(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        for _ in 0..3 {
            let token = match self.world.token(self.me, &mut self.rng) {
                Some(token) => token,
                None => match self.refill().await {
                    Some(token) => token,
                    None => return Ok(()),
                },
            };
            let id = self.valid_id();
            let frame = json!({"id": id, "op": "resume", "token": token}).to_string();
            *conn.token.lock().expect("token") = Some(token.clone());
            match self.call(sink, conn, id, "resume", frame).await? {
                Some(Reply::Result) => return Ok(()),
                Some(Reply::Error(code)) if code == "invalid_token" => self.world.revoke(&token),
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// A fresh token for `self.me` from a sign-in with the right password, on a connection of
    /// its own from an address that never fails a sign-in.
    async fn refill(&mut self) -> Option<String> {
        let account = self.world.accounts[self.me].clone();
        let mut c = client::Client::connect(&self.plan.url, refill_source(self.plan.addr))
            .await
            .ok()?;
        self.stats.attack("token_refill");
        let signed = c.sign_in(&account.username, &account.password).await;
        let token = c.token.clone();
        c.close().await;
        match signed {
            Ok(_) => {
                let token = token?;
                self.world.add_token(&account.uid, token.clone());
                Some(token)
            }
            Err(e) => {
                self.stats.finding(Finding {
                    kind: "refill_failed".into(),
                    detail: format!(
                        "signing {} in with the right password: {e:#}",
                        account.username
                    ),
                    worker_seed: self.seed,
                    frames: Vec::new(),
                });
                None
            }
        }
    }

    /// Sends a text request and waits for its reply (`None` if the connection ended first).
    async fn call(
        &mut self,
        sink: &mut Sink,
        conn: &Arc<Conn>,
        id: u64,
        op: &str,
        frame: String,
    ) -> Result<Option<Reply>, Stop> {
        let (tx, rx) = oneshot::channel();
        self.track(conn, id, op, true, &frame, Some(tx));
        self.send_request(sink, conn, Message::text(frame)).await?;
        match tokio::time::timeout(self.plan.reply_timeout, rx).await {
            Ok(Ok(reply)) => Ok(Some(reply)),
            Ok(Err(_)) => Err(Stop::Closed),
            Err(_) => {
                self.no_reply(conn, op);
                Err(Stop::Hung)
            }
        }
    }

    fn no_reply(&self, conn: &Conn, what: &str) {
        // The newest requests still waiting (those whose id we know), then the frames
        // sent last.
        let mut frames: Vec<String> = conn
            .pending
            .lock()
            .expect("pending")
            .iter()
            .rev()
            .take(8)
            .map(|(id, p)| format!("unanswered id {id} ({}): {}", p.op, p.frame))
            .collect();
        frames.extend(conn.recent.lock().expect("recent").iter().cloned());
        let outstanding = WINDOW.saturating_sub(conn.window.available_permits());
        self.stats.finding(conn.finding(
            "no_reply",
            format!(
                "no reply to {what} within {:?} on an open connection ({outstanding} requests in flight)",
                self.plan.reply_timeout
            ),
            Some(frames),
        ));
    }

    fn track(
        &self,
        conn: &Conn,
        id: u64,
        op: &str,
        valid: bool,
        frame: &str,
        waiter: Option<oneshot::Sender<Reply>>,
    ) {
        let mut pending = conn.pending.lock().expect("pending");
        if pending.len() >= PENDING_KEPT {
            pending.pop_first();
        }
        pending.insert(
            id,
            Pending {
                op: op.to_owned(),
                valid,
                frame: show_bytes(frame.as_bytes(), 4096),
                waiter,
            },
        );
    }

    /// Takes one frame from the budget.
    fn take(&self, n: u64) -> Result<(), Stop> {
        if self.budget.take(n) {
            Ok(())
        } else {
            Err(Stop::Budget)
        }
    }

    /// Sends a frame that gets exactly one reply, waiting first for room in the window.
    async fn send_request(
        &mut self,
        sink: &mut Sink,
        conn: &Arc<Conn>,
        message: Message,
    ) -> Result<(), Stop> {
        self.take(1)?;
        match tokio::time::timeout(self.plan.reply_timeout, conn.window.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            Ok(Err(_)) => return Err(Stop::Closed),
            Err(_) => {
                self.no_reply(conn, "the oldest of the requests in flight");
                return Err(Stop::Hung);
            }
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.write(sink, conn, message).await
    }

    /// Sends a frame (already taken from the budget) and remembers it.
    async fn write(&mut self, sink: &mut Sink, conn: &Conn, message: Message) -> Result<(), Stop> {
        let bytes = match &message {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => &b[..],
            Message::Frame(f) => f.payload(),
            Message::Close(_) => &[][..],
        };
        self.stats.sent(bytes.len());
        conn.remember(bytes);
        sink.send(message).await.map_err(|_| Stop::Closed)
    }

    /// Writes raw frames (each taken from the budget) and flushes once.
    async fn write_frames(
        &mut self,
        sink: &mut Sink,
        conn: &Conn,
        frames: Vec<Frame>,
    ) -> Result<(), Stop> {
        self.take(frames.len() as u64)?;
        self.feed_frames(sink, conn, frames).await
    }

    /// Writes raw frames already taken from the budget, and flushes once.
    async fn feed_frames(
        &mut self,
        sink: &mut Sink,
        conn: &Conn,
        frames: Vec<Frame>,
    ) -> Result<(), Stop> {
        for frame in frames {
            self.stats.sent(frame.payload().len());
            conn.remember(frame.payload());
            sink.feed(Message::Frame(frame))
                .await
                .map_err(|_| Stop::Closed)?;
        }
        sink.flush().await.map_err(|_| Stop::Closed)
    }

    /// Picks an op, weighted towards what the connection's state makes interesting.
    fn pick_op(&mut self, signed_in: bool) -> &'static str {
        const SIGNED_IN: &[(&str, u32)] = &[
            ("hello", 6),
            ("ping", 8),
            ("sign_up", 2),
            ("sign_in", 3),
            ("resume", 4),
            ("sign_out", 1),
            ("change_password", 1),
            ("list_sessions", 4),
            ("revoke_session", 2),
            ("find_users", 12),
            ("get_users", 12),
            ("create_conversation", 16),
            ("get_conversation", 20),
            ("list_conversations", 16),
            ("sync", 16),
            ("update_conversation", 16),
            ("add_members", 16),
            ("remove_members", 16),
            ("send_text", 32),
            ("get_messages", 24),
            ("mark_read", 20),
            ("typing", 16),
            ("mute_conversation", 8),
            // Blocks close single chats to sends: few, and lifted as often as set.
            ("block_user", 3),
            ("unblock_user", 3),
            ("get_blocked", 4),
        ];
        const ANONYMOUS: &[(&str, u32)] = &[
            ("hello", 4),
            ("ping", 4),
            ("sign_up", 1),
            ("sign_in", 2),
            ("resume", 8),
            ("send_text", 3),
            ("get_conversation", 2),
            ("sync", 2),
            ("sign_out", 2),
        ];
        let table = if signed_in { SIGNED_IN } else { ANONYMOUS };
        let total: u32 = table.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.random_range(0..total);
        for (op, weight) in table {
            if pick < *weight {
                return op;
            }
            pick -= weight;
        }
        "ping"
    }

    /// A generated request, maybe mutated: its op, id and payload.
    fn make_request(&mut self, conn: &Conn) -> (String, u64, Payload, bool) {
        let signed_in = conn.signed_in.load(Ordering::Relaxed);
        let mut op = self.pick_op(signed_in).to_owned();
        if self.rng.random_bool(0.01) {
            // An op of the protocol this generator may not know yet.
            op = im_proto::OPS
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("ping")
                .to_owned();
        }
        let id = self.id();
        let mut rng = StdRng::seed_from_u64(self.rng.random());
        let frame: Map<String, Value> = self.ctx().frame(&op, id, &mut rng);
        // A sign-in as a main account is never mutated: a damaged password would count as a
        // failed sign-in, and five of them lock the account out of the refills the attack needs.
        let main_sign_in = op == "sign_in"
            && frame
                .get("username")
                .and_then(Value::as_str)
                .and_then(|u| self.world.account_of_name(u))
                .is_some_and(|a| a < self.world.main_accounts);
        let valid = main_sign_in || !self.rng.random_bool(self.plan.mutate_ratio);
        let id = if valid { VALID_IDS + id } else { id };
        let mut frame = frame;
        frame.insert("id".into(), json!(id));
        let payload = if !valid {
            let (payload, applied) = self.mutator.mutate(frame, &self.last_text, &mut rng);
            for name in applied {
                self.stats.attack(name);
            }
            payload
        } else {
            self.stats.attack("valid");
            Payload::Text(Value::Object(frame).to_string())
        };
        if let Payload::Text(text) = &payload {
            if text.len() < 2048 {
                // Kept for splicing into later frames, with its id blanked: a later frame must
                // not carry this one's id, or its reply would be taken for this one's.
                self.last_text = text.replace(&format!("\"id\":{id}"), "\"id\":0");
            }
        }
        (op, id, payload, valid)
    }

    /// One generated (maybe mutated) request as a text frame.
    async fn request(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        let (op, id, payload, valid) = self.make_request(conn);
        match payload {
            Payload::Text(text) => {
                self.track(conn, id, &op, valid, &text, None);
                self.send_request(sink, conn, Message::text(text)).await
            }
            Payload::Bytes(bytes) => {
                // Not UTF-8: the server must close with 1007.
                self.stats.attack("text_not_utf8");
                let frame = Frame::message(bytes, OpCode::Data(Data::Text), true);
                self.write_frames(sink, conn, vec![frame]).await?;
                Err(Stop::Closed)
            }
        }
    }

    /// One step of the attack on an open connection.
    async fn action(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        let roll = self.rng.random_range(0..1000);
        match roll {
            0..=879 => self.request(sink, conn).await,
            880..=899 => {
                self.stats.attack("binary");
                let (_, _, payload, _) = self.make_request(conn);
                let bytes = payload.as_bytes().to_vec();
                self.send_request(sink, conn, Message::binary(bytes)).await
            }
            900..=919 => self.fragmented(sink, conn).await,
            920..=934 => {
                self.stats.attack("ping_payload");
                self.take(1)?;
                let n = self.rng.random_range(0..=125);
                let payload: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
                self.write(sink, conn, Message::Ping(payload.into())).await
            }
            935..=944 => {
                self.stats.attack("unsolicited_pong");
                self.take(1)?;
                self.write(sink, conn, Message::Pong(b"surprise".to_vec().into()))
                    .await
            }
            945..=964 => self.at_the_limit(sink, conn).await,
            965 if self.rng.random_bool(0.2) => self.flood(sink, conn).await,
            965..=969 => self.request(sink, conn).await,
            970 if self.rng.random_bool(0.5) => {
                // Sign out, then keep going unauthenticated for a while.
                self.stats.attack("sign_out");
                let id = self.valid_id();
                let frame = json!({"id": id, "op": "sign_out"}).to_string();
                self.call(sink, conn, id, "sign_out", frame)
                    .await
                    .map(|_| ())
            }
            970..=985 => self.request(sink, conn).await,
            _ => self.terminal(sink, conn).await,
        }
    }

    /// A valid request split over several frames (which the server must reassemble), or a
    /// data frame interleaved with a ping mid-message.
    async fn fragmented(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        self.stats.attack("fragmented");
        let (op, id, payload, valid) = self.make_request(conn);
        let bytes = payload.as_bytes().to_vec();
        let pieces = self.rng.random_range(2..=5).min(bytes.len().max(2));
        let mut cuts: Vec<usize> = (0..pieces - 1)
            .map(|_| self.rng.random_range(0..=bytes.len()))
            .collect();
        cuts.sort_unstable();
        let mut frames = Vec::new();
        let mut start = 0;
        for (i, &cut) in cuts.iter().chain(std::iter::once(&bytes.len())).enumerate() {
            let opcode = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            let last = cut == bytes.len() && i == cuts.len();
            frames.push(Frame::message(bytes[start..cut].to_vec(), opcode, last));
            if i == 0 && self.rng.random_bool(0.3) {
                // A control frame may come between the fragments of a message.
                frames.push(Frame::ping(b"mid".to_vec()));
            }
            start = cut;
        }
        if let Payload::Text(text) = &payload {
            self.track(conn, id, &op, valid, text, None);
        }
        // The budget first: a permit taken for frames that are then not sent would wait for a
        // reply that never comes.
        self.take(frames.len() as u64)?;
        // The whole message counts once in the window (one reply).
        match tokio::time::timeout(self.plan.reply_timeout, conn.window.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            Ok(Err(_)) => return Err(Stop::Closed),
            Err(_) => {
                self.no_reply(conn, "the oldest of the requests in flight");
                return Err(Stop::Hung);
            }
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let invalid = matches!(payload, Payload::Bytes(_));
        self.feed_frames(sink, conn, frames).await?;
        if invalid {
            return Err(Stop::Closed);
        }
        Ok(())
    }

    /// Frames at, just above, and far above `max_frame_bytes`.
    async fn at_the_limit(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        let limit = self.world.limits.max_frame_bytes;
        let id = self.id();
        let base = json!({"id": id, "op": "ping"}).to_string();
        let (size, kind) = match self.rng.random_range(0..20) {
            0..=4 => (limit, "frame_at_limit"),
            5..=9 => (limit + 1, "frame_over_limit"),
            10..=11 => (limit * 4, "frame_4x_limit"),
            12 => (limit * 16, "frame_at_hard_cap"),
            13..=16 => (limit - 1, "frame_under_limit"),
            _ => (limit + 1, "binary_over_limit"),
        };
        self.stats.attack(kind);
        // Valid JSON of exactly `size` bytes: the request padded with spaces.
        let mut text = base.clone();
        text.insert_str(text.len() - 1, &" ".repeat(size.saturating_sub(base.len())));
        self.track(conn, id, "ping", false, &base, None);
        let message = if kind == "binary_over_limit" {
            Message::binary(text.into_bytes())
        } else {
            Message::text(text)
        };
        self.send_request(sink, conn, message).await
    }

    /// More requests at once than the connection's burst allows, written without waiting for
    /// replies, so that the rate limit must refuse some.
    async fn flood(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        self.stats.attack("flood");
        let n = (self.world.limits.request_burst as usize + 50).min(2000);
        self.take(n as u64)?;
        for _ in 0..n {
            let id = self.valid_id();
            let frame = json!({"id": id, "op": "ping"}).to_string();
            self.stats.sent(frame.len());
            conn.remember(frame.as_bytes());
            sink.feed(Message::text(frame))
                .await
                .map_err(|_| Stop::Closed)?;
        }
        sink.flush().await.map_err(|_| Stop::Closed)?;
        self.stats.requests.fetch_add(n as u64, Ordering::Relaxed);
        // Each reply adds room to the window: take it back, so the window is as before.
        for _ in 0..n {
            match tokio::time::timeout(self.plan.reply_timeout, conn.window.acquire()).await {
                Ok(Ok(permit)) => permit.forget(),
                Ok(Err(_)) => return Err(Stop::Closed),
                Err(_) => {
                    self.no_reply(conn, "a flood of pings");
                    return Err(Stop::Hung);
                }
            }
        }
        Ok(())
    }

    /// Something after which the server must close the connection (or that ends it on our
    /// side): invalid UTF-8, broken fragmentation, oversized or fragmented control frames,
    /// reserved bits or opcodes, close frames with odd codes, a frame over the hard cap.
    async fn terminal(&mut self, sink: &mut Sink, conn: &Arc<Conn>) -> Result<(), Stop> {
        let limit = self.world.limits.max_frame_bytes;
        let good = json!({"id": self.id(), "op": "ping"})
            .to_string()
            .into_bytes();
        let (kind, frames): (&str, Vec<Frame>) = match self.rng.random_range(0..11) {
            0 => {
                let mut bytes = good.clone();
                bytes.insert(5, 0xff);
                ("text_not_utf8", vec![text_frame(bytes)])
            }
            1 => (
                "utf8_split_across_fragments_then_cut",
                vec![
                    Frame::message(
                        b"{\"t\":\"\xe8\x80".to_vec(),
                        OpCode::Data(Data::Text),
                        false,
                    ),
                    Frame::message(b"\"}".to_vec(), OpCode::Data(Data::Continue), true),
                ],
            ),
            2 => (
                "continuation_without_start",
                vec![Frame::message(
                    good.clone(),
                    OpCode::Data(Data::Continue),
                    true,
                )],
            ),
            3 => (
                "new_message_inside_fragmented",
                vec![
                    Frame::message(good[..4].to_vec(), OpCode::Data(Data::Text), false),
                    Frame::message(good.clone(), OpCode::Data(Data::Text), true),
                ],
            ),
            4 => ("ping_over_125", vec![Frame::ping(vec![b'p'; 126])]),
            5 => {
                let mut f = Frame::ping(b"frag".to_vec());
                f.header_mut().is_final = false;
                ("fragmented_ping", vec![f])
            }
            6 => {
                let mut f = text_frame(good.clone());
                let which = self.rng.random_range(0..3);
                let h = f.header_mut();
                match which {
                    0 => h.rsv1 = true,
                    1 => h.rsv2 = true,
                    _ => h.rsv3 = true,
                }
                ("reserved_bit", vec![f])
            }
            7 => {
                let opcode = if self.rng.random_bool(0.5) {
                    OpCode::Data(Data::Reserved(self.rng.random_range(3..8)))
                } else {
                    OpCode::Control(Control::Reserved(self.rng.random_range(11..16)))
                };
                ("reserved_opcode", vec![raw_frame(opcode, good.clone())])
            }
            8 => {
                let code: u16 = *[
                    0u16, 999, 1000, 1004, 1005, 1006, 1012, 1015, 1016, 2999, 3000, 4999, 5000,
                    65535,
                ]
                .choose(&mut self.rng)
                .unwrap_or(&1005);
                let mut payload = code.to_be_bytes().to_vec();
                match self.rng.random_range(0..4) {
                    0 => payload.extend_from_slice(b"bye"),
                    1 => payload.extend_from_slice(b"\xff\xfe bad utf-8"),
                    2 => payload.truncate(1),
                    _ => {}
                }
                self.stats.attack(&format!("close_code_{code}"));
                (
                    "close_odd",
                    vec![raw_frame(OpCode::Control(Control::Close), payload)],
                )
            }
            9 if self.rng.random_bool(0.3) => (
                "frame_over_hard_cap",
                vec![text_frame(vec![b' '; limit * 16 + 1])],
            ),
            _ => (
                "close_then_request",
                vec![Frame::close(None), text_frame(good.clone())],
            ),
        };
        self.stats.attack(kind);
        self.write_frames(sink, conn, frames).await?;
        Err(Stop::Closed)
    }
}

/// A TCP connection that never becomes a proper WebSocket session: plain HTTP, garbage instead
/// of a handshake, a cut-off handshake, or garbage after a good handshake. Runs on its own task
/// (the server may legitimately wait for the rest of a request head until its handshake timeout),
/// so the worker that started it carries on.
#[derive(Debug)]
struct RawSession {
    url: String,
    addr: SocketAddr,
    source: Option<IpAddr>,
    seed: u64,
    rng: StdRng,
    stats: Arc<Stats>,
}

/// How long a broken handshake may stay unanswered: the server's handshake timeout is 10 s.
const RAW_WAIT: Duration = Duration::from_secs(15);

impl RawSession {
    fn finding(&self, kind: &str, detail: String, sent: &[u8]) {
        self.stats.finding(Finding {
            kind: kind.into(),
            detail,
            worker_seed: self.seed,
            frames: vec![show_bytes(sent, 600)],
        });
    }

    async fn run(mut self) {
        self.stats.raw_connections.fetch_add(1, Ordering::Relaxed);
        let Ok(mut stream) = client::tcp(self.addr, self.source).await else {
            return;
        };
        let host = self.addr.to_string();
        let kind = self.rng.random_range(0..9);
        let request: Vec<u8> = match kind {
            0 => format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
            1 => format!("GET /ws HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes(),
            2 => format!(
                "POST /ws HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\r\nhello"
            )
            .into_bytes(),
            3 => format!(
                "GET /ws HTTP/1.1\r\nHost: {host}\r\nX-Big: {}\r\n\r\n",
                "a".repeat(9000)
            )
            .into_bytes(),
            4 => (0..self.rng.random_range(1..512))
                .map(|_| self.rng.random())
                .collect(),
            5 => format!(
                "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .into_bytes(),
            6 => format!("GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgr").into_bytes(),
            _ => return self.garbage_after_handshake(stream).await,
        };
        let names = [
            "http_get_root",
            "http_get_ws_plain",
            "http_post_ws",
            "http_huge_head",
            "handshake_garbage",
            "handshake_without_key",
            "handshake_cut_off",
        ];
        self.stats.attack(names[kind]);
        self.stats.sent(request.len());
        if stream.write_all(&request).await.is_err() {
            return;
        }
        if kind == 6 {
            return; // hang up mid-handshake
        }
        let mut response = Vec::new();
        let read = tokio::time::timeout(RAW_WAIT, async {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 || response.len() > 64 * 1024 {
                    break;
                }
                response.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        if read.is_err() {
            self.finding(
                "http_hang",
                format!("{} left open with no answer for {RAW_WAIT:?}", names[kind]),
                &request,
            );
            return;
        }
        let status = std::str::from_utf8(&response)
            .ok()
            .and_then(|r| r.strip_prefix("HTTP/1.1 "))
            .and_then(|r| r.get(..3))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if response.is_empty() {
                    "closed_without_answer".into()
                } else {
                    "not_http".into()
                }
            });
        self.stats.http_status(&format!("{}:{status}", names[kind]));
    }

    async fn garbage_after_handshake(mut self, stream: tokio::net::TcpStream) {
        self.stats.attack("garbage_after_handshake");
        let Ok((mut ws, _)) = tokio_tungstenite::client_async(&self.url, stream).await else {
            return;
        };
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let garbage: Vec<u8> = match self.rng.random_range(0..4) {
            // An unmasked frame: clients must mask.
            0 => [&[0x81u8, 0x05][..], b"hello"].concat(),
            // A header announcing 2^63 bytes.
            1 => vec![
                0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
            ],
            2 => b"GET /ws HTTP/1.1\r\n\r\n".to_vec(),
            _ => (0..self.rng.random_range(1..256))
                .map(|_| self.rng.random())
                .collect(),
        };
        self.stats.sent(garbage.len());
        if ws.get_mut().write_all(&garbage).await.is_err() {
            return;
        }
        // Then end our side: a partial frame can only be judged once the server sees the end.
        let _ = ws.get_mut().shutdown().await;
        let mut close = "none".to_owned();
        let read = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Close(Some(frame)) = message {
                    close = u16::from(frame.code).to_string();
                }
            }
        })
        .await;
        if read.is_err() {
            self.finding(
                "garbage_hang",
                format!(
                    "the connection was still open {CLOSE_WAIT:?} after garbage and the end of our side"
                ),
                &garbage,
            );
        }
        self.stats.close(&format!("after_garbage:{close}"));
    }
}

fn text_frame(bytes: Vec<u8>) -> Frame {
    Frame::message(bytes, OpCode::Data(Data::Text), true)
}

/// A frame of any opcode (`Frame::message` only takes data opcodes).
fn raw_frame(opcode: OpCode, payload: Vec<u8>) -> Frame {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    Frame::from_payload(header, payload.into())
}

/// Reads everything the server sends on one connection until it ends: counts replies and
/// events, frees window room per reply, hands awaited replies to the writer, learns tokens and
/// conversation ids, and flags frames a correct server never sends.
async fn read_loop(
    mut stream: SplitStream<Ws>,
    conn: Arc<Conn>,
    stats: Arc<Stats>,
    world: Arc<World>,
) -> Ended {
    let mut close = None;
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => on_text(text.as_str(), &conn, &stats, &world),
            Ok(Message::Binary(bytes)) => stats.finding(conn.finding(
                "binary_from_server",
                format!(
                    "the server sent a binary frame: {}",
                    show_bytes(&bytes, 200)
                ),
                None,
            )),
            Ok(Message::Pong(_)) => {
                stats.pongs.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Message::Close(frame)) => {
                close = Some(frame.map_or(1005, |f| u16::from(f.code)));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    conn.window.close();
    // Whoever still waits for a reply will not get one.
    conn.pending.lock().expect("pending").clear();
    Ended { close }
}

fn on_text(text: &str, conn: &Conn, stats: &Stats, world: &World) {
    let frame = match decode_server_frame(text) {
        Ok(frame) => frame,
        Err(e) => {
            stats.finding(conn.finding(
                "bad_server_frame",
                format!("{e}: {}", show_bytes(text.as_bytes(), 500)),
                None,
            ));
            return;
        }
    };
    match frame {
        ServerFrame::Result { id, result } => {
            stats.results.fetch_add(1, Ordering::Relaxed);
            conn.window.add_permits(1);
            let pending = conn.pending.lock().expect("pending").remove(&id);
            let Some(pending) = pending else { return };
            let value: Value = serde_json::from_str(result.get()).unwrap_or(Value::Null);
            match pending.op.as_str() {
                "sign_in" => {
                    if let Ok(signed) = serde_json::from_str::<SignedIn>(result.get()) {
                        let uid = signed.user.uid.to_string();
                        let token = signed.token.expose().to_owned();
                        world.add_token(&uid, token.clone());
                        *conn.token.lock().expect("token") = Some(token);
                        conn.signed_in.store(true, Ordering::Relaxed);
                    }
                }
                "resume" => conn.signed_in.store(true, Ordering::Relaxed),
                "sign_out" => conn.signed_out(world),
                "create_conversation" => {
                    if let Some(id) = value.pointer("/conversation/id").and_then(Value::as_str) {
                        world.learn_conversation(id);
                    }
                }
                _ => {}
            }
            if let Some(waiter) = pending.waiter {
                let _ = waiter.send(Reply::Result);
            }
        }
        ServerFrame::Error { id, error } => {
            let code = error.code.as_str();
            let code = if code == "unknown" {
                // A code newer than im-proto: keep its spelling.
                serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| {
                        v.pointer("/error/code")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "unknown".into())
            } else {
                code.to_owned()
            };
            stats.error(&code);
            conn.window.add_permits(1);
            let pending = id.and_then(|id| conn.pending.lock().expect("pending").remove(&id));
            if let Some(p) = pending.as_ref().filter(|p| p.valid) {
                if matches!(code.as_str(), "malformed_frame" | "unknown_op" | "bad_id") {
                    stats.finding(conn.finding(
                        "valid_frame_refused",
                        format!("{} → {code}: {}", p.op, error.message),
                        Some(vec![p.frame.clone()]),
                    ));
                }
            }
            if code == "internal" {
                let frames = pending.as_ref().map(|p| vec![p.frame.clone()]);
                stats.finding(conn.finding(
                    "internal_error",
                    format!(
                        "{} → {}",
                        pending.as_ref().map_or("?", |p| p.op.as_str()),
                        error.message
                    ),
                    frames,
                ));
            }
            if let Some(Pending {
                waiter: Some(waiter),
                ..
            }) = pending
            {
                let _ = waiter.send(Reply::Error(code));
            }
        }
        ServerFrame::Event(event) => {
            stats.event(event.name());
            match event {
                Event::SignedOut(_) => conn.signed_out(world),
                Event::ConversationCreated(c) => world.learn_conversation(&c.id.to_string()),
                _ => {}
            }
        }
        ServerFrame::UnknownEvent(name) => stats.event(&name),
    }
}
