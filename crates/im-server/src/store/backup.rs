//! Backups: a consistent copy of the database taken while the server runs (`VACUUM INTO` on a
//! read-only connection of its own: one read transaction, so the copy is the database as of one
//! commit, and everything acknowledged before the backup began is in it), checked before it is
//! reported done; and a restore that puts a checked copy in place of a stopped server's files.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// What a backup or restore produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Bytes in the copy.
    pub bytes: u64,
    /// Messages in the copy.
    pub messages: u64,
    /// Accounts in the copy.
    pub users: u64,
}

/// Copies the database at `database` into `to` (which must not exist), while a server may be
/// writing to it, and checks the copy (`PRAGMA integrity_check`). The copy is private (0600).
pub fn backup(database: &Path, to: &Path) -> Result<BackupReport> {
    if to.exists() {
        return Err(Error::Corrupt(format!(
            "{} exists already: back up to a new file",
            to.display()
        )));
    }
    if !database.is_file() {
        return Err(Error::Corrupt(format!(
            "{} is not a database file",
            database.display()
        )));
    }
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = to
        .to_str()
        .ok_or_else(|| Error::Corrupt(format!("{} is not a UTF-8 path", to.display())))?;
    // Created private before SQLite writes into it.
    super::schema::private_file(to)?;
    std::fs::remove_file(to)?;
    source.execute("VACUUM INTO ?1", [target])?;
    drop(source);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    }
    check(to)
}

/// Puts the backup `from` in place of the database at `database`, for a server that is not
/// running: the backup is checked first, and the database's old files (with their `-wal` and
/// `-shm`) are kept beside it as `*.before-restore` unless there were none.
pub fn restore(from: &Path, database: &Path) -> Result<BackupReport> {
    let report = check(from)?;
    // Held until the copy is in place: no server can start on the files meanwhile.
    let _lock = super::DatabaseLock::acquire(database)?;
    if database.exists() {
        ensure_not_in_use(database)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = super::beside(database, suffix);
        if file.exists() {
            let mut kept = file.clone().into_os_string();
            kept.push(".before-restore");
            std::fs::rename(&file, kept)?;
        }
    }
    let partial = database.with_extension("restoring");
    std::fs::copy(from, &partial)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, database)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(database, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(report)
}

/// Refuses when another connection has the database open (a running server's connections keep
/// the WAL index open, so an exclusive lock on the file cannot be had). Waits a little for one
/// that is closing (a server just stopped).
fn ensure_not_in_use(database: &Path) -> Result<()> {
    let conn = Connection::open(database)?;
    conn.busy_timeout(std::time::Duration::from_secs(3))?;
    let exclusive = conn
        .pragma_update(None, "locking_mode", "EXCLUSIVE")
        .and_then(|_| conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;"));
    match exclusive {
        Ok(()) => Ok(()),
        Err(_) => Err(Error::Corrupt(format!(
            "{} is in use: stop the server before restoring",
            database.display()
        ))),
    }
}

/// Checks a copy and counts what is in it.
fn check(file: &Path) -> Result<BackupReport> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(Error::Corrupt(format!(
            "{} failed its integrity check: {verdict}",
            file.display()
        )));
    }
    let count = |table: &str| -> Result<u64> {
        Ok(
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })? as u64,
        )
    };
    Ok(BackupReport {
        bytes: std::fs::metadata(file)?.len(),
        messages: count("messages")?,
        users: count("users")?,
    })
}
