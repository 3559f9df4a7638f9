//! The sequencer: delivers every node's committed batches to this node's sessions in the order
//! of their commits (`writes`, gapless), publishing this node's own batches as they come from
//! the writer. A gap that stays open for [`GAP_WAIT`], or a NATS connection lost and back, ends
//! in `sync_needed` to every session here: they catch up from the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::reorder::Reorder;
use super::wire::{self, Subjects};
use super::NodeId;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::{Delivery, Push, SessionCache, Store};

/// How long a batch may be missing while later ones wait before the sessions here are told to
/// catch up from the database instead. Long enough for a batch held up by a saturated machine
/// (50 ms gave up on two batches of a run at max load with two nodes, NATS and PostgreSQL all on
/// one core, whose sessions then missed 1,024 live deliveries), short enough that a node dying between its commit and its publish
/// stalls the others' deliveries for a moment only.
pub const GAP_WAIT: Duration = Duration::from_secs(1);

/// Publishes queued at most before this node's own batches are dropped from NATS (the other
/// nodes then see a gap and make their sessions catch up).
const PUBLISH_QUEUE: usize = 4096;

pub struct Sequencer {
    node: NodeId,
    /// Batches that came in parts, until every part is here: order → (parts, pushes by part).
    assembling: HashMap<u64, (u32, BTreeMap<u32, Vec<Push>>)>,
    /// Every node's batches (this node's with their answers), by the order of their commits.
    batches: Reorder<Vec<Delivery>>,
    connected: bool,
    hub: Arc<Hub>,
    sessions: Arc<SessionCache>,
    metrics: Arc<Metrics>,
    store: Store,
    publish: mpsc::Sender<Vec<u8>>,
    nats: async_nats::Client,
    subjects: Subjects,
}

