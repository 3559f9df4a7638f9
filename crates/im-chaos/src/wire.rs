//! [`Wire`]: one raw protocol connection (a WebSocket carrying im-proto frames) with typed calls
//! and pipelined requests, and nothing more: no reconnects, no cache. The raw clients, the setup
//! and the audit talk to the server through it.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use im_proto::{decode_server_frame, ErrorBody, Limits, Op, Request, RequestId, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connection that has said `hello`.
#[derive(Debug)]
pub struct Wire {
    socket: Socket,
    next_id: RequestId,
    /// The limits the server announced in its `hello` answer.
    pub limits: Limits,
}

/// What a typed call can end in besides its result.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with an error.
    Server(ErrorBody),
    /// The connection failed, closed or stayed silent.
    Transport(anyhow::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Server(error) => write!(f, "server error {error}"),
            CallError::Transport(error) => write!(f, "{error:#}"),
        }
    }
}

impl std::error::Error for CallError {}

impl Wire {
    /// Opens `url` and says `hello`, all within `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        tokio::time::timeout(timeout, async {
            let (socket, _) = tokio_tungstenite::connect_async(url)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            let mut wire = Wire {
                socket,
                next_id: 0,
                limits: Limits::default(),
            };
            let hello = wire
                .call(
                    im_proto::Hello {
                        protocol: im_proto::PROTOCOL_VERSION,
                        client: Some("im-chaos".into()),
                    },
                    timeout,
                )
                .await?;
            wire.limits = hello.limits;
            Ok(wire)
        })
        .await
        .map_err(|_| anyhow!("connecting to {url}: no hello answer within {timeout:?}"))?
    }

    /// A fresh request id for this connection.
    pub fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        self.next_id
    }

    /// Sends a request without waiting for its reply (pipelining), within `timeout`.
    pub async fn send<P: Op>(&mut self, id: RequestId, params: P, timeout: Duration) -> Result<()> {
        let text = serde_json::to_string(&Request {
            id,
            call: params.into(),
        })?;
        tokio::time::timeout(timeout, self.socket.send(WsMessage::text(text)))
            .await
            .map_err(|_| anyhow!("{}: the write stalled for {timeout:?}", P::NAME))?
            .with_context(|| format!("{}: sending", P::NAME))
    }

    /// The next frame from the server; `None` once the connection has closed. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Option<ServerFrame>> {
        loop {
            let Some(message) = self.socket.next().await else {
                return Ok(None);
            };
            match message.context("reading")? {
                WsMessage::Text(text) => return Ok(Some(decode_server_frame(text.as_str())?)),
                WsMessage::Close(_) => return Ok(None),
                _ => continue,
            }
        }
    }

    /// Sends a request and waits (at most `timeout`) for its reply, skipping events.
    pub async fn call<P: Op>(
        &mut self,
        params: P,
        timeout: Duration,
    ) -> std::result::Result<P::Output, CallError> {
        let id = self.next_id();
        self.send(id, params, timeout)
            .await
            .map_err(CallError::Transport)?;
        let reply = tokio::time::timeout(timeout, async {
            loop {
                match self.next_frame().await? {
                    None => bail!("{}: the connection closed", P::NAME),
                    Some(ServerFrame::Result { id: got, result }) if got == id => {
                        return Ok(Ok(serde_json::from_str::<P::Output>(result.get())?))
                    }
                    Some(ServerFrame::Error { id: got, error }) if got == Some(id) => {
                        return Ok(Err(error))
                    }
                    Some(_) => continue,
                }
            }
        })
        .await;
        match reply {
            Err(_) => Err(CallError::Transport(anyhow!(
                "{}: no reply within {timeout:?}",
                P::NAME
            ))),
            Ok(Err(error)) => Err(CallError::Transport(error)),
            Ok(Ok(Err(error))) => Err(CallError::Server(error)),
            Ok(Ok(Ok(output))) => Ok(output),
        }
    }

    /// Closes the connection politely (best effort).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.close(None)).await;
    }
}
