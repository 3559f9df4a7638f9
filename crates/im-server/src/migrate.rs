//! `im-server migrate --from sqlite:FILE --to postgres://…`: moves a single node's SQLite database
//! to PostgreSQL. The file must not be in use (the lock a server holds is taken). Each table is
//! copied in rowid order — the order sessions and conversations were made in, which PostgreSQL's
//! identity columns then follow — in chunks, each chunk committed together with the progress it
//! makes, so an interrupted run resumes where it stopped. Then every table is compared on both
//! sides: row counts and an order-independent checksum of each row's canonical bytes. The change
//! counter is set to where SQLite's stands, so clients' sync cursors stay valid.

use std::path::Path;

use postgres::types::ToSql;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::config::PostgresUrl;
use crate::error::{Error, Result};
use crate::store::pg;

/// A column's type on PostgreSQL (SQLite's are the matching storage classes; booleans are 0/1).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bytes,
    OptBytes,
    Text,
    OptText,
    Int8,
    OptInt8,
    Int4,
    Bool,
}

/// A value in its canonical form (both sides read into this, then hash it).
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn canonical(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(0),
            Value::Int(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Text(t) => {
                out.push(2);
                out.extend_from_slice(&(t.len() as u64).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }
            Value::Bytes(b) => {
                out.push(3);
                out.extend_from_slice(&(b.len() as u64).to_le_bytes());
                out.extend_from_slice(b);
            }
        }
    }
}

/// A table to move: its columns, in the same order on both sides.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
}

use Kind::*;

/// Parents before children (PostgreSQL checks the foreign keys as rows arrive).
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("uid", Bytes),
            ("username", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("created_at", Int8),
            ("disabled", Bool),
        ],
    },
    Table {
        name: "sessions",
        columns: &[
            ("token_hash", Bytes),
            ("uid", Bytes),
            ("device", Text),
            ("created_at", Int8),
        ],
    },
    Table {
        name: "conversations",
        columns: &[
            ("id", Bytes),
            ("title", Text),
            ("icon", Text),
            ("manager_id", Bytes),
            ("remark", Text),
            ("user_count", Int4),
            ("attrs", Text),
            ("create_time", Int8),
            ("type", Text),
            ("member_key", Bytes),
            ("last_seq", Int8),
            ("version", Int8),
            ("changes_version", Int8),
        ],
    },
    Table {
        name: "members",
        columns: &[
            ("uid", Bytes),
            ("conversation_id", Bytes),
            ("position", Int4),
            ("active", Bool),
            ("read_seq", Int8),
            ("version", Int8),
            ("left_seq", Int8),
            ("left_snapshot", OptText),
            ("muted", Bool),
        ],
    },
    Table {
        name: "messages",
        columns: &[
            ("conversation_id", Bytes),
            ("seq", Int8),
            ("id", Bytes),
            ("sender", Bytes),
            ("client_id", Text),
            ("type", Text),
            ("body", Text),
            ("timestamp", Int8),
            ("reply_to", OptInt8),
            ("edited_at", OptInt8),
            ("change_version", Int8),
            ("mentions", OptText),
            ("mention_all", Bool),
            ("reactions", OptText),
        ],
    },
    Table {
        name: "blocks",
        columns: &[("uid", Bytes), ("blocked", Bytes), ("created_at", Int8)],
    },
    Table {
        name: "invites",
        columns: &[
            ("id", Text),
            ("code_hash", Bytes),
            ("uses_left", Int4),
            ("expires_at", OptInt8),
            ("created_at", Int8),
        ],
    },
    Table {
        name: "blobs",
        columns: &[
            ("sha256", Bytes),
            ("size", Int8),
            ("object_key", Text),
            ("kind", Text),
            ("created_at", Int8),
        ],
    },
    Table {
        name: "blob_claims",
        columns: &[("uid", Bytes), ("sha256", Bytes), ("created_at", Int8)],
    },
    Table {
        name: "uploads",
        columns: &[
            ("id", Bytes),
            ("uid", Bytes),
            ("sha256", Bytes),
            ("size", Int8),
            ("received", Int8),
            ("hash_state", OptBytes),
            ("kind", OptText),
            ("lease_token", Int8),
            ("lease_until", Int8),
            ("created_at", Int8),
            ("expires_at", Int8),
        ],
    },
    Table {
        name: "message_blobs",
        columns: &[("sha256", Bytes), ("conversation_id", Bytes), ("seq", Int8)],
    },
    Table {
        name: "server_state",
        columns: &[("key", Text), ("value", Int8)],
    },
];

