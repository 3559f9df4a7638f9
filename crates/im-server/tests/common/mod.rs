//! A real server on 127.0.0.1:0 with a real SQLite file in a temp dir — or, with
//! `IM_TEST_STORE=postgres`, a real PostgreSQL database of its own (`.ci/test` runs the suites
//! that way too) — and a bare WebSocket client speaking the protocol, for the integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use im_proto::{
    decode_server_frame, ErrorBody, ErrorCode, Event, Hello, Op, Request, RequestId, Secret,
    ServerFrame, SignIn, SignUp, User, PROTOCOL_VERSION,
};
use im_server::{Config, Database, RunningServer};
use im_test_services::TestStore;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

/// Jerry and Tom signed up and in, and Tom's 1:1 conversation with Jerry.
pub async fn tom_and_jerry(url: &str) -> (Client, Client, im_proto::Conversation) {
    let jerry = Client::user(url, "jerry").await;
    let mut tom = Client::user(url, "tom").await;
    let c = tom
        .call(im_proto::CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    (tom, jerry, c)
}

/// A server, the temp dir holding its SQLite database, and its store (that file, or its
/// PostgreSQL database when the tests run on PostgreSQL).
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
    pub url: String,
    pub store: TestStore,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = TestStore::in_dir(dir.path()).unwrap();
        let mut this = Self {
            server: None,
            dir,
            url: String::new(),
            store,
        };
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), this.database());
        config.blobs.dir = Some(this.blob_dir());
        tune(&mut config);
        let server = im_server::start(config).await.unwrap();
        this.url = server.url();
        this.server = Some(server);
        this
    }

    /// Where it keeps images and files (named explicitly, as PostgreSQL needs).
    pub fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    /// Where its state is: the SQLite file, or its PostgreSQL database.
    pub fn database(&self) -> Database {
        self.store.database().parse().unwrap()
    }

    /// Its SQLite file (for the tests of what only SQLite has: files, locks, backups).
    pub fn sqlite_file(&self) -> PathBuf {
        assert!(
            self.store.postgres().is_none(),
            "an SQLite-only test runs on PostgreSQL: leave it out of IM_TEST_STORE=postgres runs"
        );
        self.dir.path().join("im.sqlite3")
    }

    /// Stops the server gracefully and starts a new one on the same database (another port).
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await;
    }

    /// Stops the server gracefully and starts a new one on the same database (another port),
    /// with settings of its own.
    pub async fn restart_with(&mut self, tune: impl FnOnce(&mut Config)) {
        self.stop().await;
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), self.database());
        config.blobs.dir = Some(self.blob_dir());
        tune(&mut config);
        let server = im_server::start(config).await.unwrap();
        self.url = server.url();
        self.server = Some(server);
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// A protocol client over a real WebSocket.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: RequestId,
    events: VecDeque<Event>,
    pub user: Option<User>,
    pub token: Option<Secret>,
}

pub type Reply<T> = Result<T, ErrorBody>;

impl Client {
    /// Connects without saying hello.
    pub async fn raw(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Self::over(ws)
    }

