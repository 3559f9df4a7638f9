//! [`ChaosProxy`]: a TCP proxy between the clients and the server that can freeze the path (stop
//! forwarding both ways while keeping every socket open, as a dead network does) and drop it
//! (close every proxied connection at once).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A running proxy. Dropping it stops accepting and closes every connection.
#[derive(Debug)]
pub struct ChaosProxy {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
    /// Cancelled to drop every current connection, then replaced by a fresh token.
    connections: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl ChaosProxy {
    /// Listens on a free port of 127.0.0.1 and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Self {
            addr: listener.local_addr()?,
            frozen: watch::channel(false).0,
            connections: Arc::new(Mutex::new(CancellationToken::new())),
            stop: CancellationToken::new(),
        };
        tokio::spawn(accept_loop(
            listener,
            target,
            proxy.frozen.subscribe(),
            proxy.connections.clone(),
            proxy.stop.clone(),
        ));
        Ok(proxy)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL clients use.
    pub fn url(&self) -> String {
        format!("ws://{}{}", self.addr, im_proto::WS_PATH)
    }

    /// Stops forwarding in both directions, and holds new connections, until
    /// [`thaw`](Self::thaw). Sockets stay open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Forwards again, starting with whatever was held.
    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }

    /// Closes every proxied connection now; new ones are accepted as usual.
    pub fn drop_all(&self) {
        let mut current = self.connections.lock().expect("proxy lock");
        current.cancel();
        *current = CancellationToken::new();
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.connections.lock().expect("proxy lock").cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    frozen: watch::Receiver<bool>,
    connections: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, _)) => {
                let dropped = connections.lock().expect("proxy lock").clone();
                tokio::spawn(proxy_connection(client, target, frozen.clone(), dropped));
            }
            Err(error) => {
                tracing::warn!(%error, "proxy: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Forwards one client connection until either side closes or the proxy drops it.
async fn proxy_connection(
    client: TcpStream,
    target: SocketAddr,
    mut frozen: watch::Receiver<bool>,
    dropped: CancellationToken,
) {
    let upstream = tokio::select! {
        _ = dropped.cancelled() => return,
        upstream = async {
            // A connection that arrives while the path is frozen hangs like the others.
            let _ = frozen.wait_for(|f| !*f).await;
            TcpStream::connect(target).await
        } => upstream,
    };
    let Ok(upstream) = upstream else {
        // The server is down: the client sees its connection closed.
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = upstream.into_split();
    // When one direction ends (or the proxy drops the path), both sockets close.
    tokio::select! {
        _ = dropped.cancelled() => {}
        _ = pump(client_read, server_write, frozen.clone()) => {}
        _ = pump(server_read, client_write, frozen) => {}
    }
}

/// Copies bytes from `from` to `to`, holding them while the path is frozen.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, byte: u8) -> std::io::Result<u8> {
        stream.write_all(&[byte]).await?;
        let mut got = [0u8; 1];
        match stream.read(&mut got).await? {
            0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(got[0]),
        }
    }

    #[tokio::test]
    async fn forwards_freezes_and_drops() {
        let proxy = ChaosProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, 7).await.unwrap(), 7);

        // Frozen: the byte is held, and forwarded after the thaw on the same connection.
        proxy.freeze();
        stream.write_all(&[8]).await.unwrap();
        proxy.thaw();
        let mut got = [0u8; 1];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(got[0], 8);

        // Dropped: the connection is closed; a new one works.
        proxy.drop_all();
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("the dropped connection stayed open");
        assert!(closed.is_err() || rest.is_empty());
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut again, 9).await.unwrap(), 9);
    }
}
