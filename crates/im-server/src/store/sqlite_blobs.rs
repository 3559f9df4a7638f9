//! Uploads, blobs and claims on SQLite: the statements both the writer's transaction
//! (`sqlite_tx.rs`) and the readers (`read_conn.rs`) run.

use im_proto::{ConversationId, Millis, Seq, Uid};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::blobs::{BlobId, BlobRow, Kind, UploadId, UploadRow};
use crate::error::{Error, Result};

const UPLOAD_COLUMNS: &str = "id, uid, sha256, size, received, hash_state, kind, lease_token, \
                              lease_until, created_at, expires_at";

fn bytes<const N: usize>(row: &Row, i: usize) -> rusqlite::Result<[u8; N]> {
    let value: Vec<u8> = row.get(i)?;
    value.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("expected {N} bytes").into(),
        )
    })
}

fn upload_row(row: &Row) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        id: UploadId(bytes(row, 0)?),
        uid: Uid::from_bytes(bytes(row, 1)?),
        sha256: BlobId(bytes(row, 2)?),
        size: row.get(3)?,
        received: row.get(4)?,
        hash_state: row.get(5)?,
        kind: row
            .get::<_, Option<String>>(6)?
            .map(|k| Kind::from_stored(&k)),
        lease_token: row.get::<_, i64>(7)? as u64,
        lease_until: row.get(8)?,
        created_at: row.get(9)?,
        expires_at: row.get(10)?,
    })
}

fn blob_row(row: &Row) -> rusqlite::Result<BlobRow> {
    Ok(BlobRow {
        sha256: BlobId(bytes(row, 0)?),
        size: row.get(1)?,
        object_key: row.get(2)?,
        kind: Kind::from_stored(&row.get::<_, String>(3)?),
        created_at: row.get(4)?,
    })
}

pub fn blob(conn: &Connection, sha256: BlobId) -> Result<Option<BlobRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT sha256, size, object_key, kind, created_at FROM blobs WHERE sha256 = ?1",
        )?
        .query_row([sha256.0.as_slice()], blob_row)
        .optional()?)
}

/// The blob, if `uid` may read it: they uploaded it, or they are an active member of a
/// conversation a message of which (not recalled) names it.
pub fn visible_blob(conn: &Connection, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT b.sha256, b.size, b.object_key, b.kind, b.created_at FROM blobs b
             WHERE b.sha256 = ?1
               AND (EXISTS (SELECT 1 FROM blob_claims c WHERE c.uid = ?2 AND c.sha256 = ?1)
                    OR EXISTS (SELECT 1 FROM message_blobs mb
                               JOIN members m ON m.conversation_id = mb.conversation_id
                                             AND m.uid = ?2 AND m.active = 1
                               WHERE mb.sha256 = ?1))",
        )?
        .query_row(params![sha256.0.as_slice(), uid.as_bytes()], blob_row)
        .optional()?)
}

pub fn insert_blob(conn: &Connection, blob: &BlobRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO blobs (sha256, size, object_key, kind, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        blob.sha256.0.as_slice(),
        blob.size,
        blob.object_key,
        blob.kind.as_str(),
        blob.created_at
    ])?;
    Ok(())
}

pub fn has_claim(conn: &Connection, uid: Uid, sha256: BlobId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM blob_claims WHERE uid = ?1 AND sha256 = ?2")?
        .query_row(params![uid.as_bytes(), sha256.0.as_slice()], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn claim_blob(conn: &Connection, uid: Uid, sha256: BlobId, at: Millis) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO blob_claims (uid, sha256, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (uid, sha256) DO UPDATE SET created_at = excluded.created_at",
    )?
    .execute(params![uid.as_bytes(), sha256.0.as_slice(), at])?;
    Ok(())
}

pub fn upload(conn: &Connection, id: UploadId) -> Result<Option<UploadRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?1"
        ))?
        .query_row([id.0.as_slice()], upload_row)
        .optional()?)
}

pub fn upload_of(conn: &Connection, uid: Uid, sha256: BlobId) -> Result<Option<UploadRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE uid = ?1 AND sha256 = ?2"
        ))?
        .query_row(params![uid.as_bytes(), sha256.0.as_slice()], upload_row)
        .optional()?)
}

pub fn insert_upload(conn: &Connection, u: &UploadRow) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        u.id.0.as_slice(),
        u.uid.as_bytes(),
        u.sha256.0.as_slice(),
        u.size,
        u.received,
        u.hash_state,
        u.kind.map(Kind::as_str),
        u.lease_token as i64,
        u.lease_until,
        u.created_at,
        u.expires_at
    ])?;
    Ok(())
}

pub fn update_upload(conn: &Connection, u: &UploadRow) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE uploads SET received = ?2, hash_state = ?3, kind = ?4, lease_token = ?5,
                 lease_until = ?6, expires_at = ?7
             WHERE id = ?1",
        )?
        .execute(params![
            u.id.0.as_slice(),
            u.received,
            u.hash_state,
            u.kind.map(Kind::as_str),
            u.lease_token as i64,
            u.lease_until,
            u.expires_at
        ])?;
    if changed != 1 {
        return Err(Error::Corrupt(format!("upload {} is gone", u.id.hex())));
    }
    Ok(())
}

pub fn delete_upload(conn: &Connection, id: UploadId) -> Result<()> {
    conn.prepare_cached("DELETE FROM uploads WHERE id = ?1")?
        .execute([id.0.as_slice()])?;
    Ok(())
}

pub fn expired_uploads(
    conn: &Connection,
    uid: Option<Uid>,
    now: Millis,
    limit: u32,
) -> Result<Vec<UploadId>> {
    let mut statement = conn.prepare_cached(
        "SELECT id FROM uploads WHERE (?1 IS NULL OR uid = ?1) AND expires_at <= ?2 LIMIT ?3",
    )?;
    let ids = statement
        .query_map(params![uid.as_ref().map(Uid::as_bytes), now, limit], |r| {
            Ok(UploadId(bytes(r, 0)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

pub fn upload_usage(conn: &Connection, uid: Uid, now: Millis) -> Result<(u32, u64)> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM uploads WHERE uid = ?1 AND expires_at > ?2),
                    (SELECT coalesce(sum(size), 0) FROM uploads WHERE uid = ?1 AND expires_at > ?2)
                  + (SELECT coalesce(sum(b.size), 0) FROM blob_claims c
                     JOIN blobs b ON b.sha256 = c.sha256 WHERE c.uid = ?1)",
        )?
        .query_row(params![uid.as_bytes(), now], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

pub fn insert_message_blobs(
    conn: &Connection,
    id: ConversationId,
    seq: Seq,
    blobs: &[BlobId],
) -> Result<()> {
    let mut statement = conn.prepare_cached(
        "INSERT INTO message_blobs (sha256, conversation_id, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for blob in blobs {
        statement.execute(params![blob.0.as_slice(), id.as_bytes(), seq])?;
    }
    Ok(())
}

pub fn delete_message_blobs(conn: &Connection, id: ConversationId, seq: Seq) -> Result<()> {
    conn.prepare_cached("DELETE FROM message_blobs WHERE conversation_id = ?1 AND seq = ?2")?
        .execute(params![id.as_bytes(), seq])?;
    Ok(())
}