    /// A client on a WebSocket already open (e.g. over TLS with a test CA).
    pub fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            ws,
            next_id: 0,
            events: VecDeque::new(),
            user: None,
            token: None,
        }
    }

    /// Connects over TLS trusting only `ca`, and says hello; the handshake's error otherwise.
    pub async fn connect_tls(
        url: &str,
        ca: &im_test_pki::TestCa,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.cert_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(config));
        let (ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(url, None, true, Some(connector))
                .await?;
        let mut client = Self::over(ws);
        client
            .call(Hello {
                protocol: PROTOCOL_VERSION,
                client: Some("integration-test".into()),
            })
            .await
            .unwrap();
        Ok(client)
    }

    /// Connects and says hello.
    pub async fn connect(url: &str) -> Self {
        let mut client = Self::raw(url).await;
        client
            .call(Hello {
                protocol: PROTOCOL_VERSION,
                client: Some("integration-test".into()),
            })
            .await
            .unwrap();
        client
    }

    /// Signs up `name` (password `name-password`) and signs in.
    pub async fn user(url: &str, name: &str) -> Self {
        let mut client = Self::connect(url).await;
        client
            .call(SignUp {
                username: name.into(),
                password: format!("{name}-password").into(),
                display_name: Some(name.to_uppercase()),
                invite: None,
            })
            .await
            .unwrap();
        client.sign_in(name).await;
        client
    }

    /// Signs in as `name` on this connection.
    pub async fn sign_in(&mut self, name: &str) {
        let signed = self
            .call(SignIn {
                username: name.into(),
                password: format!("{name}-password").into(),
                device: Some("test".into()),
            })
            .await
            .unwrap();
        self.user = Some(signed.user);
        self.token = Some(signed.token);
    }

    /// A second connection resuming this client's session.
    pub async fn another_session(&self, url: &str) -> Self {
        let mut other = Self::connect(url).await;
        other
            .call(im_proto::Resume {
                token: self.token.clone().unwrap(),
            })
            .await
            .unwrap();
        other.user = self.user.clone();
        other.token = self.token.clone();
        other
    }

    pub fn uid(&self) -> im_proto::Uid {
        self.user.as_ref().expect("signed in").uid
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send<P: Op>(&mut self, params: P) -> RequestId {
        self.next_id += 1;
        let id = self.next_id;
        let text = serde_json::to_string(&Request {
            id,
            call: params.into(),
        })
        .unwrap();
        self.send_text(&text).await;
        id
    }

    /// Sends a request and waits for its reply (events arriving meanwhile are kept).
    pub async fn call<P: Op>(&mut self, params: P) -> Reply<P::Output> {
        let id = self.send(params).await;
        self.reply::<P::Output>(id).await
    }

    /// Waits for the reply to request `id`.
    pub async fn reply<T: serde::de::DeserializeOwned>(&mut self, id: RequestId) -> Reply<T> {
        loop {
            match self.frame().await {
                ServerFrame::Result { id: got, result } if got == id => {
                    return Ok(serde_json::from_str(result.get()).unwrap())
                }
                ServerFrame::Error { id: got, error } if got == Some(id) => return Err(error),
                ServerFrame::Event(event) => self.events.push_back(event),
                other => panic!("unexpected frame while waiting for reply {id}: {other:?}"),
            }
        }
    }

    /// The next reply or error, whatever its id.
    pub async fn any_reply(&mut self) -> (Option<RequestId>, Result<serde_json::Value, ErrorBody>) {
        loop {
            match self.frame().await {
                ServerFrame::Result { id, result } => {
                    return (Some(id), Ok(serde_json::from_str(result.get()).unwrap()))
                }
                ServerFrame::Error { id, error } => return (id, Err(error)),
                ServerFrame::Event(event) => self.events.push_back(event),
                ServerFrame::UnknownEvent(name) => panic!("unknown event {name}"),
            }
        }
    }

    /// The next error frame (expects no result in between).
    pub async fn error(&mut self) -> (Option<RequestId>, ErrorBody) {
        match self.any_reply().await {
            (id, Err(e)) => (id, e),
            (id, Ok(v)) => panic!("expected an error, got result {id:?}: {v}"),
        }
    }

    /// The next pushed event.
    pub async fn event(&mut self) -> Event {
        if let Some(event) = self.events.pop_front() {
            return event;
        }
        match self.frame().await {
            ServerFrame::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next event that `pick` accepts, skipping others.
    pub async fn event_where<T>(&mut self, mut pick: impl FnMut(Event) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.event().await) {
                return found;
            }
        }
    }

    /// True if nothing at all arrives within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        if !self.events.is_empty() {
            return false;
        }
        tokio::time::timeout(wait, self.ws.next()).await.is_err()
    }

    async fn frame(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no frame from the server in time")
                .expect("connection closed")
                .expect("websocket error");
            match message {
                Message::Text(text) => return decode_server_frame(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected websocket message {other:?}"),
            }
        }
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("not closed in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Whatever arrives next, raw.
pub enum Raw {
    Reply(Option<RequestId>, Result<serde_json::Value, ErrorBody>),
    Event,
    Closed(Option<u16>),
}

impl Client {
    /// The next frame or the close, as it comes.
    pub async fn next_raw(&mut self) -> Raw {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("nothing from the server in time");
            return match message {
                Some(Ok(Message::Text(text))) => {
                    match decode_server_frame(text.as_str()).unwrap() {
                        ServerFrame::Result { id, result } => {
                            Raw::Reply(Some(id), Ok(serde_json::from_str(result.get()).unwrap()))
                        }
                        ServerFrame::Error { id, error } => Raw::Reply(id, Err(error)),
                        ServerFrame::Event(_) | ServerFrame::UnknownEvent(_) => Raw::Event,
                    }
                }
                Some(Ok(Message::Close(frame))) => Raw::Closed(frame.map(|f| f.code.into())),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Raw::Closed(None),
            };
        }
    }
}

/// Asserts a reply is an error with `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(reply: Reply<T>, code: ErrorCode) {
    match reply {
        Err(e) => assert_eq!(e.code, code, "wrong code: {e:?}"),
        Ok(v) => panic!("expected {code}, got {v:?}"),
    }
}

/// A node on the PostgreSQL database `db` — linked to the others through `nats` when given —
/// with the per-connection rate limit out of the way of pipelined tests.
pub async fn node(
    db: &im_test_services::TestDatabase,
    nats: Option<&im_test_services::Nats>,
) -> RunningServer {
    let database: Database = db.url().parse().unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), database);
    config.cluster = nats.map(im_test_services::Nats::url);
    config.limits.requests_per_second = 10_000;
    config.limits.request_burst = 10_000;
    im_server::start(config).await.unwrap()
}

/// A text message with a fresh client id.
pub fn text(conversation_id: im_proto::ConversationId, body: String) -> im_proto::SendText {
    im_proto::SendText {
        conversation_id,
        client_id: im_proto::ClientId::random(),
        text: body,
        reply_to: None,
        mentions: vec![],
        mention_all: false,
    }
}

/// Sends `n` messages ("<username> <i>") without waiting, then takes every acknowledgement.
pub async fn pipeline(
    client: &mut Client,
    id: im_proto::ConversationId,
    n: usize,
) -> Vec<im_proto::Message> {
    let who = client.user.as_ref().unwrap().username.clone();
    let mut asked = Vec::new();
    for i in 0..n {
        asked.push(client.send(text(id, format!("{who} {i}"))).await);
    }
    let mut acks = Vec::new();
    for request in asked {
        acks.push(client.reply::<im_proto::Message>(request).await.unwrap());
    }
    acks
}

/// `GET url` → (status, body).
pub async fn http_get(url: String) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(WAIT))
            .build()
            .into();
        let mut response = agent.get(&url).call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    })
    .await
    .unwrap()
}
