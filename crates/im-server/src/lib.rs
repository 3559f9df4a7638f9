//! The Gtedx IM server: accounts, conversations and durable real-time messages over WebSocket,
//! on embedded SQLite, or on PostgreSQL as one node of several with NATS between them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), im_server::Error> {
//! let server = im_server::start(im_server::Config::new(
//!     "127.0.0.1:0".parse().unwrap(),
//!     std::path::Path::new("/tmp/im.sqlite3"),
//! ))
//! .await?;
//! println!("clients connect to {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: `connection` runs each client's socket; `ops` decides what a request does;
//! `store` owns the database (one writer thread with group commit, a pool of readers);
//! `hub` knows who is online and delivers frames to them; `cluster` links the nodes that share
//! a PostgreSQL database; `auth` handles passwords, tokens and the sign-in throttle.

mod admin;
mod auth;
mod blobs;
mod client_address;
mod cluster;
mod config;
mod connection;
mod error;
mod fatal;
mod guard;
mod http;
mod hub;
mod metrics;
mod migrate;
mod ops;
mod outbound_queue;
mod store;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use admin::token_path as admin_token_path;
pub use admin::{
    administer, AdminInvite, AdminRequest, AdminResponse, AdminSession, AdminUser, Reached,
};
pub use client_address::parse_trusted as parse_trusted_proxy;
pub use config::{
    BlobSettings, Config, Database, GuardLimits, PostgresUrl, DEFAULT_ADMIN_LISTEN,
    DEFAULT_DATABASE, DEFAULT_LISTEN,
};
pub use error::{Error, Result};
pub use migrate::{migrate, migrate_with, Limits as MigrateLimits, MigrateReport, TableReport};
pub use store::{backup, pg, restore, BackupReport};
pub use tls::TlsFiles;

use crate::metrics::Metrics;
use auth::Passwords;
use connection::Lifecycle;
use fatal::Fatal;
use guard::Guard;
use hub::Hub;
use store::Store;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub fatal: Fatal,
    pub metrics: Arc<Metrics>,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub passwords: Passwords,
    pub guard: Guard,
    /// Present when the public port speaks TLS.
    pub tls: Option<Tls>,
    /// Present when other nodes share the database (NATS between them).
    pub cluster: Option<cluster::Cluster>,
    /// Where images and files are kept; `None`: attachments are off.
    pub blobs: Option<Arc<blobs::DirStore>>,
    /// The uploads being received (waited for at shutdown, before the writer stops).
    pub uploads: TaskTracker,
    /// No other process works on the database while this is held.
    pub _lock: Option<store::DatabaseLock>,
}

impl Shared {
    /// Counts a sign-in's outcome in the throttle, here and (in a cluster) on the other nodes,
    /// so that guesses spread over nodes are slowed as on one.
    pub(crate) fn sign_in_outcome(&self, username: &str, address: std::net::IpAddr, ok: bool) {
        if ok {
            self.guard.sign_ins.succeeded(username, address);
        } else {
            self.guard.sign_ins.failed(username, address);
        }
        if let Some(cluster) = &self.cluster {
            cluster.sign_in_outcome(username, address, ok);
        }
    }
}

/// Reloads the server's TLS certificate and key from their files (see
/// [`RunningServer::reload_tls`]).
#[derive(Debug, Clone)]
pub struct TlsReloader(Option<Arc<tls::Certificates>>);

impl TlsReloader {
    /// Loads the files again; on an error the previous certificate stays. Does nothing
    /// without TLS. Blocking (reads two small files).
    pub fn reload(&self) -> Result<()> {
        match &self.0 {
            Some(certificates) => certificates.reload(),
            None => Ok(()),
        }
    }
}

