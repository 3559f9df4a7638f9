//! One blocking PostgreSQL connection with its statements prepared once (the writer's and each
//! reader's), connected again when PostgreSQL dropped it (a restart, a failover): only between
//! transactions, so nothing half-done runs on the new connection.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::error::{Error, Result};

/// A connection used by one thread at a time, and the statements prepared on it.
pub struct PgConn {
    client: RefCell<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
    /// Where to connect again once the connection is lost (`None`: never, as in tests that
    /// hand in a client).
    config: Option<Box<postgres::Config>>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("statements", &self.statements.borrow().len())
            .finish_non_exhaustive()
    }
}

/// Opens a connection to the database `config` names.
pub fn connect(config: &postgres::Config) -> Result<Client> {
    Ok(config.connect(NoTls)?)
}

impl PgConn {
    /// Wraps a connection to a migrated database ([`super::migrate`]).
    pub fn new(client: Client) -> Self {
        Self {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            config: None,
        }
    }

    /// Connects to a migrated database, and again whenever [`Self::reconnect_if_lost`] finds
    /// the connection gone.
    pub fn open(config: &postgres::Config) -> Result<Self> {
        Ok(Self {
            config: Some(Box::new(config.clone())),
            ..Self::new(connect(config)?)
        })
    }

    /// Connects again if PostgreSQL closed the connection (its statements are prepared again
    /// as they are used). Called only outside a transaction.
    pub fn reconnect_if_lost(&self) -> Result<()> {
        let Some(config) = &self.config else {
            return Ok(());
        };
        if !self.client.borrow().is_closed() {
            return Ok(());
        }
        let client = connect(config)?;
        tracing::info!("connected to PostgreSQL again");
        *self.client.borrow_mut() = client;
        self.statements.borrow_mut().clear();
        Ok(())
    }

    /// Runs statements without parameters or results (`BEGIN`, `COMMIT`…).
    pub fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }

    fn prepared(&self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.borrow_mut().prepare(sql)?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let statement = self.prepared(sql)?;
        Ok(self.client.borrow_mut().execute(&statement, params)?)
    }

    /// Runs a query; returns its rows.
    pub fn query(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let statement = self.prepared(sql)?;
        Ok(self.client.borrow_mut().query(&statement, params)?)
    }

    /// Runs a query of at most one row.
    pub fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let statement = self.prepared(sql)?;
        Ok(self.client.borrow_mut().query_opt(&statement, params)?)
    }

    /// Runs statements in one round trip (simple query protocol: no parameters, text
    /// results); returns the first row any of them returned, its values parsed as integers.
    pub fn simple_first_row(&self, sql: &str) -> Result<Option<Vec<i64>>> {
        let messages = self.client.borrow_mut().simple_query(sql)?;
        let Some(row) = messages.iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        }) else {
            return Ok(None);
        };
        (0..row.len())
            .map(|i| {
                row.get(i)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| Error::Corrupt(format!("not an integer: {:?}", row.get(i))))
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Whether the connection is gone (PostgreSQL stopped or dropped it).
    pub fn is_lost(&self) -> bool {
        self.client.borrow().is_closed()
    }
}
