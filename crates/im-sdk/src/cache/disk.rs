//! [`DiskCache`]: the cache in a SQLite file (WAL, migrations), one per account.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use im_proto::{ClientId, ConversationId, Message, Seq, Uid, User};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use super::{search, Cache, CacheUsage, ConversationRecord, OutgoingMessage};
use crate::error::{Error, Result};

static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    let mut migrations = migrations_before_search();
    migrations.push(search_migration());
    // Messages the user deleted on this device only ("delete for me"): kept apart, so that
    // history stays gapless for catching up and the choice outlives clearing the cache.
    migrations.push(M::up(
        "CREATE TABLE hidden_messages (
            conversation_id BLOB NOT NULL,
            seq             INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        ) STRICT, WITHOUT ROWID;",
    ));
    Migrations::new(migrations)
});

/// The schema's first versions (before message search).
fn migrations_before_search() -> Vec<M<'static>> {
    vec![
        M::up(
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
        ),
        // The outbox is appended to at the end (`max(position)`) and read in order: without an
        // index each append scanned the whole outbox (10,000 messages written offline took 7 s).
        M::up("CREATE INDEX outbox_by_position ON outbox(position);"),
    ]
}

/// Message search (see `search.rs` for what a match is). `search_keys` numbers each message by
/// time (timestamp × 1024 + a tie-breaker), so the indexes' rowids read newest first;
/// `search_text` holds the lower-cased text under a trigram index (any substring of three or more
/// characters); `search_grams` each message's distinct characters and pairs of characters, for
/// the one- and two-character terms trigrams cannot answer. New messages are indexed as they
/// are stored; the ones a cache already held are indexed in the background, newest first
/// (`index_search_backlog`, from the rowid `search_backlog_below` down), so opening an older
/// cache stays instant.
fn search_migration() -> M<'static> {
    M::up(
        r#"
        CREATE TABLE search_keys (
            key             INTEGER PRIMARY KEY,
            conversation_id BLOB NOT NULL,
            seq             INTEGER NOT NULL
        ) STRICT;
        CREATE VIRTUAL TABLE search_text USING fts5(text, tokenize = 'trigram case_sensitive 1');
        CREATE VIRTUAL TABLE search_grams USING fts5(grams, content = '', tokenize = 'ascii');
        INSERT INTO meta (key, value)
            SELECT 'search_backlog_below', CAST(coalesce(max(rowid), 0) + 1 AS TEXT) FROM messages;
        "#,
    )
}

/// Adds a message to the search indexes.
fn index_for_search(conn: &Connection, m: &Message) -> rusqlite::Result<()> {
    let normalized = search::normalize(search::text_of(&m.body));
    // The first free key at the message's time (messages in the same millisecond queue up).
    let mut key = m.timestamp.max(0).saturating_mul(1024);
    let mut insert_key = conn.prepare_cached(
        "INSERT INTO search_keys (key, conversation_id, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO NOTHING",
    )?;
    while insert_key.execute(params![key, m.conversation_id.as_bytes(), m.seq])? == 0 {
        key += 1;
    }
    conn.prepare_cached("INSERT INTO search_text (rowid, text) VALUES (?1, ?2)")?
        .execute(params![key, normalized])?;
    let grams = search::short_grams(&normalized);
    if !grams.is_empty() {
        conn.prepare_cached("INSERT INTO search_grams (rowid, grams) VALUES (?1, ?2)")?
            .execute(params![key, grams])?;
    }
    Ok(())
}

/// A [`Cache`] in a SQLite file. Opening is quick whatever the size (nothing is loaded up front),
/// so an app can show its conversation list at once.
#[derive(Debug)]
pub struct DiskCache {
    conn: Mutex<Connection>,
    /// A second connection for indexing older messages for search in the background: the
    /// app's reads go on beside it (WAL), its writes wait for a batch at most. Opened on
    /// first use, closed when nothing is left.
    backlog: Mutex<Option<Connection>>,
}

/// What [`DiskCache::open_or_rebuild`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The cache opened as it was.
    AsItWas,
    /// The file was damaged: it was moved aside and a new cache started, which the client
    /// fills again from the server. Unsent messages that could still be read were carried over.
    Rebuilt {
        /// Where the damaged file went (kept for a bug report; safe to delete).
        moved_to: PathBuf,
        /// What was wrong with it.
        reason: String,
        /// Unsent messages read back from it and kept in the new cache's outbox.
        outbox_kept: usize,
    },
}

