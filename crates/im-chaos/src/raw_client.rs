//! [`RawClient`]: one user speaking the protocol directly (no SDK), sending steadily into its
//! conversations the way PROTOCOL.md §9 says a client must: every message gets a fresh
//! `client_id` and goes into an outbox first; on any disconnect the client reconnects with
//! backoff, `resume`s with its token, and resends every unacked message with the same
//! `client_id`, in the original order, before anything new. It records what was acked.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use im_proto::{
    ClientId, ConversationId, ErrorBody, ErrorCode, Message, Ping, RequestId, Resume, Secret,
    SendText, Seq, ServerFrame,
};
use rand::Rng;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::tag::MessageTag;
use crate::wire::Wire;

/// Sends in flight on one connection at most: the rest wait for acks (this keeps a long
/// backlog under the server's request burst).
const WINDOW: usize = 200;

/// Timing of a raw client.
#[derive(Debug, Clone)]
pub struct RawClientConfig {
    /// The server's (or proxies') URLs: the first connection goes to the first, each reconnect
    /// to the next (the nodes of a cluster).
    pub urls: Vec<String>,
    /// Messages per second.
    pub rate: f64,
    /// Connecting (TCP, WebSocket, hello, resume) may take this long.
    pub connect_timeout: Duration,
    /// With requests unanswered, this long without a frame means a dead connection.
    pub dead_after: Duration,
    /// Ping after this long with nothing in flight.
    pub ping_after: Duration,
    /// The first reconnect delay (then doubling, with jitter).
    pub backoff_min: Duration,
    /// The longest reconnect delay.
    pub backoff_max: Duration,
}

impl RawClientConfig {
    /// The settings im-chaos uses, for `urls` (tried in turn) at `rate`.
    pub fn new(urls: Vec<String>, rate: f64) -> Self {
        Self {
            urls,
            rate,
            connect_timeout: Duration::from_secs(2),
            dead_after: Duration::from_secs(2),
            ping_after: Duration::from_millis(500),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        }
    }
}

/// A message this client created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The sender's counter.
    pub k: u64,
    /// Where it goes.
    pub conversation_id: ConversationId,
    /// Its idempotency key, the same for every resend.
    pub client_id: ClientId,
}

/// A message the server acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckedMessage {
    /// What was sent.
    pub sent: SentMessage,
    /// The seq the ack gave it.
    pub seq: Seq,
}

/// What one raw client did.
#[derive(Debug, Clone, Default)]
pub struct RawClientOutcome {
    /// Its username.
    pub username: String,
    /// Messages created (k = 1 ..= created).
    pub created: u64,
    /// Every ack, in the order they came.
    pub acked: Vec<AckedMessage>,
    /// Messages still unacked when it stopped.
    pub unacked: Vec<SentMessage>,
    /// Messages refused for good (never to be stored), with the error.
    pub refused: Vec<(SentMessage, String)>,
    /// Acks that did not match what was sent (wrong client id, conversation or text).
    pub ack_mismatches: Vec<String>,
    /// Connections that ended and were replaced.
    pub reconnects: u64,
    /// Transient refusals (`rate_limited`, `internal`, `shutting_down`), each followed by a
    /// reconnect and a resend.
    pub transient_errors: u64,
    /// Why it stopped early, if it did (e.g. its token was refused).
    pub fatal: Option<String>,
}

/// A raw protocol user.
#[derive(Debug)]
pub struct RawClient {
    username: String,
    token: Secret,
    conversations: Vec<ConversationId>,
    config: RawClientConfig,
    outbox: VecDeque<SentMessage>,
    next_k: u64,
    outcome: RawClientOutcome,
}

/// Why a connection ended.
enum Ended {
    /// Everything is done (or the client was told to give up).
    Finished,
    /// The connection failed; reconnect after at least `wait`.
    Lost {
        reason: String,
        wait: Duration,
        /// It had signed in (which resets the backoff).
        was_online: bool,
    },
}

