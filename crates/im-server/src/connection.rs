//! One client connection: the WebSocket handshake, the loop that reads requests and writes
//! replies and pushed events, per-connection limits, heartbeats, and closing.
//!
//! Each connection is one task. It reads a request, answers it (reads are answered inline;
//! changes go to the writer, which queues the reply on the connection's outbound queue once
//! committed), and meanwhile writes whatever the outbound queue holds.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use im_proto::{encode_error, parse_request, ErrorBody, ErrorCode};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::hub::{ConnHandle, Outbound};
use crate::ops::{self, ConnState};
use crate::outbound_queue::QueueReceiver;
use crate::tls::{TlsStream, Transport};
use crate::Shared;

/// One clock for every connection's rate limiter: creating a clock calibrates it (CPUID), which
/// was 16 % of the server's CPU in a reconnect storm when each connection made its own.
static CLOCK: std::sync::LazyLock<DefaultClock> = std::sync::LazyLock::new(DefaultClock::default);

/// How long a client may take to complete the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write to a client may take before the connection counts as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most queued frames written before one flush.
const WRITE_BATCH: usize = 256;
/// Frames up to this many times `max_frame_bytes` are read and refused with an error; larger
/// ones are not even read: the connection is closed with 1009.
const HARD_CAP_FACTOR: usize = 16;

/// The server-wide signals a connection obeys during shutdown.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// Stop taking new requests (in-flight ones finish).
    pub stop_reading: CancellationToken,
    /// Write what is queued, send a close frame, and end.
    pub close: CancellationToken,
    /// Drop the socket at once, answering nothing (`RunningServer::abort`, for crash tests).
    pub kill: CancellationToken,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed it or the socket broke: no close frame to send.
    Gone,
    ShuttingDown,
    TooSlow,
    Idle,
    FrameTooLarge,
    /// A text frame that is not UTF-8 (RFC 6455: close with 1007).
    InvalidUtf8,
    /// A violation of the WebSocket protocol itself (RFC 6455: close with 1002).
    ProtocolViolation,
}

impl End {
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Gone => return None,
            End::ShuttingDown => (CloseCode::Away, "server shutting down"),
            End::Idle => (CloseCode::Away, "idle timeout"),
            End::TooSlow => (
                CloseCode::Again,
                "too slow to keep up; reconnect and catch up",
            ),
            End::FrameTooLarge => (CloseCode::Size, "frame too large"),
            End::InvalidUtf8 => (CloseCode::Invalid, "text frame is not valid UTF-8"),
            End::ProtocolViolation => (CloseCode::Protocol, "WebSocket protocol violation"),
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

fn websocket_config(max_frame_bytes: usize) -> WebSocketConfig {
    let hard_cap = max_frame_bytes.saturating_mul(HARD_CAP_FACTOR);
    WebSocketConfig::default()
        // Small buffers: most connections sit idle, and tungstenite's 128 KiB default read
        // buffer would cost that much per connection. 2 KiB holds any ordinary request in one
        // read; a larger frame grows it as needed. (19,000 idle connections: 6.6 KiB each.)
        .read_buffer_size(2 * 1024)
        .write_buffer_size(16 * 1024)
        .max_message_size(Some(hard_cap))
        .max_frame_size(Some(hard_cap))
}

/// The `id` and `op` of a frame that is refused before it is parsed as a request (oversize,
/// over the rate, before `hello`), so the refusal can name it. The frame is bounded by the hard
/// cap, so reading it through once is cheap.
fn id_and_op(text: &str) -> (Option<u64>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct IdAndOp {
        id: Option<u64>,
        op: Option<String>,
    }
    if !text.trim_start().starts_with('{') {
        return (None, None); // serde would read an array positionally
    }
    match serde_json::from_str::<IdAndOp>(text) {
        Ok(r) => (r.id, r.op),
        Err(_) => (None, None),
    }
}

fn request_id_of(text: &str) -> Option<u64> {
    id_and_op(text).0
}

/// The conversation and client id of a send (`send_text`, `send_image`, `send_file`) refused
/// before it was parsed.
fn send_key(text: &str) -> Option<(im_proto::ConversationId, im_proto::ClientId)> {
    #[derive(serde::Deserialize)]
    struct SendKey<'a> {
        op: &'a str,
        conversation_id: im_proto::ConversationId,
        client_id: im_proto::ClientId,
    }
    let key: SendKey<'_> = serde_json::from_str(text).ok()?;
    matches!(key.op, "send_text" | "send_image" | "send_file")
        .then_some((key.conversation_id, key.client_id))
}

