//! Uploads, blobs and claims on PostgreSQL: the statements both the writer's transaction
//! (`tx.rs`) and the readers (`read.rs`) run.

use im_proto::{ConversationId, Millis, Seq, Uid};
use postgres::Row;

use super::conn::PgConn;
use super::tx::{big, unsigned};
use crate::blobs::{BlobId, BlobRow, Kind, UploadId, UploadRow};
use crate::error::{Error, Result};

macro_rules! select_upload {
    ($where:literal) => {
        concat!(
            "SELECT id, uid, sha256, size, received, hash_state, kind, lease_token, lease_until,
                    created_at, expires_at
             FROM uploads WHERE ",
            $where
        )
    };
}

fn bytes<const N: usize>(row: &Row, i: usize) -> Result<[u8; N]> {
    row.get::<_, &[u8]>(i)
        .try_into()
        .map_err(|_| Error::Corrupt(format!("expected {N} bytes in column {i}")))
}

fn upload_row(row: &Row) -> Result<UploadRow> {
    Ok(UploadRow {
        id: UploadId(bytes(row, 0)?),
        uid: Uid::from_bytes(bytes(row, 1)?),
        sha256: BlobId(bytes(row, 2)?),
        size: unsigned(row.get(3))?,
        received: unsigned(row.get(4))?,
        hash_state: row.get(5),
        kind: row.get::<_, Option<&str>>(6).map(Kind::from_stored),
        lease_token: row.get::<_, i64>(7) as u64,
        lease_until: row.get(8),
        created_at: row.get(9),
        expires_at: row.get(10),
    })
}

fn blob_row(row: &Row) -> Result<BlobRow> {
    Ok(BlobRow {
        sha256: BlobId(bytes(row, 0)?),
        size: unsigned(row.get(1))?,
        object_key: row.get(2),
        kind: Kind::from_stored(row.get(3)),
        created_at: row.get(4),
    })
}

pub(super) fn blob(db: &PgConn, sha256: BlobId) -> Result<Option<BlobRow>> {
    db.query_opt(
        "SELECT sha256, size, object_key, kind, created_at FROM blobs WHERE sha256 = $1",
        &[&sha256.0.as_slice()],
    )?
    .map(|r| blob_row(&r))
    .transpose()
}

/// The blob, if `uid` may read it: they uploaded it, or they are an active member of a
/// conversation a message of which (not recalled) names it.
pub(super) fn visible_blob(db: &PgConn, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>> {
    db.query_opt(
        "SELECT b.sha256, b.size, b.object_key, b.kind, b.created_at FROM blobs b
         WHERE b.sha256 = $1
           AND (EXISTS (SELECT 1 FROM blob_claims c WHERE c.uid = $2 AND c.sha256 = $1)
                OR EXISTS (SELECT 1 FROM message_blobs mb
                           JOIN members m ON m.conversation_id = mb.conversation_id
                                         AND m.uid = $2 AND m.active
                           WHERE mb.sha256 = $1))",
        &[&sha256.0.as_slice(), &uid.as_bytes().as_slice()],
    )?
    .map(|r| blob_row(&r))
    .transpose()
}

pub(super) fn insert_blob(db: &PgConn, blob: &BlobRow) -> Result<()> {
    db.execute(
        "INSERT INTO blobs (sha256, size, object_key, kind, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &blob.sha256.0.as_slice(),
            &big(blob.size)?,
            &blob.object_key,
            &blob.kind.as_str(),
            &blob.created_at,
        ],
    )
    .map(drop)
}

pub(super) fn has_claim(db: &PgConn, uid: Uid, sha256: BlobId) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM blob_claims WHERE uid = $1 AND sha256 = $2",
            &[&uid.as_bytes().as_slice(), &sha256.0.as_slice()],
        )?
        .is_some())
}

pub(super) fn claim_blob(db: &PgConn, uid: Uid, sha256: BlobId, at: Millis) -> Result<()> {
    db.execute(
        "INSERT INTO blob_claims (uid, sha256, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (uid, sha256) DO UPDATE SET created_at = excluded.created_at",
        &[&uid.as_bytes().as_slice(), &sha256.0.as_slice(), &at],
    )
    .map(drop)
}

