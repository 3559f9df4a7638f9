//! The database schema and its migrations, plus the connection settings every connection uses.

use std::path::Path;
use std::sync::LazyLock;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};

use crate::error::Result;

/// Every schema version, oldest first. Append; never edit a released step.
static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(
            r#"
        CREATE TABLE users (
            uid           BLOB PRIMARY KEY,
            username      TEXT NOT NULL UNIQUE,
            display_name  TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at    INTEGER NOT NULL
        ) STRICT;

        -- Session tokens are stored as SHA-256 hashes, never in clear.
        CREATE TABLE sessions (
            token_hash BLOB PRIMARY KEY,
            uid        BLOB NOT NULL REFERENCES users(uid),
            device     TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX sessions_by_uid ON sessions(uid);

        -- The seed's ten fields, plus bookkeeping:
        --   member_key  the sorted member uids, concatenated (finds the unique conversation);
        --   last_seq    the newest message's seq;
        --   version     the server-wide change counter at its newest change (orders the list, drives sync).
        CREATE TABLE conversations (
            id          BLOB PRIMARY KEY,
            title       TEXT NOT NULL,
            icon        TEXT NOT NULL,
            manager_id  BLOB NOT NULL,
            remark      TEXT NOT NULL,
            user_count  INTEGER NOT NULL,
            attrs       TEXT NOT NULL,
            create_time INTEGER NOT NULL,
            type        TEXT NOT NULL,
            member_key  BLOB NOT NULL,
            last_seq    INTEGER NOT NULL DEFAULT 0,
            version     INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX conversations_by_member_key ON conversations(member_key);

        -- A row per user who is or was a member. active = 0 after they left or were removed;
        -- left_seq and left_snapshot (the conversation as JSON) then record what they last saw,
        -- so later changes stay hidden from them. position orders members by joining; version
        -- is the change counter at the member's own newest change (joined, left, read mark).
        CREATE TABLE members (
            uid             BLOB NOT NULL,
            conversation_id BLOB NOT NULL,
            position        INTEGER NOT NULL,
            active          INTEGER NOT NULL,
            read_seq        INTEGER NOT NULL DEFAULT 0,
            version         INTEGER NOT NULL,
            left_seq        INTEGER NOT NULL DEFAULT 0,
            left_snapshot   TEXT,
            PRIMARY KEY (uid, conversation_id)
        ) STRICT;
        CREATE INDEX members_by_conversation ON members(conversation_id, position);

        CREATE TABLE messages (
            conversation_id BLOB NOT NULL,
            seq             INTEGER NOT NULL,
            id              BLOB NOT NULL,
            sender          BLOB NOT NULL,
            client_id       TEXT NOT NULL,
            type            TEXT NOT NULL,
            body            TEXT NOT NULL,
            timestamp       INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        ) STRICT;
        -- The idempotency key: a resend with the same client id finds the original.
        CREATE UNIQUE INDEX messages_by_client_id ON messages(conversation_id, sender, client_id);
        "#,
        ),
        // The server's own bookkeeping, e.g. the change counter up to which the data was last
        // found consistent (`consistency.rs`).
        M::up(
            r#"
        CREATE TABLE server_state (
            key   TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) STRICT;
        "#,
        ),
        M::up(
            r#"
        -- A member who muted the conversation (their apps do not notify them of it).
        ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;

        -- uid blocks blocked: no messages from them in a single chat, no new conversations
        -- with uid started by them, no adding uid to groups by them.
        CREATE TABLE blocks (
            uid        BLOB NOT NULL REFERENCES users(uid),
            blocked    BLOB NOT NULL REFERENCES users(uid),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (uid, blocked)
        ) STRICT;
        "#,
        ),
        M::up(
            r#"
        -- An account its operator disabled: it cannot sign in; its sessions were deleted.
        ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

        -- Invite codes for sign-up (stored as SHA-256 hashes, never in clear); id names one
        -- for listing and revoking.
        CREATE TABLE invites (
            id         TEXT PRIMARY KEY,
            code_hash  BLOB NOT NULL UNIQUE,
            uses_left  INTEGER NOT NULL,
            expires_at INTEGER,
            created_at INTEGER NOT NULL
        ) STRICT;
        "#,
        ),
        // The idempotency key, client id first. Clients send time-ordered ids (the SDK's are
        // UUIDv7), so new keys land at the index's end: a batch of sends dirties one or two
        // pages there instead of one page per message in each conversation's part of the index.
        // The constraint is the same three columns; a lookup gives all three.
        M::up(
            r#"
        DROP INDEX messages_by_client_id;
        CREATE UNIQUE INDEX messages_by_client_id ON messages(client_id, sender, conversation_id);
        "#,
        ),
        // Replies, edits and recalls. A changed message takes the change counter of its newest
        // change (`change_version`, 0 for a message never changed) and so does its conversation's
        // `changes_version`: `get_message_changes` pages a conversation's changes by it. Adding
        // columns with constant defaults rewrites no row.
        M::up(
            r#"
        ALTER TABLE messages ADD COLUMN reply_to INTEGER;
        ALTER TABLE messages ADD COLUMN edited_at INTEGER;
        ALTER TABLE messages ADD COLUMN change_version INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX messages_by_change ON messages(conversation_id, change_version)
            WHERE change_version > 0;
        ALTER TABLE conversations ADD COLUMN changes_version INTEGER NOT NULL DEFAULT 0;
        "#,
        ),
        // Mentions (a JSON array of uids, NULL for none; `mention_all` for `@all`) and emoji
        // reactions (JSON `[{emoji, user_ids}]`, NULL for none; changed like an edit).
        M::up(
            r#"
        ALTER TABLE messages ADD COLUMN mentions TEXT;
        ALTER TABLE messages ADD COLUMN mention_all INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE messages ADD COLUMN reactions TEXT;
        "#,
        ),
        // Images and files (blobs/): a blob is stored once by its SHA-256; a claim says a user
        // uploaded it; an upload is one in progress, resumable from `received` with the hash
        // state at that offset, written by one request at a time (the lease).
        M::up(
            r#"
        CREATE TABLE blobs (
            sha256     BLOB PRIMARY KEY,
            size       INTEGER NOT NULL,
            object_key TEXT NOT NULL,
            kind       TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE blob_claims (
            uid        BLOB NOT NULL REFERENCES users(uid),
            sha256     BLOB NOT NULL REFERENCES blobs(sha256),
            created_at INTEGER NOT NULL,
            PRIMARY KEY (uid, sha256)
        ) STRICT;
        CREATE INDEX blob_claims_by_blob ON blob_claims(sha256);
        CREATE TABLE uploads (
            id          BLOB PRIMARY KEY,
            uid         BLOB NOT NULL REFERENCES users(uid),
            sha256      BLOB NOT NULL,
            size        INTEGER NOT NULL,
            received    INTEGER NOT NULL DEFAULT 0,
            hash_state  BLOB,
            kind        TEXT,
            lease_token INTEGER NOT NULL DEFAULT 0,
            lease_until INTEGER NOT NULL DEFAULT 0,
            created_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX uploads_by_owner ON uploads(uid, sha256);
        CREATE INDEX uploads_by_expiry ON uploads(expires_at);
        "#,
        ),
        // Image and file messages: the blobs each names (an image and its thumbnail, or a
        // file), readable by the conversation's members until the message is recalled.
        M::up(
            r#"
        CREATE TABLE message_blobs (
            sha256          BLOB NOT NULL REFERENCES blobs(sha256),
            conversation_id BLOB NOT NULL,
            seq             INTEGER NOT NULL,
            PRIMARY KEY (sha256, conversation_id, seq)
        ) STRICT;
        CREATE INDEX message_blobs_by_message ON message_blobs(conversation_id, seq);
        "#,
        ),
    ])
});

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Creates the database file readable by its owner only (0600), or makes an existing one so.
/// SQLite creates the `-wal` and `-shm` files with the database file's permissions.
pub(super) fn private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = super::beside(path, suffix);
            if let Ok(meta) = std::fs::metadata(&file) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Opens the writer connection: creates the file if needed (0600), switches to WAL, runs
