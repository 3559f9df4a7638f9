//! A PostgreSQL database of its own for one test: on the cluster a test runner started once for
//! the whole suite (`IM_TEST_POSTGRES`, see the `im-test-postgres` program), or else on a
//! cluster started for this test alone; and [`TestStore`], the store a test server runs on
//! (`IM_TEST_STORE`: an SQLite file, or such a database).

use std::path::Path;
use std::process::Command;

use crate::{Error, Postgres, Result};

/// The variable naming a running cluster's `postgres` database
/// (`postgres://postgres@127.0.0.1:PORT/postgres`) that tests make their databases on.
pub const SHARED_CLUSTER: &str = "IM_TEST_POSTGRES";

/// An empty database, dropped with this (and its cluster too when it was started for it).
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
    /// The cluster started for this database alone (`None` on a shared one).
    own: Option<Postgres>,
}

impl TestDatabase {
    /// Creates a database with a fresh name on the shared cluster, or starts a cluster of its
    /// own when none is shared.
    pub fn create() -> Result<Self> {
        let name = format!(
            "test_{}_{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        match std::env::var(SHARED_CLUSTER) {
            Ok(admin_url) if !admin_url.is_empty() => {
                psql(&admin_url, &format!("CREATE DATABASE \"{name}\""))?;
                let server = admin_url.rsplit_once('/').map_or(&*admin_url, |(s, _)| s);
                let url = format!("{server}/{name}");
                Ok(Self {
                    url,
                    name,
                    admin_url,
                    own: None,
                })
            }
            _ => {
                let cluster = Postgres::start()?;
                let url = cluster.create_database(&name)?;
                Ok(Self {
                    url,
                    admin_url: cluster.url("postgres"),
                    name,
                    own: Some(cluster),
                })
            }
        }
    }

    /// Its URL (`postgres://postgres@127.0.0.1:PORT/NAME`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster it lives on, when it was started for this database alone (tests that stop
    /// PostgreSQL need one of their own).
    pub fn own_cluster(&self) -> Option<&Postgres> {
        self.own.as_ref()
    }

    /// Runs SQL in this database with `psql` and returns what it printed.
    pub fn psql(&self, sql: &str) -> Result<String> {
        psql(&self.url, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.own.is_none() {
            let _ = psql(
                &self.admin_url,
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            );
        }
    }
}

/// The variable choosing the store test servers run on: `postgres`, or anything else (or
/// nothing) for SQLite.
pub const STORE_CHOICE: &str = "IM_TEST_STORE";

/// Where a test server keeps its state: an SQLite file in the test's temp dir, or — with
/// `IM_TEST_STORE=postgres` — a PostgreSQL database of its own ([`TestDatabase`]).
#[derive(Debug)]
pub struct TestStore {
    database: String,
    postgres: Option<TestDatabase>,
}

impl TestStore {
    /// The store chosen by `IM_TEST_STORE`, an SQLite file being `dir/im.sqlite3`.
    pub fn in_dir(dir: &Path) -> Result<Self> {
        if Self::postgres_chosen() {
            let db = TestDatabase::create()?;
            Ok(Self {
                database: db.url().to_owned(),
                postgres: Some(db),
            })
        } else {
            Ok(Self {
                database: dir.join("im.sqlite3").display().to_string(),
                postgres: None,
            })
        }
    }

    /// Whether the tests run on PostgreSQL.
    pub fn postgres_chosen() -> bool {
        std::env::var(STORE_CHOICE).is_ok_and(|s| s == "postgres")
    }

    /// What the server's `--database` takes: the SQLite file's path or the database's URL.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The PostgreSQL database, when on PostgreSQL.
    pub fn postgres(&self) -> Option<&TestDatabase> {
        self.postgres.as_ref()
    }
}

/// Runs SQL with `psql` on a database URL (unaligned, tuples only), failing on the first error.
fn psql(url: &str, sql: &str) -> Result<String> {
    let output = Command::new("psql")
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotInstalled("psql".into(), "postgresql-client"),
            _ => e.into(),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: format!("psql -c {sql:?}"),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_of_its_own_is_empty_and_gone_afterwards() {
        let db = TestDatabase::create().unwrap();
        assert_eq!(
            db.psql("SELECT current_database()").unwrap().trim(),
            db.name
        );
        assert_eq!(
            db.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                .unwrap()
                .trim(),
            "0"
        );
        let (admin, name) = (db.admin_url.clone(), db.name.clone());
        let shared = db.own.is_none();
        drop(db);
        if shared {
            let left = psql(
                &admin,
                &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
            )
            .unwrap();
            assert_eq!(left.trim(), "0", "dropped from the shared cluster");
        }
    }
}
