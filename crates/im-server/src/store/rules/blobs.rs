//! Uploads and blobs: creating an upload (idempotent per user and content, within the size cap,
//! the user's quota and their count of unfinished uploads), leasing it to one request at a time,
//! its checkpoints, finishing it into a blob (stored once whoever uploads the same content) and
//! cancelling it. Nobody is told anything: these answer the HTTP request that asked.

use im_proto::ErrorCode;

use super::{now_millis, refused, Ctx};
use crate::blobs::{BlobRow, UploadRow};
use crate::error::Result;
use crate::store::command::{BlobAnswer, BlobCmd, Value};
use crate::store::tx::WriteTx;

/// How long a request may write an upload without renewing its lease.
pub const LEASE_MS: im_proto::Millis = 60_000;

pub fn apply<T: WriteTx>(ctx: &mut Ctx<'_, T>, cmd: &BlobCmd) -> Result<Value> {
    let now = now_millis();
    let answer = match cmd {
        BlobCmd::Create {
            uid,
            sha256,
            size,
            limits,
        } => {
            if let Some(blob) = ctx.tx.visible_blob(*uid, *sha256)? {
                // The caller can read it already (uploaded it, or it was sent in one of their
                // conversations): nothing to send. Their own upload is kept alive a while
                // longer; one they only see through a conversation they may forward as it is.
                if ctx.tx.has_claim(*uid, *sha256)? {
                    ctx.tx.claim_blob(*uid, *sha256, now)?;
                }
                return Ok(Value::Blob(BlobAnswer::Blob(blob)));
            }
            if let Some(row) = ctx.tx.upload_of(*uid, *sha256)? {
                if row.expires_at > now {
                    return Ok(Value::Blob(BlobAnswer::Upload {
                        row,
                        created: false,
                        expired: Vec::new(),
                    }));
                }
            }
            if *size > limits.max_upload_bytes {
                return Err(refused(
                    ErrorCode::TooLarge,
                    format!(
                        "{size} bytes is over this server's limit of {} bytes",
                        limits.max_upload_bytes
                    ),
                ));
            }
            let (count, bytes) = ctx.tx.upload_usage(*uid, now)?;
            if limits.uploads_in_progress > 0 && count >= limits.uploads_in_progress {
                return Err(refused(
                    ErrorCode::TooManyUploads,
                    format!("you have {count} unfinished uploads: finish or cancel one first"),
                ));
            }
            if limits.quota_bytes > 0 && bytes.saturating_add(*size) > limits.quota_bytes {
                return Err(refused(
                    ErrorCode::QuotaExceeded,
                    format!(
                        "this would take you to {} bytes, over your quota of {} bytes",
                        bytes.saturating_add(*size),
                        limits.quota_bytes
                    ),
                ));
            }
            // Refusals write nothing; now the caller's expired uploads make way (one of them
            // may be of this very content).
            let expired = delete_expired(ctx.tx, Some(*uid), now, u32::MAX)?;
            let row = UploadRow {
                id: crate::blobs::UploadId::random(),
                uid: *uid,
                sha256: *sha256,
                size: *size,
                received: 0,
                hash_state: None,
                kind: None,
                lease_token: 0,
                lease_until: 0,
                created_at: now,
                expires_at: now + limits.expiry_ms,
            };
            ctx.tx.insert_upload(&row)?;
            BlobAnswer::Upload {
                row,
                created: true,
                expired,
            }
        }
        BlobCmd::Lease {
            id,
            uid,
            offset,
            token,
        } => {
            let mut row = owned(ctx.tx, *id, *uid, now)?;
            if row.lease_until > now {
                BlobAnswer::Busy {
                    retry_after_ms: (row.lease_until - now) as u64,
                }
            } else if row.received != *offset {
                BlobAnswer::Offset(row.received)
            } else {
                row.lease_token = *token;
                row.lease_until = now + LEASE_MS;
                ctx.tx.update_upload(&row)?;
                BlobAnswer::Upload {
                    row,
                    created: false,
                    expired: Vec::new(),
                }
            }
        }
        BlobCmd::Renew { id, token } => {
            let mut row = leased(ctx.tx, *id, *token, now)?;
            row.lease_until = now + LEASE_MS;
            ctx.tx.update_upload(&row)?;
            BlobAnswer::Done
        }
        BlobCmd::Checkpoint {
            id,
            token,
            from,
            to,
            hash_state,
            kind,
            expiry_ms,
        } => {
            let mut row = leased(ctx.tx, *id, *token, now)?;
            if row.received != *from || *to <= *from || *to > row.size {
                return Err(refused(
                    ErrorCode::OffsetMismatch,
                    format!("the upload stands at {}", row.received),
                ));
            }
            row.received = *to;
            row.hash_state = Some(hash_state.clone());
            row.kind = row.kind.or(*kind);
            row.lease_until = now + LEASE_MS;
            row.expires_at = now + *expiry_ms;
            ctx.tx.update_upload(&row)?;
            BlobAnswer::Done
        }
        BlobCmd::Finish {
            id,
            token,
            object_key,
            kind,
        } => {
            let row = leased(ctx.tx, *id, *token, now)?;
            ctx.tx.delete_upload(row.id)?;
            let (blob, discard) = match ctx.tx.blob(row.sha256)? {
                // The same content is stored already (another user's upload): keep that one.
                Some(existing) => (existing, Some(object_key.clone())),
                None => {
                    let blob = BlobRow {
                        sha256: row.sha256,
                        size: row.size,
                        object_key: object_key.clone(),
                        kind: row.kind.unwrap_or(*kind),
                        created_at: now,
                    };
                    ctx.tx.insert_blob(&blob)?;
                    (blob, None)
                }
            };
            ctx.tx.claim_blob(row.uid, row.sha256, now)?;
            BlobAnswer::Finished { blob, discard }
        }
        BlobCmd::Release { id, token } => {
            if let Some(mut row) = ctx.tx.upload(*id)? {
                if row.lease_token == *token && row.lease_until > 0 {
                    row.lease_until = 0;
                    ctx.tx.update_upload(&row)?;
                }
            }
            BlobAnswer::Done
        }
        BlobCmd::Sweep { limit } => {
            let expired = delete_expired(ctx.tx, None, now, *limit)?;
            BlobAnswer::Swept(expired)
        }
        BlobCmd::Cancel { id, uid } => {
            if let Some(row) = ctx.tx.upload(*id)? {
                if row.uid == *uid {
                    ctx.tx.delete_upload(*id)?;
                }
            }
            BlobAnswer::Done
        }
    };
    Ok(Value::Blob(answer))
}

