//! The admin token: made at start-up, written beside the database as `<database>-admin-token`
//! (readable by the server's own user only), required by the admin API. Whoever can read the
//! database can read it, and no one else: `im-server admin` on the same host, run as the
//! server's user or root. A node on PostgreSQL has no database file: its token is
//! `im-server-<admin port>-admin-token` in the temporary directory (`$TMPDIR`, else `/tmp`),
//! one per node on a host, as a socket would be.

use std::net::SocketAddr;
use std::path::PathBuf;

use im_proto::Secret;
use sha2::{Digest, Sha256};

use crate::config::Database;
use crate::error::Result;

/// The token the admin API takes, by its hash.
#[derive(Debug)]
pub struct AdminToken {
    hash: [u8; 32],
}

/// Where the admin token of the server on `database` with its admin listener at
/// `admin_listen` is kept.
pub fn token_path(database: &Database, admin_listen: Option<SocketAddr>) -> PathBuf {
    match database {
        Database::Sqlite(path) => crate::store::beside(path, "-admin-token"),
        Database::Postgres(_) => std::env::temp_dir().join(format!(
            "im-server-{}-admin-token",
            admin_listen.map_or(0, |a| a.port())
        )),
    }
}

impl AdminToken {
    /// Makes a new token and writes it to its file (replacing an old one).
    pub fn create(path: &std::path::Path) -> Result<Self> {
        let (token, _) = crate::auth::new_token();
        let _ = std::fs::remove_file(path);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(path)?, token.expose().as_bytes())?;
        Ok(Self {
            hash: Sha256::digest(token.expose().as_bytes()).into(),
        })
    }

    /// Whether an `Authorization` header carries the token.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| {
                let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
                hash == self.hash
            })
    }
}

/// Reads the admin token from its file (`None` if there is no file).
pub fn read_token(path: &std::path::Path) -> std::io::Result<Option<Secret>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(Secret::new(text.trim().to_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