/// migrations. `synchronous = FULL`: a commit is on disk before anyone is told it happened.
pub fn open_writer(path: &Path) -> Result<Connection> {
    private_file(path)?;
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Keep the hot index pages in memory: 64 MiB instead of SQLite's 2 MiB default, which a
    // busy server outgrows within minutes (every insert then reads its index leaves back).
    conn.pragma_update(None, "cache_size", -65_536)?;
    // No automatic checkpoints inside commits: the hook (which replaces them) records the log's
    // size, and the writer asks the checkpointer thread (`checkpoint.rs`) to copy it back.
    conn.wal_hook(Some(super::checkpoint::note_wal_pages));
    configure(&conn)?;
    MIGRATIONS.to_latest(&mut conn)?;
    Ok(conn)
}

/// Opens the checkpointer's connection.
pub fn open_checkpointer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens a read-only connection (after the writer has created and migrated the file).
pub fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let conn = open_writer(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("db.sqlite3{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        drop(conn);
        // One made readable by others before is made private again.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_writer(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn upgrading_keeps_resends_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let insert = "INSERT INTO messages
                (conversation_id, seq, id, sender, client_id, type, body, timestamp)
            VALUES (x'01', ?1, x'02', x'03', 'c1', 'text', 'hi', 0)
            ON CONFLICT (conversation_id, sender, client_id) DO NOTHING";
        {
            let mut conn = Connection::open(&path).unwrap();
            MIGRATIONS.to_version(&mut conn, 4).unwrap();
            assert_eq!(conn.execute(insert, [1]).unwrap(), 1);
        }
        let conn = open_writer(&path).unwrap();
        // The stored message still holds its key: a resend inserts nothing.
        assert_eq!(conn.execute(insert, [2]).unwrap(), 0);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT seq FROM messages
                 WHERE conversation_id = x'01' AND sender = x'03' AND client_id = 'c1'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("messages_by_client_id"), "{plan}");
        // Led by the (time-ordered) client id, so new keys land at the index's end.
        let first: String = conn
            .query_row(
                "SELECT name FROM pragma_index_info('messages_by_client_id') WHERE seqno = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(first, "client_id");
    }

    #[test]
    fn opening_twice_keeps_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        drop(open_writer(&path).unwrap());
        let conn = open_writer(&path).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let reader = open_reader(&path).unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
