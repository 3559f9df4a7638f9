//! Running the server as an operator: the admin listener ([`listener`]: health, readiness,
//! metrics and the admin API), the admin operations on accounts, sessions and invite codes
//! ([`api`]), and reaching them from the `im-server admin` command ([`client`]) — through the
//! running server's admin listener, or on the database directly while no server runs.

pub mod api;
pub mod client;
pub(crate) mod listener;
mod token;

pub use api::{AdminInvite, AdminRequest, AdminResponse, AdminSession, AdminUser};
pub use client::{administer, Reached};
pub use token::token_path;
pub(crate) use token::AdminToken;