pub(super) fn upload(db: &PgConn, id: UploadId) -> Result<Option<UploadRow>> {
    db.query_opt(select_upload!("id = $1"), &[&id.0.as_slice()])?
        .map(|r| upload_row(&r))
        .transpose()
}

pub(super) fn upload_of(db: &PgConn, uid: Uid, sha256: BlobId) -> Result<Option<UploadRow>> {
    db.query_opt(
        select_upload!("uid = $1 AND sha256 = $2"),
        &[&uid.as_bytes().as_slice(), &sha256.0.as_slice()],
    )?
    .map(|r| upload_row(&r))
    .transpose()
}

pub(super) fn insert_upload(db: &PgConn, u: &UploadRow) -> Result<()> {
    db.execute(
        "INSERT INTO uploads (id, uid, sha256, size, received, hash_state, kind, lease_token,
             lease_until, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &u.id.0.as_slice(),
            &u.uid.as_bytes().as_slice(),
            &u.sha256.0.as_slice(),
            &big(u.size)?,
            &big(u.received)?,
            &u.hash_state,
            &u.kind.map(Kind::as_str),
            &(u.lease_token as i64),
            &u.lease_until,
            &u.created_at,
            &u.expires_at,
        ],
    )
    .map(drop)
}

pub(super) fn update_upload(db: &PgConn, u: &UploadRow) -> Result<()> {
    let changed = db.execute(
        "UPDATE uploads SET received = $2, hash_state = $3, kind = $4, lease_token = $5,
             lease_until = $6, expires_at = $7
         WHERE id = $1",
        &[
            &u.id.0.as_slice(),
            &big(u.received)?,
            &u.hash_state,
            &u.kind.map(Kind::as_str),
            &(u.lease_token as i64),
            &u.lease_until,
            &u.expires_at,
        ],
    )?;
    if changed != 1 {
        return Err(Error::Corrupt(format!("upload {} is gone", u.id.hex())));
    }
    Ok(())
}

pub(super) fn delete_upload(db: &PgConn, id: UploadId) -> Result<()> {
    db.execute("DELETE FROM uploads WHERE id = $1", &[&id.0.as_slice()])
        .map(drop)
}

pub(super) fn expired_uploads(
    db: &PgConn,
    uid: Option<Uid>,
    now: Millis,
    limit: u32,
) -> Result<Vec<UploadId>> {
    db.query(
        "SELECT id FROM uploads WHERE ($1::bytea IS NULL OR uid = $1) AND expires_at <= $2
         LIMIT $3",
        &[
            &uid.as_ref().map(|u| u.as_bytes().as_slice()),
            &now,
            &i64::from(limit),
        ],
    )?
    .iter()
    .map(|r| Ok(UploadId(bytes(r, 0)?)))
    .collect()
}

pub(super) fn upload_usage(db: &PgConn, uid: Uid, now: Millis) -> Result<(u32, u64)> {
    let row = db
        .query_opt(
            "SELECT (SELECT count(*) FROM uploads WHERE uid = $1 AND expires_at > $2),
                    (SELECT coalesce(sum(size), 0) FROM uploads
                     WHERE uid = $1 AND expires_at > $2)::bigint
                  + (SELECT coalesce(sum(b.size), 0) FROM blob_claims c
                     JOIN blobs b ON b.sha256 = c.sha256 WHERE c.uid = $1)::bigint",
            &[&uid.as_bytes().as_slice(), &now],
        )?
        .ok_or_else(|| Error::Corrupt("no usage row".into()))?;
    let count: i64 = row.get(0);
    Ok((
        u32::try_from(count).unwrap_or(u32::MAX),
        unsigned(row.get(1))?,
    ))
}

pub(super) fn insert_message_blobs(
    db: &PgConn,
    id: ConversationId,
    seq: Seq,
    blobs: &[BlobId],
) -> Result<()> {
    for blob in blobs {
        db.execute(
            "INSERT INTO message_blobs (sha256, conversation_id, seq) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&blob.0.as_slice(), &id.as_bytes().as_slice(), &big(seq)?],
        )?;
    }
    Ok(())
}

pub(super) fn delete_message_blobs(db: &PgConn, id: ConversationId, seq: Seq) -> Result<()> {
    db.execute(
        "DELETE FROM message_blobs WHERE conversation_id = $1 AND seq = $2",
        &[&id.as_bytes().as_slice(), &big(seq)?],
    )
    .map(drop)
}
