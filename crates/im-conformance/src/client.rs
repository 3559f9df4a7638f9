//! The kit's protocol client: one WebSocket connection speaking docs/PROTOCOL.md. It checks the
//! documented shape of every frame it reads ([`crate::shape`]), paces its requests within the
//! rate limit the server announced, records what it saw for the coverage report, and keeps its
//! last frames so that a failure can show them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use futures_util::{SinkExt, StreamExt};
use im_proto::{
    Call, ConversationId, ErrorBody, ErrorCode, Event, Limits, MarkRead, Op, Ping, Uid, User,
};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::shape;

/// A WebSocket to the server under test.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How many of a connection's last frames a failure shows.
const TRANSCRIPT_LINES: usize = 24;
/// How much of one frame a transcript line shows.
const TRANSCRIPT_WIDTH: usize = 400;

/// What a run saw, by kind: `op:NAME` (a request answered with a result), `error:CODE`,
/// `event:NAME`, `close:CODE`, `http:STATUS`, each with how many times.
#[derive(Debug, Clone, Default)]
pub struct Observer(Arc<Mutex<BTreeMap<String, u64>>>);

impl Observer {
    /// Counts one sighting of `key`.
    pub fn note(&self, key: impl Into<String>) {
        *self
            .0
            .lock()
            .expect("observer lock")
            .entry(key.into())
            .or_default() += 1;
    }

    /// Everything seen so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().expect("observer lock").clone()
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's WebSocket URL, `ws://host:port/path`.
    pub url: String,
    /// The longest wait for any one thing (a connection, a reply, an event, a close).
    pub timeout: Duration,
    /// The limits the server announced in `hello`, for pacing (`None` before they are known).
    pub limits: Option<Limits>,
    /// Where sightings are counted.
    pub observer: Observer,
    /// Other nodes of the same server (a cluster): connections go to `url` and these in turn,
    /// so what one connection does reaches the others through the nodes' links.
    pub others: Vec<String>,
    /// The turn of the next connection.
    pub turn: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Target {
    /// The server at `url` (and `others`, its other nodes), waiting at most `timeout`.
    pub fn new(url: &str, others: &[String], timeout: Duration, observer: Observer) -> Self {
        Self {
            url: url.to_owned(),
            timeout,
            limits: None,
            observer,
            others: others.to_vec(),
            turn: Default::default(),
        }
    }

    /// The URL the next connection goes to: `url`, then each of `others`, in turn.
    pub fn next_url(&self) -> &str {
        let n =
            self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (self.others.len() + 1);
        match n {
            0 => &self.url,
            n => &self.others[n - 1],
        }
    }

    /// `host:port` of the URL.
    pub fn authority(&self) -> Result<&str> {
        Ok(split_url(&self.url)?.0)
    }

    /// The path of the URL (`/ws` for im-server).
    pub fn path(&self) -> Result<&str> {
        Ok(split_url(&self.url)?.1)
    }
}

/// Splits `ws://host:port/path?query` into `host:port` and `/path`.
pub fn split_url(url: &str) -> Result<(&str, &str)> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("{url:?}: the kit speaks plain ws:// URLs only"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let path = path.split('?').next().unwrap_or(path);
    if authority.is_empty() {
        bail!("{url:?} names no host");
    }
    Ok((authority, path))
}

/// Opens a TCP connection to the target (optionally with a small receive buffer, so that a
/// connection that does not read fills up quickly).
pub async fn tcp(target: &Target, recv_buffer: Option<u32>) -> Result<TcpStream> {
    tcp_to(target.authority()?, target, recv_buffer).await
}

/// [`tcp`] to `authority` (one node of the target).
async fn tcp_to(authority: &str, target: &Target, recv_buffer: Option<u32>) -> Result<TcpStream> {
    let work = async {
        let addr = tokio::net::lookup_host(authority)
            .await?
            .next()
            .ok_or_else(|| anyhow!("{authority} resolves to no address"))?;
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        anyhow::Ok(stream)
    };
    tokio::time::timeout(target.timeout, work)
        .await
        .map_err(|_| anyhow!("connecting to {authority} took over {:?}", target.timeout))?
        .with_context(|| format!("connecting to {authority}"))
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The server sent a close frame with this code and reason (`None`: a close frame without
    /// a code).
    Frame(Option<u16>, String),
    /// The connection ended without a close frame (what libraries report as 1006).
    Dropped(String),
}

impl Closed {
    /// The close code, if a close frame carried one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Closed::Frame(code, _) => *code,
            Closed::Dropped(_) => None,
        }
    }
}

