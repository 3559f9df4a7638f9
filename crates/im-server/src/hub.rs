//! The hub: which connections are online for which user, and delivery of frames to them.
//!
//! Every connection has a bounded outbound queue. Delivery never waits: a connection whose queue
//! is full is too slow to keep up and is told to close (it reconnects and catches up from its
//! cursor), so one slow reader never holds up anyone else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use im_proto::{ClientId, ConversationId, ErrorBody, Uid};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use crate::outbound_queue::{outbound_queue, PushError, QueueReceiver, QueueSender};

/// A connection's number, unique for the life of the server process.
pub type ConnId = u64;

/// The SHA-256 of a session token: how sessions are named inside the server.
pub type TokenHash = [u8; 32];

/// What the rest of the server can hand to a connection.
#[derive(Debug)]
pub enum Outbound {
    /// A frame to write as is.
    Frame(Utf8Bytes),
    /// The connection's session was revoked: write this frame and sign the connection out.
    Revoked(Utf8Bytes),
}

/// The sending side of one connection.
#[derive(Debug)]
pub struct ConnHandle {
    id: ConnId,
    tx: QueueSender<Outbound>,
    too_slow: CancellationToken,
    /// Sends refused for now, by conversation: later sends to that conversation on this
    /// connection are refused the same way until the refused one comes again, so that a client
    /// pipelining its outbox gets its messages stored in the order it sent them.
    held: Mutex<HashMap<ConversationId, HeldSend>>,
    /// Changes submitted to the writer whose answers have not been queued yet: the connection
    /// reads no more requests while this is half its queue, so that its own answers always fit.
    in_flight: AtomicUsize,
}

/// A send refused for now, holding back the connection's later sends to its conversation.
#[derive(Debug, Clone)]
struct HeldSend {
    client_id: ClientId,
    /// Its place among the connection's frames: only sends read after it are held back.
    order: u64,
    refusal: ErrorBody,
    since: Instant,
}

/// How long a held send holds the others back at most (a client that gives up on it is not
/// blocked for ever).
const HOLD_AT_MOST: Duration = Duration::from_secs(60);

impl ConnHandle {
    /// A handle and the queue its connection reads from.
    pub fn new(id: ConnId, queue: usize) -> (Arc<Self>, QueueReceiver<Outbound>) {
        let (tx, rx) = outbound_queue(queue);
        let handle = Arc::new(Self {
            id,
            tx,
            too_slow: CancellationToken::new(),
            held: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
        });
        (handle, rx)
    }

    /// The connection's number.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Queues a frame. Returns false if the connection is gone or too slow (it is then told to close).
    pub fn send(&self, frame: Utf8Bytes) -> bool {
        self.push(Outbound::Frame(frame))
    }

    fn push(&self, item: Outbound) -> bool {
        match self.tx.try_push(item) {
            Ok(()) => true,
            Err(PushError::Full(_)) => {
                self.too_slow.cancel();
                false
            }
            Err(PushError::Closed(_)) => false,
        }
    }

    /// A change was handed to the writer; its answer will come on this connection's queue.
    pub fn begin_request(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// The writer queued a change's answer.
    pub fn end_request(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Changes submitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Cancelled when the connection fell too far behind and must close.
    pub fn too_slow(&self) -> &CancellationToken {
        &self.too_slow
    }

    /// Records that the send of `client_id` to `conversation` was refused for now (`refusal`
    /// is transient): later sends there are refused the same way until it comes again.
    /// `order` is the send's place among the connection's frames.
    pub fn hold(
        &self,
        conversation: ConversationId,
        client_id: ClientId,
        order: u64,
        refusal: ErrorBody,
    ) {
        let mut held = self.held.lock().expect("held sends");
        match held.get(&conversation) {
            // The earliest refused send is the one to come again first.
            Some(hold) if hold.order <= order => {}
            _ => {
                held.insert(
                    conversation,
                    HeldSend {
                        client_id,
                        order,
                        refusal,
                        since: Instant::now(),
                    },
                );
            }
        }
    }

    /// Whether a send (the connection's frame number `order`) may go ahead: `Err` with the
    /// refusal if a send to the conversation read before it is held and this is not it. The held
    /// one coming again releases the hold; sends read before the held one are not affected.
    pub fn check_order(
        &self,
        conversation: ConversationId,
        client_id: &ClientId,
        order: u64,
    ) -> Result<(), ErrorBody> {
        let mut held = self.held.lock().expect("held sends");
        let Some(hold) = held.get(&conversation) else {
            return Ok(());
        };
        if &hold.client_id == client_id || hold.since.elapsed() >= HOLD_AT_MOST {
            held.remove(&conversation);
            return Ok(());
        }
        if order < hold.order {
            return Ok(());
        }
        let mut refusal = hold.refusal.clone();
        refusal.message = format!(
            "an earlier message to this conversation ({}) was refused for now: send it again \
             first, then this one ({})",
            hold.client_id, refusal.message
        );
        Err(refusal)
    }
}

#[derive(Debug)]
struct Online {
    conn: Arc<ConnHandle>,
    session: TokenHash,
}

/// Shards of the online map: a reconnect takes the write lock of one shard, so it waits at most
/// for the deliveries reading that shard, never for a whole fan-out.
const SHARDS: usize = 64;

type Shard = RwLock<HashMap<Uid, Vec<Online>>>;

/// Online connections by user, sharded by uid.
#[derive(Debug)]
pub struct Hub {
    shards: Box<[Shard]>,
    next_conn: AtomicU64,
    connections: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            next_conn: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        }
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shard holding `uid` (uids are random: their first bytes spread evenly).
    fn shard(&self, uid: &Uid) -> &Shard {
        let bytes = uid.as_bytes();
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("a uid has 16 bytes"));
        &self.shards[n as usize % self.shards.len()]
    }

