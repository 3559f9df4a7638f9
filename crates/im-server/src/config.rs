//! Server settings: where to listen and store, and the limits it enforces.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use im_proto::Limits;

/// The address `im-server` listens on when given none.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7822";

/// The database file `im-server` uses when given none (in the working directory).
pub const DEFAULT_DATABASE: &str = "im-server.sqlite3";

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The SQLite database file (created if missing).
    pub database: PathBuf,
    /// Limits enforced on every connection (and sent to clients in `hello`).
    pub limits: Limits,
    /// The most write operations committed in one transaction (group commit).
    pub max_batch: usize,
    /// Reader connections to the database.
    pub readers: usize,
    /// Frames queued for one connection before it counts as too slow and is dropped.
    pub outbound_queue: usize,
    /// Send a WebSocket ping after this long without hearing from the client.
    pub ping_interval: Duration,
    /// Drop a connection that has sent nothing (not even a pong) for this long.
    pub idle_timeout: Duration,
    /// Failed sign-ins allowed per username (and 4× that per address) within `sign_in_window`.
    pub sign_in_failures: u32,
    /// The window failed sign-ins are counted in.
    pub sign_in_window: Duration,
    /// How long shutdown waits for connections to flush before giving up on them.
    pub shutdown_grace: Duration,
    /// Fault injection for the crash-only tests: the writer panics after this many batches.
    #[doc(hidden)]
    pub debug_writer_panic_after: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            database: PathBuf::from(DEFAULT_DATABASE),
            limits: Limits::default(),
            max_batch: 1024,
            readers: 4,
            outbound_queue: 1024,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            sign_in_failures: 5,
            sign_in_window: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            debug_writer_panic_after: None,
        }
    }
}

impl Config {
    /// The default settings with another database file and address (handy in tests).
    pub fn new(listen: SocketAddr, database: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            database: database.into(),
            ..Self::default()
        }
    }
}
