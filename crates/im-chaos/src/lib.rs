//! The Gtedx IM chaos program: proves that every acknowledged message is stored exactly once, in
//! order per sender, with gapless seqs, while the server and the clients are SIGKILLed and the
//! network freezes and drops.
//!
//! `im-chaos` runs the real `im-server` binary under a process manager ([`server`]) that kills it
//! at random and restarts it on the same SQLite database (or, with `--nodes 3`, three nodes on
//! one throwaway PostgreSQL database with NATS between them, a random node killed each time and
//! every client reconnecting to the next node); puts a misbehaving TCP proxy
//! ([`proxy`]) between it and every client; drives raw protocol clients ([`raw_client`]) in 1:1
//! pairs and groups, and SDK sender processes (`im-chaos-sender`, [`sdk_sender`], managed by
//! [`senders`]) that it SIGKILLs mid-send; then stops the chaos, lets every client drain, reads
//! every conversation's history ([`audit`]) and prints a [`report`]. [`scenario`] ties it together.

pub mod audit;
pub mod proxy;
pub mod raw_client;
pub mod report;
pub mod scenario;
pub mod sdk_sender;
pub mod sender_log;
pub mod senders;
pub mod server;
pub mod setup;
pub mod tag;
pub mod wire;