/// How one table came across.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: &'static str,
    /// Rows copied by this run (a resumed run copies only the rest).
    pub copied: u64,
    /// Rows on each side at the end.
    pub rows: u64,
    /// The order-independent checksum, the same on both sides.
    pub checksum: u64,
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub tables: Vec<TableReport>,
    /// Whether this run continued an interrupted one.
    pub resumed: bool,
    /// The change counter as set on PostgreSQL.
    pub version: u64,
}

/// Stops a migration after this many chunks (tests of resuming).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub chunk_rows: usize,
    pub stop_after_chunks: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            chunk_rows: 2_000,
            stop_after_chunks: None,
        }
    }
}

/// Moves the SQLite database at `from` to the PostgreSQL database at `to` (see the module
/// docs). Blocking.
pub fn migrate(from: &Path, to: &PostgresUrl) -> Result<MigrateReport> {
    migrate_with(from, to, Limits::default())
}

/// [`migrate`] in chunks of `limits.chunk_rows`, stopping early if told to (the error then
/// says it was interrupted; run it again to resume).
pub fn migrate_with(from: &Path, to: &PostgresUrl, limits: Limits) -> Result<MigrateReport> {
    if !from.exists() {
        return Err(Error::Config(format!(
            "there is no database at {}",
            from.display()
        )));
    }
    let _lock = crate::store::DatabaseLock::acquire(from)?;
    // Brought up to date (a file from an older release) by the same migrations a server runs.
    drop(crate::store::open_writer_for_migration(from)?);
    let sqlite = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut client = pg::connect(to.config())?;
    pg::migrate(&mut client)?;
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS migration_progress (
             table_name text PRIMARY KEY,
             last_rowid bigint NOT NULL,
             copied     bigint NOT NULL
         )",
    )?;
    let resumed = client
        .query_one("SELECT count(*) FROM migration_progress", &[])?
        .get::<_, i64>(0)
        > 0;
    if !resumed {
        for table in TABLES {
            let has_rows: bool = client
                .query_one(
                    &format!("SELECT EXISTS (SELECT 1 FROM {})", table.name),
                    &[],
                )?
                .get(0);
            if has_rows {
                return Err(Error::Config(format!(
                    "the PostgreSQL database already holds {} and no migration of this one was \
                     started there: migrate into an empty database",
                    table.name
                )));
            }
        }
    }
    let mut chunks = 0usize;
    let mut copied = Vec::new();
    for table in TABLES {
        let (mut last, mut count) = client
            .query_opt(
                "SELECT last_rowid, copied FROM migration_progress WHERE table_name = $1",
                &[&table.name],
            )?
            .map_or((0i64, 0i64), |r| (r.get(0), r.get(1)));
        let mut this_run = 0u64;
        loop {
            if limits.stop_after_chunks.is_some_and(|n| chunks >= n) {
                return Err(Error::Config(
                    "migration interrupted; run it again to resume".into(),
                ));
            }
            let rows = read_chunk(&sqlite, table, last, limits.chunk_rows)?;
            if rows.is_empty() {
                break;
            }
            let next_last = rows.last().map_or(last, |(rowid, _)| *rowid);
            let mut tx = client.transaction()?;
            insert_chunk(&mut tx, table, &rows)?;
            count += rows.len() as i64;
            tx.execute(
                "INSERT INTO migration_progress (table_name, last_rowid, copied)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (table_name)
                 DO UPDATE SET last_rowid = excluded.last_rowid, copied = excluded.copied",
                &[&table.name, &next_last, &count],
            )?;
            tx.commit()?;
            this_run += rows.len() as u64;
            last = next_last;
            chunks += 1;
        }
        copied.push(this_run);
    }
    let version = crate::store::sqlite_version(&sqlite)?;
    let version_i64 =
        i64::try_from(version).map_err(|_| Error::Corrupt(format!("version {version}")))?;
    client.execute(
        "UPDATE change_counter SET value = GREATEST(value, $1)",
        &[&version_i64],
    )?;
    let mut tables = Vec::new();
    for (table, copied) in TABLES.iter().zip(copied) {
        let (sqlite_rows, sqlite_sum) = sqlite_checksum(&sqlite, table)?;
        let (pg_rows, pg_sum) = pg_checksum(&mut client, table)?;
        if (sqlite_rows, sqlite_sum) != (pg_rows, pg_sum) {
            return Err(Error::Corrupt(format!(
                "{}: SQLite has {sqlite_rows} rows (checksum {sqlite_sum:016x}), PostgreSQL \
                 {pg_rows} ({pg_sum:016x})",
                table.name
            )));
        }
        tables.push(TableReport {
            table: table.name,
            copied,
            rows: sqlite_rows,
            checksum: sqlite_sum,
        });
    }
    Ok(MigrateReport {
        tables,
        resumed,
        version,
    })
}