/// Why opening failed: the file is damaged (rebuildable) or something else is wrong (disk full,
/// no permission: not a reason to throw the cache away).
enum OpenError {
    Damaged(String),
    Other(Error),
}

/// True for errors that mean the file itself is damaged.
fn damaged(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        if damaged(&e) {
            OpenError::Damaged(e.to_string())
        } else {
            OpenError::Other(e.into())
        }
    }
}

impl From<rusqlite_migration::Error> for OpenError {
    fn from(e: rusqlite_migration::Error) -> Self {
        match &e {
            rusqlite_migration::Error::RusqliteError { err, .. } if damaged(err) => {
                OpenError::Damaged(e.to_string())
            }
            _ => OpenError::Other(e.into()),
        }
    }
}

/// Creates `path` readable by its owner only (0600) if it does not exist yet; SQLite gives the
/// `-wal` and `-shm` files the same permissions. The cache holds messages in clear.
fn create_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::Cache(format!("creating {}: {e}", path.display())))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The file's companions (`-wal`, `-shm`).
fn companions(path: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    })
}

impl DiskCache {
    /// Opens the cache at `path`, creating the file (and its folder, both private to the user)
    /// and bringing the schema up to date. A damaged file is an error here; see
    /// [`open_or_rebuild`](Self::open_or_rebuild) for what an app should call.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        match Self::try_open(path.as_ref()) {
            Ok(cache) => Ok(cache),
            Err(OpenError::Damaged(reason)) => Err(Error::Cache(format!("damaged: {reason}"))),
            Err(OpenError::Other(e)) => Err(e),
        }
    }

    /// Opens the cache at `path`; if the file is damaged (not a database, corrupt pages), moves
    /// it aside, starts a new one and carries over the unsent messages it can still read. The
    /// rest is the server's to give back: the client catches up into the new cache.
    pub fn open_or_rebuild(path: impl AsRef<Path>) -> Result<(Self, Opened)> {
        let path = path.as_ref();
        let reason = match Self::try_open(path) {
            Ok(cache) => return Ok((cache, Opened::AsItWas)),
            Err(OpenError::Other(e)) => return Err(e),
            Err(OpenError::Damaged(reason)) => reason,
        };
        tracing::warn!(path = %path.display(), %reason, "the cache is damaged; rebuilding it");
        let outbox = salvage_outbox(path);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut moved = path.as_os_str().to_owned();
        moved.push(format!(".damaged-{stamp}"));
        let moved_to = PathBuf::from(moved);
        std::fs::rename(path, &moved_to)
            .map_err(|e| Error::Cache(format!("moving the damaged cache aside: {e}")))?;
        for companion in companions(path) {
            let _ = std::fs::remove_file(companion);
        }
        let cache = match Self::try_open(path) {
            Ok(cache) => cache,
            Err(OpenError::Damaged(r)) => return Err(Error::Cache(format!("damaged: {r}"))),
            Err(OpenError::Other(e)) => return Err(e),
        };
        for entry in &outbox {
            cache.outbox_put(entry)?;
        }
        Ok((
            cache,
            Opened::Rebuilt {
                moved_to,
                reason,
                outbox_kept: outbox.len(),
            },
        ))
    }

    fn try_open(path: &Path) -> std::result::Result<Self, OpenError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(OpenError::Other)?;
        }
        create_private(path).map_err(OpenError::Other)?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode survives a crash of the app (not of the OS): enough for a cache,
        // and the server has the authoritative copy of everything but the outbox.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Writes take the lock up front (`BEGIN IMMEDIATE`): a transaction that read first and
        // then found the search indexer's connection had written meanwhile would fail at once
        // with "database is locked", never waiting out this timeout.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        MIGRATIONS.to_latest(&mut conn)?;
        // A cheap probe of the tables start-up reads first (a full integrity check would read
        // the whole file and slow every start).
        conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))?;
        conn.query_row(
            "SELECT count(length(record)) FROM (SELECT record FROM conversations
             ORDER BY removed, activity DESC, id DESC LIMIT 50)",
            [],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
            backlog: Mutex::new(None),
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

/// Creates a folder (and its parents) private to the user (0700) if it does not exist.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::Cache(format!("creating {}: {e}", dir.display())))
}

