//! What one address or one user may do, so that nobody can lock others out, flood them, or fill
//! the disk: failed sign-ins slowed down by growing delays (per username *and* address, so a
//! stranger cannot lock a user out and one office behind a NAT is not locked out by one
//! person), sign-ups per address, connections per address, and per-user quotas on creating
//! conversations, adding members and looking users up. Every limit is configurable
//! ([`GuardLimits`]); 0 means unlimited.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use im_proto::{ErrorBody, Uid};

use crate::config::GuardLimits;

/// The first delay after the free failures; it doubles with every further failure.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between two attempts.
const LONGEST_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten after this long without another one.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// One username from one address: the tightest.
    Pair(String, IpAddr),
    /// One username from anywhere (guessing spread over many addresses).
    User(String),
    /// Any username from one address (one address trying many accounts).
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failed sign-ins, slowed by delays that double with each failure past a few free ones.
#[derive(Debug)]
pub struct SignInThrottle {
    exempt_loopback: bool,
    free_per_pair: u32,
    free_per_user: u32,
    free_per_address: u32,
    failures: Mutex<HashMap<Key, Failures>>,
}

fn delay(failures: Failures, free: u32) -> Duration {
    if failures.count < free {
        return Duration::ZERO;
    }
    let doublings = (failures.count - free).min(20);
    (FIRST_DELAY * 2u32.pow(doublings)).min(LONGEST_DELAY)
}

impl SignInThrottle {
    /// `free` failures of one username from one address cost nothing; after that each attempt
    /// waits twice as long as the one before (1 s, 2 s, 4 s … up to 15 min). A username is
    /// slowed down from anywhere after 4× as many, an address for any username after 20×.
    pub fn new(free: u32, exempt_loopback: bool) -> Self {
        let free = free.max(1);
        Self {
            exempt_loopback,
            free_per_pair: free,
            free_per_user: free * 4,
            free_per_address: free * 20,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, username: &str, address: IpAddr) -> Vec<(Key, u32)> {
        let mut keys = vec![
            (Key::Pair(username.to_owned(), address), self.free_per_pair),
            (Key::User(username.to_owned()), self.free_per_user),
        ];
        if !(self.exempt_loopback && address.is_loopback()) {
            keys.push((Key::Address(address), self.free_per_address));
        }
        keys
    }

    /// `Err(milliseconds to wait)` if a sign-in for this username from this address must wait.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), u64> {
        self.check_at(Instant::now(), username, address)
    }

    fn check_at(&self, now: Instant, username: &str, address: IpAddr) -> Result<(), u64> {
        let failures = self.failures.lock().expect("throttle lock");
        let mut wait = Duration::ZERO;
        for (key, free) in self.keys(username, address) {
            if let Some(f) = failures.get(&key) {
                let allowed_at = f.last + delay(*f, free);
                wait = wait.max(allowed_at.saturating_duration_since(now));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_millis() as u64 + 1)
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, username: &str, address: IpAddr) {
        self.failed_at(Instant::now(), username, address)
    }

    fn failed_at(&self, now: Instant, username: &str, address: IpAddr) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() > 100_000 {
            failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        for (key, _) in self.keys(username, address) {
            let f = failures.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(f.last) >= FORGET_AFTER {
                f.count = 0;
            }
            f.count += 1;
            f.last = now;
        }
    }

    /// A sign-in succeeded: the username's failures are forgotten (the address's are not:
    /// one right password does not excuse an address trying many accounts).
    pub fn succeeded(&self, username: &str, address: IpAddr) {
        let mut failures = self.failures.lock().expect("throttle lock");
        failures.remove(&Key::Pair(username.to_owned(), address));
        failures.remove(&Key::User(username.to_owned()));
    }
}

/// A keyed token bucket that is off when its limit is 0.
#[derive(Debug)]
struct Keyed<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
    what: &'static str,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    /// `limit` per `period`, all of it usable at once.
    fn new(limit: u32, period: Duration, what: &'static str) -> Self {
        let limiter = NonZeroU32::new(limit).map(|n| {
            let quota = Quota::with_period(period / n.get())
                .expect("a positive period")
                .allow_burst(n);
            RateLimiter::keyed(quota)
        });
        Self {
            limiter,
            checks: AtomicU64::new(0),
            what,
        }
    }

