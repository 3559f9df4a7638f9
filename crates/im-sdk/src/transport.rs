//! One WebSocket connection to the server: connect and say hello, write request frames, read
//! server frames. Knows nothing about reconnecting (the supervisor does that).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use im_proto::{decode_server_frame, Hello, Op, Request, RequestId, ServerFrame, PROTOCOL_VERSION};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::error::{Error, Result};

/// The longest one write may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected, hello'd socket.
#[derive(Debug)]
pub(crate) struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    url: String,
    /// When the server was last heard from (any frame, pongs included).
    pub last_heard: Instant,
    /// The server's limits, from its hello.
    pub limits: im_proto::Limits,
    /// Who may create an account there, from its hello.
    pub sign_up: im_proto::SignUpMode,
}

/// What `next` read.
#[derive(Debug)]
pub(crate) enum Incoming {
    Frame(Box<ServerFrame>),
    /// A ping, pong or other control frame: the server is alive.
    Alive,
}

impl Connection {
    /// Connects to `url` and completes the `hello` exchange, within `timeout`.
    pub async fn open(url: &str, timeout: Duration) -> Result<Self> {
        let connect_error = |reason: String| Error::Connect {
            url: url.to_owned(),
            reason,
        };
        let config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .max_message_size(Some(16 << 20));
        // A wss:// URL is checked against the trust store; ws:// stays plain. Never both.
        let connector = if url.starts_with("wss://") {
            Some(Connector::Rustls(crate::tls::client_config()?))
        } else {
            Some(Connector::Plain)
        };
        let (ws, _) = tokio::time::timeout(
            timeout,
            tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, connector),
        )
        .await
        .map_err(|_| connect_error("timed out".into()))?
        .map_err(|e| match crate::tls::problem_in(&e) {
            Some(problem) => Error::Tls {
                url: url.to_owned(),
                problem,
            },
            None => connect_error(e.to_string()),
        })?;
        let mut conn = Self {
            ws,
            url: url.to_owned(),
            last_heard: Instant::now(),
            limits: im_proto::Limits::default(),
            sign_up: im_proto::SignUpMode::default(),
        };
        let hello = tokio::time::timeout(
            timeout,
            conn.request(
                0,
                Hello {
                    protocol: PROTOCOL_VERSION,
                    client: Some(format!("im-sdk/{}", env!("CARGO_PKG_VERSION"))),
                },
                |_| {},
            ),
        )
        .await
        .map_err(|_| connect_error("no hello reply".into()))??;
        conn.limits = hello.limits;
        conn.sign_up = hello.sign_up;
        Ok(conn)
    }

    /// The URL connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Writes one request frame.
    pub async fn send_request<P: Op>(&mut self, id: RequestId, params: P) -> Result<()> {
        let text = serde_json::to_string(&Request {
            id,
            call: params.into(),
        })?;
        self.send_text(text).await
    }

    /// Writes a frame already encoded. A write that cannot go out within [`WRITE_TIMEOUT`] (the
    /// server stopped reading, the path is frozen) counts as a lost connection.
    pub async fn send_text(&mut self, text: String) -> Result<()> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.ws.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::Disconnected),
            Err(_) => Err(Error::Timeout),
        }
    }

    /// Writes a WebSocket ping.
    pub async fn ping(&mut self) -> Result<()> {
        self.ws
            .send(Message::Ping(Default::default()))
            .await
            .map_err(|_| Error::Disconnected)
    }

    /// Reads the next frame. `Err(Disconnected)` when the connection ended.
    pub async fn next(&mut self) -> Result<Incoming> {
        match self.ws.next().await {
            Some(Ok(Message::Text(text))) => {
                self.last_heard = Instant::now();
                decode_server_frame(text.as_str())
                    .map(|frame| Incoming::Frame(Box::new(frame)))
                    .map_err(|e| Error::Protocol(e.to_string()))
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Err(Error::Disconnected),
            Some(Ok(_)) => {
                self.last_heard = Instant::now();
                Ok(Incoming::Alive)
            }
        }
    }

    /// Sends a request and reads until its reply, handing every event that arrives meanwhile to
    /// `on_event`.
    pub async fn request<P: Op>(
        &mut self,
        id: RequestId,
        params: P,
        mut on_event: impl FnMut(ServerFrame),
    ) -> Result<P::Output> {
        self.send_request(id, params).await?;
        loop {
            let Incoming::Frame(frame) = self.next().await? else {
                continue;
            };
            match *frame {
                ServerFrame::Result { id: got, result } if got == id => {
                    return serde_json::from_str(result.get()).map_err(Error::from)
                }
                ServerFrame::Error { id: got, error } if got == Some(id) => {
                    return Err(error.into())
                }
                frame => on_event(frame),
            }
        }
    }

    /// Closes politely.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}