/// The unsent messages that can still be read from a damaged cache file, oldest first.
fn salvage_outbox(path: &Path) -> Vec<OutgoingMessage> {
    let read = || -> rusqlite::Result<Vec<String>> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut stmt = conn.prepare("SELECT entry FROM outbox ORDER BY position")?;
        let mut entries = Vec::new();
        let mut rows = stmt.query([])?;
        // Keep what reads before the damage stops the scan.
        while let Ok(Some(row)) = rows.next() {
            if let Ok(entry) = row.get::<_, String>(0) {
                entries.push(entry);
            }
        }
        Ok(entries)
    };
    read()
        .unwrap_or_default()
        .iter()
        .filter_map(|text| parse(text).ok())
        .collect()
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    fn update_conversation(
        &self,
        id: ConversationId,
        new: Option<ConversationRecord>,
        change: &mut dyn FnMut(&mut ConversationRecord),
    ) -> Result<Option<ConversationRecord>> {
        // One connection behind one lock: nobody else reads or writes between the two steps.
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored: Option<String> = tx
            .prepare_cached("SELECT record FROM conversations WHERE id = ?1")?
            .query_row([id.as_bytes()], |r| r.get(0))
            .optional()?;
        let mut record = match (stored, new) {
            (Some(text), _) => parse::<ConversationRecord>(&text)?,
            (None, Some(new)) => new,
            (None, None) => return Ok(None),
        };
        change(&mut record);
        tx.prepare_cached(
            "INSERT INTO conversations (id, activity, removed, record) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET activity = excluded.activity,
                 removed = excluded.removed, record = excluded.record",
        )?
        .execute(params![
            id.as_bytes(),
            record.activity,
            record.removed,
            json(&record)?
        ])?;
        tx.commit()?;
        Ok(Some(record))
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut new = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO messages (conversation_id, seq, message) VALUES (?1, ?2, ?3)
                 ON CONFLICT (conversation_id, seq) DO NOTHING",
            )?;
            for m in messages {
                if stmt.execute(params![m.conversation_id.as_bytes(), m.seq, json(m)?])? == 1 {
                    index_for_search(&tx, m)?;
                    new.push(m.clone());
                }
            }
        }
        tx.commit()?;
        Ok(new)
    }

    fn replace_message(&self, m: &Message) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rowid: Option<i64> = tx
            .prepare_cached(
                "UPDATE messages SET message = ?3 WHERE conversation_id = ?1 AND seq = ?2
                 RETURNING rowid",
            )?
            .query_row(
                params![m.conversation_id.as_bytes(), m.seq, json(m)?],
                |r| r.get(0),
            )
            .optional()?;
        let replaced = rowid.is_some();
        if let Some(rowid) = rowid {
            // Indexed already unless the background indexer has yet to reach it (it indexes
            // from `search_backlog_below` down): then it indexes the message as it is now.
            let backlog_below: i64 = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'search_backlog_below'",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let indexed = rowid >= backlog_below;
            // Its search keys lie at its time (timestamp × 1024 + a tie-breaker). The old text
            // goes from the trigram index; the short-gram index cannot forget it, but a search
            // only returns keys that still exist.
            let from = m.timestamp.max(0).saturating_mul(1024);
            let keys: Vec<i64> = tx
                .prepare_cached(
                    "SELECT key FROM search_keys
                     WHERE key >= ?1 AND key < ?2 AND conversation_id = ?3 AND seq = ?4",
                )?
                .query_map(
                    params![
                        from,
                        from.saturating_add(1024),
                        m.conversation_id.as_bytes(),
                        m.seq
                    ],
                    |r| r.get(0),
                )?
                .collect::<rusqlite::Result<_>>()?;
            for key in &keys {
                tx.prepare_cached("DELETE FROM search_keys WHERE key = ?1")?
                    .execute([key])?;
                tx.prepare_cached("DELETE FROM search_text WHERE rowid = ?1")?
                    .execute([key])?;
            }
            if indexed && !m.body.is_recalled() {
                index_for_search(&tx, m)?;
            }
        }
        tx.commit()?;
        Ok(replaced)
    }

    fn hide_message(&self, id: ConversationId, seq: Seq) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO hidden_messages (conversation_id, seq) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![id.as_bytes(), seq])?;
        Ok(())
    }

    fn hidden_messages(&self, id: ConversationId) -> Result<Vec<Seq>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq FROM hidden_messages WHERE conversation_id = ?1 ORDER BY seq",
        )?;
        let seqs = stmt
            .query_map(params![id.as_bytes()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(seqs)
    }

    fn index_search_backlog(&self, batch: usize) -> Result<usize> {
        let mut slot = self
            .backlog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            let path = self.conn().path().map(PathBuf::from);
            let Some(path) = path else {
                return Ok(0);
            };
            let conn = Connection::open(path)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            *slot = Some(conn);
        }
        let conn = slot.as_mut().expect("opened above");
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let below: i64 = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'search_backlog_below'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if below <= 1 {
            drop(tx);
            *slot = None;
            return Ok(0);
        }
        let rows: Vec<(i64, String)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT rowid, message FROM messages WHERE rowid < ?1 ORDER BY rowid DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![below, batch.max(1) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (_, text) in &rows {
            // A record this version cannot read is left out of search, not fatal.
            if let Ok(m) = parse(text) {
                index_for_search(&tx, &m)?;
            }
        }
        let next = rows.last().map_or(0, |(rowid, _)| *rowid);
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'search_backlog_below'",
            params![next.to_string()],
        )?;
        tx.commit()?;
        Ok(rows.len())
    }

    fn usage(&self) -> Result<CacheUsage> {
        let conn = self.conn();
        let messages: i64 = conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
        let bytes = conn.path().map_or(0, |path| {
            companions(Path::new(path))
                .into_iter()
                .chain([PathBuf::from(path)])
                .filter_map(|file| std::fs::metadata(file).ok())
                .map(|meta| meta.len())
                .sum()
        });
        Ok(CacheUsage {
            bytes,
            messages: messages.max(0) as u64,
        })
    }

    fn clear_messages(&self) -> Result<()> {
        // The background indexer stops (and closes its connection, so nothing holds the file
        // while it shrinks); it has nothing left to do.
        let mut backlog = self
            .backlog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *backlog = None;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM messages;
             DELETE FROM search_keys;
             DELETE FROM search_text;
             INSERT INTO search_grams (search_grams) VALUES ('delete-all');
             UPDATE meta SET value = '0' WHERE key = 'search_backlog_below';",
        )?;
        tx.commit()?;
        // The space back to the system: the file rewritten without the free pages, the WAL
        // emptied. A reader elsewhere can make this busy: the messages are gone all the same
        // and the space is reused.
        if let Err(e) = conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);") {
            tracing::info!(error = %e, "the cleared cache could not be shrunk now");
        }
        Ok(())
    }

    fn search_messages(&self, query: &str, limit: usize) -> Result<Vec<Message>> {
        let terms = search::terms(query);
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let conn = self.conn();
        // Candidates newest first from an index (trigrams when a term has three characters or
        // more, else the short grams); each candidate's text is then checked against every term
        // (the index narrows, the check decides).
        let (long, short): (Vec<&String>, Vec<&String>) =
            terms.iter().partition(|t| t.chars().count() >= 3);
        let trigrams = long
            .iter()
            .map(|t| search::fts_string(t))
            .collect::<Vec<_>>()
            .join(" AND ");
        let grams = short
            .iter()
            .filter_map(|t| search::gram_token(t))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut keys = Vec::new();
        let mut consider = |key: i64, text: &str| {
            if search::matches(text, &terms) {
                keys.push(key);
            }
            keys.len() < limit
        };
        let mut by_text = conn.prepare_cached(
            "SELECT rowid, text FROM search_text WHERE search_text MATCH ?1 ORDER BY rowid DESC",
        )?;
        let mut by_grams = conn.prepare_cached(
            "SELECT g.rowid, t.text FROM search_grams g JOIN search_text t ON t.rowid = g.rowid
             WHERE search_grams MATCH ?1 ORDER BY g.rowid DESC",
        )?;
        if short.is_empty() {
            let mut rows = by_text.query(params![trigrams])?;
            while let Some(row) = rows.next()? {
                if !consider(row.get(0)?, &row.get::<_, String>(1)?) {
                    break;
                }
            }
        } else if long.is_empty() {
            let mut rows = by_grams.query(params![grams])?;
            while let Some(row) = rows.next()? {
                if !consider(row.get(0)?, &row.get::<_, String>(1)?) {
                    break;
                }
            }
        } else {
            // Both kinds of terms: the two indexes' candidates, each newest first, merged
            // (only keys in both can match), so a rare term on either side ends it early.
            let mut texts = by_text.query(params![trigrams])?;
            let mut pairs = by_grams.query(params![grams])?;
            let mut next_pair: Option<i64> = pairs.next()?.map(|r| r.get(0)).transpose()?;
            'merge: while let Some(row) = texts.next()? {
                let key: i64 = row.get(0)?;
                loop {
                    match next_pair {
                        None => break 'merge,
                        Some(k) if k > key => {
                            next_pair = pairs.next()?.map(|r| r.get(0)).transpose()?;
                        }
                        Some(k) if k == key => break,
                        Some(_) => continue 'merge,
                    }
                }
                if !consider(key, &row.get::<_, String>(1)?) {
                    break;
                }
            }
        }
        let mut found = Vec::with_capacity(keys.len());
        let mut fetch = conn.prepare_cached(
            "SELECT m.message FROM search_keys k
             JOIN messages m ON m.conversation_id = k.conversation_id AND m.seq = k.seq
             WHERE k.key = ?1",
        )?;
        for key in keys {
            if let Some(text) = fetch
                .query_row(params![key], |r| r.get::<_, String>(0))
                .optional()?
            {
                found.push(parse(&text)?);
            }
        }
        Ok(found)
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

    fn text_message(conversation: ConversationId, seq: u64, timestamp: i64, text: &str) -> Message {
        Message {
            id: im_proto::MessageId::time_ordered(),
            conversation_id: conversation,
            seq,
            from: Uid::random(),
            client_id: ClientId::random(),
            timestamp,
            body: im_proto::MessageBody::text(text),
            reply_to: None,
            edited_at: None,
            mentions: vec![],
            mention_all: false,
            reactions: vec![],
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// The indexes against the meaning: random texts and queries over a small alphabet
        /// (Latin in both cases, Chinese, a space, a quote), stored in random batches with
        /// repeats, the cache cleared between two batches or not, searched with random limits;
        /// the disk cache answers exactly what a scan of the memory cache does.
        #[test]
        fn search_agrees_with_a_scan(
            texts in proptest::collection::vec("[aAb起床啦 \"]{0,12}", 1..40),
            batch in 1usize..8,
            clear_before in proptest::option::of(0usize..8),
            queries in proptest::collection::vec(("[aAb起床啦 \"]{1,5}", 1usize..6), 1..12),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let disk = DiskCache::open(dir.path().join("c.sqlite3")).unwrap();
            let memory = super::super::MemoryCache::new();
            let conversations = [ConversationId::random(), ConversationId::random()];
            let messages: Vec<Message> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| text_message(conversations[i % 2], (i / 2 + 1) as u64, 10_000 + i as i64, t))
                .collect();
            for (i, chunk) in messages.chunks(batch).enumerate() {
                if clear_before == Some(i) {
                    disk.clear_messages().unwrap();
                    memory.clear_messages().unwrap();
                    // What was stored before comes back in part (history opened again).
                    disk.put_messages(&messages[..i.min(2)]).unwrap();
                    memory.put_messages(&messages[..i.min(2)]).unwrap();
                }
                disk.put_messages(chunk).unwrap();
                memory.put_messages(chunk).unwrap();
                // Stored again: found once.
                disk.put_messages(&chunk[..1]).unwrap();
            }
            proptest::prop_assert_eq!(disk.usage().unwrap().messages, memory.usage().unwrap().messages);
            for (query, limit) in queries {
                let ids = |found: Vec<Message>| found.into_iter().map(|m| m.id).collect::<Vec<_>>();
                proptest::prop_assert_eq!(
                    ids(disk.search_messages(&query, limit).unwrap()),
                    ids(memory.search_messages(&query, limit).unwrap()),
                    "query {:?} limit {}", query, limit
                );
            }
        }
    }

    /// An operation on a cache in [`changes_agree_with_the_memory_cache`].
    #[derive(Debug, Clone)]
    enum Op {
        /// Store message `i` of the pool (again, perhaps).
        Put(usize),
        /// Message `i` edited to a new text.
        Edit(usize, String),
        /// Message `i` recalled.
        Recall(usize),
        /// Message `i` deleted on this device.
        Hide(usize),
        /// The user cleared the cache.
        Clear,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0usize..16).prop_map(Op::Put),
            2 => (0usize..16, "[aAb起床啦 ]{1,8}").prop_map(|(i, t)| Op::Edit(i, t)),
            1 => (0usize..16).prop_map(Op::Recall),
            1 => (0usize..16).prop_map(Op::Hide),
            1 => Just(Op::Clear),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Edits, recalls, hides, clears and (re)stores in random order on the disk cache and on
        /// the memory cache (the reference): after every step both hold the same messages as
        /// they are now, hide the same ones, agree whether a replace found its message, and
        /// find the same messages for every query (an edit found by its new text only, a
        /// recalled message by nothing).
        #[test]
        fn changes_agree_with_the_memory_cache(
            texts in proptest::collection::vec("[aAb起床啦 ]{1,8}", 16),
            ops in proptest::collection::vec(op(), 1..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let disk = DiskCache::open(dir.path().join("c.sqlite3")).unwrap();
            let memory = super::super::MemoryCache::new();
            let conversations = [ConversationId::random(), ConversationId::random()];
            // The pool as it stands now (what a fetch from the server would give).
            let mut pool: Vec<Message> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| text_message(conversations[i % 2], (i / 2 + 1) as u64, 10_000 + i as i64, t))
                .collect();
            for op in ops {
                match op {
                    Op::Put(i) => {
                        proptest::prop_assert_eq!(
                            disk.put_messages(&pool[i..=i]).unwrap().len(),
                            memory.put_messages(&pool[i..=i]).unwrap().len()
                        );
                    }
                    Op::Edit(i, text) => {
                        pool[i].body = im_proto::MessageBody::text(text);
                        pool[i].edited_at = Some(20_000);
                        proptest::prop_assert_eq!(
                            disk.replace_message(&pool[i]).unwrap(),
                            memory.replace_message(&pool[i]).unwrap()
                        );
                    }
                    Op::Recall(i) => {
                        pool[i].body = im_proto::MessageBody::Recalled { by: pool[i].from };
                        proptest::prop_assert_eq!(
                            disk.replace_message(&pool[i]).unwrap(),
                            memory.replace_message(&pool[i]).unwrap()
                        );
                    }
                    Op::Hide(i) => {
                        disk.hide_message(pool[i].conversation_id, pool[i].seq).unwrap();
                        memory.hide_message(pool[i].conversation_id, pool[i].seq).unwrap();
                    }
                    Op::Clear => {
                        disk.clear_messages().unwrap();
                        memory.clear_messages().unwrap();
                    }
                }
                for c in conversations {
                    proptest::prop_assert_eq!(
                        disk.messages_before(c, u64::MAX >> 1, 100).unwrap(),
                        memory.messages_before(c, u64::MAX >> 1, 100).unwrap()
                    );
                    proptest::prop_assert_eq!(
                        disk.hidden_messages(c).unwrap(),
                        memory.hidden_messages(c).unwrap()
                    );
                }
                for query in ["a", "b", "起", "起床", "床啦", "aA"] {
                    let ids = |found: Vec<Message>| found.into_iter().map(|m| m.id).collect::<Vec<_>>();
                    proptest::prop_assert_eq!(
                        ids(disk.search_messages(query, 50).unwrap()),
                        ids(memory.search_messages(query, 50).unwrap()),
                        "query {:?}", query
                    );
                }
            }
        }
    }

    #[test]
    fn an_older_cache_is_indexed_in_the_background_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite3");
        {
            // A cache as the version before search left it: messages, no indexes.
            let mut conn = Connection::open(&path).unwrap();
            Migrations::new(migrations_before_search())
                .to_latest(&mut conn)
                .unwrap();
            let m = text_message(ConversationId::random(), 1, 1_000, "耗子，起床啦");
            conn.execute(
                "INSERT INTO messages (conversation_id, seq, message) VALUES (?1, ?2, ?3)",
                params![
                    m.conversation_id.as_bytes(),
                    m.seq,
                    serde_json::to_string(&m).unwrap()
                ],
            )
            .unwrap();
        }
        let cache = DiskCache::open(&path).unwrap();
        // Opening does not wait for the old messages to be indexed; a new one is at once.
        assert!(cache.search_messages("起床", 10).unwrap().is_empty());
        let new = text_message(ConversationId::random(), 1, 2_000, "起床了吗");
        cache.put_messages(std::slice::from_ref(&new)).unwrap();
        assert_eq!(
            cache.search_messages("起床", 10).unwrap(),
            vec![new.clone()]
        );
        // The background work, a message at a time: the old one, then nothing left.
        assert_eq!(cache.index_search_backlog(1).unwrap(), 1);
        assert_eq!(cache.index_search_backlog(1).unwrap(), 0);
        let found = cache.search_messages("起床", 10).unwrap();
        assert_eq!(found.len(), 2, "each once: {found:?}");
        assert_eq!(found[1].body.preview(), "耗子，起床啦");
        // Reopened: nothing left to do.
        drop(cache);
        assert_eq!(
            DiskCache::open(&path)
                .unwrap()
                .index_search_backlog(100)
                .unwrap(),
            0
        );
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

    fn entry(text: &str) -> OutgoingMessage {
        OutgoingMessage {
            client_id: ClientId::time_ordered(),
            conversation_id: ConversationId::random(),
            text: text.into(),
            reply_to: None,
            mentions: vec![],
            mention_all: false,
            created_at: 1,
            state: super::super::OutboxState::Sending,
        }
    }

    fn record(n: u8) -> ConversationRecord {
        ConversationRecord::new(im_proto::Conversation {
            id: ConversationId::random(),
            title: format!("conversation {n} {}", "padding ".repeat(40)),
            icon: String::new(),
            manager_id: Uid::random(),
            remark: String::new(),
            user_count: 2,
            attrs: Default::default(),
            create_time: n as i64,
            kind: im_proto::ConversationType::SingleChat,
            user_ids: vec![Uid::random(), Uid::random()],
        })
    }

    /// Overwrites the pages of `table`'s b-tree root with garbage.
    fn damage_table(path: &Path, table: &str) {
        let (root, page_size): (u64, u64) = {
            let conn = Connection::open(path).unwrap();
            let root = conn
                .query_row(
                    "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            let size = conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap();
            (root, size)
        };
        use std::io::{Seek, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.seek(std::io::SeekFrom::Start((root - 1) * page_size))
            .unwrap();
        file.write_all(&vec![0xA5; page_size as usize]).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_database_is_moved_aside_and_a_new_cache_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite3");
        std::fs::write(
            &path,
            b"this is not a database, it was overwritten by something",
        )
        .unwrap();
        assert!(
            DiskCache::open(&path).is_err(),
            "open refuses a damaged file"
        );
        let (cache, opened) = DiskCache::open_or_rebuild(&path).unwrap();
        let Opened::Rebuilt {
            moved_to,
            outbox_kept,
            reason,
        } = opened
        else {
            panic!("not rebuilt: {opened:?}")
        };
        assert_eq!(outbox_kept, 0);
        assert!(reason.contains("not a database"), "{reason}");
        assert!(moved_to.exists(), "the damaged file is kept aside");
        assert!(cache.conversations(0, 10).unwrap().is_empty());
        cache.set_sync_cursor(7).unwrap();
        drop(cache);
        let (again, opened) = DiskCache::open_or_rebuild(&path).unwrap();
        assert_eq!(opened, Opened::AsItWas);
        assert_eq!(again.sync_cursor().unwrap(), 7);
    }

    #[test]
    fn a_damaged_cache_is_rebuilt_keeping_the_unsent_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite3");
        let unsent = [entry("耗子，起床啦"), entry("written offline")];
        {
            let cache = DiskCache::open(&path).unwrap();
            let records: Vec<ConversationRecord> = (0..40).map(record).collect();
            cache.put_conversations(&records).unwrap();
            for e in &unsent {
                cache.outbox_put(e).unwrap();
            }
        }
        damage_table(&path, "conversations");
        let (cache, opened) = DiskCache::open_or_rebuild(&path).unwrap();
        assert!(
            matches!(opened, Opened::Rebuilt { outbox_kept: 2, .. }),
            "{opened:?}"
        );
        assert_eq!(
            cache.outbox().unwrap(),
            unsent,
            "the unsent messages, in order"
        );
        assert_eq!(
            cache.sync_cursor().unwrap(),
            0,
            "the rest comes from the server again"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_and_its_folder_are_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("accounts/tom");
        let path = folder.join("cache.sqlite3");
        let cache = DiskCache::open(&path).unwrap();
        cache.outbox_put(&entry("secret plans")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&path), 0o600);
        for companion in companions(&path) {
            if companion.exists() {
                assert_eq!(mode(&companion), 0o600, "{}", companion.display());
            }
        }
    }
}
