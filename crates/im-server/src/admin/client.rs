//! `im-server admin …`: carries out an admin operation on a server's database — through the
//! running server's admin listener when one answers (its live connections are signed out at
//! once), otherwise on the database files directly, holding the lock a server would hold.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use im_proto::ErrorBody;

use super::api::{execute, AdminRequest, AdminResponse};
use super::token::{read_token, token_path};
use crate::config::Database;
use crate::error::{Error, Result};
use crate::store::DatabaseLock;

/// Where an operation was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// The running server, through its admin listener.
    Server(SocketAddr),
    /// The database files (no server was running).
    Database,
}

/// The admin API's path on the admin listener.
pub const ADMIN_PATH: &str = "/admin/v1";

/// Carries out `request` on the server whose database is `database` and whose admin listener
/// is `admin_listen` (if it has one). Blocking.
pub fn administer(
    database: impl Into<Database>,
    admin_listen: Option<SocketAddr>,
    request: AdminRequest,
) -> Result<(Reached, AdminResponse)> {
    let database = database.into();
    let token_file = token_path(&database, admin_listen);
    if let (Some(address), Some(token)) = (admin_listen, read_token(&token_file)?) {
        match through_listener(address, token.expose(), &token_file, &request) {
            Ok(response) => return Ok((Reached::Server(address), response)),
            Err(Unreached::Refused) => {}
            Err(Unreached::Failed(e)) => return Err(e),
        }
    }
    // No server answered: work on the files, unless a server holds them after all. (On
    // PostgreSQL there is no file to hold: other nodes may run, and the change goes through
    // this process's writer like theirs.)
    let lock = match &database {
        Database::Sqlite(path) => {
            let lock = DatabaseLock::acquire(path).map_err(|e| match e {
                Error::Config(_) => Error::Config(format!(
                    "a server runs on {} but its admin listener does not answer at {}: pass \
                     the server's --admin-listen (or its --config)",
                    path.display(),
                    admin_listen.map_or("(none)".into(), |a| a.to_string())
                )),
                e => e,
            })?;
            if !path.exists() {
                return Err(Error::Config(format!(
                    "there is no database at {} (pass the server's --database or --config)",
                    path.display()
                )));
            }
            Some(lock)
        }
        Database::Postgres(_) => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Opened outside the runtime: the PostgreSQL client runs its own.
    let config = crate::Config::new(([127, 0, 0, 1], 0).into(), database);
    let store = crate::store::Store::open(
        &config,
        Arc::new(crate::hub::Hub::new()),
        &crate::fatal::Fatal::default(),
        Default::default(),
        None,
    )?;
    let response = runtime.block_on(async {
        let passwords = crate::auth::Passwords::new(1)?;
        let response = execute(&store, &passwords, request).await;
        store.stop_writer().await;
        response
    });
    drop(lock);
    Ok((Reached::Database, response?))
}

enum Unreached {
    /// Nothing listens there: no server runs.
    Refused,
    Failed(Error),
}

fn through_listener(
    address: SocketAddr,
    token: &str,
    token_file: &Path,
    request: &AdminRequest,
) -> std::result::Result<AdminResponse, Unreached> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let response = agent
        .post(&format!("http://{address}{ADMIN_PATH}"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(request);
    let mut response = match response {
        Ok(response) => response,
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Unreached::Refused)
        }
        Err(e) => {
            return Err(Unreached::Failed(Error::Config(format!(
                "the admin listener at {address} did not answer: {e}"
            ))))
        }
    };
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Unreached::Failed(Error::Config(format!("reading the answer: {e}"))))?;
    let unexpected = |e: serde_json::Error| {
        Unreached::Failed(Error::Config(format!(
            "the admin listener at {address} answered {status} with something unexpected ({e}): {body}"
        )))
    };
    match status {
        200 => serde_json::from_str(&body).map_err(unexpected),
        401 => Err(Unreached::Failed(Error::Config(format!(
            "the server at {address} refused the admin token from {}: it belongs to another \
             server (pass that server's --database and --admin-listen, or its --config)",
            token_file.display()
        )))),
        _ => {
            let refusal: ErrorBody = serde_json::from_str(&body).map_err(unexpected)?;
            Err(Unreached::Failed(Error::Refused(refusal)))
        }
    }
}