/// Deletes up to `limit` uploads (of `uid`, or anyone's) that expired by `now`; their ids.
fn delete_expired<T: WriteTx>(
    tx: &T,
    uid: Option<im_proto::Uid>,
    now: im_proto::Millis,
    limit: u32,
) -> Result<Vec<crate::blobs::UploadId>> {
    let expired = tx.expired_uploads(uid, now, limit)?;
    for id in &expired {
        tx.delete_upload(*id)?;
    }
    Ok(expired)
}

fn not_found() -> crate::error::Error {
    refused(
        ErrorCode::UploadNotFound,
        "no unfinished upload of yours has that id: create it again",
    )
}

/// The caller's upload, unless it expired.
fn owned<T: WriteTx>(
    tx: &T,
    id: crate::blobs::UploadId,
    uid: im_proto::Uid,
    now: im_proto::Millis,
) -> Result<UploadRow> {
    match tx.upload(id)? {
        Some(row) if row.uid == uid && row.expires_at > now => Ok(row),
        _ => Err(not_found()),
    }
}

/// The upload, if the request holding `token` still has it. A request whose lease another took
/// over (after it expired) stops: its bytes are not counted.
fn leased<T: WriteTx>(
    tx: &T,
    id: crate::blobs::UploadId,
    token: u64,
    now: im_proto::Millis,
) -> Result<UploadRow> {
    match tx.upload(id)? {
        Some(row) if row.lease_token == token && row.lease_until > now => Ok(row),
        Some(_) => Err(refused(
            ErrorCode::UploadBusy,
            "another request took this upload over",
        )),
        None => Err(not_found()),
    }
}
