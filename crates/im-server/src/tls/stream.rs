//! A server-side TLS stream over rustls's unbuffered API: the connection owns its receive and
//! send buffers, and an idle connection (nothing half-received, nothing left to send) frees
//! them, where rustls's buffered API keeps a 4 KiB receive buffer in every connection for as
//! long as it is open.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much is read from the socket at a time.
const READ_SIZE: usize = 4096;
/// The most received bytes held before rustls has a whole message: a handshake message of up to
/// 64 KiB (rustls's own limit) with its record headers.
const MAX_INCOMING: usize = 0x1_0000 + 1024;
/// The most plaintext encrypted per write; more waits until what is queued has been sent.
const MAX_WRITE: usize = 4 * 16_384;

/// One accepted TLS connection over `IO` (a TCP stream in the server).
pub(crate) struct TlsStream<IO> {
    io: IO,
    conn: UnbufferedServerConnection,
    /// Received TLS bytes rustls has not consumed yet (between reads, a partial record at most).
    incoming: Vec<u8>,
    /// Encrypted bytes to send, in order; `outgoing[..sent]` is already sent.
    outgoing: Vec<u8>,
    sent: usize,
    /// Decrypted bytes the reader has not taken yet; `plaintext[..taken]` is taken.
    plaintext: Vec<u8>,
    taken: usize,
    /// The peer sent close_notify (or closed the socket between records).
    read_closed: bool,
    close_notify_queued: bool,
    /// The reader's waker while it waits, woken when a write finds records to decrypt first.
    reader: Option<Waker>,
}

/// What the caller asks rustls to encrypt once the connection can send.
#[derive(Clone, Copy)]
enum Send<'a> {
    Nothing,
    Data(&'a [u8]),
    CloseNotify,
}

/// Where rustls stopped.
enum Driven {
    /// It needs more bytes from the peer.
    NeedBytes,
    /// The handshake is done and nothing is pending: the connection can send.
    Established,
    /// A record was decrypted into `plaintext`.
    Decrypted,
    /// `Send::Data` or `Send::CloseNotify` was encrypted: that many plaintext bytes.
    Encrypted(usize),
    /// The peer closed its side.
    PeerClosed,
    /// Both sides sent close_notify.
    Closed,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    /// Runs the handshake on `io`; the result can carry application data.
    pub async fn accept(io: IO, config: Arc<ServerConfig>) -> io::Result<Self> {
        let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
        let mut stream = Self {
            io,
            conn,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            sent: 0,
            plaintext: Vec::new(),
            taken: 0,
            read_closed: false,
            close_notify_queued: false,
            reader: None,
        };
        poll_fn(|cx| stream.poll_handshake(cx)).await?;
        Ok(stream)
    }

