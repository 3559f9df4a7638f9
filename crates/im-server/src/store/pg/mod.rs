//! The PostgreSQL backend, being built (issue 12; the design is docs/CLUSTER.md): so far its
//! schema and the migrations that nodes starting together run once.

mod schema;

pub use schema::{migrate, MIGRATION_LOCK};
