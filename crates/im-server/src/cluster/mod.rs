//! Several nodes on one PostgreSQL database, with NATS between them (`--cluster nats://…`):
//! every committed batch's pushes (messages, receipts, membership changes, revoked sessions)
//! reach every node's sessions, in the one order all nodes' commits took.
//!
//! Why one ordered stream of batches and not a subject per user: PostgreSQL already orders
//! every node's batches (each holds the change counter row to commit, and the counter's
//! `writes` numbers them without gaps), so delivering batches by that number gives each
//! connection a conversation's messages in seq order wherever they were sent, with no per-
//! conversation bookkeeping and no database reads on the delivery path. Each node publishes
//! its batches on `im.<cluster>.batches` after commit and receives everyone's. The price is
//! that every node sees every batch (a few hundred bytes each, filtered by a hash lookup per
//! recipient): fine for a handful of nodes, the figures in BENCHMARKS.md; per-user subjects
//! with per-conversation reordering are the next design if nodes grow past that
//! (docs/CLUSTER.md).
//!
//! NATS is not trusted for durability: a batch missing for a second (a node died between its
//! commit and its publish, or NATS dropped it) or a lost NATS connection make this node tell
//! all its sessions `sync_needed`, and they catch up from the database. Typing notices, which
//! are never stored, go on `im.<cluster>.volatile`, unordered.

mod reorder;
mod sequencer;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use im_proto::Uid;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::{Delivery, SessionCache, Store};

/// A node's random name on the wire (its own publishes come back and are skipped).
pub type NodeId = u64;

/// Where the writer hands committed batches.
#[derive(Debug, Clone)]
pub struct BatchSender(mpsc::UnboundedSender<(Option<u64>, Vec<Delivery>)>);

impl BatchSender {
    /// A committed batch's answers and pushes, with its place in the order of all commits.
    pub fn send(&self, order: Option<u64>, deliveries: Vec<Delivery>) {
        // Gone only when the node stops.
        let _ = self.0.send((order, deliveries));
    }
}

/// This node's link to the others.
#[derive(Debug)]
pub struct Cluster {
    nats: async_nats::Client,
    node: NodeId,
    volatile_subject: String,
    sign_ins_subject: String,
    connected: Arc<AtomicBool>,
    url: String,
}

