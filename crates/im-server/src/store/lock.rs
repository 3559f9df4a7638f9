//! One process at a time per database: the server (and `im-server admin` or `restore` working on
//! the files directly) holds an exclusive lock on `<database>-lock` while it runs. A second
//! server on the same files would run a second writer, each with its own idea of the change
//! counter and the conversations' last seqs; the lock refuses it at start instead. The lock is
//! the operating system's: it goes with the process, however the process ends.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held while the database is in use.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: std::fs::File,
}

fn lock_path(database: &Path) -> PathBuf {
    super::beside(database, "-lock")
}

impl DatabaseLock {
    /// Takes the lock, or says who holds it.
    pub fn acquire(database: &Path) -> Result<Self> {
        let path = lock_path(database);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Config(format!(
                "{} is in use by a running im-server (or another im-server command): stop it first",
                database.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("im.sqlite3");
        let first = DatabaseLock::acquire(&database).unwrap();
        let refused = DatabaseLock::acquire(&database).unwrap_err();
        assert!(refused.to_string().contains("in use"), "{refused}");
        drop(first);
        DatabaseLock::acquire(&database).unwrap();
    }
}
