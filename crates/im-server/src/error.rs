//! The server library's error type: a protocol error to send back, or a failure inside the
//! server (logged, answered as `internal`).

use im_proto::{ErrorBody, ErrorCode};

/// What can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is refused for a reason the client can act on; sent back as is.
    #[error("{0}")]
    Refused(ErrorBody),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// PostgreSQL failed.
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// PostgreSQL's schema could not be brought up to date.
    #[error("postgres migration: {0}")]
    PostgresMigration(#[from] refinery::Error),
    /// Reading or writing a file or socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The server is stopping; the request was not carried out.
    #[error("shutting down")]
    ShuttingDown,
    /// A stored value could not be read back (a bug or a damaged database).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Hashing a password failed.
    #[error("password hashing: {0}")]
    PasswordHash(String),
    /// The disk is full (a write failed with it earlier in the same batch).
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The TLS certificate or key cannot be used (named file, reason).
    #[error("tls: {0}")]
    Tls(String),
    /// The settings cannot work (named setting, reason).
    #[error("{0}")]
    Config(String),
    /// A part the server cannot run without failed; the server stopped.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How long a client is asked to wait after `storage_full` before sending again.
const STORAGE_FULL_RETRY_MS: u64 = 5_000;

/// How long a client is asked to wait after `store_unavailable` before sending again.
const STORE_UNAVAILABLE_RETRY_MS: u64 = 1_000;

impl Error {
    /// A refusal with a code and a message.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused(ErrorBody::new(code, message))
    }

    /// What the client is told. Internal details stay in the server log.
    pub fn to_body(&self) -> ErrorBody {
        match self {
            Error::Refused(body) => body.clone(),
            Error::ShuttingDown => ErrorBody::new(
                ErrorCode::ShuttingDown,
                "the server is shutting down; nothing was done",
            ),
            e if e.is_storage_full() => ErrorBody {
                code: ErrorCode::StorageFull,
                message: "the server's disk is full; nothing was stored; try again later".into(),
                retry_after_ms: Some(STORAGE_FULL_RETRY_MS),
            },
            e if e.is_store_unavailable() => ErrorBody {
                code: ErrorCode::StoreUnavailable,
                message: "the server cannot reach its database; nothing was stored; try again"
                    .into(),
                retry_after_ms: Some(STORE_UNAVAILABLE_RETRY_MS),
            },
            _ => ErrorBody::new(
                ErrorCode::Internal,
                "internal server error; nothing was changed",
            ),
        }
    }

    /// True when the database could not write because the disk (or its quota) is full.
    pub fn is_storage_full(&self) -> bool {
        matches!(
            self,
            Error::Database(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DiskFull
        ) || matches!(self, Error::Io(e) if e.kind() == std::io::ErrorKind::StorageFull)
            || matches!(self, Error::StorageFull(_))
            || matches!(self, Error::Postgres(e) if e.code() == Some(&postgres::error::SqlState::DISK_FULL))
    }

    /// True when PostgreSQL cannot be reached or cannot take the work just now: the connection
    /// is lost (a restart, a failover), the server is starting or stopping, out of connections,
    /// read-only (a standby), or the transaction lost a serialization race or a deadlock. The
    /// work is answered `store_unavailable`, and the next batch or query connects again.
    pub fn is_store_unavailable(&self) -> bool {
        let Error::Postgres(e) = self else {
            return false;
        };
        if e.is_closed() {
            return true;
        }
        match e.code() {
            // No SQLSTATE: the socket failed (refused, reset, timed out), or a client-side
            // error (a bug: `internal`).
            None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
            Some(state) => {
                let class = &state.code()[..2];
                // 08 connection exception, 57 operator intervention (shutting down, starting),
                // 53 insufficient resources (but a full disk is `storage_full`), 40 transaction
                // rollback (serialization failure, deadlock); a read-only standby.
                matches!(class, "08" | "57" | "53" | "40")
                    || *state == postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION
            }
        }
    }

    /// True for failures of the storage itself rather than of one command's data: a full disk,
    /// I/O errors, a busy or damaged database. A write batch hitting one fails as a whole.
    pub fn is_batch_wide(&self) -> bool {
        use rusqlite::ErrorCode as C;
        match self {
            Error::Database(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    C::DiskFull
                        | C::SystemIoFailure
                        | C::DatabaseBusy
                        | C::DatabaseLocked
                        | C::OutOfMemory
                        | C::ReadOnly
                        | C::CannotOpen
                        | C::DatabaseCorrupt
                        | C::NotADatabase
                        | C::FileLockingProtocolFailed
                )
            ),
            Error::Io(_) | Error::StorageFull(_) | Error::ShuttingDown | Error::Fatal(_) => true,
            Error::Postgres(_) => self.is_store_unavailable() || self.is_storage_full(),
            _ => false,
        }
    }

    /// True for errors that are the server's fault (worth a log line at error level).
    pub fn is_internal(&self) -> bool {
        !matches!(self, Error::Refused(_) | Error::ShuttingDown)
    }
}

impl From<ErrorBody> for Error {
    fn from(body: ErrorBody) -> Self {
        Self::Refused(body)
    }
}
