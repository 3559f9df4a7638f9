//! The admin token: made at start-up, written beside the database as `<database>-admin-token`
//! (readable by the server's own user only), required by the admin API. Whoever can read the
//! database can read it, and no one else: `im-server admin` on the same host, run as the
//! server's user or root.

use std::path::{Path, PathBuf};

use im_proto::Secret;
use sha2::{Digest, Sha256};

use crate::error::Result;

/// The token the admin API takes, by its hash.
#[derive(Debug)]
pub struct AdminToken {
    hash: [u8; 32],
}

/// Where the admin token of the server on `database` is kept.
pub fn token_path(database: &Path) -> PathBuf {
    crate::store::beside(database, "-admin-token")
}

impl AdminToken {
    /// Makes a new token and writes it to its file (replacing an old one).
    pub fn create(database: &Path) -> Result<Self> {
        let (token, _) = crate::auth::new_token();
        let path = token_path(database);
        let _ = std::fs::remove_file(&path);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&path)?, token.expose().as_bytes())?;
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

/// Reads the admin token of the server on `database` (`None` if there is no file).
pub fn read_token(database: &Path) -> std::io::Result<Option<Secret>> {
    match std::fs::read_to_string(token_path(database)) {
        Ok(text) => Ok(Some(Secret::new(text.trim().to_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