fn select_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Up to `limit` rows after `after` in rowid order, with their rowids.
fn read_chunk(
    sqlite: &Connection,
    table: &Table,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, Vec<Value>)>> {
    let sql = format!(
        "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        select_list(table),
        table.name
    );
    let mut stmt = sqlite.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params![after, limit as i64])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(table.columns.len());
        for i in 0..table.columns.len() {
            values.push(sqlite_value(row.get_ref(i + 1)?)?);
        }
        out.push((row.get(0)?, values));
    }
    Ok(out)
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>) -> Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|e| Error::Corrupt(format!("text: {e}")))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(r) => return Err(Error::Corrupt(format!("an unexpected real {r}"))),
    })
}

/// One multi-row insert for the chunk.
fn insert_chunk(
    tx: &mut postgres::Transaction<'_>,
    table: &Table,
    rows: &[(i64, Vec<Value>)],
) -> Result<()> {
    let width = table.columns.len();
    let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(rows.len() * width);
    let mut tuples = Vec::with_capacity(rows.len());
    for (_, values) in rows {
        let start = params.len();
        for ((name, kind), value) in table.columns.iter().zip(values) {
            params.push(pg_param(table.name, name, *kind, value)?);
        }
        tuples.push(format!(
            "({})",
            (start + 1..=start + width)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        select_list(table),
        tuples.join(", ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    tx.execute(&sql, &refs)?;
    Ok(())
}

fn pg_param(table: &str, column: &str, kind: Kind, value: &Value) -> Result<Box<dyn ToSql + Sync>> {
    let wrong = || Error::Corrupt(format!("{table}.{column}: unexpected {value:?}"));
    Ok(match (kind, value) {
        (Bytes | OptBytes, Value::Bytes(b)) => Box::new(b.clone()),
        (OptBytes, Value::Null) => Box::new(None::<Vec<u8>>),
        (Text | OptText, Value::Text(t)) => Box::new(t.clone()),
        (OptText, Value::Null) => Box::new(None::<String>),
        (Int8 | OptInt8, Value::Int(n)) => Box::new(*n),
        (OptInt8, Value::Null) => Box::new(None::<i64>),
        (Int4, Value::Int(n)) => Box::new(i32::try_from(*n).map_err(|_| wrong())?),
        (Bool, Value::Int(n)) => Box::new(*n != 0),
        _ => return Err(wrong()),
    })
}

/// Row count and the wrapping sum of each row's hash (its canonical bytes through SHA-256,
/// first 8 bytes): the same whatever order rows are read in.
fn checksum<'a>(rows: impl Iterator<Item = Result<Vec<Value>>> + 'a) -> Result<(u64, u64)> {
    let (mut count, mut sum) = (0u64, 0u64);
    let mut bytes = Vec::new();
    for row in rows {
        bytes.clear();
        for value in row? {
            value.canonical(&mut bytes);
        }
        let digest = Sha256::digest(&bytes);
        sum = sum.wrapping_add(u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")));
        count += 1;
    }
    Ok((count, sum))
}

fn sqlite_checksum(sqlite: &Connection, table: &Table) -> Result<(u64, u64)> {
    let mut stmt = sqlite.prepare(&format!(
        "SELECT {} FROM {}",
        select_list(table),
        table.name
    ))?;
    let width = table.columns.len();
    let mut rows = stmt.query([])?;
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(
            (0..width)
                .map(|i| sqlite_value(row.get_ref(i)?))
                .collect::<Result<Vec<_>>>(),
        );
    }
    checksum(all.into_iter())
}

fn pg_checksum(client: &mut postgres::Client, table: &Table) -> Result<(u64, u64)> {
    let rows = client.query(
        &format!("SELECT {} FROM {}", select_list(table), table.name),
        &[],
    )?;
    checksum(rows.iter().map(|row| {
        table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| pg_value(row, i, *kind))
            .collect::<Result<Vec<_>>>()
    }))
}

fn pg_value(row: &postgres::Row, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Bytes => Value::Bytes(row.try_get::<_, Vec<u8>>(i)?),
        OptBytes => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Bytes),
        Text => Value::Text(row.try_get(i)?),
        OptText => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
        Int8 => Value::Int(row.try_get(i)?),
        OptInt8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Int4 => Value::Int(row.try_get::<_, i32>(i)?.into()),
        Bool => Value::Int(row.try_get::<_, bool>(i)?.into()),
    })
}