/// A reply: a result or an error, with the request's id (`None` when the server could not
/// read it) and the op it answered, when the kit knows it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The `id` of the frame.
    pub id: Option<u64>,
    /// The op of the request with that id, if this connection sent one.
    pub op: Option<String>,
    /// The `result`, or the `error`.
    pub outcome: std::result::Result<Value, ErrorBody>,
    /// The frame as received.
    pub text: String,
}

/// A pushed event, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    /// `event`.
    pub name: String,
    /// `data`.
    pub data: Value,
}

impl Pushed {
    /// The event decoded with im-proto's types (`None` for an event the document does not name).
    pub fn event(&self) -> Option<Event> {
        Event::decode(&self.name, &self.data.to_string())
            .ok()
            .flatten()
    }
}

impl std::fmt::Display for Pushed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.data)
    }
}

/// A signed-in user as the kit knows it.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user as the server returned it.
    pub user: User,
    /// The password it signed up with.
    pub password: String,
    /// The session token this connection uses.
    pub token: String,
    /// A group with only this user in it, created right after sign-up: a `mark_read` there is a
    /// change that commits nothing and sends no event, so its reply, which travels in commit
    /// order behind every event committed before it (§3.4), proves that nothing more is on its way.
    pub barrier: ConversationId,
}

/// Mirrors the server's token bucket (§8) with a margin, so the kit stays within the announced
/// rate unless a check means to exceed it.
#[derive(Debug)]
struct Pacer {
    capacity: f64,
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Pacer {
    fn new(limits: Option<&Limits>) -> Self {
        let (burst, rate) = limits.map_or((50.0, 50.0), |l| {
            (l.request_burst as f64, l.requests_per_second as f64)
        });
        let capacity = (burst * 0.75).floor().max(1.0);
        Self {
            capacity,
            rate: (rate * 0.75).max(0.5),
            tokens: capacity,
            at: Instant::now(),
        }
    }

    /// Takes a token; how long to wait before using it.
    fn take(&mut self) -> Duration {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// One connection to the server under test.
#[derive(Debug)]
pub struct Conn {
    label: String,
    ws: Ws,
    target: Target,
    next_id: u64,
    ops: HashMap<u64, String>,
    replies: VecDeque<Reply>,
    events: VecDeque<Pushed>,
    closed: Option<Closed>,
    pacer: Pacer,
    transcript: VecDeque<String>,
    /// Who this connection is signed in as (kept after sign-out, for signing in again).
    pub account: Option<Account>,
    signed_in: bool,
}

impl Conn {
    /// Connects, without saying hello.
    pub async fn open(target: &Target, label: &str) -> Result<Self> {
        Self::open_with(target, label, None).await
    }

    /// Connects with a small TCP receive buffer, without saying hello.
    pub async fn open_with(target: &Target, label: &str, recv_buffer: Option<u32>) -> Result<Self> {
        let url = target.next_url();
        let stream = tcp_to(split_url(url)?.0, target, recv_buffer).await?;
        let handshake = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream));
        let (ws, _) = tokio::time::timeout(target.timeout, handshake)
            .await
            .map_err(|_| {
                anyhow!(
                    "{label}: the WebSocket handshake took over {:?}",
                    target.timeout
                )
            })?
            .with_context(|| format!("{label}: WebSocket handshake with {url}"))?;
        Ok(Self {
            label: label.to_owned(),
            ws,
            target: target.clone(),
            next_id: 0,
            ops: HashMap::new(),
            replies: VecDeque::new(),
            events: VecDeque::new(),
            closed: None,
            pacer: Pacer::new(target.limits.as_ref()),
            transcript: VecDeque::new(),
            account: None,
            signed_in: false,
        })
    }

    /// Connects and says hello.
    pub async fn hello(target: &Target, label: &str) -> Result<Self> {
        let mut conn = Self::open(target, label).await?;
        conn.ok(
            "hello",
            json!({"protocol": im_proto::PROTOCOL_VERSION, "client": "im-conformance"}),
        )
        .await?;
        Ok(conn)
    }

    /// The connection's name in reports.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The signed-in user's uid.
    pub fn uid(&self) -> Uid {
        self.account
            .as_ref()
            .map(|a| a.user.uid)
            .expect("a connection of a signed-in user")
    }

    /// The account this connection signed in with.
    pub fn account(&self) -> &Account {
        self.account
            .as_ref()
            .expect("a connection of a signed-in user")
    }

    /// Whether the connection is signed in, as far as the kit knows.
    pub fn signed_in(&self) -> bool {
        self.signed_in
    }

    /// Marks the connection signed in as `account`.
    pub fn set_signed_in(&mut self, account: Account) {
        self.account = Some(account);
        self.signed_in = true;
    }

    /// A second connection of the same session (`hello` + `resume` with this connection's token).
    pub async fn session(&self, label: &str) -> Result<Conn> {
        self.session_with(label, None).await
    }

    /// [`Conn::session`] over a socket with this TCP receive buffer.
    pub async fn session_with(&self, label: &str, recv_buffer: Option<u32>) -> Result<Conn> {
        let account = self.account().clone();
        let mut other = Conn::open_with(&self.target, label, recv_buffer).await?;
        other
            .ok(
                "hello",
                json!({"protocol": im_proto::PROTOCOL_VERSION, "client": "im-conformance"}),
            )
            .await?;
        other
            .ok("resume", json!({"token": account.token}))
            .await
            .with_context(|| format!("{label}: resuming {}'s session", account.user.username))?;
        other.set_signed_in(account);
        other.settle().await?;
        Ok(other)
    }

    /// Forgets what reached a new session before a check starts using it. (An event committed
    /// just before the session signed in may still reach it when the server fans events out
    /// after answering; §6 says it should not, but that is not what the checks are about.)
    async fn settle(&mut self) -> Result<()> {
        self.drain().await.map(drop)
    }

    /// A connection with a session of its own (`hello` + `sign_in` with the password).
    pub async fn new_session(&self, label: &str) -> Result<Conn> {
        let mut account = self.account().clone();
        let mut other = Conn::hello(&self.target, label).await?;
        let signed = other
            .ok(
                "sign_in",
                json!({"username": account.user.username, "password": account.password}),
            )
            .await?;
        account.token = str_field(&signed, "token")?.to_owned();
        other.set_signed_in(account);
        other.settle().await?;
        Ok(other)
    }

    // ---- sending ----

    fn note_sent(&mut self, text: &str) {
        let shown = clip(text);
        self.remember(format!("→ {shown}"));
    }

    fn remember(&mut self, line: String) {
        if self.transcript.len() == TRANSCRIPT_LINES {
            self.transcript.pop_front();
        }
        self.transcript.push_back(line);
    }

    /// The connection's last frames, for a failure report.
    pub fn transcript(&self) -> String {
        let mut out = format!("last frames of {}:", self.label);
        for line in &self.transcript {
            let _ = write!(out, "\n    {line}");
        }
        out
    }

    fn fail(&self, what: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("{}: {what}\n  {}", self.label, self.transcript())
    }

    async fn pace(&mut self) {
        let wait = self.pacer.take();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn write(&mut self, message: Message) -> Result<()> {
        tokio::time::timeout(self.target.timeout, self.ws.send(message))
            .await
            .map_err(|_| self.fail("sending a frame took too long"))?
            .map_err(|e| self.fail(format!("sending a frame failed: {e}")))
    }

    fn track(&mut self, text: &str) {
        if let Ok(Value::Object(frame)) = serde_json::from_str::<Value>(text) {
            if let (Some(id), Some(op)) = (
                frame.get("id").and_then(Value::as_u64),
                frame.get("op").and_then(Value::as_str),
            ) {
                self.ops.insert(id, op.to_owned());
            }
        }
    }

    /// Sends a text frame as is, within the pace.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.pace().await;
        self.send_text_now(text).await
    }

    /// Sends a text frame as is, at once (the frame still counts for the pace).
    pub async fn send_text_now(&mut self, text: &str) -> Result<()> {
        self.pacer.take();
        self.track(text);
        self.note_sent(text);
        self.write(Message::text(text)).await
    }

    /// Sends many text frames at once, in one flush (they still count for the pace).
    pub async fn send_burst(&mut self, frames: &[String]) -> Result<()> {
        for text in frames {
            self.pacer.take();
            self.track(text);
            self.note_sent(text);
            let fed = tokio::time::timeout(self.target.timeout, self.ws.feed(Message::text(text)));
            fed.await
                .map_err(|_| self.fail("sending a burst took too long"))?
                .map_err(|e| self.fail(format!("sending a burst failed: {e}")))?;
        }
        tokio::time::timeout(self.target.timeout, self.ws.flush())
            .await
            .map_err(|_| self.fail("flushing a burst took too long"))?
            .map_err(|e| self.fail(format!("flushing a burst failed: {e}")))
    }

    /// Sends `n` WebSocket ping frames at once (control frames: they do not count for the pace).
    pub async fn send_ws_pings(&mut self, n: usize) -> Result<()> {
        self.remember(format!("→ ({n} WebSocket pings)"));
        for i in 0..n {
            let fed = tokio::time::timeout(
                self.target.timeout,
                self.ws
                    .feed(Message::Ping(format!("p{i}").into_bytes().into())),
            );
            fed.await
                .map_err(|_| self.fail("sending pings took too long"))?
                .map_err(|e| self.fail(format!("sending pings failed: {e}")))?;
        }
        tokio::time::timeout(self.target.timeout, self.ws.flush())
            .await
            .map_err(|_| self.fail("flushing pings took too long"))?
            .map_err(|e| self.fail(format!("flushing pings failed: {e}")))
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.pace().await;
        self.remember(format!("→ (binary frame of {} bytes)", bytes.len()));
        self.write(Message::Binary(bytes.into())).await
    }

    /// Writes raw bytes to the TCP stream, past the WebSocket library.
    pub async fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.remember(format!(
            "→ (raw bytes {:02x?})",
            &bytes[..bytes.len().min(16)]
        ));
        match self.ws.get_mut() {
            MaybeTlsStream::Plain(tcp) => tcp
                .write_all(bytes)
                .await
                .map_err(|e| self.fail(format!("writing raw bytes: {e}"))),
            _ => Err(self.fail("not a plain TCP connection")),
        }
    }