/// The TLS side of the public port.
pub(crate) struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    pub certificates: Arc<tls::Certificates>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("certificates", &self.certificates)
            .finish_non_exhaustive()
    }
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    kill: CancellationToken,
    done: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl RunningServer {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin listener's address, if it has one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The WebSocket URL clients connect to (`wss://` when it serves TLS; the host is the
    /// address it listens on, which a certificate usually does not name).
    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}{}", self.addr, im_proto::WS_PATH)
    }

    /// Loads the TLS certificate and key again (as on SIGHUP): handshakes from now on use
    /// them; open connections are not touched. On an error the previous certificate stays.
    /// Does nothing without TLS.
    pub fn reload_tls(&self) -> Result<()> {
        self.tls_reloader().reload()
    }

    /// A handle that reloads the TLS files, for a signal handler that outlives `&self`.
    pub fn tls_reloader(&self) -> TlsReloader {
        TlsReloader(self.shared.tls.as_ref().map(|tls| tls.certificates.clone()))
    }

    /// How many signed-in connections are online.
    pub fn online_connections(&self) -> u64 {
        self.shared.hub.online_connections()
    }

    /// How many error replies with `code` the server has sent.
    pub fn errors_sent(&self, code: im_proto::ErrorCode) -> u64 {
        self.shared.metrics.errors(code)
    }

    /// How many sends were resends, answered with the message already stored.
    pub fn resends_answered(&self) -> u64 {
        self.shared.metrics.resends()
    }

    /// Stops gracefully: no new connections or requests; everything already taken is committed
    /// and answered (or refused with `shutting_down`); connections are closed with 1001.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.done.await;
    }

    /// Stops abruptly, as if the process were killed: every connection is dropped at once with
    /// no reply, event or close frame. (What the writer already took is still committed, as a
    /// crash after the fsync would leave it.) For tests of client resilience.
    pub async fn abort(self) {
        self.kill.cancel();
        self.shutdown.cancel();
        let _ = self.done.await;
    }

    /// A token that stops the server when cancelled (e.g. from a signal handler).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped. An error means it stopped because a part it cannot
    /// run without failed (crash-only: the binary exits non-zero so that it is restarted).
    pub async fn stopped(self) -> Result<()> {
        let finished = self.done.await;
        if let Some(reason) = self.shared.fatal.reason() {
            return Err(Error::Fatal(reason));
        }
        finished.map_err(|e| Error::Fatal(format!("the accept loop failed: {e}")))
    }
}

/// Binds with a deep accept backlog: after a network blip every client reconnects at once, and
/// tokio's default of 1024 pending connections makes the rest retry SYNs for seconds. (The kernel
/// caps it at `net.core.somaxconn`, 4096 on current kernels.)
fn listen(addr: SocketAddr) -> Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket.listen(65_535)?)
}

/// Opens the database, binds the address and starts serving.
pub async fn start(mut config: Config) -> Result<RunningServer> {
    let blobs = match config.blob_dir() {
        Some(dir) => Some(Arc::new(blobs::DirStore::open(&dir).map_err(|e| {
            Error::Config(format!("cannot use {} for blobs: {e}", dir.display()))
        })?)),
        None => {
            if config.limits.max_upload_bytes > 0 {
                tracing::warn!("no --blob-dir on PostgreSQL: images and files are off");
            }
            // Clients are told in `hello`, and hide attachments.
            config.limits.max_upload_bytes = 0;
            None
        }
    };
    let tls = match &config.tls {
        Some(files) => {
            let certificates = Arc::new(tls::Certificates::load(files.clone())?);
            let config = Arc::new(certificates.server_config()?);
            Some(Tls {
                config,
                certificates,
            })
        }
        None => None,
    };
    if config.admin_listen == Some(config.listen) && config.listen.port() != 0 {
        return Err(Error::Config(format!(
            "the admin listener cannot share the public address {}",
            config.listen
        )));
    }
    let lock = config
        .database
        .sqlite_file()
        .map(store::DatabaseLock::acquire)
        .transpose()?;
    let listener = listen(config.listen)?;
    let addr = listener.local_addr()?;
    let admin_listener = match config.admin_listen {
        Some(at) => Some(TcpListener::bind(at).await.map_err(|e| {
            Error::Config(format!("cannot listen for the admin listener on {at}: {e}"))
        })?),
        None => None,
    };
    let admin_addr = admin_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let hub = Arc::new(Hub::new());
    let fatal = Fatal::default();
    let metrics = Arc::new(Metrics::default());
    let cluster = match &config.cluster {
        Some(nats) => {
            if config.database.sqlite_file().is_some() {
                return Err(Error::Config(
                    "--cluster needs a database the nodes share: --database postgres://…".into(),
                ));
            }
            Some(cluster::Cluster::connect(nats, &config.cluster_name).await?)
        }
        None => None,
    };
    let fanout = cluster.as_ref().map(|(_, fanout, _)| fanout.clone());
    let (store, passwords) = {
        let config = config.clone();
        let hub = hub.clone();
        let fatal = fatal.clone();
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let store = Store::open(&config, hub, &fatal, metrics, fanout)?;
            let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
            Ok((store, Passwords::new(parallel)?))
        })
        .await
        .map_err(|e| Error::Corrupt(format!("start-up task failed: {e}")))??
    };
    let guard = Guard::new(&config.guard);
    let shutdown = CancellationToken::new();
    // The sequencer outlives the drain (the last batches' events still go out) and stops with
    // the server.
    let cluster_stop = CancellationToken::new();
    let cluster = match cluster {
        Some((link, _, pending)) => {
            pending
                .run(
                    store.clone(),
                    hub.clone(),
                    store.session_cache(),
                    guard.sign_ins.clone(),
                    metrics.clone(),
                    cluster_stop.clone(),
                )
                .await?;
            tracing::info!(nats = %link.url(), "in a cluster: batches to and from the other nodes over NATS");
            Some(link)
        }
        None => None,
    };
    let shared = Arc::new(Shared {
        guard,
        config,
        fatal,
        metrics,
        store,
        hub,
        passwords,
        tls,
        cluster,
        blobs,
        uploads: TaskTracker::new(),
        _lock: lock,
    });
    let scheme = if shared.tls.is_some() { "wss" } else { "ws" };
    tracing::info!(
        %addr,
        database = %shared.config.database,
        "listening on {scheme}://{addr}{}",
        im_proto::WS_PATH
    );
    if shared.tls.is_some() && !shared.config.tls_reload_check.is_zero() {
        tokio::spawn(watch_tls_files(shared.clone(), shutdown.clone()));
    }
    if let Some(blobs) = &shared.blobs {
        tokio::spawn(blobs::sweep_expired_uploads(
            shared.store.clone(),
            blobs.clone(),
            shared.config.blobs.sweep_every,
            shutdown.clone(),
        ));
    }
    let life = Lifecycle::default();
    let kill = life.kill.clone();
    let admin_token = match admin_listener {
        Some(_) => Some(admin::AdminToken::create(&admin::token_path(
            &shared.config.database,
            admin_addr,
        ))?),
        None => None,
    };
    let admin = admin_listener.zip(admin_token).map(|(listener, token)| {
        tracing::info!(addr = %admin_addr.unwrap_or(addr), "admin listener on http://{}/ (healthz, readyz, metrics)", admin_addr.unwrap_or(addr));
        let stop = CancellationToken::new();
        let task = tokio::spawn(admin::listener::serve(
            listener,
            shared.clone(),
            shutdown.clone(),
            stop.clone(),
            token,
        ));
        (stop, task)
    });
    let accepting = accept_loop(listener, shared.clone(), shutdown.clone(), life);
    // The admin listener stays up while the server drains (`/readyz` says it is stopping).
    let done = tokio::spawn(async move {
        accepting.await;
        if let Some((stop, task)) = admin {
            stop.cancel();
            let _ = task.await;
        }
        cluster_stop.cancel();
    });
    Ok(RunningServer {
        addr,
        admin_addr,
        shutdown,
        kill,
        done,
        shared,
    })
}

