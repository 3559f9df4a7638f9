//! A connection's outbound queue: bounded, a push never waits, and it holds no memory while empty.
//!
//! Most of the server's connections are idle most of the time. tokio's mpsc channel allocates
//! its first block of 32 slots when it is created (~1.5 KiB per connection, whatever it holds);
//! this queue allocates when something is pushed and gives the room back once it is drained, so
//! an idle connection pays only for the queue's bookkeeping. One sender (the connection's handle,
//! used by whoever delivers to it) and one receiver (the connection's task).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Creates a queue that holds at most `capacity` items (at least one).
pub fn outbound_queue<T>(capacity: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            sender_gone: false,
            receiver_gone: false,
        }),
        ready: Notify::new(),
        capacity: capacity.max(1),
    });
    (QueueSender(shared.clone()), QueueReceiver(shared))
}

/// Why a push was refused; the item comes back with it.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError<T> {
    /// The queue holds `capacity` items already.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// Nothing is queued right now (or nothing ever will be again: the sender is gone).
#[derive(Debug, PartialEq, Eq)]
pub struct Empty;

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Woken when an item is pushed or the sender goes: the one receiver waits on it.
    ready: Notify,
    capacity: usize,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl<T> Shared<T> {
    fn state(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves the queue consistent (each step is one
        // VecDeque call), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The pushing side.
#[derive(Debug)]
pub struct QueueSender<T>(Arc<Shared<T>>);

impl<T> QueueSender<T> {
    /// Queues `item` without waiting.
    pub fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let mut state = self.0.state();
        if state.receiver_gone {
            return Err(PushError::Closed(item));
        }
        if state.items.len() >= self.0.capacity {
            return Err(PushError::Full(item));
        }
        state.items.push_back(item);
        drop(state);
        // Stores a permit if the receiver is not waiting yet, so no wake-up is lost.
        self.0.ready.notify_one();
        Ok(())
    }
}

impl<T> Drop for QueueSender<T> {
    fn drop(&mut self) {
        self.0.state().sender_gone = true;
        self.0.ready.notify_one();
    }
}

/// The receiving side.
#[derive(Debug)]
pub struct QueueReceiver<T>(Arc<Shared<T>>);

impl<T> QueueReceiver<T> {
    /// The next item, if one is queued.
    pub fn try_recv(&mut self) -> Result<T, Empty> {
        let mut state = self.0.state();
        let item = state.items.pop_front().ok_or(Empty)?;
        if state.items.is_empty() && state.items.capacity() > 0 {
            // Drained: give the room back (an idle connection holds none).
            state.items = VecDeque::new();
        }
        Ok(item)
    }

    /// The next item, waiting for one; `None` once the sender is gone and the queue is drained.
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            if let Ok(item) = self.try_recv() {
                return Some(item);
            }
            if self.0.state().sender_gone {
                // An item pushed before the sender went is still delivered.
                return self.try_recv().ok();
            }
            self.0.ready.notified().await;
        }
    }

    /// How many items are queued now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.state().items.len()
    }

    /// How many items the queue has room allocated for.
    #[cfg(test)]
    fn allocated(&self) -> usize {
        self.0.state().items.capacity()
    }
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.receiver_gone = true;
        // Nobody will read them: free them now rather than with the last handle.
        state.items = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        Recv,
        DropReceiver,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![5 => Just(Op::Push), 4 => Just(Op::Recv), 1 => Just(Op::DropReceiver)]
    }

    proptest! {
        /// Random pushes and receives against a plain `VecDeque` bounded by hand: the same
        /// refusals, the same items in the same order, and no room held while empty.
        #[test]
        fn behaves_like_a_bounded_fifo(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..200)) {
            let (tx, rx) = outbound_queue::<u32>(capacity);
            let mut rx = Some(rx);
            let mut model = VecDeque::new();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Push => {
                        next += 1;
                        let got = tx.try_push(next);
                        match &rx {
                            None => prop_assert_eq!(got, Err(PushError::Closed(next))),
                            Some(_) if model.len() >= capacity => {
                                prop_assert_eq!(got, Err(PushError::Full(next)))
                            }
                            Some(_) => {
                                prop_assert_eq!(got, Ok(()));
                                model.push_back(next);
                            }
                        }
                    }
                    Op::Recv => {
                        if let Some(rx) = &mut rx {
                            prop_assert_eq!(rx.try_recv().ok(), model.pop_front());
                        }
                    }
                    Op::DropReceiver => {
                        rx = None;
                        model.clear();
                    }
                }
                if let Some(rx) = &rx {
                    prop_assert_eq!(rx.len(), model.len());
                    if model.is_empty() {
                        prop_assert_eq!(rx.allocated(), 0, "an empty queue holds no room");
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_push_from_another_task() {
        let (tx, mut rx) = outbound_queue::<u32>(4);
        let pusher = tokio::spawn(async move {
            for i in 0..100 {
                // Full means the receiver has not caught up yet: try again after yielding.
                while tx.try_push(i).is_err() {
                    tokio::task::yield_now().await;
                }
                if i % 7 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            // The sender goes here: the receiver gets what is queued, then None.
        });
        let mut got = Vec::new();
        while let Some(i) = rx.recv().await {
            got.push(i);
        }
        pusher.await.unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_cancelled_recv_loses_nothing() {
        let (tx, mut rx) = outbound_queue::<u32>(4);
        // A recv that starts waiting and is given up, many times over, with pushes in between.
        for i in 0..50 {
            let waited = tokio::time::timeout(Duration::from_millis(1), rx.recv()).await;
            assert!(waited.is_err(), "nothing was queued");
            tx.try_push(i).unwrap();
            assert_eq!(rx.recv().await, Some(i));
        }
        assert_eq!(rx.try_recv(), Err(Empty));
    }
}
