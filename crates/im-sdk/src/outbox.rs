//! The outbox queue: which unsent messages go out next, in the order they were written, exactly
//! once per connection.
//!
//! The messages themselves live in the cache (so they survive restarts); this keeps their order
//! and what happened to each on the current connection:
//! - `queued`: waiting to be sent, oldest first;
//! - `in_flight`: sent on this connection, waiting for the reply, in send order.
//!
//! Sending is pipelined, so a refusal can only stop what comes after it: on a transient refusal
//! (`rate_limited`, `shutting_down`, `internal`, `storage_full`…) the queue stops at that
//! message, lets what is already in flight settle, waits for the server's `retry_after_ms`, and
//! resumes *from the refused message*, so the messages are stored in the order they were
//! written (as matrix-sdk's send queue does). A permanent refusal takes the message out (it is
//! marked failed in the cache) and the rest go on. A message handed in twice (on the start-up
//! load and again from the app) is sent once.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use im_proto::ClientId;

/// What happened to a message on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flight {
    /// Sent; no reply yet.
    Waiting,
    /// Refused for now; to be sent again, in its place.
    Refused,
}

/// The order of the outbox on one connection (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct OutboxQueue {
    queued: VecDeque<ClientId>,
    in_flight: VecDeque<(ClientId, Flight)>,
    /// Every message queued or in flight (a backlog can hold tens of thousands: membership
    /// must not cost a scan).
    members: HashSet<ClientId>,
    /// After a transient refusal: nothing new goes out before this.
    paused_until: Option<Instant>,
}

impl OutboxQueue {
    /// Starts over for a new connection with the outbox as stored (oldest first).
    pub fn reload(&mut self, stored: impl IntoIterator<Item = ClientId>) {
        self.queued.clear();
        self.in_flight.clear();
        self.members.clear();
        for client_id in stored {
            self.push(client_id);
        }
        self.paused_until = None;
    }

    /// Adds a message at the end, unless it is already queued or in flight.
    pub fn push(&mut self, client_id: ClientId) {
        if self.members.insert(client_id.clone()) {
            self.queued.push_back(client_id);
        }
    }

    /// True if the message is queued or in flight.
    pub fn contains(&self, client_id: &ClientId) -> bool {
        self.members.contains(client_id)
    }

    /// Messages sent and not yet answered.
    pub fn waiting(&self) -> usize {
        self.in_flight
            .iter()
            .filter(|(_, f)| *f == Flight::Waiting)
            .count()
    }

