//! Opening WebSocket connections (optionally from a chosen loopback source address, since the
//! server throttles failed sign-ins per address) and a small well-behaved protocol client used to
//! set up state and to check afterwards that a normal client is still served.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use im_proto::{
    decode_server_frame, ErrorBody, Event, Hello, Limits, Op, Request, ServerFrame, SignIn, SignUp,
    User, PROTOCOL_VERSION,
};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// The longest a well-behaved call may wait for its reply (an upper bound).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The `host:port` of a `ws://host:port/path` URL, resolved.
pub async fn server_addr(url: &str) -> Result<SocketAddr> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("only ws:// URLs are supported, not {url}"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .ok_or_else(|| anyhow!("{authority} resolves to nothing"))
}

/// A TCP connection to `addr`, from `source` when both are IPv4 loopback addresses (every
/// 127.0.0.0/8 address is local on Linux), else from wherever the system chooses.
pub async fn tcp(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream> {
    let stream = match (addr.ip(), source) {
        (IpAddr::V4(target), Some(IpAddr::V4(from)))
            if target.is_loopback() && from.is_loopback() =>
        {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
            socket.connect(addr).await?
        }
        _ => TcpStream::connect(addr).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Opens a WebSocket to `url` (no `hello` yet).
pub async fn open(url: &str, addr: SocketAddr, source: Option<IpAddr>) -> Result<Ws> {
    let stream = tcp(addr, source).await?;
    let config = WebSocketConfig::default().max_message_size(Some(64 << 20));
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .with_context(|| format!("WebSocket handshake with {url}"))?;
    Ok(ws)
}

/// A well-behaved client: one request at a time, events kept for later.
#[derive(Debug)]
pub struct Client {
    ws: Ws,
    next_id: u64,
    /// Events that arrived while waiting for replies, oldest first.
    pub events: VecDeque<Event>,
    /// The limits announced in `hello`.
    pub limits: Limits,
    /// The signed-in user, if any.
    pub user: Option<User>,
    /// The session token of the last `sign_in`.
    pub token: Option<String>,
}

impl Client {
    /// Connects and says `hello`.
    pub async fn connect(url: &str, source: Option<IpAddr>) -> Result<Self> {
        let addr = server_addr(url).await?;
        let ws = open(url, addr, source).await?;
        let mut client = Self {
            ws,
            next_id: 0,
            events: VecDeque::new(),
            limits: Limits::default(),
            user: None,
            token: None,
        };
        client.limits = client
            .call(Hello {
                protocol: PROTOCOL_VERSION,
                client: Some("im-wire-fuzz".into()),
            })
            .await?
            .map_err(|e| anyhow!("hello: {e}"))?
            .limits;
        Ok(client)
    }

    /// Sends one request and waits for its reply (events meanwhile are kept in `events`).
    pub async fn call<P: Op>(&mut self, params: P) -> Result<Result<P::Output, ErrorBody>> {
        self.next_id += 1;
        let id = self.next_id;
        let text = serde_json::to_string(&Request {
            id,
            call: params.into(),
        })?;
        self.ws.send(Message::text(text)).await?;
        loop {
            match self.next_frame(CALL_TIMEOUT).await? {
                ServerFrame::Result { id: got, result } if got == id => {
                    return Ok(Ok(serde_json::from_str(result.get()).with_context(
                        || format!("{}: unexpected result {}", P::NAME, result.get()),
                    )?));
                }
                ServerFrame::Error { id: got, error } if got == Some(id) => return Ok(Err(error)),
                ServerFrame::Error { id: None, error } => {
                    bail!("{}: refused as unreadable: {error}", P::NAME)
                }
                ServerFrame::Event(event) => self.events.push_back(event),
                _ => {}
            }
        }
    }

    /// Like [`call`](Self::call), but an error reply is an error.
    pub async fn ok<P: Op>(&mut self, params: P) -> Result<P::Output> {
        self.call(params)
            .await?
            .map_err(|e| anyhow!("{}: {e}", P::NAME))
    }

    /// The next event, from those kept or from the socket, waiting at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Event> {
        if let Some(event) = self.events.pop_front() {
            return Ok(event);
        }
        loop {
            if let ServerFrame::Event(event) = self.next_frame(timeout).await? {
                return Ok(event);
            }
        }
    }

    async fn next_frame(&mut self, timeout: Duration) -> Result<ServerFrame> {
        loop {
            let message = tokio::time::timeout(timeout, self.ws.next())
                .await
                .map_err(|_| anyhow!("no frame from the server within {timeout:?}"))?
                .ok_or_else(|| anyhow!("the server closed the connection"))??;
            match message {
                Message::Text(text) => return Ok(decode_server_frame(text.as_str())?),
                Message::Close(frame) => bail!("the server closed the connection: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Signs up `username` (an existing account is fine) and signs in.
    pub async fn sign_up_and_in(&mut self, username: &str, password: &str) -> Result<User> {
        match self
            .call(SignUp {
                username: username.into(),
                password: password.into(),
                display_name: None,
                invite: None,
            })
            .await?
        {
            Ok(_) => {}
            Err(e) if e.code == im_proto::ErrorCode::UsernameTaken => {}
            Err(e) => bail!("sign_up {username}: {e}"),
        }
        self.sign_in(username, password).await
    }

    /// Signs in, keeping the user and token.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Result<User> {
        let signed = self
            .ok(SignIn {
                username: username.into(),
                password: password.into(),
                device: Some("im-wire-fuzz".into()),
            })
            .await?;
        self.user = Some(signed.user.clone());
        self.token = Some(signed.token.expose().to_owned());
        Ok(signed.user)
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
