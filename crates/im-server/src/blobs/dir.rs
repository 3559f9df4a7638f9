//! [`DirStore`]: blobs in a local directory. An upload is written in place into
//! `uploads/<upload id>` and, once its hash is verified, renamed to `objects/<id[0..2]>/<id>`
//! (read-only from then on). The database's checkpoint is what counts: a staging file is cut back
//! to it whenever a request takes the upload over, so bytes written after the last checkpoint
//! (a connection cut mid-chunk, a crash) are written again.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{UploadId, UploadRow};
use crate::error::Result;

/// A directory holding blobs and unfinished uploads.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
}

/// An upload's staging file, taken over for writing.
#[derive(Debug)]
pub enum Staged {
    /// Positioned at the upload's committed offset.
    Writing(StagingFile),
    /// The staging file is gone but the finished object is there: it was verified and moved
    /// just before a crash lost the commit that says so.
    AlreadyFinished,
    /// The staging file is gone and so is everything committed into it: start over.
    Lost,
}

/// An open staging file and where the next byte goes.
#[derive(Debug)]
pub struct StagingFile {
    file: tokio::fs::File,
    pub offset: u64,
}

impl StagingFile {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).await?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Makes what was written durable (before the checkpoint that counts it commits).
    pub async fn sync(&mut self) -> Result<()> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(())
    }
}

impl DirStore {
    /// Opens (creating) the directory, readable by its owner only.
    pub fn open(root: &Path) -> Result<Self> {
        for sub in ["uploads", "objects"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn staging(&self, id: UploadId) -> PathBuf {
        self.root.join("uploads").join(id.hex())
    }

    fn object(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Takes over an upload's staging file at its committed offset (cutting off anything written
    /// after the last checkpoint).
    pub async fn take_over(&self, upload: &UploadRow) -> Result<Staged> {
        let path = self.staging(upload.id);
        let exists = tokio::fs::try_exists(&path).await?;
        if !exists && upload.received > 0 {
            let finished = tokio::fs::try_exists(self.object(&upload.id.object_key())).await?;
            return Ok(if finished {
                Staged::AlreadyFinished
            } else {
                Staged::Lost
            });
        }
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&path).await?;
        let length = file.metadata().await?.len();
        if length < upload.received {
            return Ok(Staged::Lost);
        }
        file.set_len(upload.received).await?;
        file.seek(SeekFrom::Start(upload.received)).await?;
        Ok(Staged::Writing(StagingFile {
            file,
            offset: upload.received,
        }))
    }

    /// Moves a complete, verified staging file to where the finished blob is kept, durably.
    pub async fn finish(&self, mut staged: StagingFile, id: UploadId) -> Result<String> {
        staged.sync().await?;
        drop(staged);
        let key = id.object_key();
        let target = self.object(&key);
        let parent = target.parent().expect("objects/<xx>/<id>").to_owned();
        tokio::fs::create_dir_all(&parent).await?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(self.staging(id), std::fs::Permissions::from_mode(0o400))
                .await?;
        }
        tokio::fs::rename(self.staging(id), &target).await?;
        tokio::task::spawn_blocking(move || std::fs::File::open(parent)?.sync_all())
            .await
            .map_err(std::io::Error::other)??;
        Ok(key)
    }

    /// Deletes an upload's staging file (nothing if it is gone).
    pub async fn discard_staging(&self, id: UploadId) -> Result<()> {
        ignore_missing(tokio::fs::remove_file(self.staging(id)).await)
    }

    /// Deletes a finished object (nothing if it is gone).
    pub async fn discard_object(&self, key: &str) -> Result<()> {
        ignore_missing(tokio::fs::remove_file(self.object(key)).await)
    }

    /// Opens a finished object for reading.
    pub async fn open_object(&self, key: &str) -> Result<tokio::fs::File> {
        Ok(tokio::fs::File::open(self.object(key)).await?)
    }
}

fn ignore_missing(result: std::io::Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