/// Answers a connection from an address that has too many open already (HTTP 429) and closes it.
pub async fn refuse_busy_address(mut stream: TcpStream, peer: SocketAddr) {
    use tokio::io::AsyncWriteExt;
    tracing::debug!(%peer, "too many connections from this address");
    let body = "too many connections from this address\n";
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: 10\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}

/// Serves one accepted TCP connection until it ends (or is killed). `slot` holds its place in
/// its address's count of open connections.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    life: Lifecycle,
    slot: crate::guard::AddressSlot,
) {
    let _slot = slot;
    let _open = shared.metrics.connection_opened();
    let kill = life.kill.clone();
    tokio::select! {
        _ = kill.cancelled() => {}
        _ = async move {
            if let Some((stream, buffered)) =
                serve_until_done(stream, peer, shared.clone(), life.clone()).await
            {
                // Boxed: a WebSocket's task does not carry the HTTP server's state.
                Box::pin(crate::blobs::serve(stream, buffered, peer, shared, life)).await;
            }
        } => {}
    }
}

async fn serve_until_done(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    life: Lifecycle,
) -> Option<(Transport, Vec<u8>)> {
    let _ = stream.set_nodelay(true);
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let stream = match &shared.tls {
        None => Transport::Plain(stream),
        Some(tls) => {
            match tokio::time::timeout_at(deadline, TlsStream::accept(stream, tls.config.clone()))
                .await
            {
                Ok(Ok(stream)) => {
                    let resumed = stream.connection().handshake_kind()
                        == Some(rustls::HandshakeKind::Resumed);
                    shared.metrics.tls_handshake(resumed);
                    Transport::Tls(Box::new(stream))
                }
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return None;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return None;
                }
            }
        }
    };
    let config = websocket_config(shared.config.limits.max_frame_bytes);
    // Boxed, so the handshake's state is freed once it is done instead of staying in the task.
    let handshake = Box::pin(crate::http::accept(
        stream,
        config,
        &shared.config.allowed_origins,
    ));
    let (ws, forwarded_for) = match tokio::time::timeout_at(deadline, handshake).await {
        Ok(Ok(crate::http::Accepted::WebSocket(upgraded))) => (upgraded.ws, upgraded.forwarded_for),
        Ok(Ok(crate::http::Accepted::Http { stream, buffered })) => {
            return Some((stream, buffered));
        }
        Ok(Err(crate::http::Refused::Status(status))) => {
            tracing::debug!(%peer, status, "not a WebSocket request: answered with an HTTP status");
            return None;
        }
        Ok(Err(crate::http::Refused::Gone)) => {
            tracing::debug!(%peer, "gone before its request head arrived");
            return None;
        }
        Err(_) => {
            tracing::debug!(%peer, "handshake timed out");
            return None;
        }
    };
    let (handle, outbound) =
        ConnHandle::new(shared.hub.next_conn_id(), shared.config.outbound_queue);
    let limits = &shared.config.limits;
    let quota =
        Quota::per_second(NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(limits.request_burst).unwrap_or(NonZeroU32::MIN));
    // Behind a trusted reverse proxy, the client it names is who the limits count.
    let client = crate::client_address::client_address(
        peer.ip(),
        forwarded_for.as_deref(),
        &shared.config.guard.trusted_proxies,
    );
    let mut conn = Connection {
        state: ConnState::new(client, handle),
        ws,
        outbound,
        limiter: RateLimiter::direct_with_clock(quota, CLOCK.clone()),
        read_budget: (shared.config.outbound_queue / 2).max(1),
        shared: shared.clone(),
        pending: None,
    };
    // One line each when a connection opens and closes (an operator's access log).
    tracing::info!(conn = conn.state.conn.id(), %peer, %client, tls = shared.tls.is_some(), "connected");
    let opened = Instant::now();
    let end = conn.run(&life).await;
    conn.finish(end, opened).await;
    None
}

