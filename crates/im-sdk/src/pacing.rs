//! Pacing: the client keeps to the request rate the server announces in `hello`, so that a large
//! backlog (an outbox flushed after a long offline spell, a catch-up of many conversations) is
//! sent at the server's pace instead of bouncing off its limit.
//!
//! The server charges every frame against a token bucket of `request_burst` tokens refilled at
//! `requests_per_second`. The client keeps a bucket of its own with half the burst and 95 % of
//! the rate, and bounds how many requests are in flight to a quarter of the burst. Frames
//! reaching the server in any interval then number at most those in flight at its start plus
//! those sent during it — within the server's bucket however the network bunches them (a path
//! frozen for seconds and then released delivers at most the in-flight window at once). The
//! other quarter of the burst is headroom for requests the app makes meanwhile.

use std::time::{Duration, Instant};

use im_proto::Limits;

/// A token bucket (GCRA) kept on the client's side of the server's limit.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    /// Time one request costs.
    interval: Duration,
    /// How far ahead of now the bucket may run (burst × interval).
    tolerance: Duration,
    /// When the bucket is next empty-again: the theoretical arrival time.
    tat: Instant,
    /// Requests in flight allowed at once.
    window: usize,
}

impl Pacer {
    /// A pacer for a server with these limits.
    pub fn new(limits: &Limits, now: Instant) -> Self {
        let rate = (limits.requests_per_second.max(1) as f64 * 0.95).max(1.0);
        let burst = (limits.request_burst / 2).max(1);
        let interval = Duration::from_secs_f64(1.0 / rate);
        Self {
            interval,
            tolerance: interval * burst,
            tat: now,
            window: (limits.request_burst as usize / 4).max(1),
        }
    }

    /// How many requests may be in flight at once.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Takes a token if one is free now; otherwise says when one will be.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        let tat = self.tat.max(now);
        let allowed_at = (tat + self.interval)
            .checked_sub(self.tolerance)
            .unwrap_or(now);
        if allowed_at > now {
            return Err(allowed_at);
        }
        self.tat = tat + self.interval;
        Ok(())
    }

    /// Takes a token whether or not one is free (a request the user is waiting for): the bucket
    /// goes into debt, which later paced requests pay back.
    pub fn take_anyway(&mut self, now: Instant) {
        self.tat = self.tat.max(now) + self.interval;
    }

    /// Returns a token taken but not used.
    pub fn give_back(&mut self) {
        self.tat = self.tat.checked_sub(self.interval).unwrap_or(self.tat);
    }

    /// Waits until a token is free and takes it.
    pub async fn take(&mut self) {
        loop {
            match self.try_take(Instant::now()) {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at.into()).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits(rate: u32, burst: u32) -> Limits {
        Limits {
            requests_per_second: rate,
            request_burst: burst,
            ..Limits::default()
        }
    }

    #[test]
    fn a_burst_of_half_the_servers_then_its_rate() {
        let start = Instant::now();
        let mut pacer = Pacer::new(&limits(200, 400), start);
        let taken = (0..1000)
            .take_while(|_| pacer.try_take(start).is_ok())
            .count();
        assert_eq!(taken, 200, "half the server's burst at once");
        let next = pacer.try_take(start).unwrap_err();
        let gap = next - start;
        assert!(
            gap > Duration::from_millis(5) && gap < Duration::from_millis(6),
            "{gap:?}"
        );
        // Over ten seconds: 200 + 10 × 190.
        let mut now = start;
        let mut sent = 200;
        let end = start + Duration::from_secs(10);
        while now <= end {
            match pacer.try_take(now) {
                Ok(()) => sent += 1,
                Err(at) => now = at,
            }
        }
        assert!((2099..=2101).contains(&sent), "{sent}");
        assert_eq!(pacer.window(), 100);
    }

    #[test]
    fn requests_taken_anyway_are_paid_back() {
        let start = Instant::now();
        let mut pacer = Pacer::new(&limits(10, 2), start);
        assert!(pacer.try_take(start).is_ok());
        pacer.take_anyway(start);
        pacer.take_anyway(start);
        let next = pacer.try_take(start).unwrap_err();
        assert!(
            next - start >= Duration::from_millis(200),
            "{:?}",
            next - start
        );
    }

    /// The server's side: its token bucket, as im-server's limiter (burst, rate) counts it.
    struct ServerBucket {
        tokens: f64,
        burst: f64,
        rate: f64,
        at: Instant,
    }

    impl ServerBucket {
        fn admit(&mut self, now: Instant) -> bool {
            let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
            self.at = self.at.max(now);
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    proptest! {
        /// However the network delays and bunches frames (in order, as TCP delivers them), a
        /// client that keeps to its pacer and window is never refused by the server's bucket.
        #[test]
        fn paced_requests_never_exceed_the_servers_bucket(
            rate in 1u32..500,
            burst in 4u32..800,
            delays in prop::collection::vec(0u64..3_000, 1..600),
            rtt in 0u64..200,
        ) {
            let start = Instant::now();
            let limits = limits(rate, burst);
            let mut pacer = Pacer::new(&limits, start);
            let mut server = ServerBucket {
                tokens: burst as f64,
                burst: burst as f64,
                rate: rate as f64,
                at: start,
            };
            // Frames in flight: (arrival at the server, reply back at the client).
            let mut in_flight: std::collections::VecDeque<(Instant, Instant)> = Default::default();
            let mut now = start;
            let mut last_arrival = start;
            for delay in delays {
                // Wait for room in the window (the oldest reply) and for a token.
                while in_flight.len() >= pacer.window() {
                    let (_, back) = in_flight.pop_front().unwrap();
                    now = now.max(back);
                }
                in_flight.retain(|(_, back)| *back > now);
                loop {
                    match pacer.try_take(now) {
                        Ok(()) => break,
                        Err(at) => now = at,
                    }
                }
                // TCP keeps order: a frame arrives no earlier than the one before it.
                let arrival = (now + Duration::from_millis(delay)).max(last_arrival);
                last_arrival = arrival;
                prop_assert!(server.admit(arrival), "refused at {:?}", arrival - start);
                in_flight.push_back((arrival, arrival + Duration::from_millis(rtt)));
            }
        }
    }
}
