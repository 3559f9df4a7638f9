//! [`Backend`]: what the writer's engine needs from a database around the statements of
//! [`WriteTx`]: one transaction per batch, begun, committed or rolled back, and the change
//! counter as stored. The engine (`engine.rs`) and the rules are written against it; SQLite
//! (`sqlite_tx.rs`) implements it, and the PostgreSQL backend (docs/CLUSTER.md) will too.

use im_proto::{ClientId, ConversationId, Uid};

use super::tx::WriteTx;
use crate::error::Result;

/// A send's idempotency key: conversation, sender, client id.
pub type IdempotencyKey<'a> = (ConversationId, Uid, &'a ClientId);

/// What opening a batch's transaction found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Begun {
    /// The change counter as committed, when writers elsewhere may have moved it (the batch's
    /// versions continue from it); `None` when this writer is the only one.
    pub version: Option<u64>,
    /// What other writers changed since this one's last batch, which its hot cache must forget.
    pub stale: Stale,
}

/// What a writer's hot cache must forget before a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stale {
    /// Nobody else wrote.
    #[default]
    Nothing,
    /// These conversations changed: only their last seq (given), or more (`None`: forget it).
    Conversations(Vec<(ConversationId, Option<u64>)>),
    /// Anything may have (a block set or lifted, or this writer's first batch).
    Everything,
}

/// A database the writer owns (alone, or with the writers of other nodes).
pub trait Backend {
    /// The write statements, on the open transaction.
    type Tx<'a>: WriteTx
    where
        Self: 'a;

    /// Opens the batch's transaction, taking the write lock (SQLite's `BEGIN IMMEDIATE`;
    /// PostgreSQL's change counter row, held to commit, which orders every node's batches).
    fn begin(&mut self) -> Result<Begun>;
    /// The batch's sends, by idempotency key, before its commands run (inside the open
    /// transaction): a backend that pays a round trip per statement finds which are resends in
    /// one go here. SQLite has nothing to gain (and the keys are not even gathered).
    fn expect_sends(&mut self, _keys: &mut dyn Iterator<Item = IdempotencyKey<'_>>) -> Result<()> {
        Ok(())
    }
    /// The statements of the open transaction.
    fn tx(&self) -> Self::Tx<'_>;
    /// Commits the open transaction, whose changes stamped versions up to `version`: when this
    /// returns, it is durable.
    fn commit(&mut self, version: u64) -> Result<()>;
    /// Undoes the open transaction. A transaction that cannot be left is fatal (crash-only:
    /// this panics, and the next start recovers).
    fn roll_back(&mut self);
    /// The change counter as committed (the engine's own copy is reset to it after a rollback).
    fn current_version(&self) -> Result<u64>;
    /// Called after each commit, outside any transaction (SQLite hands off checkpoints here).
    fn after_commit(&mut self);
    /// Where the last commit stands in the order of every writer's commits (PostgreSQL: the
    /// change counter's count of batches, gapless across nodes); `None` for a lone writer.
    fn commit_order(&self) -> Option<u64> {
        None
    }
    /// Records a clean stop at `version`: the next start need not check what this run changed.
    fn mark_clean_stop(&mut self, version: u64) -> Result<()>;
}