struct Connection {
    state: ConnState,
    ws: WebSocketStream<Transport>,
    outbound: QueueReceiver<Outbound>,
    limiter: DefaultDirectRateLimiter,
    shared: Arc<Shared>,
    /// A change waiting for room in the writer's queue: no more requests are read meanwhile,
    /// but the outbound queue keeps draining (the writer's back-pressure never makes the
    /// connection too slow to take its own answers).
    pending: Option<crate::store::WriteCmd>,
    /// Requests are read only while fewer changes than this await their answers, so those
    /// answers always fit in the outbound queue beside the events.
    read_budget: usize,
}

impl Connection {
    async fn run(&mut self, life: &Lifecycle) -> End {
        let ping_interval = self.shared.config.ping_interval;
        let idle_timeout = self.shared.config.idle_timeout;
        // One timer, re-armed only when it fires (not on every frame): it pings after
        // `ping_interval` of silence and drops the connection after `idle_timeout` of it.
        let heartbeat = tokio::time::sleep(ping_interval);
        tokio::pin!(heartbeat);
        let mut last_heard = Instant::now();
        let mut reading = !life.stop_reading.is_cancelled();
        // Its own handle, so that waiting for room in the writer's queue borrows nothing of self.
        let shared = self.shared.clone();
        loop {
            tokio::select! {
                biased;
                _ = life.close.cancelled() => return End::ShuttingDown,
                _ = self.state.conn.too_slow().cancelled() => return End::TooSlow,
                _ = life.stop_reading.cancelled(), if reading => reading = false,
                item = self.outbound.recv() => {
                    let Some(item) = item else { return End::Gone };
                    if self.write_outbound(item).await.is_err() {
                        return End::Gone;
                    }
                }
                permit = shared.store.reserve(), if self.pending.is_some() => {
                    let cmd = self.pending.take().expect("a pending change");
                    match permit {
                        Some(permit) => permit.send(cmd),
                        None => cmd.refuse(crate::error::Error::ShuttingDown),
                    }
                }
                incoming = self.ws.next(),
                    if reading
                        && self.pending.is_none()
                        && self.state.conn.in_flight() < self.read_budget =>
                {
                    last_heard = Instant::now();
                    if let Err(end) = self.on_incoming(incoming).await {
                        return end;
                    }
                }
                _ = &mut heartbeat => {
                    let next = match heartbeat_step(last_heard.elapsed(), ping_interval, idle_timeout) {
                        Heartbeat::Drop => return End::Idle,
                        Heartbeat::Ping { next } => {
                            if self.write(Message::Ping(Default::default())).await.is_err() {
                                return End::Gone;
                            }
                            next
                        }
                        Heartbeat::Wait { next } => next,
                    };
                    heartbeat.as_mut().reset(Instant::now() + next);
                }
            }
        }
    }