/// Reloads the TLS certificate when its files change (a renewal needs no restart).
async fn watch_tls_files(shared: Arc<Shared>, shutdown: CancellationToken) {
    let Some(tls) = &shared.tls else { return };
    let mut every = tokio::time::interval(shared.config.tls_reload_check);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let certificates = tls.certificates.clone();
        if let Ok(Err(e)) =
            tokio::task::spawn_blocking(move || certificates.reload_if_changed()).await
        {
            tracing::warn!(error = %e, "TLS files changed but cannot be loaded: the previous certificate stays");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    life: Lifecycle,
) {
    let connections = TaskTracker::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = shared.fatal.raised() => {
                // Crash-only: no draining, no close handshakes; clients reconnect to the
                // restarted server and catch up.
                life.kill.cancel();
                connections.close();
                connections.wait().await;
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match shared.guard.connections.take(peer.ip()) {
                    Some(slot) => {
                        connections.spawn(connection::serve(stream, peer, shared.clone(), life.clone(), slot));
                    }
                    // Over TLS a plain-text 429 would read as a broken handshake: just close.
                    None if shared.tls.is_some() => drop(stream),
                    None => {
                        connections.spawn(connection::refuse_busy_address(stream, peer));
                    }
                },
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    if life.kill.is_cancelled() {
        tracing::warn!("aborted: dropping every connection");
        shared.store.stop_writer().await;
        connections.close();
        connections.wait().await;
        return;
    }
    tracing::info!(
        connections = connections.len(),
        "shutting down: taking no new requests, committing what was taken"
    );
    life.stop_reading.cancel();
    // Uploads stop at once, keeping what is checkpointed; their leases are released through the
    // writer, so that their clients resume at once on the next server.
    shared.uploads.close();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), shared.uploads.wait()).await;
    shared.store.stop_writer().await;
    life.close.cancel();
    connections.close();
    if tokio::time::timeout(shared.config.shutdown_grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time");
    }
    tracing::info!("stopped");
}
