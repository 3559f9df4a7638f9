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
