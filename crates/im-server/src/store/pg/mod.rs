//! The PostgreSQL backend, being built (issue 12; the design is docs/CLUSTER.md): its schema
//! and the migrations that nodes starting together run once, the writer's backend
//! ([`PgBackend`]: the write rules' statements on PostgreSQL) and the readers' queries
//! ([`PgReader`]).

mod blobs;
mod conn;
mod read;
mod schema;
mod tx;

pub use conn::connect;
pub use read::PgReader;
pub use schema::{migrate, MIGRATION_LOCK};
pub use tx::{PgBackend, PgTx};

#[cfg(test)]
mod writer_tests;