    /// A fresh connection number.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Marks a signed-in connection online for `uid`.
    pub fn register(&self, uid: Uid, session: TokenHash, conn: Arc<ConnHandle>) {
        let mut online = self.shard(&uid).write().expect("hub lock");
        online
            .entry(uid)
            .or_default()
            .push(Online { conn, session });
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a connection off line (on sign-out or disconnect).
    pub fn unregister(&self, uid: Uid, conn: ConnId) {
        let mut online = self.shard(&uid).write().expect("hub lock");
        if let Some(list) = online.get_mut(&uid) {
            let before = list.len();
            list.retain(|o| o.conn.id != conn);
            if list.len() < before {
                self.connections.fetch_sub(1, Ordering::Relaxed);
            }
            if list.is_empty() {
                online.remove(&uid);
            }
        }
    }

    /// How many signed-in connections are online.
    pub fn online_connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Queues `frame` for every online connection of every user in `uids`, except `skip`.
    /// Returns how many connections it was queued for. Each user's shard is locked only while
    /// that user's connections are served.
    pub fn deliver(&self, uids: &[Uid], frame: &Utf8Bytes, skip: Option<ConnId>) -> usize {
        let mut sent = 0;
        for uid in uids {
            let online = self.shard(uid).read().expect("hub lock");
            if let Some(list) = online.get(uid) {
                for o in list {
                    if Some(o.conn.id) != skip && o.conn.send(frame.clone()) {
                        sent += 1;
                    }
                }
            }
        }
        sent
    }

    /// Queues `frame` for every online connection. Returns how many it was queued for.
    pub fn broadcast(&self, frame: &Utf8Bytes) -> usize {
        let mut sent = 0;
        for shard in self.shards.iter() {
            let online = shard.read().expect("hub lock");
            for o in online.values().flatten() {
                if o.conn.send(frame.clone()) {
                    sent += 1;
                }
            }
        }
        sent
    }

    /// Tells every connection of `uid` signed in with `session` (but `skip`) that the session
    /// was revoked.
    pub fn revoke(&self, uid: Uid, session: &TokenHash, frame: &Utf8Bytes, skip: ConnId) {
        let online = self.shard(&uid).read().expect("hub lock");
        if let Some(list) = online.get(&uid) {
            for o in list {
                if o.conn.id != skip && &o.session == session {
                    o.conn.push(Outbound::Revoked(frame.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_to_every_session_but_the_skipped_one() {
        let hub = Hub::new();
        let tom = Uid::random();
        let jerry = Uid::random();
        let (a, mut ra) = ConnHandle::new(1, 4);
        let (b, mut rb) = ConnHandle::new(2, 4);
        let (c, mut rc) = ConnHandle::new(3, 4);
        hub.register(tom, [0; 32], a);
        hub.register(tom, [0; 32], b);
        hub.register(jerry, [1; 32], c);
        assert_eq!(hub.online_connections(), 3);
        let frame = Utf8Bytes::from("x");
        assert_eq!(hub.deliver(&[tom, jerry], &frame, Some(1)), 2);
        assert!(ra.try_recv().is_err());
        assert!(matches!(rb.try_recv(), Ok(Outbound::Frame(_))));
        assert!(matches!(rc.try_recv(), Ok(Outbound::Frame(_))));
        hub.unregister(tom, 2);
        hub.unregister(tom, 2);
        assert_eq!(hub.online_connections(), 2);
        assert_eq!(hub.deliver(&[tom], &frame, None), 1);
    }

    #[test]
    fn users_in_every_shard_are_reached_and_counted() {
        let hub = Hub::new();
        let users: Vec<Uid> = (0..SHARDS * 4).map(|_| Uid::random()).collect();
        let mut queues = Vec::new();
        for (i, uid) in users.iter().enumerate() {
            let (conn, rx) = ConnHandle::new(i as u64 + 1, 4);
            hub.register(*uid, [0; 32], conn);
            queues.push(rx);
        }
        let used: std::collections::HashSet<*const Shard> =
            users.iter().map(|u| hub.shard(u) as *const Shard).collect();
        assert!(used.len() > SHARDS / 2, "uids spread over the shards");
        assert_eq!(hub.online_connections(), users.len() as u64);
        let frame = Utf8Bytes::from("x");
        assert_eq!(hub.deliver(&users, &frame, Some(1)), users.len() - 1);
        for (i, rx) in queues.iter_mut().enumerate() {
            assert_eq!(rx.try_recv().is_ok(), i != 0, "connection {}", i + 1);
        }
        for (i, uid) in users.iter().enumerate() {
            hub.unregister(*uid, i as u64 + 1);
        }
        assert_eq!(hub.online_connections(), 0);
        assert_eq!(hub.deliver(&users, &frame, None), 0);
    }

    #[test]
    fn a_full_queue_marks_the_connection_too_slow() {
        let hub = Hub::new();
        let uid = Uid::random();
        let (a, _ra) = ConnHandle::new(1, 1);
        hub.register(uid, [0; 32], a.clone());
        let frame = Utf8Bytes::from("x");
        assert_eq!(hub.deliver(&[uid], &frame, None), 1);
        assert!(!a.too_slow().is_cancelled());
        assert_eq!(hub.deliver(&[uid], &frame, None), 0);
        assert!(a.too_slow().is_cancelled());
    }

    #[test]
    fn a_held_send_holds_back_later_sends_to_its_conversation_until_it_comes_again() {
        let (conn, _rx) = ConnHandle::new(1, 4);
        let here = ConversationId::random();
        let elsewhere = ConversationId::random();
        let id = |s: &str| s.parse::<ClientId>().unwrap();
        assert!(conn.check_order(here, &id("a"), 1).is_ok());
        conn.hold(here, id("b"), 3, ErrorBody::rate_limited("slow down", 40));
        assert!(
            conn.check_order(here, &id("a2"), 2).is_ok(),
            "a send read before the held one goes ahead"
        );
        let refusal = conn.check_order(here, &id("c"), 4).unwrap_err();
        assert_eq!(refusal.code, im_proto::ErrorCode::RateLimited);
        assert_eq!(refusal.retry_after_ms, Some(40));
        assert!(refusal.message.contains('b'), "{}", refusal.message);
        assert!(
            conn.check_order(elsewhere, &id("c"), 4).is_ok(),
            "other conversations go on"
        );
        // A later refusal does not move the hold; the held one releases it.
        conn.hold(here, id("c"), 4, ErrorBody::rate_limited("slow down", 40));
        assert!(conn.check_order(here, &id("c"), 5).is_err());
        assert!(
            conn.check_order(here, &id("b"), 6).is_ok(),
            "the held one releases it"
        );
        assert!(conn.check_order(here, &id("c"), 7).is_ok());
    }

    #[test]
    fn revoke_reaches_only_the_same_session() {
        let hub = Hub::new();
        let uid = Uid::random();
        let (a, mut ra) = ConnHandle::new(1, 4);
        let (b, mut rb) = ConnHandle::new(2, 4);
        let (c, mut rc) = ConnHandle::new(3, 4);
        hub.register(uid, [7; 32], a);
        hub.register(uid, [7; 32], b);
        hub.register(uid, [8; 32], c);
        hub.revoke(uid, &[7; 32], &Utf8Bytes::from("bye"), 1);
        assert!(ra.try_recv().is_err());
        assert!(matches!(rb.try_recv(), Ok(Outbound::Revoked(_))));
        assert!(rc.try_recv().is_err());
    }
}
