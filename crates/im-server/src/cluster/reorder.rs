//! [`Reorder`]: items numbered without gaps (every node's committed batches, by the change
//! counter's count) arrive in any order and leave in number order. One that stays missing past
//! a deadline is given up on: the caller then has its sessions catch up from the database.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Items held until their turn.
#[derive(Debug)]
pub struct Reorder<T> {
    /// The number of the next item to let out.
    next: u64,
    held: BTreeMap<u64, T>,
    /// Since when `next` has been missing while later items wait.
    gap_since: Option<Instant>,
    wait: Duration,
}

impl<T> Reorder<T> {
    /// Expects item `next` first; gives up on a missing one after `wait`.
    pub fn new(next: u64, wait: Duration) -> Self {
        Self {
            next,
            held: BTreeMap::new(),
            gap_since: None,
            wait,
        }
    }

    /// The number of the next item to let out.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Takes item `order`; returns the items whose turn it now is, in order. An item whose turn
    /// is past (let out already, or given up on) is dropped.
    pub fn offer(&mut self, order: u64, item: T, now: Instant) -> Vec<T> {
        if order < self.next {
            return Vec::new();
        }
        self.held.insert(order, item);
        self.release(now)
    }

    /// When to give up on the missing item, if one is missing.
    pub fn deadline(&self) -> Option<Instant> {
        self.gap_since.map(|since| since + self.wait)
    }

    /// Gives up on the missing items before the first held one: returns the held items that
    /// follow it, in order (`None` if nothing was missing).
    pub fn give_up(&mut self, now: Instant) -> Option<Vec<T>> {
        let (&first, _) = self.held.first_key_value()?;
        self.next = first;
        self.gap_since = None;
        Some(self.release(now))
    }

    /// Lets everything held out, in order, as if nothing were missing (NATS lost: nothing more
    /// will come to wait for).
    pub fn flush(&mut self) -> Vec<T> {
        if let Some((&last, _)) = self.held.last_key_value() {
            self.next = self.next.max(last + 1);
        }
        self.gap_since = None;
        std::mem::take(&mut self.held).into_values().collect()
    }

    /// Item `order` went out some other way: it, and anything before it, is past.
    pub fn passed(&mut self, order: u64) {
        self.skip_to(order + 1);
    }

    /// Items before `next` are past (dropped if held); [`Self::release`] lets out what follows.
    pub fn skip_to(&mut self, next: u64) {
        if next > self.next {
            self.next = next;
            self.held = self.held.split_off(&next);
            if self.held.is_empty() {
                self.gap_since = None;
            }
        }
    }

    /// Lets out the held items from `next` on while none is missing.
    pub fn release(&mut self, now: Instant) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(item) = self.held.remove(&self.next) {
            out.push(item);
            self.next += 1;
        }
        self.gap_since = match (self.held.is_empty(), self.gap_since) {
            (true, _) => None,
            (false, Some(since)) if out.is_empty() => Some(since),
            // Progress: the wait starts again for the new gap.
            (false, _) => Some(now),
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WAIT: Duration = Duration::from_millis(50);

    proptest! {
        /// Items 1..=n arrive shuffled, some lost, some twice; now and then the deadline
        /// passes. What leaves is in strictly increasing order, each once; everything that
        /// arrived leaves unless it came after the reorderer gave up on a gap past it; and
        /// without losses or deadlines everything leaves, in order.
        #[test]
        fn items_leave_in_order_once_and_only_a_give_up_loses_any(
            n in 1u64..60,
            seed in any::<u64>(),
            lose in proptest::collection::vec(any::<bool>(), 60),
            again in proptest::collection::vec(any::<bool>(), 60),
            time_passes in proptest::collection::vec(0u8..10, 120),
        ) {
            use rand::{seq::SliceRandom, SeedableRng};
            let mut arrivals: Vec<u64> = (1..=n).filter(|i| !lose[*i as usize - 1]).collect();
            arrivals.extend((1..=n).filter(|i| again[*i as usize - 1] && !lose[*i as usize - 1]));
            arrivals.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            let losses = (1..=n).any(|i| lose[i as usize - 1]);
            let mut reorder = Reorder::new(1, WAIT);
            let mut now = Instant::now();
            let mut out = Vec::new();
            let mut gave_up_past = 0; // items numbered below this may have been given up on
            for (step, &order) in arrivals.iter().enumerate() {
                out.extend(reorder.offer(order, order, now));
                // Sometimes the deadline passes before the next arrival.
                if time_passes[step % time_passes.len()] == 0 {
                    now += WAIT;
                    if reorder.deadline().is_some_and(|d| d <= now) {
                        let before = reorder.next();
                        out.extend(reorder.give_up(now).expect("a gap"));
                        prop_assert!(reorder.next() > before);
                        gave_up_past = gave_up_past.max(reorder.next());
                    }
                }
            }
            // The end: whatever is still held goes once its gaps are given up on.
            while reorder.deadline().is_some() {
                out.extend(reorder.give_up(now).expect("a gap"));
            }
            prop_assert!(out.windows(2).all(|w| w[0] < w[1]), "in order, once: {out:?}");
            let arrived: std::collections::BTreeSet<u64> = arrivals.iter().copied().collect();
            for order in &arrived {
                if !out.contains(order) {
                    prop_assert!(
                        *order < gave_up_past,
                        "{order} arrived and was dropped without a give-up past it"
                    );
                }
            }
            if !losses && gave_up_past == 0 {
                prop_assert_eq!(out, (1..=n).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_flush_lets_everything_out_and_later_arrivals_of_those_are_dropped() {
        let now = Instant::now();
        let mut reorder = Reorder::new(1, WAIT);
        assert!(reorder.offer(3, "c", now).is_empty());
        assert!(reorder.offer(5, "e", now).is_empty());
        assert_eq!(reorder.deadline(), Some(now + WAIT));
        assert_eq!(reorder.flush(), ["c", "e"]);
        assert_eq!((reorder.next(), reorder.deadline()), (6, None));
        assert!(reorder.offer(4, "d", now).is_empty(), "its turn is past");
        reorder.passed(7);
        assert!(reorder.offer(6, "f", now).is_empty());
        assert_eq!(reorder.offer(8, "h", now), ["h"]);
    }

    #[test]
    fn skipping_drops_what_is_held_below_and_lets_the_rest_wait() {
        let now = Instant::now();
        let mut reorder = Reorder::new(1, WAIT);
        for (order, item) in [(2, "b"), (4, "d"), (6, "f")] {
            assert!(reorder.offer(order, item, now).is_empty());
        }
        reorder.skip_to(4);
        assert_eq!(reorder.release(now), ["d"]);
        assert_eq!(reorder.next(), 5);
        assert!(reorder.deadline().is_some(), "5 is missing while 6 waits");
    }
}
