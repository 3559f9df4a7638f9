//! Server settings: where to listen and store, and the limits it enforces.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use im_proto::Limits;

/// The address `im-server` listens on when given none.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7822";

/// The admin listener's address (`/healthz`, `/readyz`, `/metrics`) when given none.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:7823";

/// The database file `im-server` uses when given none (in the working directory).
pub const DEFAULT_DATABASE: &str = "im-server.sqlite3";

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the admin listener listens (plain HTTP: health, readiness, metrics); `None`: no
    /// admin listener. Never the public address.
    pub admin_listen: Option<SocketAddr>,
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
    /// What one address or one user may do (abuse limits).
    pub guard: GuardLimits,
    /// Who may create an account: anyone, anyone with an invite code, or no one (the operator
    /// creates them with `im-server admin user create`).
    pub sign_up: im_proto::SignUpMode,
    /// How long shutdown waits for connections to flush before giving up on them.
    pub shutdown_grace: Duration,
    /// Web origins allowed to open WebSockets (`https://chat.example.org`). A connection whose
    /// handshake carries an `Origin` header not listed here is refused with 403, so a web page
    /// cannot reach a server on the user's machine or network; native clients send none.
    pub allowed_origins: Vec<String>,
    /// Serve TLS (`wss://`) with this certificate and key instead of plain `ws://`.
    pub tls: Option<crate::tls::TlsFiles>,
    /// How often the TLS files are checked for a change (a renewal) and reloaded; zero: never
    /// (reload on SIGHUP or [`crate::RunningServer::reload_tls`] only).
    pub tls_reload_check: Duration,
    /// Fault injection for the crash-only tests: the writer panics after this many batches.
    #[doc(hidden)]
    pub debug_writer_panic_after: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            admin_listen: None,
            database: PathBuf::from(DEFAULT_DATABASE),
            limits: Limits::default(),
            max_batch: 1024,
            readers: 4,
            outbound_queue: 1024,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            guard: GuardLimits::default(),
            sign_up: im_proto::SignUpMode::Open,
            shutdown_grace: Duration::from_secs(10),
            allowed_origins: Vec::new(),
            tls: None,
            tls_reload_check: Duration::from_secs(10),
            debug_writer_panic_after: None,
        }
    }
}

/// Limits on what one address or one user may do; 0 means unlimited. The defaults suit a small
/// organisation's server open to the internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardLimits {
    /// Failed sign-ins of one username from one address before each attempt has to wait (1 s,
    /// doubling up to 15 min). A username is slowed from anywhere after 4× as many, an address
    /// for every username after 20× as many.
    pub sign_in_free_failures: u32,
    /// Accounts created from one address per hour.
    pub sign_ups_per_hour_per_address: u32,
    /// Connections open at once from one address.
    pub connections_per_address: usize,
    /// Sessions (signed-in devices) per account; signing in beyond it signs out the oldest.
    pub sessions_per_user: usize,
    /// Conversations one user may create per day.
    pub conversations_per_day_per_user: u32,
    /// Members one user may add to conversations per hour (creating one counts its members).
    pub members_added_per_hour_per_user: u32,
    /// `find_users` lookups per user per minute.
    pub lookups_per_minute_per_user: u32,
    /// Loopback addresses are exempt from the per-address limits (sign-ups, connections, an
    /// address's failed sign-ins): they are this host itself, or a reverse proxy on it that every
    /// client comes through.
    pub exempt_loopback: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (the header is ignored from
    /// anyone else). Their own connections are not capped per address: cap them at the proxy.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for GuardLimits {
    fn default() -> Self {
        Self {
            sign_in_free_failures: 5,
            sign_ups_per_hour_per_address: 20,
            connections_per_address: 512,
            sessions_per_user: 50,
            conversations_per_day_per_user: 500,
            members_added_per_hour_per_user: 5_000,
            lookups_per_minute_per_user: 120,
            exempt_loopback: true,
            trusted_proxies: Vec::new(),
        }
    }
}

impl GuardLimits {
    /// No limits at all (benchmarks and load tests from one address).
    pub fn unlimited() -> Self {
        Self {
            sign_in_free_failures: 5,
            sign_ups_per_hour_per_address: 0,
            connections_per_address: 0,
            sessions_per_user: 0,
            conversations_per_day_per_user: 0,
            members_added_per_hour_per_user: 0,
            lookups_per_minute_per_user: 0,
            exempt_loopback: true,
            trusted_proxies: Vec::new(),
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
