//! TLS on the public port: the certificate chain and private key from PEM files, served by
//! rustls (TLS 1.3 and 1.2 only), and reloaded without dropping a connection when the files
//! change (a certbot or ACME renewal) or when asked (SIGHUP).
//!
//! Each handshake asks [`Certificates`] for the current key, so a reload only affects handshakes
//! after it; connections already open keep the session they negotiated.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

mod stream;
pub(crate) use stream::TlsStream;

/// The PEM files of the server's certificate chain (leaf first) and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain: the server's certificate, then any intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The crypto provider: *ring* (no C toolchain beyond the one Rust needs).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate served, swapped whole on reload.
#[derive(Debug)]
pub(crate) struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times when they were last loaded (or last tried).
    loaded: Mutex<Option<(SystemTime, SystemTime)>>,
}

impl Certificates {
    /// Loads the files; an error names the file and what is wrong with it.
    pub fn load(files: TlsFiles) -> Result<Self> {
        let provider = provider();
        let stamp = stamp(&files);
        let key = certified_key(&files, &provider)?;
        Ok(Self {
            files,
            provider,
            current: RwLock::new(Arc::new(key)),
            loaded: Mutex::new(stamp),
        })
    }

    /// Loads the files again and serves them from the next handshake on. On an error (a file
    /// half-written, a key that does not match) the previous certificate stays.
    pub fn reload(&self) -> Result<()> {
        *self.loaded.lock().expect("tls stamp lock") = stamp(&self.files);
        let key = certified_key(&self.files, &self.provider)?;
        *self.current.write().expect("tls certificate lock") = Arc::new(key);
        tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
        Ok(())
    }

    /// Reloads if either file changed since it was last loaded.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let now = stamp(&self.files);
        if now.is_none() || now == *self.loaded.lock().expect("tls stamp lock") {
            return Ok(false);
        }
        self.reload().map(|()| true)
    }

    /// A server configuration that asks this for its certificate on every handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| Error::Tls(format!("protocol versions: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Stateless session tickets (keys rotated every 6 hours): a reconnect storm resumes
        // sessions instead of paying a full handshake each, with no per-client state kept here.
        config.ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| Error::Tls(format!("session tickets: {e}")))?;
        Ok(config)
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("tls certificate lock").clone())
    }
}

/// Both files' modification times (following symlinks, as certbot's `live/` links are).
fn stamp(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Some((modified(&files.cert)?, modified(&files.key)?))
}

fn certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey> {
    let cert_error = |what: String| Error::Tls(format!("{}: {what}", files.cert.display()));
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| Error::Tls(format!("{}: {e}", files.key.display())))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        Error::Tls(format!(
            "{} and {}: {e}",
            files.cert.display(),
            files.key.display()
        ))
    })
}

/// An accepted connection's byte stream: plain TCP, or TLS over it.
#[derive(Debug)]
pub(crate) enum Transport {
    Plain(TcpStream),
    /// Boxed: an idle connection's task holds only a pointer to the TLS state.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(s) => s.is_write_vectored(),
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }
}