    async fn on_incoming(&mut self, incoming: Option<Result<Message, WsError>>) -> Result<(), End> {
        match incoming {
            None => Err(End::Gone),
            Some(Ok(Message::Text(text))) => self.on_text(text).await,
            Some(Ok(Message::Binary(bytes))) => {
                let id = || std::str::from_utf8(&bytes).ok().and_then(request_id_of);
                if let Some(refusal) = self.over_rate() {
                    return self.error(id(), refusal).await;
                }
                let limit = self.shared.config.limits.max_frame_bytes;
                let error = if bytes.len() > limit {
                    ErrorBody::new(
                        ErrorCode::FrameTooLarge,
                        format!("the frame is {} bytes; the limit is {limit}", bytes.len()),
                    )
                } else {
                    ErrorBody::new(
                        ErrorCode::MalformedFrame,
                        "binary frames are not supported: send JSON in text frames",
                    )
                };
                self.error(id(), error).await
            }
            Some(Ok(Message::Close(_))) => {
                // tungstenite answers the close handshake; make sure the answer goes out.
                let _ = self.ws.flush().await;
                Err(End::Gone)
            }
            Some(Ok(_)) => Ok(()), // ping (answered by tungstenite), pong, raw frame
            Some(Err(WsError::Capacity(e))) => {
                let limit = self.shared.config.limits.max_frame_bytes;
                let _ = self
                    .error(
                        None,
                        ErrorBody::new(
                            ErrorCode::FrameTooLarge,
                            format!("{e}; frames may be at most {limit} bytes"),
                        ),
                    )
                    .await;
                Err(End::FrameTooLarge)
            }
            Some(Err(WsError::Utf8(_))) => Err(End::InvalidUtf8),
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                Err(End::Gone)
            }
            Some(Err(WsError::Protocol(e))) => {
                tracing::debug!(conn = self.state.conn.id(), error = %e, "protocol violation");
                Err(End::ProtocolViolation)
            }
            Some(Err(e)) => {
                tracing::debug!(conn = self.state.conn.id(), error = %e, "read failed");
                Err(End::Gone)
            }
        }
    }

    /// Charges one frame to the connection's rate limit; the refusal if it is over. Every frame
    /// is charged before it is parsed, so malformed and oversize frames count too.
    fn over_rate(&self) -> Option<ErrorBody> {
        let not_until = self.limiter.check().err()?;
        let wait = not_until.wait_time_from(CLOCK.now());
        Some(ErrorBody::rate_limited(
            "too many requests on this connection",
            wait.as_millis() as u64 + 1,
        ))
    }

    async fn on_text(&mut self, text: Utf8Bytes) -> Result<(), End> {
        self.state.frames += 1;
        if let Some(refusal) = self.over_rate() {
            if let Some((conversation, client_id)) = send_key(text.as_str()) {
                // The client's later sends there wait for this one (ordered outbox).
                let order = self.state.frames;
                self.state
                    .conn
                    .hold(conversation, client_id, order, refusal.clone());
            }
            return self.error(request_id_of(text.as_str()), refusal).await;
        }
        let limit = self.shared.config.limits.max_frame_bytes;
        if text.len() > limit {
            return self
                .error(
                    request_id_of(text.as_str()),
                    ErrorBody::new(
                        ErrorCode::FrameTooLarge,
                        format!("the frame is {} bytes; the limit is {limit}", text.len()),
                    ),
                )
                .await;
        }
        let request = match parse_request(text.as_str()) {
            Ok(request) => request,
            Err(e) if !self.state.hello && e.id.is_some() => {
                // Before hello, any request but hello is refused as such, whatever else is
                // wrong with it (§2.2).
                return match id_and_op(text.as_str()) {
                    (Some(id), Some(op)) if op != "hello" => {
                        self.error(Some(id), crate::ops::hello_required()).await
                    }
                    _ => self.error(e.id, e.error).await,
                };
            }
            Err(e) => return self.error(e.id, e.error).await,
        };
        let reply = Box::pin(ops::dispatch(&self.shared, &mut self.state, request)).await;
        if let Some(cmd) = self.state.outgoing.take() {
            self.pending = self.shared.store.try_submit(cmd);
        }
        match reply {
            Some(frame) => self.write(Message::Text(frame.into())).await,
            None => Ok(()),
        }
    }

    async fn error(&mut self, id: Option<u64>, body: ErrorBody) -> Result<(), End> {
        self.shared.metrics.error(body.code);
        self.write(Message::Text(encode_error(id, &body).into()))
            .await
    }

    async fn write(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.ws.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }

    /// Writes one queued item and whatever else is queued behind it, then flushes once.
    async fn write_outbound(&mut self, first: Outbound) -> Result<(), End> {
        let work = async {
            let mut item = Some(first);
            let mut written = 0;
            while let Some(next) = item.take() {
                let frame = match next {
                    Outbound::Frame(frame) => frame,
                    Outbound::Revoked(frame) => {
                        self.state.end_session(&self.shared);
                        frame
                    }
                };
                self.ws.feed(Message::Text(frame)).await?;
                written += 1;
                if written < WRITE_BATCH {
                    item = self.outbound.try_recv().ok();
                }
            }
            self.ws.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, work).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }

    async fn finish(mut self, end: End, opened: Instant) {
        self.state.end_session(&self.shared);
        if end == End::ShuttingDown {
            // The writer has committed and answered everything it took: deliver those answers.
            while let Ok(item) = self.outbound.try_recv() {
                if self.write_outbound(item).await.is_err() {
                    break;
                }
            }
        }
        if let Some(frame) = end.close_frame() {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(Some(frame))).await;
            if end == End::FrameTooLarge {
                // The frame in progress cannot be parsed past: drain raw bytes.
                self.linger().await;
            } else {
                // Complete the close handshake: read (and answer) until the client's close
                // arrives, so closing the socket does not reset it before the client has read ours.
                let handshake = async { while let Some(Ok(_)) = self.ws.next().await {} };
                let _ = tokio::time::timeout(Duration::from_secs(2), handshake).await;
            }
        }
        tracing::info!(
            conn = self.state.conn.id(),
            ?end,
            seconds = opened.elapsed().as_secs(),
            "disconnected"
        );
    }

    /// After refusing a frame mid-stream, reads and discards what the client is still sending
    /// (briefly), so that closing the socket does not reset it before the client has read the
    /// error and the close frame.
    async fn linger(&mut self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stream = self.ws.get_mut();
        let _ = stream.shutdown().await;
        // On the heap: an array here would live in every connection's task for its whole life.
        let mut sink = vec![0u8; 16 * 1024];
        let drain = async {
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }
}