impl Sequencer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        node: NodeId,
        committed: u64,
        hub: Arc<Hub>,
        sessions: Arc<SessionCache>,
        metrics: Arc<Metrics>,
        store: Store,
        nats: async_nats::Client,
        subjects: Subjects,
    ) -> Self {
        let (publish, _) = mpsc::channel(1);
        Self {
            node,
            assembling: HashMap::new(),
            batches: Reorder::new(committed + 1, GAP_WAIT),
            connected: nats.connection_state() == async_nats::connection::State::Connected,
            hub,
            sessions,
            metrics,
            store,
            publish,
            nats,
            subjects,
        }
    }

    pub async fn run(
        mut self,
        mut local: mpsc::UnboundedReceiver<(Option<u64>, Vec<Delivery>)>,
        mut remote: async_nats::Subscriber,
        mut volatile: async_nats::Subscriber,
        mut connection: mpsc::UnboundedReceiver<bool>,
        shutdown: CancellationToken,
    ) {
        // Publishing never holds up delivery: a task of its own, with a bounded queue.
        let (publish, mut to_publish) = mpsc::channel::<Vec<u8>>(PUBLISH_QUEUE);
        self.publish = publish;
        let nats = self.nats.clone();
        let subject = self.subjects.batches.clone();
        let publisher = tokio::spawn(async move {
            while let Some(payload) = to_publish.recv().await {
                if let Err(e) = nats.publish(subject.clone(), payload.into()).await {
                    tracing::warn!(error = %e, "cannot publish a batch to NATS");
                }
            }
        });
        loop {
            let gap_deadline = self.batches.deadline().map(Instant::from_std);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = local.recv() => match batch {
                    Some((order, deliveries)) => self.local(order, deliveries),
                    None => break,
                },
                Some(message) = remote.next() => match wire::decode_batch(&message.payload) {
                    Ok(part) if part.origin == self.node => {}
                    Ok(part) => self.assemble(part),
                    Err(e) => tracing::warn!(error = %e, "an unreadable batch on NATS"),
                },
                Some(message) = volatile.next() => match wire::decode_volatile(&message.payload) {
                    Ok((origin, _, _)) if origin == self.node => {}
                    Ok((_, to, frame)) => {
                        self.hub.deliver(&to, &frame, None);
                    }
                    Err(e) => tracing::warn!(error = %e, "an unreadable notice on NATS"),
                },
                Some(up) = connection.recv() => self.connection_changed(up).await,
                _ = sleep_until(gap_deadline) => self.give_up_on_gap(),
            }
        }
        publisher.abort();
    }

    /// This node's batch, just committed: its pushes published for the others, its answers and
    /// pushes delivered here in its turn.
    fn local(&mut self, order: Option<u64>, deliveries: Vec<Delivery>) {
        let Some(order) = order else {
            // Not numbered (cannot happen on PostgreSQL): delivered at once.
            self.carry_out(deliveries);
            return;
        };
        if self.connected {
            let pushes: Vec<&Push> = deliveries
                .iter()
                .filter_map(|d| match d {
                    Delivery::Push(push) => Some(push),
                    Delivery::Answer(_) => None,
                })
                .collect();
            for part in wire::encode_batch(order, self.node, &pushes, wire::PART_BYTES) {
                if self.publish.try_send(part).is_err() {
                    tracing::warn!(
                        order,
                        "the NATS publish queue is full; the others will catch up"
                    );
                    break;
                }
            }
        }
        if order < self.batches.next() {
            // Its turn passed while it was on its way here: NATS came back meanwhile and the
            // turn moved to the commits' count. This node's own batch still reaches the sessions
            // here — its answers above all — before any later batch, as commits go.
            self.carry_out(deliveries);
            return;
        }
        self.offer(order, deliveries);
    }

    /// A part of another node's batch: the batch goes on once all its parts are here (a part
    /// that never comes leaves a gap, given up on like a missing batch).
    fn assemble(&mut self, part: wire::Part) {
        if part.parts <= 1 {
            self.offer(
                part.order,
                part.pushes.into_iter().map(Delivery::Push).collect(),
            );
            return;
        }
        let (parts, got) = self
            .assembling
            .entry(part.order)
            .or_insert_with(|| (part.parts, BTreeMap::new()));
        got.insert(part.part, part.pushes);
        if got.len() as u32 >= *parts {
            let (_, got) = self.assembling.remove(&part.order).expect("just seen");
            let deliveries = got.into_values().flatten().map(Delivery::Push).collect();
            self.offer(part.order, deliveries);
        }
        // Parts of batches whose turn is past are dropped.
        let next = self.batches.next();
        self.assembling.retain(|&order, _| order >= next);
    }

    /// A batch, delivered if it is its turn (then the held ones that follow it), held if
    /// earlier ones are missing, dropped if its turn is past (its sessions were told to catch
    /// up, or it was delivered already).
    fn offer(&mut self, order: u64, deliveries: Vec<Delivery>) {
        if !self.connected {
            // Without NATS nothing else arrives to wait for; the sessions are told to catch
            // up when it is back.
            self.carry_out(deliveries);
            self.batches.passed(order);
            return;
        }
        for ready in self
            .batches
            .offer(order, deliveries, std::time::Instant::now())
        {
            self.carry_out(ready);
        }
    }

    /// A batch stayed missing: the sessions here catch up from the database, and delivery
    /// goes on from the first held batch.
    fn give_up_on_gap(&mut self) {
        let missing_from = self.batches.next();
        if let Some(ready) = self.batches.give_up(std::time::Instant::now()) {
            tracing::warn!(
                missing_from,
                missing_to = self.batches.next() - 1,
                "batches missing on NATS; sessions here catch up from the database"
            );
            self.sync_needed("a server node missed live events");
            for pushes in ready {
                self.carry_out(pushes);
            }
        }
    }

    async fn connection_changed(&mut self, up: bool) {
        if up == self.connected {
            return;
        }
        self.connected = up;
        if !up {
            tracing::warn!("lost NATS: delivering this node's own batches only");
            for pushes in self.batches.flush() {
                self.carry_out(pushes);
            }
            return;
        }
        // Back: start from where the commits stand now, and have every session here catch up
        // on what the others committed meanwhile.
        match self.store.commit_order().await {
            Ok(committed) => self.batches.skip_to(committed.unwrap_or(0) + 1),
            Err(e) => tracing::warn!(error = %e, "cannot read the commit order"),
        }
        tracing::info!("NATS is back; sessions here catch up from the database");
        self.sync_needed("the server node was cut off from the others for a moment");
        for pushes in self.batches.release(std::time::Instant::now()) {
            self.carry_out(pushes);
        }
    }

    fn sync_needed(&self, reason: &str) {
        let frame = Utf8Bytes::from(im_proto::encode_event(&im_proto::Event::SyncNeeded(
            im_proto::SyncNeeded {
                reason: reason.into(),
            },
        )));
        let told = self.hub.broadcast(&frame);
        self.metrics.sync_needed.increment(told as u64);
    }

    fn carry_out(&self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            delivery.carry_out(&self.hub, &self.sessions, &self.metrics);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
