//! The SDK's error type.

use im_proto::{ErrorBody, ErrorCode};

/// Everything that can go wrong in the SDK. [`Error::is_transient`] tells whether the same
/// operation may succeed later unchanged; [`Error::code`] is a stable string for UIs and logs.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the request; `code` says why (see `docs/PROTOCOL.md`).
    #[error("{0}")]
    Server(ErrorBody),
    /// Not connected right now; the client keeps reconnecting. Sends are queued instead of
    /// failing with this.
    #[error("offline: not connected to the server")]
    Offline,
    /// The connection dropped before the reply came; the request may or may not have been done.
    #[error("the connection dropped before the reply came")]
    Disconnected,
    /// No reply in time.
    #[error("no reply from the server in time")]
    Timeout,
    /// Connecting failed (network, TLS, handshake).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The server URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server's TLS certificate was refused (never retried over plain `ws://`).
    #[error("cannot connect securely to {url}: {problem}")]
    Tls {
        /// The server URL.
        url: String,
        /// What is wrong with the certificate.
        problem: crate::tls::TlsProblem,
    },
    /// The client was used before [`crate::ImClient::set_cache`], which the seed requires right
    /// after creating it.
    #[error("set a cache on the client (ImClient::set_cache) before using it")]
    CacheNotSet,
    /// [`crate::ImClient::set_cache`] was called twice.
    #[error("the client already has a cache")]
    CacheAlreadySet,
    /// The cache holds another account's data.
    #[error("this cache belongs to another account ({0})")]
    CacheOwnedByOther(String),
    /// The cache failed (disk full, damaged file, …).
    #[error("cache: {0}")]
    Cache(String),
    /// The client was closed; create a new one.
    #[error("the client is closed")]
    Closed,
    /// The client stopped after an internal failure (a bug); create a new one. Nothing in the
    /// outbox is lost.
    #[error("the client stopped after an internal failure: {0}")]
    Failed(String),
    /// The session is no longer valid (signed out elsewhere, or the token was revoked):
    /// sign in again.
    #[error("signed out: {0}")]
    SignedOut(String),
    /// Rejected locally before reaching the server (e.g. empty or over-long text).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The server sent something this SDK cannot read.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Shorthand for results in the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when retrying later, unchanged, may succeed (network trouble, server busy or
    /// restarting, rate limits). False when something must change first.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Server(body) => body.code.is_transient(),
            Error::Offline | Error::Disconnected | Error::Timeout | Error::Connect { .. } => true,
            _ => false,
        }
    }

    /// A stable, machine-readable code: the server's error code, or one of `offline`,
    /// `disconnected`, `timeout`, `connect_failed`, `tls_untrusted`, `tls_expired`,
    /// `tls_wrong_host`, `tls_revoked`, `tls_failed`, `cache_not_set`, `cache_already_set`,
    /// `cache_owned_by_other`, `cache`, `closed`, `failed`, `signed_out`, `invalid_input`,
    /// `protocol`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Server(body) => body.code.as_str(),
            Error::Offline => "offline",
            Error::Disconnected => "disconnected",
            Error::Timeout => "timeout",
            Error::Connect { .. } => "connect_failed",
            Error::Tls { problem, .. } => problem.code(),
            Error::CacheNotSet => "cache_not_set",
            Error::CacheAlreadySet => "cache_already_set",
            Error::CacheOwnedByOther(_) => "cache_owned_by_other",
            Error::Cache(_) => "cache",
            Error::Closed => "closed",
            Error::Failed(_) => "failed",
            Error::SignedOut(_) => "signed_out",
            Error::InvalidInput(_) => "invalid_input",
            Error::Protocol(_) => "protocol",
        }
    }

    /// The server's error code, if the server refused.
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Error::Server(body) => Some(body.code),
            _ => None,
        }
    }
}

impl From<ErrorBody> for Error {
    fn from(body: ErrorBody) -> Self {
        if body.code == ErrorCode::InvalidToken {
            return Error::SignedOut(body.message);
        }
        Error::Server(body)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Cache(e.to_string())
    }
}

impl From<rusqlite_migration::Error> for Error {
    fn from(e: rusqlite_migration::Error) -> Self {
        Error::Cache(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Protocol(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_and_codes() {
        assert!(Error::Offline.is_transient());
        assert!(!Error::CacheNotSet.is_transient());
        assert_eq!(Error::CacheNotSet.code(), "cache_not_set");
        let limited: Error = ErrorBody::rate_limited("slow", 10).into();
        assert!(limited.is_transient());
        assert_eq!(limited.code(), "rate_limited");
        let not_member: Error = ErrorBody::new(ErrorCode::NotMember, "no").into();
        assert!(!not_member.is_transient());
        assert_eq!(not_member.server_code(), Some(ErrorCode::NotMember));
        let revoked: Error = ErrorBody::new(ErrorCode::InvalidToken, "gone").into();
        assert_eq!(revoked.code(), "signed_out");
    }
}
