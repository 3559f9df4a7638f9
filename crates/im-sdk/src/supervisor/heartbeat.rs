//! When to ping a silent server and when to give up on it: a pure function of when it was last
//! heard, tested without waiting.

use std::time::{Duration, Instant};

/// What the heartbeat does when its timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Beat {
    /// Nothing heard for `ping_interval` (and no ping since): ping the server.
    Ping,
    /// Nothing heard for `dead_after`: the connection is dead.
    Dead,
}

/// When to ping and when to give up on a silent connection, from when the server was last
/// heard: exactly `dead_after` of silence is a dead connection (not "at the next tick after it").
#[derive(Debug, Clone, Copy)]
pub(super) struct Heartbeat {
    ping_interval: Duration,
    dead_after: Duration,
}

impl Heartbeat {
    pub(super) fn new(ping_interval: Duration, dead_after: Duration) -> Self {
        Self {
            ping_interval,
            dead_after,
        }
    }

    /// The next thing to do and when: a ping after `ping_interval` of silence (again every
    /// `ping_interval` while it lasts), death at `dead_after` of silence.
    pub(super) fn next(&self, last_heard: Instant, last_ping: Option<Instant>) -> (Instant, Beat) {
        let dead_at = last_heard + self.dead_after;
        let since = last_ping.filter(|p| *p > last_heard).unwrap_or(last_heard);
        let ping_at = since + self.ping_interval;
        if ping_at < dead_at {
            (ping_at, Beat::Ping)
        } else {
            (dead_at, Beat::Dead)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_connection_is_pinged_then_declared_dead_at_exactly_dead_after() {
        let beat = Heartbeat::new(Duration::from_secs(15), Duration::from_secs(40));
        let heard = Instant::now();
        let mut pinged = None;
        let mut timeline = Vec::new();
        loop {
            let (at, what) = beat.next(heard, pinged);
            timeline.push(((at - heard).as_secs(), what));
            match what {
                Beat::Ping => pinged = Some(at),
                Beat::Dead => break,
            }
        }
        assert_eq!(
            timeline,
            [(15, Beat::Ping), (30, Beat::Ping), (40, Beat::Dead)]
        );
    }

    #[test]
    fn hearing_from_the_server_moves_everything_on() {
        let beat = Heartbeat::new(Duration::from_secs(15), Duration::from_secs(40));
        let start = Instant::now();
        let pinged = start + Duration::from_secs(15);
        let heard = start + Duration::from_secs(16);
        assert_eq!(
            beat.next(heard, Some(pinged)),
            (heard + Duration::from_secs(15), Beat::Ping)
        );
    }
}
