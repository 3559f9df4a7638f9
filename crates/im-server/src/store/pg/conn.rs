//! One blocking PostgreSQL connection with its statements prepared once (the writer's and each
//! reader's).

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use crate::error::Result;

/// A connection used by one thread at a time, and the statements prepared on it.
pub struct PgConn {
    client: RefCell<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("statements", &self.statements.borrow().len())
            .finish_non_exhaustive()
    }
}

impl PgConn {
    /// Wraps a connection to a migrated database ([`super::migrate`]).
    pub fn new(client: Client) -> Self {
        Self {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
        }
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
}
