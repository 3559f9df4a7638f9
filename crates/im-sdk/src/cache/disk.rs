//! [`DiskCache`]: the cache in a SQLite file (WAL, migrations), one per account.

use std::path::Path;
use std::sync::{LazyLock, Mutex};

use im_proto::{ClientId, ConversationId, Message, Seq, Uid, User};
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use super::{Cache, ConversationRecord, OutgoingMessage};
use crate::error::{Error, Result};

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![M::up(
        r#"
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT;
        -- Records are JSON (ConversationRecord, Message, OutgoingMessage, User); the columns
        -- beside them are what queries sort and filter by.
        CREATE TABLE conversations (
            id       BLOB PRIMARY KEY,
            activity INTEGER NOT NULL,
            removed  INTEGER NOT NULL,
            record   TEXT NOT NULL
        ) STRICT;
        CREATE INDEX conversations_by_activity ON conversations(removed, activity DESC, id DESC);
        CREATE TABLE messages (
            conversation_id BLOB NOT NULL,
            seq             INTEGER NOT NULL,
            message         TEXT NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        ) STRICT;
        CREATE TABLE outbox (
            client_id TEXT PRIMARY KEY,
            position  INTEGER NOT NULL,
            entry     TEXT NOT NULL
        ) STRICT;
        CREATE TABLE users (
            uid  BLOB PRIMARY KEY,
            user TEXT NOT NULL
        ) STRICT;
        "#,
    )])
});

/// A [`Cache`] in a SQLite file. Opening is quick whatever the size (nothing is loaded up front),
/// so an app can show its conversation list at once.
#[derive(Debug)]
pub struct DiskCache {
    conn: Mutex<Connection>,
}

impl DiskCache {
    /// Opens the cache at `path`, creating the file (and its folder) and bringing the schema up
    /// to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Cache(format!("creating {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode survives a crash of the app (not of the OS): enough for a cache,
        // and the server has the authoritative copy of everything but the outbox.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        MIGRATIONS.to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
            .execute([key, value])?;
        Ok(())
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Cache(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Cache(format!("unreadable cache entry: {e}")))
}

impl Cache for DiskCache {
    fn owner(&self) -> Result<Option<Uid>> {
        self.meta("owner")?
            .map(|s| s.parse().map_err(|e| Error::Cache(format!("owner: {e}"))))
            .transpose()
    }

    fn set_owner(&self, uid: Uid) -> Result<()> {
        self.set_meta("owner", &uid.to_string())
    }

    fn sync_cursor(&self) -> Result<u64> {
        Ok(self
            .meta("sync_cursor")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    fn set_sync_cursor(&self, cursor: u64) -> Result<()> {
        self.set_meta("sync_cursor", &cursor.to_string())
    }

    fn put_conversations(&self, records: &[ConversationRecord]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO conversations (id, activity, removed, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET activity = excluded.activity,
                     removed = excluded.removed, record = excluded.record",
            )?;
            for r in records {
                stmt.execute(params![
                    r.conversation.id.as_bytes(),
                    r.activity,
                    r.removed,
                    json(r)?
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRecord>> {
        let text: Option<String> = self
            .conn()
            .prepare_cached("SELECT record FROM conversations WHERE id = ?1")?
            .query_row([id.as_bytes()], |r| r.get(0))
            .optional()?;
        text.map(|t| parse(&t)).transpose()
    }

    fn conversations(&self, offset: usize, limit: usize) -> Result<Vec<ConversationRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT record FROM conversations WHERE removed = 0
             ORDER BY activity DESC, id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], |r| {
            r.get::<_, String>(0)
        })?;
        rows.map(|t| parse(&t?)).collect()
    }

    fn put_messages(&self, messages: &[Message]) -> Result<Vec<Message>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut new = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO messages (conversation_id, seq, message) VALUES (?1, ?2, ?3)
                 ON CONFLICT (conversation_id, seq) DO NOTHING",
            )?;
            for m in messages {
                if stmt.execute(params![m.conversation_id.as_bytes(), m.seq, json(m)?])? == 1 {
                    new.push(m.clone());
                }
            }
        }
        tx.commit()?;
        Ok(new)
    }

    fn messages_before(
        &self,
        id: ConversationId,
        before: Seq,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT message FROM messages WHERE conversation_id = ?1 AND seq < ?2
             ORDER BY seq DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![id.as_bytes(), before.min(i64::MAX as u64), limit as i64],
            |r| r.get::<_, String>(0),
        )?;
        let mut page: Vec<Message> = rows.map(|t| parse(&t?)).collect::<Result<_>>()?;
        page.reverse();
        Ok(page)
    }

    fn max_seq(&self, id: ConversationId) -> Result<Seq> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?1",
            )?
            .query_row([id.as_bytes()], |r| r.get(0))?)
    }

    fn outbox_put(&self, message: &OutgoingMessage) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO outbox (client_id, position, entry)
                 VALUES (?1, (SELECT coalesce(max(position), 0) + 1 FROM outbox), ?2)
                 ON CONFLICT (client_id) DO UPDATE SET entry = excluded.entry",
            )?
            .execute(params![message.client_id.as_str(), json(message)?])?;
        Ok(())
    }

    fn outbox(&self) -> Result<Vec<OutgoingMessage>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT entry FROM outbox ORDER BY position")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|t| parse(&t?)).collect()
    }

    fn outbox_entry(&self, client_id: &ClientId) -> Result<Option<OutgoingMessage>> {
        let conn = self.conn();
        let entry: Option<String> = conn
            .prepare_cached("SELECT entry FROM outbox WHERE client_id = ?1")?
            .query_row([client_id.as_str()], |r| r.get(0))
            .optional()?;
        entry.map(|t| parse(&t)).transpose()
    }

    fn outbox_remove(&self, client_id: &ClientId) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM outbox WHERE client_id = ?1")?
            .execute([client_id.as_str()])?;
        Ok(())
    }

    fn put_users(&self, users: &[User]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO users (uid, user) VALUES (?1, ?2)
                 ON CONFLICT (uid) DO UPDATE SET user = excluded.user",
            )?;
            for u in users {
                stmt.execute(params![u.uid.as_bytes(), json(u)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn user(&self, uid: Uid) -> Result<Option<User>> {
        let text: Option<String> = self
            .conn()
            .prepare_cached("SELECT user FROM users WHERE uid = ?1")?
            .query_row([uid.as_bytes()], |r| r.get(0))
            .optional()?;
        text.map(|t| parse(&t)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }

    #[test]
    fn reopening_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/cache.sqlite3");
        let uid = Uid::random();
        {
            let cache = DiskCache::open(&path).unwrap();
            cache.set_owner(uid).unwrap();
            cache.set_sync_cursor(42).unwrap();
        }
        let cache = DiskCache::open(&path).unwrap();
        assert_eq!(cache.owner().unwrap(), Some(uid));
        assert_eq!(cache.sync_cursor().unwrap(), 42);
    }
}