/// What the heartbeat timer does when it fires after `silent` without a frame from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heartbeat {
    /// Silent for the whole idle timeout: close the connection.
    Drop,
    /// Silent for a ping interval: ping, and look again after `next`.
    Ping { next: Duration },
    /// Heard from recently: look again when a ping interval of silence would be up.
    Wait { next: Duration },
}

/// The heartbeat's decision (a pure function, so the schedule is tested without a clock).
fn heartbeat_step(silent: Duration, ping_interval: Duration, idle_timeout: Duration) -> Heartbeat {
    if silent >= idle_timeout {
        Heartbeat::Drop
    } else if silent >= ping_interval {
        Heartbeat::Ping {
            next: ping_interval.min(idle_timeout - silent),
        }
    } else {
        Heartbeat::Wait {
            next: ping_interval - silent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays a silent peer through the heartbeat: pings every interval, then the close exactly
    /// at the idle timeout, never later (even when it is not a multiple of the interval).
    #[test]
    fn a_silent_peer_is_pinged_every_interval_then_dropped_at_the_idle_timeout() {
        let s = Duration::from_secs;
        for (interval, timeout) in [(s(30), s(90)), (s(30), s(100)), (s(30), s(20))] {
            let (mut at, mut pings) = (interval, Vec::new());
            let dropped_at = loop {
                match heartbeat_step(at, interval, timeout) {
                    Heartbeat::Drop => break at,
                    Heartbeat::Ping { next } => {
                        pings.push(at);
                        at += next;
                    }
                    Heartbeat::Wait { .. } => panic!("a silent peer is never waited for"),
                }
            };
            assert_eq!(
                dropped_at,
                timeout.max(interval),
                "{interval:?}/{timeout:?}"
            );
            let expected: Vec<_> = (1..)
                .map(|n| interval * n)
                .take_while(|t| *t < timeout)
                .collect();
            assert_eq!(pings, expected, "{interval:?}/{timeout:?}");
        }
    }

    /// A peer heard from 10 s ago is looked at again when 30 s of silence are up, not pinged.
    #[test]
    fn a_peer_heard_recently_is_not_pinged() {
        let s = Duration::from_secs;
        assert_eq!(
            heartbeat_step(s(10), s(30), s(90)),
            Heartbeat::Wait { next: s(20) }
        );
        assert_eq!(
            heartbeat_step(s(30), s(30), s(90)),
            Heartbeat::Ping { next: s(30) }
        );
        assert_eq!(
            heartbeat_step(s(75), s(30), s(90)),
            Heartbeat::Ping { next: s(15) }
        );
        assert_eq!(heartbeat_step(s(90), s(30), s(90)), Heartbeat::Drop);
    }

    /// An idle connection costs its task's future for as long as it lives: keep it small.
    #[tokio::test]
    async fn the_connection_future_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config::new(addr, dir.path().join("db.sqlite3"));
        let hub = Arc::new(crate::hub::Hub::new());
        let store = crate::store::Store::open(
            &config,
            hub.clone(),
            &Default::default(),
            Default::default(),
            None,
        )
        .unwrap();
        let shared = Arc::new(Shared {
            guard: crate::guard::Guard::new(&crate::config::GuardLimits::default()),
            passwords: crate::auth::Passwords::new(1).unwrap(),
            fatal: crate::fatal::Fatal::default(),
            metrics: Default::default(),
            config,
            store,
            hub,
            tls: None,
            cluster: None,
            blobs: None,
            uploads: Default::default(),
            _lock: None,
        });
        let slot = shared.guard.connections.take(peer.ip()).unwrap();
        let future = serve(stream, peer, shared, Lifecycle::default(), slot);
        let size = std::mem::size_of_val(&future);
        eprintln!("connection future: {size} bytes");
        // 18.6 KB before the handshake was boxed and the linger buffer moved to the heap.
        assert!(size <= 4096, "the connection future grew to {size} bytes");
        drop(client);
    }
}