    /// True when nothing is queued or in flight.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.in_flight.is_empty()
    }

    /// True if [`next`](Self::next) would hand out a message now (ignoring a pause).
    pub fn has_ready(&self) -> bool {
        if self.in_flight.iter().any(|(_, f)| *f == Flight::Refused) {
            self.waiting() == 0
        } else {
            !self.queued.is_empty()
        }
    }

    /// When the queue will be ready again if it is paused now.
    pub fn paused_until(&self) -> Option<Instant> {
        self.paused_until
    }

    /// The next message to send now, if the queue is not stopped. The caller sends it (the
    /// message is in flight from now on).
    pub fn next(&mut self, now: Instant) -> Option<ClientId> {
        if let Some(until) = self.paused_until {
            if now < until {
                return None;
            }
        }
        if self.in_flight.iter().any(|(_, f)| *f == Flight::Refused) {
            // Resume from the refused ones, in their order, once nothing sent after them is
            // still waiting for its answer.
            if self.waiting() > 0 {
                return None;
            }
            let refused: Vec<ClientId> = self.in_flight.drain(..).map(|(c, _)| c).collect();
            for c in refused.into_iter().rev() {
                self.queued.push_front(c);
            }
        }
        self.paused_until = None;
        let next = self.queued.pop_front()?;
        self.in_flight.push_back((next.clone(), Flight::Waiting));
        Some(next)
    }

    /// The server stored the message (acked, or found during catch-up).
    pub fn stored(&mut self, client_id: &ClientId) {
        self.forget(client_id);
    }

    /// The server refused the message for good: it leaves the queue (and is marked failed).
    pub fn failed(&mut self, client_id: &ClientId) {
        self.forget(client_id);
    }

    /// The app discarded the message.
    pub fn discard(&mut self, client_id: &ClientId) {
        self.forget(client_id);
    }

    /// The server refused the message for now: the queue stops at it and, after `retry_after`
    /// and once what was sent after it has been answered (the server refuses those too, until
    /// this one comes again), resumes from it.
    pub fn refused_for_now(&mut self, client_id: &ClientId, retry_after: Duration, now: Instant) {
        if let Some(slot) = self.in_flight.iter_mut().find(|(c, _)| c == client_id) {
            slot.1 = Flight::Refused;
        } else if !self.members.contains(client_id) {
            return;
        }
        let until = now + retry_after;
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// The connection ended: what was in flight goes back to the front, in order, to be sent
    /// again (same client ids) on the next connection.
    pub fn disconnected(&mut self) {
        let flying: Vec<ClientId> = self.in_flight.drain(..).map(|(c, _)| c).collect();
        for c in flying.into_iter().rev() {
            self.queued.push_front(c);
        }
        self.paused_until = None;
    }

    fn forget(&mut self, client_id: &ClientId) {
        if !self.members.remove(client_id) {
            return;
        }
        // Answers come for what is in flight (a few hundred at most); only a discard looks
        // through the queue.
        if let Some(at) = self.in_flight.iter().position(|(c, _)| c == client_id) {
            self.in_flight.remove(at);
        } else if let Some(at) = self.queued.iter().position(|c| c == client_id) {
            self.queued.remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: usize) -> ClientId {
        format!("m{n:04}").parse().unwrap()
    }

    #[test]
    fn a_message_handed_in_twice_is_sent_once() {
        let now = Instant::now();
        let mut q = OutboxQueue::default();
        q.reload([id(1), id(2)]);
        q.push(id(1));
        q.push(id(3));
        let sent: Vec<_> = std::iter::from_fn(|| q.next(now)).collect();
        assert_eq!(sent, [id(1), id(2), id(3)]);
        q.push(id(2));
        assert_eq!(q.next(now), None, "in flight already");
    }

    #[test]
    fn a_transient_refusal_resumes_from_the_refused_message_in_order() {
        let now = Instant::now();
        let mut q = OutboxQueue::default();
        q.reload((1..=5).map(id));
        for _ in 0..4 {
            q.next(now).unwrap();
        }
        q.stored(&id(1));
        q.refused_for_now(&id(2), Duration::from_secs(1), now);
        assert_eq!(q.next(now), None, "paused");
        q.refused_for_now(&id(3), Duration::from_secs(1), now);
        let later = now + Duration::from_secs(1);
        assert_eq!(q.next(later), None, "m4 is still waiting for its answer");
        q.refused_for_now(&id(4), Duration::from_millis(10), now);
        let sent: Vec<_> = std::iter::from_fn(|| q.next(later)).collect();
        assert_eq!(
            sent,
            [id(2), id(3), id(4), id(5)],
            "from the refused one, in order"
        );
    }

    #[test]
    fn what_was_in_flight_goes_first_after_a_reconnect() {
        let now = Instant::now();
        let mut q = OutboxQueue::default();
        q.reload((1..=4).map(id));
        q.next(now);
        q.next(now);
        q.push(id(5));
        q.disconnected();
        let sent: Vec<_> = std::iter::from_fn(|| q.next(now)).collect();
        assert_eq!(sent, (1..=5).map(id).collect::<Vec<_>>());
    }

    /// What the test's server does with a frame.
    #[derive(Debug, Clone, Copy)]
    enum Verdict {
        Store,
        RefuseForNow,
        RefuseForGood,
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// The app writes a new message.
        Write,
        /// The client sends what the queue lets it (up to n frames).
        Send(u8),
        /// The server answers the oldest unanswered frame.
        Answer(Verdict),
        /// The connection drops: unanswered frames may or may not have been stored.
        Drop(bool),
        /// Time passes.
        Wait(u16),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => Just(Step::Write),
            3 => (1u8..8).prop_map(Step::Send),
            4 => Just(Step::Answer(Verdict::Store)),
            2 => Just(Step::Answer(Verdict::RefuseForNow)),
            1 => Just(Step::Answer(Verdict::RefuseForGood)),
            1 => any::<bool>().prop_map(Step::Drop),
            2 => (0u16..2000).prop_map(Step::Wait),
        ]
    }

    /// The test's server, as im-server treats one connection's sends to one conversation: in
    /// arrival order, idempotent by client id, and after refusing one for now it refuses every
    /// later one for now until the refused one is sent again.
    #[derive(Default)]
    struct Server {
        stored: Vec<usize>,
        failed: Vec<usize>,
        blocked_on: Option<ClientId>,
    }

    impl Server {
        fn answer(&mut self, c: &ClientId, verdict: Verdict) -> Verdict {
            if let Some(blocked) = &self.blocked_on {
                if blocked != c {
                    return Verdict::RefuseForNow;
                }
                self.blocked_on = None;
            }
            let n: usize = c.as_str()[1..].parse().unwrap();
            if self.stored.contains(&n) {
                return Verdict::Store; // a resend gets the original back
            }
            match verdict {
                Verdict::Store => self.stored.push(n),
                Verdict::RefuseForNow => self.blocked_on = Some(c.clone()),
                Verdict::RefuseForGood => self.failed.push(n),
            }
            verdict
        }

        fn tell(q: &mut OutboxQueue, c: &ClientId, verdict: Verdict, now: Instant) {
            match verdict {
                Verdict::Store => q.stored(c),
                Verdict::RefuseForNow => q.refused_for_now(c, Duration::from_millis(500), now),
                Verdict::RefuseForGood => q.failed(c),
            }
        }
    }

    proptest! {
        /// Every message written is stored exactly once, in the order written (unless refused
        /// for good), whatever the server refuses for now and whenever the connection drops.
        #[test]
        fn messages_are_stored_once_in_the_order_written(steps in prop::collection::vec(step(), 1..300)) {
            let mut now = Instant::now();
            let mut q = OutboxQueue::default();
            let mut server = Server::default();
            let mut written = 0usize;
            // Frames on the wire, oldest first.
            let mut wire: VecDeque<ClientId> = VecDeque::new();
            for s in steps {
                match s {
                    Step::Write => {
                        written += 1;
                        q.push(id(written));
                    }
                    Step::Send(n) => {
                        for _ in 0..n {
                            match q.next(now) {
                                Some(c) => wire.push_back(c),
                                None => break,
                            }
                        }
                    }
                    Step::Answer(verdict) => {
                        let Some(c) = wire.pop_front() else { continue };
                        let verdict = server.answer(&c, verdict);
                        Server::tell(&mut q, &c, verdict, now);
                    }
                    Step::Drop(handled) => {
                        // The server may have handled what was on the wire; the answers are lost.
                        if handled {
                            for c in wire.drain(..) {
                                server.answer(&c, Verdict::Store);
                            }
                        }
                        wire.clear();
                        server.blocked_on = None;
                        q.disconnected();
                    }
                    Step::Wait(ms) => now += Duration::from_millis(ms as u64),
                }
            }
            // The server recovers and stores everything it is sent; time goes on.
            for _ in 0..100_000 {
                now += Duration::from_millis(100);
                while let Some(c) = q.next(now) {
                    wire.push_back(c);
                }
                if let Some(c) = wire.pop_front() {
                    let verdict = server.answer(&c, Verdict::Store);
                    Server::tell(&mut q, &c, verdict, now);
                } else if q.is_empty() {
                    break;
                }
            }
            prop_assert!(q.is_empty());
            let expected: Vec<usize> =
                (1..=written).filter(|n| !server.failed.contains(n)).collect();
            let mut sorted = server.stored.clone();
            sorted.sort();
            prop_assert_eq!(&sorted, &expected, "every message stored exactly once");
            prop_assert!(
                server.stored.windows(2).all(|w| w[0] < w[1]),
                "in the order written: {:?}",
                server.stored
            );
        }
    }
}