    /// Sends the close frame of a normal close (1000).
    pub async fn send_close(&mut self) -> Result<()> {
        self.remember("→ close 1000".into());
        self.write(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "conformance check done".into(),
        })))
        .await
    }

    /// A request frame with the next id.
    pub fn frame(&mut self, op: &str, params: Value) -> (u64, String) {
        self.next_id += 1;
        let id = self.next_id;
        (id, request_text(id, op, params))
    }

    /// Sends a request (`params` beside `id` and `op`) without waiting; returns its id.
    pub async fn send(&mut self, op: &str, params: Value) -> Result<u64> {
        let (id, text) = self.frame(op, params);
        self.send_text(&text).await?;
        Ok(id)
    }

    /// Sends a request and waits for its reply.
    pub async fn call(
        &mut self,
        op: &str,
        params: Value,
    ) -> Result<std::result::Result<Value, ErrorBody>> {
        let id = self.send(op, params).await?;
        self.reply(id).await
    }

    /// Sends a request and expects a result.
    pub async fn ok(&mut self, op: &str, params: Value) -> Result<Value> {
        let shown = clip(&params.to_string());
        match self.call(op, params).await? {
            Ok(result) => Ok(result),
            Err(e) => Err(self.fail(format!(
                "{op} {shown}: expected a result, got error {}: {}",
                e.code, e.message
            ))),
        }
    }

    /// Sends a request and expects the error `code`.
    pub async fn refused(&mut self, op: &str, params: Value, code: ErrorCode) -> Result<ErrorBody> {
        let shown = clip(&params.to_string());
        match self.call(op, params).await? {
            Err(e) if e.code == code => Ok(e),
            Err(e) => Err(self.fail(format!(
                "{op} {shown}: expected error {code}, got error {}: {}",
                e.code, e.message
            ))),
            Ok(result) => Err(self.fail(format!(
                "{op} {shown}: expected error {code}, got result {}",
                clip(&result.to_string())
            ))),
        }
    }

    /// Sends a typed request and expects a result, decoded with im-proto's types.
    pub async fn ok_as<P: Op>(&mut self, params: P) -> Result<P::Output> {
        let (op, params) = typed_params(params)?;
        let value = self.ok(op, params).await?;
        serde_json::from_value(value.clone())
            .map_err(|e| self.fail(format!("{op}: the result does not decode: {e}: {value}")))
    }

    /// Decodes a result with im-proto's types.
    pub fn decode<T: serde::de::DeserializeOwned>(&self, what: &str, value: &Value) -> Result<T> {
        serde_json::from_value(value.clone())
            .map_err(|e| self.fail(format!("{what} does not decode: {e}: {value}")))
    }

    // ---- receiving ----

    /// Waits for the reply to request `id`.
    pub async fn reply(&mut self, id: u64) -> Result<std::result::Result<Value, ErrorBody>> {
        loop {
            if let Some(at) = self.replies.iter().position(|r| r.id == Some(id)) {
                let reply = self.replies.remove(at).expect("found above");
                return Ok(reply.outcome);
            }
            self.read()
                .await
                .with_context(|| format!("waiting for the reply to request {id}"))?;
        }
    }

    /// The next reply, whatever its id.
    pub async fn next_reply(&mut self) -> Result<Reply> {
        loop {
            if let Some(reply) = self.replies.pop_front() {
                return Ok(reply);
            }
            self.read().await.context("waiting for a reply")?;
        }
    }

    /// The next pushed event.
    pub async fn next_event(&mut self) -> Result<Pushed> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            self.read().await.context("waiting for an event")?;
        }
    }

    /// Replies received so far and not yet taken.
    pub fn take_replies(&mut self) -> Vec<Reply> {
        self.replies.drain(..).collect()
    }

    /// Events received so far and not yet taken.
    pub fn take_events(&mut self) -> Vec<Pushed> {
        self.events.drain(..).collect()
    }

    /// Every event that reached this connection up to now: waits for a reply that the server
    /// sends only after everything queued for the connection before it (a `mark_read` in the
    /// user's own barrier group, whose reply travels in commit order with the events; a `ping`
    /// when the connection is not signed in), and returns the events that came first.
    pub async fn drain(&mut self) -> Result<Vec<Pushed>> {
        let barrier = match (&self.account, self.signed_in) {
            (Some(account), true) => Some(account.barrier),
            _ => None,
        };
        match barrier {
            Some(conversation_id) => {
                let params = serde_json::to_value(MarkRead {
                    conversation_id,
                    seq: 0,
                })?;
                let id = self.send("mark_read", params).await?;
                match self.reply(id).await? {
                    Ok(_) => {}
                    // Signed out by another connection meanwhile: its events are all here.
                    Err(e) if e.code == ErrorCode::Unauthenticated => {}
                    Err(e) => return Err(self.fail(format!("the barrier mark_read failed: {e}"))),
                }
            }
            None => {
                let params = serde_json::to_value(Ping {})?;
                let id = self.send("ping", params).await?;
                if let Err(e) = self.reply(id).await? {
                    return Err(self.fail(format!("the barrier ping failed: {e}")));
                }
            }
        }
        Ok(self.take_events())
    }

    /// Proves that no event reached this connection ([`Conn::drain`]).
    pub async fn expect_no_events(&mut self, why: &str) -> Result<()> {
        let events = self.drain().await?;
        if events.is_empty() {
            return Ok(());
        }
        Err(self.fail(format!(
            "{why}: expected no event, got {}",
            list(events.iter().map(|e| clip(&e.to_string())))
        )))
    }

    /// Proves that exactly `expected` reached this connection, in this order.
    pub async fn expect_events(&mut self, expected: &[Event], why: &str) -> Result<()> {
        let got = self.drain().await?;
        let decoded: Vec<Option<Event>> = got.iter().map(Pushed::event).collect();
        if decoded.len() == expected.len()
            && decoded
                .iter()
                .zip(expected)
                .all(|(got, want)| got.as_ref() == Some(want))
        {
            return Ok(());
        }
        let want = list(
            expected
                .iter()
                .map(|e| clip(&format!("{} {}", e.name(), e.data_json()))),
        );
        let got = list(got.iter().map(|e| clip(&e.to_string())));
        Err(self.fail(format!("{why}: expected the events {want}, got {got}")))
    }

    /// Waits until the server closes the connection, keeping what arrives before (replies and
    /// events stay readable afterwards).
    pub async fn wait_closed(&mut self) -> Result<Closed> {
        loop {
            if let Some(closed) = &self.closed {
                return Ok(closed.clone());
            }
            if let Err(e) = self.read().await {
                if self.closed.is_none() {
                    return Err(e);
                }
            }
        }
    }

    /// Reads one message from the socket into the queues.
    async fn read(&mut self) -> Result<()> {
        if let Some(closed) = &self.closed {
            return Err(self.fail(format!("the connection is closed ({closed:?})")));
        }
        let timeout = self.target.timeout;
        loop {
            let next = match tokio::time::timeout(timeout, self.ws.next()).await {
                Ok(next) => next,
                Err(_) => return Err(self.fail(format!("nothing arrived within {timeout:?}"))),
            };
            let message = match next {
                Some(Ok(message)) => message,
                Some(Err(e)) => return Err(self.ended(Closed::Dropped(e.to_string()))),
                None => return Err(self.ended(Closed::Dropped("end of stream".into()))),
            };
            match message {
                Message::Text(text) => return self.on_text(text.as_str()),
                Message::Close(frame) => {
                    let closed = match frame {
                        Some(f) => Closed::Frame(Some(u16::from(f.code)), f.reason.to_string()),
                        None => Closed::Frame(None, String::new()),
                    };
                    if let Some(code) = closed.code() {
                        self.target.observer.note(format!("close:{code}"));
                    }
                    return Err(self.ended(closed));
                }
                Message::Binary(bytes) => {
                    return Err(self.fail(format!(
                        "the server sent a binary frame of {} bytes (§2.1: text frames only)",
                        bytes.len()
                    )))
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

    fn ended(&mut self, closed: Closed) -> anyhow::Error {
        self.remember(format!("← closed: {closed:?}"));
        self.closed = Some(closed.clone());
        self.fail(format!("the connection ended: {closed:?}"))
    }

    fn on_text(&mut self, text: &str) -> Result<()> {
        self.remember(format!("← {}", clip(text)));
        let frame = shape::server_frame(text).map_err(|e| self.fail(format!("{e:#}")))?;
        let observer = self.target.observer.clone();
        match frame {
            shape::Frame::Result { id, result } => {
                let op = self.ops.remove(&id);
                if let Some(op) = &op {
                    shape::result(op, &result).map_err(|e| {
                        self.fail(format!("the result of {op} is not as documented: {e:#}"))
                    })?;
                    observer.note(format!("op:{op}"));
                    self.after_result(op, &result);
                }
                self.replies.push_back(Reply {
                    id: Some(id),
                    op,
                    outcome: Ok(result),
                    text: text.to_owned(),
                });
            }
            shape::Frame::Error { id, error } => {
                let op = id.and_then(|id| self.ops.remove(&id));
                observer.note(format!("error:{}", error.code));
                self.replies.push_back(Reply {
                    id,
                    op,
                    outcome: Err(error),
                    text: text.to_owned(),
                });
            }
            shape::Frame::Event { name, data } => {
                observer.note(format!("event:{name}"));
                if name == "signed_out" {
                    self.signed_in = false;
                }
                self.events.push_back(Pushed { name, data });
            }
        }
        Ok(())
    }

    /// Keeps the connection's sign-in state as the server's.
    fn after_result(&mut self, op: &str, result: &Value) {
        match op {
            "sign_out" => self.signed_in = false,
            "sign_in" | "resume" => {
                if self.account.is_some() {
                    self.signed_in = true;
                }
                if let (Some(account), Some(token)) = (
                    self.account.as_mut(),
                    result.get("token").and_then(Value::as_str),
                ) {
                    account.token = token.to_owned();
                }
            }
            _ => {}
        }
    }
}

/// `{"id":id,"op":op,...params}` as text.
pub fn request_text(id: u64, op: &str, params: Value) -> String {
    let mut frame = serde_json::Map::new();
    frame.insert("id".into(), id.into());
    frame.insert("op".into(), op.into());
    if let Value::Object(params) = params {
        frame.extend(params);
    }
    Value::Object(frame).to_string()
}

/// An im-proto request's op name and parameters as JSON.
pub fn typed_params<P: Op>(params: P) -> Result<(&'static str, Value)> {
    let call: Call = params.into();
    let mut value = serde_json::to_value(call)?;
    if let Value::Object(map) = &mut value {
        map.remove("op");
    }
    Ok((P::NAME, value))
}

/// A string field of a JSON object.
pub fn str_field<'a>(value: &'a Value, field: &str) -> Result<&'a str> {
    value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no string {field} in {value}"))
}

/// A frame shortened for a report.
pub fn clip(text: &str) -> String {
    if text.len() <= TRANSCRIPT_WIDTH {
        return text.to_owned();
    }
    let mut end = TRANSCRIPT_WIDTH;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// `[a, b, c]`.
pub fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return "nothing".into();
    }
    format!("[{}]", items.join(", "))
}