    /// The negotiated connection (handshake kind, protocol version, cipher suite…).
    pub fn connection(&self) -> &UnbufferedServerConnection {
        &self.conn
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match self.drive(Send::Nothing)? {
                Driven::NeedBytes => {
                    ready!(self.poll_send_queued(cx))?;
                    if ready!(self.poll_receive(cx))? == 0 {
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                // The handshake's last flight (and TLS 1.3's session tickets) start out now; the
                // rest goes with the next read or write (the client may not read before it writes).
                Driven::Established | Driven::Decrypted => {
                    if let Poll::Ready(Err(e)) = self.poll_send_queued(cx) {
                        return Poll::Ready(Err(e));
                    }
                    return Poll::Ready(Ok(()));
                }
                Driven::PeerClosed | Driven::Closed => {
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                Driven::Encrypted(_) => unreachable!("nothing was given to encrypt"),
            }
        }
    }

    /// Runs rustls on what has been received until it needs something from outside: more bytes,
    /// a reader for a decrypted record, or (with `send`) the encryption of what is to be sent.
    /// Handshake messages, alerts and tickets it produces are queued in `outgoing`.
    fn drive(&mut self, send: Send<'_>) -> io::Result<Driven> {
        loop {
            let Self {
                conn,
                incoming,
                outgoing,
                plaintext,
                ..
            } = self;
            let status = conn.process_tls_records(incoming);
            let discard = status.discard;
            let driven = match status.state.map_err(tls_error)? {
                ConnectionState::ReadTraffic(mut records) => {
                    while let Some(record) = records.next_record() {
                        plaintext.extend_from_slice(record.map_err(tls_error)?.payload);
                    }
                    Some(Driven::Decrypted)
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    append(outgoing, 512, |buffer| match encode.encode(buffer) {
                        Ok(written) => Ok(Ok(written)),
                        Err(EncodeError::InsufficientSize(InsufficientSizeError {
                            required_size,
                        })) => Ok(Err(required_size)),
                        Err(EncodeError::AlreadyEncoded) => Ok(Ok(0)),
                    })?;
                    None
                }
                // Everything encoded is in `outgoing`, which is sent before anything queued later.
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    None
                }
                ConnectionState::BlockedHandshake => Some(Driven::NeedBytes),
                ConnectionState::WriteTraffic(mut traffic) => Some(match send {
                    Send::Nothing => Driven::Established,
                    Send::Data(data) => {
                        append(outgoing, data.len() + 64, |buffer| {
                            encrypted(traffic.encrypt(data, buffer))
                        })?;
                        Driven::Encrypted(data.len())
                    }
                    Send::CloseNotify => {
                        append(outgoing, 64, |buffer| {
                            encrypted(traffic.queue_close_notify(buffer))
                        })?;
                        Driven::Encrypted(0)
                    }
                }),
                ConnectionState::PeerClosed => Some(Driven::PeerClosed),
                ConnectionState::Closed => Some(Driven::Closed),
                ConnectionState::ReadEarlyData(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "TLS early data is not accepted",
                    ));
                }
                _ => {
                    return Err(io::Error::other(
                        "TLS: a connection state this server does not know",
                    ));
                }
            };
            incoming.drain(..discard);
            if let Some(driven) = driven {
                return Ok(driven);
            }
        }
    }

    /// Reads what the socket has into `incoming`: the number of bytes (0 at the end of the
    /// stream). While it waits with nothing half-received or unsent, the buffers are freed.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let used = self.incoming.len();
        if used >= MAX_INCOMING {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS message too large",
            )));
        }
        self.incoming.resize(used + READ_SIZE, 0);
        let mut buffer = ReadBuf::new(&mut self.incoming[used..]);
        let polled = Pin::new(&mut self.io).poll_read(cx, &mut buffer);
        let received = buffer.filled().len();
        self.incoming.truncate(used + received);
        match polled {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(received)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.incoming.is_empty() {
                    self.incoming = Vec::new();
                    if self.sent == self.outgoing.len() {
                        self.outgoing = Vec::new();
                        self.sent = 0;
                    }
                }
                Poll::Pending
            }
        }
    }

    /// Sends everything queued in `outgoing`.
    fn poll_send_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.outgoing.len() {
            let written =
                ready!(Pin::new(&mut self.io).poll_write(cx, &self.outgoing[self.sent..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += written;
        }
        self.outgoing.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Drives rustls to a state where it can send, and encrypts `send` into `outgoing`.
    fn poll_encrypt(&mut self, cx: &mut Context<'_>, send: Send<'_>) -> Poll<io::Result<usize>> {
        loop {
            let driven = self.drive(send)?;
            match driven {
                Driven::Encrypted(n) => return Poll::Ready(Ok(n)),
                // A record that arrived meanwhile waits for the reader, who must hear of it.
                Driven::Decrypted | Driven::PeerClosed => {
                    if matches!(driven, Driven::PeerClosed) {
                        self.read_closed = true;
                    }
                    if let Some(reader) = self.reader.take() {
                        reader.wake();
                    }
                }
                Driven::NeedBytes => {
                    ready!(self.poll_send_queued(cx))?;
                    if ready!(self.poll_receive(cx))? == 0 {
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                Driven::Closed => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Driven::Established => unreachable!("only asked to encrypt"),
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.taken < this.plaintext.len() {
                let n = buf.remaining().min(this.plaintext.len() - this.taken);
                buf.put_slice(&this.plaintext[this.taken..this.taken + n]);
                this.taken += n;
                if this.taken == this.plaintext.len() {
                    this.plaintext = Vec::new();
                    this.taken = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.read_closed {
                return Poll::Ready(Ok(()));
            }
            // Handshake messages and alerts rustls queued go out before waiting for the peer.
            if let Poll::Ready(Err(e)) = this.poll_send_queued(cx) {
                return Poll::Ready(Err(e));
            }
            match this.drive(Send::Nothing)? {
                Driven::Decrypted => {}
                Driven::PeerClosed | Driven::Closed => this.read_closed = true,
                Driven::NeedBytes | Driven::Established => {
                    this.reader = Some(cx.waker().clone());
                    let received = ready!(this.poll_receive(cx))?;
                    this.reader = None;
                    if received == 0 {
                        if !this.incoming.is_empty() {
                            return Poll::Ready(Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the peer closed the connection inside a TLS record",
                            )));
                        }
                        // Closed without close_notify, between records: the WebSocket's own
                        // close frame (or its absence) says whether anything was cut short.
                        this.read_closed = true;
                    }
                }
                Driven::Encrypted(_) => unreachable!("nothing was given to encrypt"),
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.outgoing.len() - this.sent >= MAX_WRITE {
            ready!(this.poll_send_queued(cx))?;
        }
        let data = &buf[..buf.len().min(MAX_WRITE)];
        let encrypted = ready!(this.poll_encrypt(cx, Send::Data(data)))?;
        // Start sending at once; what the socket does not take now goes with the next flush.
        if let Poll::Ready(Err(e)) = this.poll_send_queued(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(encrypted))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_queued(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_notify_queued {
            ready!(this.poll_encrypt(cx, Send::CloseNotify))?;
            this.close_notify_queued = true;
        }
        ready!(this.poll_send_queued(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

impl<IO> std::fmt::Debug for TlsStream<IO> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("incoming", &self.incoming.len())
            .field("outgoing", &(self.outgoing.len() - self.sent))
            .field("plaintext", &(self.plaintext.len() - self.taken))
            .finish_non_exhaustive()
    }
}

/// Lets `produce` write at the end of `buffer`: `Ok(written)`, or `Err(size)` for the room it
/// needs, which it then gets.
fn append(
    buffer: &mut Vec<u8>,
    first_guess: usize,
    mut produce: impl FnMut(&mut [u8]) -> io::Result<Result<usize, usize>>,
) -> io::Result<()> {
    let start = buffer.len();
    let mut room = first_guess;
    loop {
        buffer.resize(start + room, 0);
        let produced = produce(&mut buffer[start..]);
        match produced {
            Ok(Ok(written)) => {
                buffer.truncate(start + written);
                return Ok(());
            }
            Ok(Err(required)) if required > room => room = required,
            Ok(Err(_)) => {
                buffer.truncate(start);
                return Err(io::Error::other("TLS: no room to encrypt in"));
            }
            Err(e) => {
                buffer.truncate(start);
                return Err(e);
            }
        }
    }
}

/// An encryption's outcome for [`append`].
fn encrypted(outcome: Result<usize, EncryptError>) -> io::Result<Result<usize, usize>> {
    match outcome {
        Ok(written) => Ok(Ok(written)),
        Err(EncryptError::InsufficientSize(InsufficientSizeError { required_size })) => {
            Ok(Err(required_size))
        }
        // The keys' limit reached: the connection cannot go on.
        Err(e) => Err(io::Error::other(format!("TLS: {e}"))),
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use im_test_pki::{TestCa, Validity};
    use proptest::prelude::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    struct Pki {
        server: Arc<ServerConfig>,
        client: Arc<rustls::ClientConfig>,
    }

    fn pki() -> Pki {
        let ca = TestCa::new("Test CA");
        let cert = ca.issue(&["localhost"], Validity::Current);
        let chain = vec![CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
        let mut server = ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        server.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.cert_pem.as_bytes()).unwrap())
            .unwrap();
        let client = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Pki {
            server: Arc::new(server),
            client: Arc::new(client),
        }
    }

    /// A client and this server's stream over an in-memory pipe holding `capacity` bytes.
    async fn pair(
        pki: &Pki,
        capacity: usize,
    ) -> (
        tokio_rustls::client::TlsStream<DuplexStream>,
        TlsStream<DuplexStream>,
    ) {
        let (client_io, server_io) = tokio::io::duplex(capacity);
        let connector = tokio_rustls::TlsConnector::from(pki.client.clone());
        let name = ServerName::try_from("localhost").unwrap();
        let (client, server) = tokio::join!(
            connector.connect(name, client_io),
            TlsStream::accept(server_io, pki.server.clone())
        );
        (client.unwrap(), server.unwrap())
    }

    /// Polls a read once: what the stream does when the peer has sent nothing.
    async fn read_once(stream: &mut TlsStream<DuplexStream>) -> Poll<usize> {
        let mut bytes = [0; 64];
        let mut buffer = ReadBuf::new(&mut bytes);
        poll_fn(|cx| Poll::Ready(Pin::new(&mut *stream).poll_read(cx, &mut buffer)))
            .await
            .map(|result| result.map(|()| buffer.filled().len()).unwrap())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn an_idle_connection_holds_no_buffer_and_a_reconnect_resumes() {
        runtime().block_on(async {
            let pki = pki();
            let (mut client, mut server) = pair(&pki, 64 * 1024).await;
            assert_eq!(
                server.connection().handshake_kind(),
                Some(rustls::HandshakeKind::Full)
            );
            client.write_all(&[7; 20_000]).await.unwrap();
            let mut received = vec![0; 20_000];
            server.read_exact(&mut received).await.unwrap();
            assert_eq!(received, vec![7; 20_000]);
            server.write_all(b"pong").await.unwrap();
            server.flush().await.unwrap();
            let mut pong = [0; 4];
            client.read_exact(&mut pong).await.unwrap();
            assert_eq!(&pong, b"pong");

            // Waiting for the next message, the stream keeps no buffer at all.
            assert_eq!(read_once(&mut server).await, Poll::Pending);
            assert_eq!(
                (
                    server.incoming.capacity(),
                    server.outgoing.capacity(),
                    server.plaintext.capacity()
                ),
                (0, 0, 0)
            );
            // Closing with close_notify ends the server's reading cleanly.
            client.shutdown().await.unwrap();
            assert_eq!(read_once(&mut server).await, Poll::Ready(0));

            // The client got a session ticket during the first connection: the next resumes.
            let (_client, server) = pair(&pki, 64 * 1024).await;
            assert_eq!(
                server.connection().handshake_kind(),
                Some(rustls::HandshakeKind::Resumed)
            );
        });
    }

    #[test]
    fn a_peer_that_speaks_no_tls_is_refused() {
        runtime().block_on(async {
            let pki = pki();
            let (mut client, server) = tokio::io::duplex(4096);
            let accept = TlsStream::accept(server, pki.server.clone());
            let (_, accepted) = tokio::join!(
                async {
                    client
                        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
                        .await
                        .unwrap();
                },
                accept
            );
            let error = accepted.expect_err("refused");
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Messages of any size through pipes of any capacity, echoed while more are being
        /// sent (both directions at once, reads and writes cut anywhere), arrive whole and in
        /// order, and both sides end cleanly.
        #[test]
        fn every_byte_arrives_in_order_whatever_the_pipe(
            capacity in 1usize..20_000,
            messages in prop::collection::vec((1usize..40_000, any::<u8>()), 1..12),
            server_read_size in 1usize..20_000,
        ) {
            runtime().block_on(async {
                let pki = pki();
                let (client, mut server) =
                    tokio::time::timeout(std::time::Duration::from_secs(10), pair(&pki, capacity))
                        .await
                        .expect("the handshake stalled");
                let sent: Vec<u8> = messages
                    .iter()
                    .flat_map(|&(len, byte)| std::iter::repeat_n(byte, len))
                    .collect();
                let (mut client_read, mut client_write) = tokio::io::split(client);
                let writer = async {
                    for &(len, byte) in &messages {
                        client_write.write_all(&vec![byte; len]).await.unwrap();
                    }
                    client_write.shutdown().await.unwrap();
                };
                let echo = async {
                    let mut chunk = vec![0; server_read_size];
                    loop {
                        let n = server.read(&mut chunk).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        server.write_all(&chunk[..n]).await.unwrap();
                    }
                    server.shutdown().await.unwrap();
                };
                let reader = async {
                    let mut echoed = Vec::new();
                    client_read.read_to_end(&mut echoed).await.unwrap();
                    echoed
                };
                // A stall fails the case (and proptest shrinks it) instead of hanging the run.
                let ((), (), echoed) = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    async { tokio::join!(writer, echo, reader) },
                )
                .await
                .expect("the exchange stalled");
                assert_eq!(echoed.len(), sent.len());
                assert!(echoed == sent, "the bytes differ");
            });
        }
    }
}
