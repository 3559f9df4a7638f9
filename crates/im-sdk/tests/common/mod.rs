//! Test support: the real server (in process) on 127.0.0.1 with a SQLite file in a temp dir (or
//! with `IM_TEST_STORE=postgres` a PostgreSQL database of its own), restartable on the same
//! address and database; SDK clients with disk caches; event helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use im_sdk::{
    ClientConfig, ClientEvent, Conversation, CreateConversation, DiskCache, EventStream, ImClient,
    ImService, Secret, Session, Uid,
};
use im_server::{Config, Database, RunningServer};

pub const WAIT: Duration = Duration::from_secs(15);

pub struct Server {
    running: Option<RunningServer>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    store: im_test_services::TestStore,
    tune: std::sync::Arc<dyn Fn(&mut Config) + Send + Sync>,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with settings changed by `tune` (kept for restarts).
    pub async fn start_with(tune: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tune: std::sync::Arc<dyn Fn(&mut Config) + Send + Sync> = std::sync::Arc::new(tune);
        let store = im_test_services::TestStore::in_dir(dir.path()).unwrap();
        let mut first = config("127.0.0.1:0".parse().unwrap(), database(&store));
        tune(&mut first);
        let running = im_server::start(first).await.unwrap();
        Self {
            addr: running.local_addr(),
            running: Some(running),
            dir,
            store,
            tune,
        }
    }

    /// Error replies with `code` the running server has sent.
    pub fn errors_sent(&self, code: im_proto::ErrorCode) -> u64 {
        self.running.as_ref().map_or(0, |r| r.errors_sent(code))
    }

    /// Resends the running server answered with their original.
    pub fn resends_answered(&self) -> u64 {
        self.running.as_ref().map_or(0, |r| r.resends_answered())
    }

    /// An admin operation through the running server's admin listener (as `im-server admin`).
    pub async fn admin(&self, request: im_server::AdminRequest) -> im_server::AdminResponse {
        let running = self.running.as_ref().expect("running");
        let listener = running.admin_addr().expect("an admin listener");
        let database = database(&self.store);
        tokio::task::spawn_blocking(move || {
            im_server::administer(database, Some(listener), request)
                .unwrap()
                .1
        })
        .await
        .unwrap()
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Kills the server abruptly: every connection dropped, no replies.
    pub async fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort().await;
        }
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Starts it again on the same address and database.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "stop or kill it first");
        let mut tries = 0;
        loop {
            let mut config = config(self.addr, database(&self.store));
            (self.tune)(&mut config);
            match im_server::start(config).await {
                Ok(running) => {
                    self.running = Some(running);
                    return;
                }
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("restart: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot restart: {e}"),
            }
        }
    }

    pub fn online_connections(&self) -> u64 {
        self.running.as_ref().map_or(0, |r| r.online_connections())
    }
}

fn database(store: &im_test_services::TestStore) -> Database {
    store.database().parse().unwrap()
}

fn config(addr: SocketAddr, db: Database) -> Config {
    let mut config = Config::new(addr, db);
    config.limits.requests_per_second = 10_000;
    config.limits.request_burst = 10_000;
    config
}

/// Quick reconnects and dead-connection detection, for tests.
pub fn fast_config() -> ClientConfig {
    ClientConfig {
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        ping_interval: Duration::from_millis(300),
        dead_after: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..ClientConfig::default()
    }
}

pub fn password(name: &str) -> Secret {
    Secret::new(format!("{name}-password"))
}

pub async fn sign_up(url: &str, name: &str) -> Session {
    im_sdk::sign_up(url, name, &password(name), Some(&name.to_uppercase()))
        .await
        .unwrap()
}

/// A client with a disk cache at `dir/<name>.sqlite3`.
pub fn client(service: &ImService, session: Session, dir: &std::path::Path) -> ImClient {
    let name = session.user.username.clone();
    let client = service.create_im_client(session).unwrap();
    client
        .set_cache(DiskCache::open(dir.join(format!("{name}.sqlite3"))).unwrap())
        .unwrap();
    client
}

/// A new 1:1 conversation of `client` with `peer`.
pub async fn chat(client: &ImClient, peer: Uid) -> Conversation {
    client
        .create_conversation(CreateConversation {
            user_ids: vec![peer],
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Waits for the client to be online.
pub async fn online(client: &ImClient) {
    let mut state = client.watch_state();
    tokio::time::timeout(
        WAIT,
        state.wait_for(|s| *s == im_sdk::ConnectionState::Online),
    )
    .await
    .expect("not online in time")
    .unwrap();
}

/// The next event that `pick` accepts.
pub async fn next_event<T>(
    events: &mut EventStream,
    mut pick: impl FnMut(ClientEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.next().await.expect("event stream ended");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .expect("event did not come in time")
}

/// Message events until `n` distinct messages arrived; returns them in arrival order
/// (duplicates included, so callers can check there are none).
pub async fn collect_messages(events: &mut EventStream, n: usize) -> Vec<im_sdk::Message> {
    let mut got = Vec::new();
    let mut seen = std::collections::HashSet::new();
    tokio::time::timeout(WAIT * 2, async {
        while seen.len() < n {
            if let ClientEvent::Message { message, .. } = events.next().await.expect("stream ended")
            {
                seen.insert(message.seq);
                got.push(message);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {n} messages arrived", seen.len()));
    got
}
