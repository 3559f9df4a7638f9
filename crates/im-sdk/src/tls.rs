//! TLS for `wss://` servers: certificates are checked against the operating system's trust
//! store (rustls-platform-verifier: the same code on Windows, macOS and Linux), plus any
//! certificate authorities the app was told to trust for a self-hosted server. A certificate
//! that fails is a typed [`TlsProblem`]; nothing ever falls back to plain `ws://`.
//!
//! The extra authorities are process-wide, like the operating system's store they extend: an
//! app adds them once at start (from its settings) with [`trust_extra_ca_pem`].

use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig};

use crate::error::{Error, Result};

/// Why a server's certificate was refused, in terms a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// Not issued by an authority this computer (or the app) trusts: a self-signed or private
    /// certificate, or someone in between.
    Untrusted,
    /// Expired, or not valid yet (check this computer's clock).
    Expired,
    /// Issued for another host name than the one connected to.
    WrongHost,
    /// Revoked by its issuer.
    Revoked,
    /// Another TLS failure (the text says which).
    Other(String),
}

impl TlsProblem {
    /// A stable code for UIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            TlsProblem::Untrusted => "tls_untrusted",
            TlsProblem::Expired => "tls_expired",
            TlsProblem::WrongHost => "tls_wrong_host",
            TlsProblem::Revoked => "tls_revoked",
            TlsProblem::Other(_) => "tls_failed",
        }
    }

    /// Sorts a rustls error.
    fn of(error: &rustls::Error) -> Self {
        use CertificateError as C;
        match error {
            rustls::Error::InvalidCertificate(certificate) => match certificate {
                C::UnknownIssuer | C::BadSignature | C::InvalidPurpose => TlsProblem::Untrusted,
                C::Expired | C::ExpiredContext { .. } | C::NotValidYet => TlsProblem::Expired,
                C::NotValidYetContext { .. } => TlsProblem::Expired,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::WrongHost,
                C::Revoked => TlsProblem::Revoked,
                other => TlsProblem::Other(format!("{other:?}")),
            },
            other => TlsProblem::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsProblem::Untrusted => f.write_str(
                "its certificate is not from an authority this computer trusts \
                 (a private server needs its authority added to the app)",
            ),
            TlsProblem::Expired => f.write_str(
                "its certificate has expired or is not valid yet (or this computer's clock is wrong)",
            ),
            TlsProblem::WrongHost => {
                f.write_str("its certificate is for another server name than the one typed")
            }
            TlsProblem::Revoked => f.write_str("its certificate has been revoked"),
            TlsProblem::Other(text) => write!(f, "the secure connection failed: {text}"),
        }
    }
}

/// Extra authorities, and the configuration built from them (rebuilt when they change).
#[derive(Default)]
struct Trust {
    extra: Vec<CertificateDer<'static>>,
    config: Option<Arc<ClientConfig>>,
}

static TRUST: Mutex<Trust> = Mutex::new(Trust {
    extra: Vec::new(),
    config: None,
});

/// Trusts the certificate authorities in `pem` (one or more `CERTIFICATE` blocks) for every
/// `wss://` connection from now on, beside the operating system's. Returns how many it added.
pub fn trust_extra_ca_pem(pem: &[u8]) -> Result<usize> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidInput(format!("not a PEM certificate: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::InvalidInput(
            "no certificate in the PEM text".to_owned(),
        ));
    }
    let added = certificates.len();
    let mut trust = TRUST.lock().expect("tls trust lock");
    trust.extra.extend(certificates);
    trust.config = None;
    Ok(added)
}

/// The client configuration for `wss://` connections.
pub(crate) fn client_config() -> Result<Arc<ClientConfig>> {
    let mut trust = TRUST.lock().expect("tls trust lock");
    if let Some(config) = &trust.config {
        return Ok(config.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_error = |e: rustls::Error| Error::Tls {
        url: String::new(),
        problem: TlsProblem::Other(e.to_string()),
    };
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        trust.extra.iter().cloned(),
        provider.clone(),
    )
    .map_err(tls_error)?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let config = Arc::new(config);
    trust.config = Some(config.clone());
    Ok(config)
}

/// The TLS problem behind a failed connection, if TLS is what failed.
pub(crate) fn problem_in(error: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
    let mut source = Some(error);
    while let Some(error) = source {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(TlsProblem::of(tls));
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return Some(TlsProblem::of(tls));
            }
        }
        source = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_are_sorted_by_what_a_person_can_do() {
        let sorted = |e: CertificateError| TlsProblem::of(&rustls::Error::InvalidCertificate(e));
        assert_eq!(
            sorted(CertificateError::UnknownIssuer),
            TlsProblem::Untrusted
        );
        assert_eq!(sorted(CertificateError::Expired), TlsProblem::Expired);
        assert_eq!(sorted(CertificateError::NotValidYet), TlsProblem::Expired);
        assert_eq!(
            sorted(CertificateError::NotValidForName),
            TlsProblem::WrongHost
        );
        assert_eq!(sorted(CertificateError::Revoked), TlsProblem::Revoked);
        let codes: std::collections::HashSet<_> = [
            TlsProblem::Untrusted,
            TlsProblem::Expired,
            TlsProblem::WrongHost,
            TlsProblem::Revoked,
            TlsProblem::Other(String::new()),
        ]
        .iter()
        .map(TlsProblem::code)
        .collect();
        assert_eq!(codes.len(), 5, "one code each");
    }

    #[test]
    fn text_that_is_not_a_certificate_is_refused() {
        assert!(matches!(
            trust_extra_ca_pem(b"hello"),
            Err(Error::InvalidInput(_))
        ));
    }
}
