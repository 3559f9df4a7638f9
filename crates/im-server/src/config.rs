//! Server settings: where to listen and store, and the limits it enforces.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    /// Where state is kept: an SQLite file (created if missing) or a PostgreSQL database
    /// shared by several nodes.
    pub database: Database,
    /// The NATS server (`nats://host:4222`) linking the nodes that share a PostgreSQL database;
    /// `None`: this node is alone.
    pub cluster: Option<String>,
    /// The cluster's name on NATS (its subjects are `im.<name>.…`): clusters sharing one NATS
    /// keep apart by name.
    pub cluster_name: String,
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
    /// Images and files: where their bytes are kept and what one user may store (the largest
    /// blob and the checkpoint spacing are in `limits`, which clients are told).
    pub blobs: BlobSettings,
    /// Fault injection for the crash-only tests: the writer panics after this many batches.
    #[doc(hidden)]
    pub debug_writer_panic_after: Option<u64>,
}

/// Where blobs (the bytes of images and files) are kept and how much a user may store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSettings {
    /// The directory blobs are kept in; `None`: beside an SQLite database (`<database>-blobs`),
    /// and no attachments on PostgreSQL (its nodes must name a directory they share).
    pub dir: Option<PathBuf>,
    /// Bytes one user may keep in blobs and unfinished uploads (0: no limit).
    pub quota_bytes: u64,
    /// Unfinished uploads one user may have at once (0: no limit).
    pub uploads_in_progress: u32,
    /// An upload that makes no progress for this long is deleted.
    pub upload_expiry: Duration,
    /// How often expired uploads are looked for (and deleted with their files).
    pub sweep_every: Duration,
}

impl Default for BlobSettings {
    fn default() -> Self {
        Self {
            dir: None,
            quota_bytes: 5 * 1024 * 1024 * 1024,
            uploads_in_progress: 16,
            upload_expiry: Duration::from_secs(24 * 3600),
            sweep_every: Duration::from_secs(600),
        }
    }
}

impl Config {
    /// The directory blobs are kept in, if attachments are on (see [`BlobSettings::dir`]).
    pub fn blob_dir(&self) -> Option<PathBuf> {
        if self.limits.max_upload_bytes == 0 {
            return None;
        }
        match (&self.blobs.dir, &self.database) {
            (Some(dir), _) => Some(dir.clone()),
            (None, Database::Sqlite(file)) => Some(crate::store::beside(file, "-blobs")),
            (None, Database::Postgres(_)) => None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            admin_listen: None,
            database: Database::Sqlite(PathBuf::from(DEFAULT_DATABASE)),
            cluster: None,
            cluster_name: "im".into(),
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
            blobs: BlobSettings::default(),
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
    pub fn new(listen: SocketAddr, database: impl Into<Database>) -> Self {
        Self {
            listen,
            database: database.into(),
            ..Self::default()
        }
    }
}

/// Where the server keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An embedded SQLite file (created if missing): one node, nothing to set up.
    Sqlite(PathBuf),
    /// A PostgreSQL database (created beforehand, migrated on start), which several nodes may
    /// share.
    Postgres(PostgresUrl),
}

impl Database {
    /// The SQLite file, if that is where state is kept.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }
}

impl std::str::FromStr for Database {
    type Err = String;

    /// `postgres://…` or `postgresql://…` (a libpq connection URL) names PostgreSQL; anything
    /// else is an SQLite file.
    fn from_str(value: &str) -> Result<Self, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(Database::Postgres(value.parse()?))
        } else if value.is_empty() {
            Err("an empty database path".into())
        } else {
            Ok(Database::Sqlite(PathBuf::from(value)))
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Database::Sqlite(path)
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Database::Sqlite(path.clone())
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Database::Sqlite(path.to_owned())
    }
}

impl From<PostgresUrl> for Database {
    fn from(url: PostgresUrl) -> Self {
        Database::Postgres(url)
    }
}

/// A PostgreSQL connection URL. Its password never reaches a log: it shows as
/// `postgres://user@host:port/database`.
#[derive(Clone)]
pub struct PostgresUrl {
    config: Box<postgres::Config>,
}

impl PostgresUrl {
    /// What the `postgres` client connects with.
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }
}

impl PartialEq for PostgresUrl {
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.config) == format!("{:?}", other.config)
            && self.config.get_password() == other.config.get_password()
    }
}

impl Eq for PostgresUrl {}

impl std::str::FromStr for PostgresUrl {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let config: postgres::Config = value
            .parse()
            .map_err(|e| format!("not a PostgreSQL URL ({e})"))?;
        if config.get_dbname().is_none() {
            return Err("the PostgreSQL URL names no database (postgres://host/DATABASE)".into());
        }
        Ok(Self {
            config: Box::new(config),
        })
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use postgres::config::Host;
        f.write_str("postgres://")?;
        if let Some(user) = self.config.get_user() {
            write!(f, "{user}@")?;
        }
        let ports = self.config.get_ports();
        for (i, host) in self.config.get_hosts().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match host {
                Host::Tcp(name) => f.write_str(name)?,
                Host::Unix(path) => write!(f, "[{}]", path.display())?,
            }
            if let Some(port) = ports.get(i).or(ports.first()) {
                write!(f, ":{port}")?;
            }
        }
        write!(f, "/{}", self.config.get_dbname().unwrap_or_default())
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

#[cfg(test)]
mod database_tests {
    use super::*;

    #[test]
    fn a_postgres_url_shows_without_its_password() {
        let db: Database = "postgres://im:s3cret-pw@db.example.org:5433/im"
            .parse()
            .unwrap();
        let Database::Postgres(url) = &db else {
            panic!("not PostgreSQL: {db:?}")
        };
        assert_eq!(url.config().get_password(), Some(&b"s3cret-pw"[..]));
        for shown in [db.to_string(), format!("{db:?}"), format!("{url:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("im@db.example.org:5433/im"), "{shown}");
        }
    }

    #[test]
    fn anything_else_is_an_sqlite_file_and_a_url_needs_a_database() {
        assert_eq!(
            "data/im.sqlite3".parse::<Database>().unwrap(),
            Database::Sqlite("data/im.sqlite3".into())
        );
        assert!("postgres://localhost"
            .parse::<Database>()
            .unwrap_err()
            .contains("names no database"));
        assert!("postgresql://h/db?bogus=1".parse::<Database>().is_err());
        assert!("".parse::<Database>().is_err());
    }
}
