//! A certificate authority made on the spot, and server certificates it issues, for tests of
//! TLS (`wss://`) between the SDK, the app and the server: the test CA stands in for a public
//! one. Nothing here is for production.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

/// A certificate authority.
#[derive(Debug)]
pub struct TestCa {
    /// Its certificate, PEM: what a client is told to trust.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A server's certificate chain and key, PEM.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The server's certificate (issued by the CA).
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

/// How long a certificate is valid, relative to now.
#[derive(Debug, Clone, Copy)]
pub enum Validity {
    /// From a day ago to a year from now.
    Current,
    /// Expired yesterday.
    Expired,
}

impl TestCa {
    /// A new authority named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let key = KeyPair::generate().expect("a CA key");
        let cert = params.self_signed(&key).expect("a CA certificate");
        Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn issue(&self, names: &[&str], validity: Validity) -> ServerCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("valid names");
        params
            .distinguished_name
            .push(DnType::CommonName, "Gtedx IM test server");
        let now = OffsetDateTime::now_utc();
        (params.not_before, params.not_after) = match validity {
            Validity::Current => (now - Duration::days(1), now + Duration::days(365)),
            Validity::Expired => (now - Duration::days(30), now - Duration::days(1)),
        };
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a server certificate");
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl ServerCert {
    /// Writes `<stem>.crt` and `<stem>.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("writing the certificate");
        std::fs::write(&key, &self.key_pem).expect("writing the key");
        (cert, key)
    }
}
