//! Blobs: the bytes of images and files, content-addressed by SHA-256, uploaded resumably over
//! HTTP on the server's port (`http.rs` here) and kept in a directory (`dir.rs`). What the
//! database knows of them (uploads, blobs, claims) changes through the writer only
//! (`store/rules/blobs.rs`); this module names those rows and the hashing they rely on.

pub mod content;
mod dir;
mod http;

use im_proto::{Millis, Uid};
use sha2_11::digest::common::hazmat::{SerializableState, SerializedState};
use sha2_11::Digest;

pub use dir::DirStore;
pub(crate) use http::serve;

/// Deletes expired uploads and their staging files every `every` until `stop`.
pub(crate) async fn sweep_expired_uploads(
    store: crate::store::Store,
    blobs: std::sync::Arc<DirStore>,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        loop {
            let swept = store
                .write(|reply| crate::store::WriteCmd::Blob {
                    cmd: crate::store::BlobCmd::Sweep { limit: 500 },
                    reply,
                })
                .await;
            let ids = match swept {
                Ok(crate::store::BlobAnswer::Swept(ids)) => ids,
                Ok(other) => {
                    tracing::error!(?other, "the upload sweep got a strange answer");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the upload sweep failed; trying again later");
                    break;
                }
            };
            for id in &ids {
                if let Err(e) = blobs.discard_staging(*id).await {
                    tracing::warn!(error = %e, "could not delete an expired upload's file");
                }
            }
            if !ids.is_empty() {
                tracing::info!(uploads = ids.len(), "deleted uploads that made no progress");
            }
            if ids.len() < 500 {
                break;
            }
        }
    }
}

/// A blob's name: the SHA-256 of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobId(pub [u8; 32]);

impl BlobId {
    /// Parses 64 lowercase hex characters.
    pub fn parse(text: &str) -> Option<Self> {
        parse_hex(text).map(Self)
    }

    /// 64 lowercase hex characters.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

/// An upload's id: 16 random bytes, 32 lowercase hex characters in URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UploadId(pub [u8; 16]);

impl UploadId {
    /// A new random id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// Parses 32 lowercase hex characters.
    pub fn parse(text: &str) -> Option<Self> {
        parse_hex(text).map(Self)
    }

    /// 32 lowercase hex characters.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    /// Where its bytes are kept once finished (an object is written by exactly one upload, so
    /// two uploads of the same content never race for one name).
    pub fn object_key(&self) -> String {
        let id = self.hex();
        format!("objects/{}/{id}", &id[..2])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// What a blob's first bytes say it is. Only the four image kinds a client may show inline are
/// told apart; the server never decodes an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Other,
}

impl Kind {
    /// Sniffs the kind from a blob's first bytes (at least 12 of them to tell WebP).
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Kind::Png
        } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
            Kind::Jpeg
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Kind::Gif
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Kind::Webp
        } else {
            Kind::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Other => "other",
        }
    }

    pub fn from_stored(text: &str) -> Self {
        match text {
            "png" => Kind::Png,
            "jpeg" => Kind::Jpeg,
            "gif" => Kind::Gif,
            "webp" => Kind::Webp,
            _ => Kind::Other,
        }
    }

    /// The `Content-Type` a download is served with: an image type for the four image kinds
    /// (so a webview may show it), else opaque bytes.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Other => "application/octet-stream",
        }
    }
}

/// A stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub sha256: BlobId,
    pub size: u64,
    /// Where its bytes are (relative to the store's root).
    pub object_key: String,
    pub kind: Kind,
    pub created_at: Millis,
}

/// An unfinished upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub id: UploadId,
    pub uid: Uid,
    /// The SHA-256 its bytes must have (declared when it was created).
    pub sha256: BlobId,
    /// The size its bytes must have.
    pub size: u64,
    /// Bytes committed: everything before this offset is stored and hashed into `hash_state`.
    pub received: u64,
    /// The SHA-256 state after `received` bytes (`None` before the first checkpoint).
    pub hash_state: Option<Vec<u8>>,
    /// Sniffed from the first bytes at the first checkpoint.
    pub kind: Option<Kind>,
    /// Who may write it just now: the request holding this token, until `lease_until`.
    pub lease_token: u64,
    pub lease_until: Millis,
    pub created_at: Millis,
    /// When it is deleted unless it makes progress.
    pub expires_at: Millis,
}

/// An upload's running SHA-256, saved at each checkpoint so that the upload resumes after a
/// restart (or on another node) without reading back what is stored.
#[derive(Clone, Default)]
pub struct UploadHash(sha2_11::Sha256);

impl std::fmt::Debug for UploadHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadHash")
    }
}

impl UploadHash {
    /// The hash of what `saved` (a checkpoint's state) had taken in; a fresh hash for `None`.
    pub fn restore(saved: Option<&[u8]>) -> Option<Self> {
        match saved {
            None => Some(Self::default()),
            Some(bytes) => {
                let state = SerializedState::<sha2_11::Sha256>::try_from(bytes).ok()?;
                sha2_11::Sha256::deserialize(&state).ok().map(Self)
            }
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The state to save at a checkpoint.
    pub fn save(&self) -> Vec<u8> {
        self.0.serialize().to_vec()
    }

    pub fn finish(self) -> BlobId {
        BlobId(self.0.finalize().into())
    }
}

/// The limits an upload is created under (from the server's settings).
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_upload_bytes: u64,
    pub quota_bytes: u64,
    pub uploads_in_progress: u32,
    pub expiry_ms: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_read_back_from_their_hex() {
        let id = UploadId::random();
        assert_eq!(UploadId::parse(&id.hex()), Some(id));
        assert_eq!(UploadId::parse(&id.hex().to_uppercase()), None);
        assert_eq!(BlobId::parse("00"), None);
        assert!(id
            .object_key()
            .starts_with(&format!("objects/{}/", &id.hex()[..2])));
    }

    #[test]
    fn kinds_are_sniffed_from_the_first_bytes() {
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\n...."), Kind::Png);
        assert_eq!(Kind::sniff(&[0xff, 0xd8, 0xff, 0xe0]), Kind::Jpeg);
        assert_eq!(Kind::sniff(b"GIF89a"), Kind::Gif);
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Kind::Webp);
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WAVE"), Kind::Other);
        assert_eq!(Kind::sniff(b""), Kind::Other);
    }

    proptest! {
        /// A hash saved at any cut and restored goes on to the same digest as one never saved.
        #[test]
        fn a_saved_hash_resumes_to_the_same_digest(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            cut in 0usize..2000,
        ) {
            let cut = cut.min(bytes.len());
            let mut first = UploadHash::default();
            first.update(&bytes[..cut]);
            let saved = first.save();
            let mut resumed = UploadHash::restore(Some(&saved)).expect("restores");
            resumed.update(&bytes[cut..]);
            let expected: [u8; 32] = sha2_11::Sha256::digest(&bytes).into();
            prop_assert_eq!(resumed.finish(), BlobId(expected));
        }
    }

    #[test]
    fn a_damaged_saved_hash_is_refused() {
        assert!(UploadHash::restore(Some(&[1, 2, 3])).is_none());
    }
}