impl Cluster {
    /// Connects to NATS (and keeps reconnecting in the background) and makes the channel the
    /// writer hands its batches to. The sequencer starts with [`Cluster::run`], once the store
    /// is open.
    pub async fn connect(url: &str, name: &str) -> Result<(Self, BatchSender, Pending)> {
        let connected = Arc::new(AtomicBool::new(false));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let nats = async_nats::ConnectOptions::new()
            .name("im-server")
            .retry_on_initial_connect()
            .event_callback({
                let connected = connected.clone();
                move |event| {
                    let connected = connected.clone();
                    let events_tx = events_tx.clone();
                    async move {
                        match event {
                            async_nats::Event::Connected => {
                                connected.store(true, Ordering::SeqCst);
                                let _ = events_tx.send(true);
                            }
                            async_nats::Event::Disconnected => {
                                connected.store(false, Ordering::SeqCst);
                                let _ = events_tx.send(false);
                            }
                            other => tracing::warn!(event = %other, "NATS"),
                        }
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|e| Error::Config(format!("cannot use NATS at {url}: {e}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let node = rand::random();
        let subjects = wire::Subjects::new(name);
        Ok((
            Self {
                nats: nats.clone(),
                node,
                volatile_subject: subjects.volatile.clone(),
                sign_ins_subject: subjects.sign_ins.clone(),
                connected,
                url: without_credentials(url),
            },
            BatchSender(tx),
            Pending {
                nats,
                node,
                subjects,
                batches: rx,
                events: events_rx,
            },
        ))
    }

    /// Whether NATS is connected now (for `/readyz`).
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// The NATS server, for messages (no credentials in it are shown).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends a typing notice to the other nodes' sessions of `to` (best effort: typing is never
    /// stored, and a lost one expires on the client).
    pub fn volatile(&self, to: &[Uid], frame: &Utf8Bytes) {
        if !self.is_connected() {
            return;
        }
        self.publish(
            &self.volatile_subject,
            wire::encode_volatile(self.node, to, frame),
        );
    }

    /// Publishes off the caller's task (never waits for NATS).
    fn publish(&self, subject: &str, payload: Vec<u8>) {
        let nats = self.nats.clone();
        let subject = subject.to_owned();
        tokio::spawn(async move {
            let _ = nats.publish(subject, payload.into()).await;
        });
    }

    /// Tells the other nodes' sign-in throttles of an outcome here (best effort: a lost notice
    /// leaves one node counting one failure fewer).
    pub fn sign_in_outcome(&self, username: &str, address: std::net::IpAddr, ok: bool) {
        if !self.is_connected() {
            return;
        }
        let payload = serde_json::to_vec(&wire::SignInOutcome {
            origin: self.node,
            username: username.to_owned(),
            address,
            ok,
        })
        .expect("a notice serialises");
        self.publish(&self.sign_ins_subject, payload);
    }
}

/// A NATS URL as it may be shown: `nats://user:secret@host:4222` as `nats://host:4222`.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{host}")
        }
        None => url
            .rsplit_once('@')
            .map_or(url, |(_, host)| host)
            .to_owned(),
    }
}

/// What the sequencer needs, between connecting and starting it.
pub struct Pending {
    nats: async_nats::Client,
    node: NodeId,
    subjects: wire::Subjects,
    batches: mpsc::UnboundedReceiver<(Option<u64>, Vec<Delivery>)>,
    events: mpsc::UnboundedReceiver<bool>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("node", &self.node).finish()
    }
}

impl Pending {
    /// Subscribes, learns where the order of commits stands, and runs the sequencer until
    /// `shutdown`.
    pub async fn run(
        self,
        store: Store,
        hub: Arc<Hub>,
        sessions: Arc<SessionCache>,
        sign_ins: Arc<crate::guard::SignInThrottle>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>> {
        let subscribe = |subject: String| {
            let nats = self.nats.clone();
            async move {
                nats.subscribe(subject)
                    .await
                    .map_err(|e| Error::Config(format!("cannot subscribe on NATS: {e}")))
            }
        };
        let batches = subscribe(self.subjects.batches.clone()).await?;
        let volatile = subscribe(self.subjects.volatile.clone()).await?;
        let mut outcomes = subscribe(self.subjects.sign_ins.clone()).await?;
        let node = self.node;
        let stop = shutdown.clone();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            loop {
                let message = tokio::select! {
                    _ = stop.cancelled() => return,
                    message = outcomes.next() => match message {
                        Some(message) => message,
                        None => return,
                    },
                };
                match serde_json::from_slice::<wire::SignInOutcome>(&message.payload) {
                    Ok(o) if o.origin == node => {}
                    Ok(o) if o.ok => sign_ins.succeeded(&o.username, o.address),
                    Ok(o) => sign_ins.failed(&o.username, o.address),
                    Err(e) => tracing::warn!(error = %e, "an unreadable sign-in notice on NATS"),
                }
            }
        });
        // After subscribing: a batch committed from here on arrives; earlier ones are in the
        // database, where sessions connecting now catch up.
        let committed = store.commit_order().await?.unwrap_or(0);
        let sequencer = sequencer::Sequencer::new(
            self.node,
            committed,
            hub,
            sessions,
            metrics,
            store,
            self.nats,
            self.subjects,
        );
        Ok(tokio::spawn(sequencer.run(
            self.batches,
            batches,
            volatile,
            self.events,
            shutdown,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nats_url_is_shown_without_its_credentials() {
        assert_eq!(
            without_credentials("nats://im:s3cret@nats.example.org:4222"),
            "nats://nats.example.org:4222"
        );
        assert_eq!(
            without_credentials("nats://127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
        assert_eq!(without_credentials("token@host:4222"), "host:4222");
    }
}