    /// Takes `n` from `key`'s bucket, or says how long to wait.
    fn take(&self, key: &K, n: u32) -> Result<(), ErrorBody> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Now and then, forget keys whose buckets are full again.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        let refusal = |wait: Duration| {
            ErrorBody::rate_limited(
                format!("{}; try again later", self.what),
                wait.as_millis() as u64 + 1,
            )
        };
        match limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(refusal(
                not_until.wait_time_from(DefaultClock::default().now()),
            )),
            // More than the whole bucket at once: never possible, say when it is full again.
            Err(_) => Err(refusal(Duration::from_secs(3600))),
        }
    }
}

/// Open connections per address, each held by an [`AddressSlot`].
#[derive(Debug)]
pub struct AddressSlots {
    max: usize,
    exempt_loopback: bool,
    trusted_proxies: Vec<ipnet::IpNet>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection's place in its address's count; freed when dropped.
#[derive(Debug)]
pub struct AddressSlot {
    slots: Arc<AddressSlots>,
    address: IpAddr,
}

impl AddressSlots {
    fn new(max: usize, exempt_loopback: bool, trusted_proxies: Vec<ipnet::IpNet>) -> Arc<Self> {
        Arc::new(Self {
            max,
            exempt_loopback,
            trusted_proxies,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a new connection from `address`, unless it has `max` open already.
    pub fn take(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().expect("slots lock");
        let count = open.entry(address).or_insert(0);
        let exempt = (self.exempt_loopback && address.is_loopback())
            || crate::client_address::is_trusted(address, &self.trusted_proxies);
        if self.max > 0 && *count >= self.max && !exempt {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            slots: self.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("slots lock");
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Every limit on what one address or user may do.
#[derive(Debug)]
pub struct Guard {
    /// Shared with the cluster's link, which applies the other nodes' sign-in outcomes.
    pub sign_ins: Arc<SignInThrottle>,
    pub connections: Arc<AddressSlots>,
    sign_ups: Keyed<IpAddr>,
    exempt_loopback: bool,
    conversations: Keyed<Uid>,
    members_added: Keyed<Uid>,
    lookups: Keyed<Uid>,
}

impl Guard {
    /// The guard for these limits.
    pub fn new(limits: &GuardLimits) -> Self {
        const HOUR: Duration = Duration::from_secs(3600);
        Self {
            sign_ins: Arc::new(SignInThrottle::new(
                limits.sign_in_free_failures,
                limits.exempt_loopback,
            )),
            connections: AddressSlots::new(
                limits.connections_per_address,
                limits.exempt_loopback,
                limits.trusted_proxies.clone(),
            ),
            exempt_loopback: limits.exempt_loopback,
            sign_ups: Keyed::new(
                limits.sign_ups_per_hour_per_address,
                HOUR,
                "too many accounts created from this address",
            ),
            conversations: Keyed::new(
                limits.conversations_per_day_per_user,
                24 * HOUR,
                "too many conversations created today",
            ),
            members_added: Keyed::new(
                limits.members_added_per_hour_per_user,
                HOUR,
                "too many members added in the last hour",
            ),
            lookups: Keyed::new(
                limits.lookups_per_minute_per_user,
                Duration::from_secs(60),
                "too many user lookups",
            ),
        }
    }

    /// A sign-up from `address`.
    pub fn sign_up(&self, address: IpAddr) -> Result<(), ErrorBody> {
        if self.exempt_loopback && address.is_loopback() {
            return Ok(());
        }
        self.sign_ups.take(&address, 1)
    }

    /// `uid` creates a conversation with `members` others.
    pub fn create_conversation(&self, uid: Uid, members: usize) -> Result<(), ErrorBody> {
        self.conversations.take(&uid, 1)?;
        self.add_members(uid, members)
    }

    /// `uid` adds `members` to a group.
    pub fn add_members(&self, uid: Uid, members: usize) -> Result<(), ErrorBody> {
        self.members_added
            .take(&uid, u32::try_from(members).unwrap_or(u32::MAX))
    }

    /// `uid` looks users up by name.
    pub fn lookup(&self, uid: Uid) -> Result<(), ErrorBody> {
        self.lookups.take(&uid, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOM: &str = "tom";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_past_the_free_ones_wait_twice_as_long_each_time() {
        let t = SignInThrottle::new(3, false);
        let home = ip("10.0.0.1");
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.check_at(start, TOM, home).is_ok());
            t.failed_at(start, TOM, home);
        }
        let mut waits = Vec::new();
        let mut now = start;
        for _ in 0..4 {
            let wait = t.check_at(now, TOM, home).unwrap_err();
            waits.push(wait);
            now += Duration::from_millis(wait);
            assert!(
                t.check_at(now, TOM, home).is_ok(),
                "allowed once the wait is over"
            );
            t.failed_at(now, TOM, home);
        }
        assert_eq!(waits, [1_001, 2_001, 4_001, 8_001]);
        // Never more than the longest delay.
        for _ in 0..30 {
            t.failed_at(now, TOM, home);
        }
        let wait = t.check_at(now, TOM, home).unwrap_err();
        assert_eq!(wait, LONGEST_DELAY.as_millis() as u64 + 1);
    }

    #[test]
    fn a_stranger_cannot_lock_the_user_out_of_their_own_address() {
        let t = SignInThrottle::new(3, false);
        let attacker = ip("203.0.113.9");
        let home = ip("10.0.0.1");
        let now = Instant::now();
        for _ in 0..6 {
            t.failed_at(now, TOM, attacker);
        }
        assert!(
            t.check_at(now, TOM, attacker).is_err(),
            "the attacker waits"
        );
        assert!(t.check_at(now, TOM, home).is_ok(), "Tom at home does not");
        // Guessing from many addresses slows the username down everywhere, past 4× the free.
        for i in 0..12 {
            t.failed_at(now, TOM, ip(&format!("198.51.100.{i}")));
        }
        assert!(t.check_at(now, TOM, home).is_err());
        // The right password from home clears the username (not the attacker's address).
        t.succeeded(TOM, home);
        assert!(t.check_at(now, TOM, home).is_ok());
        assert!(t.check_at(now, TOM, attacker).is_err());
    }

    #[test]
    fn one_address_is_slowed_for_every_username_only_after_many_failures() {
        let t = SignInThrottle::new(3, false);
        let office = ip("192.0.2.1");
        let now = Instant::now();
        for i in 0..59 {
            t.failed_at(now, &format!("user{i}"), office);
        }
        assert!(
            t.check_at(now, "someone-else", office).is_ok(),
            "a NAT is not locked out"
        );
        t.failed_at(now, "user59", office);
        assert!(t.check_at(now, "someone-else", office).is_err());
    }

    #[test]
    fn failures_are_forgotten_after_an_hour_of_quiet() {
        let t = SignInThrottle::new(1, false);
        let home = ip("10.0.0.1");
        let start = Instant::now();
        for _ in 0..5 {
            t.failed_at(start, TOM, home);
        }
        let later = start + FORGET_AFTER;
        t.failed_at(later, TOM, home);
        assert_eq!(
            t.check_at(later, TOM, home).unwrap_err(),
            1_001,
            "counted from one again"
        );
    }

    #[test]
    fn connections_per_address_are_capped_and_freed() {
        let slots = AddressSlots::new(2, false, Vec::new());
        let a = ip("10.0.0.1");
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert!(slots.take(a).is_none(), "a third from the same address");
        assert!(
            slots.take(ip("10.0.0.2")).is_some(),
            "others are not affected"
        );
        drop(first);
        assert!(
            slots.take(a).is_some(),
            "a closed connection frees its slot"
        );
        let unlimited = AddressSlots::new(0, false, Vec::new());
        let held: Vec<_> = (0..1000).map(|_| unlimited.take(a).unwrap()).collect();
        assert_eq!(held.len(), 1000);
        let local = AddressSlots::new(1, true, Vec::new());
        let loopback = ip("127.0.0.1");
        let held: Vec<_> = (0..10).map(|_| local.take(loopback).unwrap()).collect();
        assert_eq!(held.len(), 10, "loopback is exempt when asked");
        let _one = local.take(a).unwrap();
        assert!(local.take(a).is_none(), "others are not");
    }

    #[test]
    fn quotas_refuse_with_a_delay_and_zero_means_unlimited() {
        let guard = Guard::new(&GuardLimits {
            conversations_per_day_per_user: 2,
            members_added_per_hour_per_user: 10,
            ..GuardLimits::unlimited()
        });
        let tom = Uid::random();
        assert!(guard.create_conversation(tom, 3).is_ok());
        assert!(guard.create_conversation(tom, 3).is_ok());
        let refusal = guard.create_conversation(tom, 1).unwrap_err();
        assert_eq!(refusal.code, im_proto::ErrorCode::RateLimited);
        assert!(refusal.retry_after_ms.unwrap() > 60_000, "{refusal:?}");
        assert!(
            refusal.message.contains("conversations"),
            "{}",
            refusal.message
        );
        assert!(
            guard.add_members(tom, 5).is_err(),
            "6 added already, 5 more is over 10"
        );
        assert!(guard.add_members(Uid::random(), 10).is_ok(), "per user");
        assert!(guard.lookup(tom).is_ok(), "lookups unlimited here");
        assert!(guard.sign_up(ip("10.0.0.1")).is_ok());
    }
}