impl RawClient {
    /// A client for `username` (signed in already: `token`) writing round-robin into
    /// `conversations`.
    pub fn new(
        username: String,
        token: Secret,
        conversations: Vec<ConversationId>,
        config: RawClientConfig,
    ) -> Self {
        Self {
            outcome: RawClientOutcome {
                username: username.clone(),
                ..Default::default()
            },
            username,
            token,
            conversations,
            config,
            outbox: VecDeque::new(),
            next_k: 1,
        }
    }

    /// Sends until `stop_sending`, then keeps connecting and resending until every message is
    /// acked (or `give_up`). Returns what happened.
    pub async fn run(
        mut self,
        stop_sending: CancellationToken,
        give_up: CancellationToken,
    ) -> RawClientOutcome {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / self.config.rate));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut failures: u32 = 0;
        loop {
            let ended = tokio::select! {
                _ = give_up.cancelled() => Ended::Finished,
                ended = self.connect_and_serve(&mut ticker, &stop_sending) => ended,
            };
            match ended {
                Ended::Finished => break,
                Ended::Lost {
                    reason,
                    wait,
                    was_online,
                } => {
                    tracing::debug!(user = %self.username, %reason, "connection lost");
                    self.outcome.reconnects += 1;
                    if was_online {
                        failures = 0;
                    }
                    failures = failures.saturating_add(1);
                    let delay = self.backoff(failures).max(wait);
                    if !self
                        .wait_offline(delay, &mut ticker, &stop_sending, &give_up)
                        .await
                    {
                        break;
                    }
                }
            }
            if self.outcome.fatal.is_some() {
                break;
            }
        }
        self.outcome.unacked = self.outbox.into_iter().collect();
        self.outcome
    }

    fn backoff(&self, failures: u32) -> Duration {
        let cap = self
            .config
            .backoff_min
            .saturating_mul(1 << failures.min(16))
            .min(self.config.backoff_max);
        rand::rng().random_range(self.config.backoff_min..=cap.max(self.config.backoff_min))
    }

    /// Waits `delay` while still creating messages. False when told to give up.
    async fn wait_offline(
        &mut self,
        delay: Duration,
        ticker: &mut tokio::time::Interval,
        stop_sending: &CancellationToken,
        give_up: &CancellationToken,
    ) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = give_up.cancelled() => return false,
                _ = &mut sleep => return true,
                _ = ticker.tick(), if !stop_sending.is_cancelled() => self.create_message(),
            }
        }
    }

    /// A new message at the end of the outbox.
    fn create_message(&mut self) {
        let k = self.next_k;
        self.next_k += 1;
        self.outcome.created = k;
        let conversation_id = self.conversations[(k as usize - 1) % self.conversations.len()];
        self.outbox.push_back(SentMessage {
            k,
            conversation_id,
            client_id: ClientId::time_ordered(),
        });
    }

    async fn connect_and_serve(
        &mut self,
        ticker: &mut tokio::time::Interval,
        stop_sending: &CancellationToken,
    ) -> Ended {
        let timeout = self.config.connect_timeout;
        let lost = |reason: String| Ended::Lost {
            reason,
            wait: Duration::ZERO,
            was_online: false,
        };
        let url = &self.config.urls[self.outcome.reconnects as usize % self.config.urls.len()];
        let mut wire = match Wire::connect(url, timeout).await {
            Ok(wire) => wire,
            Err(error) => return lost(format!("{error:#}")),
        };
        let resumed = wire
            .call(
                Resume {
                    token: self.token.clone(),
                },
                timeout,
            )
            .await;
        match resumed {
            Ok(_) => {}
            Err(crate::wire::CallError::Server(error)) if !error.code.is_transient() => {
                self.outcome.fatal = Some(format!("resume refused: {error}"));
                return Ended::Finished;
            }
            Err(error) => return lost(format!("resume: {error}")),
        }
        let ended = self.serve(&mut wire, ticker, stop_sending).await;
        if matches!(ended, Ended::Finished) {
            wire.close().await;
        }
        ended
    }

    /// The signed-in connection: resend the outbox in order, then send new messages as they
    /// come, matching acks, until the connection fails or all is done.
    async fn serve(
        &mut self,
        wire: &mut Wire,
        ticker: &mut tokio::time::Interval,
        stop_sending: &CancellationToken,
    ) -> Ended {
        let config = self.config.clone();
        // Request id → client id of the sends in flight on this connection.
        let mut in_flight: HashMap<RequestId, ClientId> = HashMap::new();
        // How many outbox entries (from the front) were sent on this connection.
        let mut sent = 0usize;
        let mut ping: Option<RequestId> = None;
        // Since when replies are awaited with no frame heard (None: nothing awaited).
        let mut waiting_since: Option<Instant> = None;
        let mut idle_since = Instant::now();
        let mut heartbeat = tokio::time::interval(Duration::from_millis(250));
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pacer = Pacer::new(&wire.limits, Instant::now());
        let lost = |reason: String| Ended::Lost {
            reason,
            wait: Duration::ZERO,
            was_online: true,
        };
        loop {
            // Fill the window, oldest first, as fast as the server's rate limit allows.
            while sent < self.outbox.len() && sent < WINDOW && pacer.try_take(Instant::now()) {
                let message = self.outbox[sent].clone();
                let id = wire.next_id();
                let params = SendText {
                    conversation_id: message.conversation_id,
                    client_id: message.client_id.clone(),
                    text: MessageTag::new(&self.username, message.k).text(),
                    reply_to: None,
                    mentions: vec![],
                    mention_all: false,
                };
                if let Err(error) = wire.send(id, params, config.dead_after).await {
                    return lost(format!("{error:#}"));
                }
                in_flight.insert(id, message.client_id);
                sent += 1;
                waiting_since.get_or_insert_with(Instant::now);
            }
            if stop_sending.is_cancelled() && self.outbox.is_empty() {
                return Ended::Finished;
            }
            tokio::select! {
                _ = ticker.tick(), if !stop_sending.is_cancelled() => self.create_message(),
                _ = stop_sending.cancelled(), if self.outbox.is_empty() => return Ended::Finished,
                // Time for the next send the rate limit held back.
                _ = tokio::time::sleep_until(pacer.next_token_at().into()),
                    if sent < self.outbox.len() && sent < WINDOW => {}
                _ = heartbeat.tick() => {
                    if let Some(since) = waiting_since {
                        if since.elapsed() > config.dead_after {
                            return lost(format!("no reply for {:?}", since.elapsed()));
                        }
                    } else if idle_since.elapsed() > config.ping_after && pacer.try_take(Instant::now())
                    {
                        let id = wire.next_id();
                        if let Err(error) = wire.send(id, Ping {}, config.dead_after).await {
                            return lost(format!("{error:#}"));
                        }
                        ping = Some(id);
                        waiting_since = Some(Instant::now());
                    }
                }
                frame = wire.next_frame() => {
                    let frame = match frame {
                        Ok(Some(frame)) => frame,
                        Ok(None) => return lost("closed".into()),
                        Err(error) => return lost(format!("{error:#}")),
                    };
                    let reply_to = match &frame {
                        ServerFrame::Result { id, .. } => Some(*id),
                        ServerFrame::Error { id, .. } => *id,
                        _ => None,
                    };
                    if let Some(id) = reply_to {
                        if ping == Some(id) {
                            ping = None;
                        } else if let Some(client_id) = in_flight.remove(&id) {
                            match frame {
                                ServerFrame::Result { result, .. } => {
                                    match serde_json::from_str::<Message>(result.get()) {
                                        Ok(message) => self.acked(&client_id, message, &mut sent),
                                        Err(error) => {
                                            return lost(format!("unreadable ack: {error}"))
                                        }
                                    }
                                }
                                ServerFrame::Error { error, .. } => {
                                    if let Some(ended) = self.refused(&client_id, error, &mut sent) {
                                        return ended;
                                    }
                                }
                                _ => unreachable!("replies only"),
                            }
                        }
                    } else if let ServerFrame::Error { error, .. } = frame {
                        tracing::warn!(user = %self.username, %error, "error without a request id");
                    }
                    waiting_since = (!in_flight.is_empty() || ping.is_some()).then(Instant::now);
                    idle_since = Instant::now();
                }
            }
        }
    }

    /// An ack: the message leaves the outbox.
    fn acked(&mut self, client_id: &ClientId, message: Message, sent: &mut usize) {
        let Some(position) = self.outbox.iter().position(|m| &m.client_id == client_id) else {
            self.outcome.ack_mismatches.push(format!(
                "{}: an ack for {client_id}, which is not in the outbox",
                self.username
            ));
            return;
        };
        let sent_message = self.outbox.remove(position).expect("found");
        if position < *sent {
            *sent -= 1;
        }
        if position != 0 {
            tracing::warn!(user = %self.username, k = sent_message.k, position, "ack out of send order");
        }
        let expected_text = MessageTag::new(&self.username, sent_message.k).text();
        if message.client_id != *client_id
            || message.conversation_id != sent_message.conversation_id
            || message.body.preview() != expected_text
        {
            self.outcome.ack_mismatches.push(format!(
                "{}: k={} acked as {:?} in {} with client id {}",
                self.username,
                sent_message.k,
                message.body.preview(),
                message.conversation_id,
                message.client_id
            ));
        }
        self.outcome.acked.push(AckedMessage {
            sent: sent_message,
            seq: message.seq,
        });
    }

    /// A refused send: transient ones end the connection (the message and everything after it
    /// go again, in order, on the next); permanent ones drop the message for good.
    fn refused(
        &mut self,
        client_id: &ClientId,
        error: ErrorBody,
        sent: &mut usize,
    ) -> Option<Ended> {
        if error.code.is_transient() {
            self.outcome.transient_errors += 1;
            let wait = Duration::from_millis(error.retry_after_ms.unwrap_or(0));
            return Some(Ended::Lost {
                reason: format!("transient refusal: {error}"),
                wait,
                was_online: true,
            });
        }
        tracing::error!(user = %self.username, %error, "a send was refused for good");
        if let Some(position) = self.outbox.iter().position(|m| &m.client_id == client_id) {
            let message = self.outbox.remove(position).expect("found");
            if position < *sent {
                *sent -= 1;
            }
            self.outcome.refused.push((message, error.to_string()));
        }
        if error.code == ErrorCode::Unauthenticated {
            self.outcome.fatal = Some(error.to_string());
            return Some(Ended::Finished);
        }
        None
    }
}