/// A client frame as a browser would send it: FIN + `first_byte`'s opcode and bits, masked.
/// For payloads under 126 bytes.
pub fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "short frames only");
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first_byte, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("ws://127.0.0.1:7822/ws").unwrap(),
            ("127.0.0.1:7822", "/ws")
        );
        assert_eq!(
            split_url("ws://example.com:80/ws?x=1").unwrap(),
            ("example.com:80", "/ws")
        );
        assert!(split_url("wss://example.com/ws").is_err());
        assert!(split_url("http://example.com/ws").is_err());
    }

    #[test]
    fn request_params_sit_beside_id_and_op() {
        let text = request_text(7, "ping", json!({"future_field": true}));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, json!({"id": 7, "op": "ping", "future_field": true}));
    }

    #[test]
    fn typed_params_leave_out_the_op() {
        let (op, params) = typed_params(Ping {}).unwrap();
        assert_eq!((op, params), ("ping", json!({})));
    }

    #[test]
    fn the_pacer_allows_a_burst_then_the_rate() {
        let limits = Limits {
            request_burst: 8,
            requests_per_second: 4,
            ..Limits::default()
        };
        let mut pacer = Pacer::new(Some(&limits));
        for _ in 0..6 {
            assert_eq!(pacer.take(), Duration::ZERO);
        }
        let wait = pacer.take();
        assert!(wait > Duration::from_millis(300), "{wait:?}");
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        let frame = masked_frame(0x81, b"hi");
        assert_eq!(frame[0], 0x81);
        assert_eq!(frame[1], 0x82);
        let mask = &frame[2..6];
        let payload: Vec<u8> = frame[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(payload, b"hi");
    }
}