/// Keeps one connection's requests under the server's rate limit (PROTOCOL.md §9.7) with half
/// of it to spare: a send refused with `rate_limited` is resent after later ones may have been
/// stored, which would put the sender's messages out of order.
#[derive(Debug)]
struct Pacer {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    updated: Instant,
}

impl Pacer {
    fn new(limits: &im_proto::Limits, now: Instant) -> Self {
        let capacity = (f64::from(limits.request_burst) / 2.0).max(1.0);
        Self {
            // hello and resume already took two of the server's tokens.
            tokens: capacity - 2.0,
            capacity,
            per_second: (f64::from(limits.requests_per_second) / 2.0).max(1.0),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.duration_since(self.updated).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.updated = now;
    }

    /// Takes a token if there is one at `now`.
    fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token will be there.
    fn next_token_at(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        self.updated + Duration::from_secs_f64(missing / self.per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_allows_half_the_burst_then_waits() {
        let limits = im_proto::Limits {
            requests_per_second: 200,
            request_burst: 400,
            ..Default::default()
        };
        let start = Instant::now();
        let mut pacer = Pacer::new(&limits, start);
        let mut taken = 0;
        while taken < 1000 && pacer.try_take(start) {
            taken += 1;
        }
        // Half the burst, less hello and resume; then one every 10 ms (half of 200 a second).
        assert_eq!(taken, 198);
        let next = pacer.next_token_at() - start;
        assert!(next.abs_diff(Duration::from_millis(10)) < Duration::from_micros(1));
        assert!(!pacer.try_take(start + Duration::from_millis(9)));
        assert!(pacer.try_take(start + Duration::from_millis(11)));
        // Idle time refills up to the capacity only.
        let later = start + Duration::from_secs(60);
        let mut refilled = 0;
        while refilled < 1000 && pacer.try_take(later) {
            refilled += 1;
        }
        assert_eq!(refilled, 200);
    }
}
