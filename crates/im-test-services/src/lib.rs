//! Throwaway services for tests: a PostgreSQL cluster (`initdb` into a temp dir, `pg_ctl` on a
//! free port, its socket in that dir, no system service) and a `nats-server` on a free port.
//! Each stops and removes its files when dropped; both can be stopped and started again in
//! place, for tests of what happens while a service is down.
//!
//! PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user that
//! Debian's package creates (`runuser`), and the data dir is handed to that user.

mod nats;
mod postgres;
mod test_database;

pub use nats::Nats;
pub use postgres::Postgres;
pub use test_database::{TestDatabase, TestStore, SHARED_CLUSTER, STORE_CHOICE};

/// What can go wrong starting or stopping a service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program the service needs is not installed (see `.ci/setup.sh`).
    #[error("{0} is not installed (apt install {1})")]
    NotInstalled(String, &'static str),
    /// A command ran and failed.
    #[error("{command} failed: {output}")]
    Command {
        /// What was run.
        command: String,
        /// Its stderr and stdout.
        output: String,
    },
    /// The service did not accept connections in time.
    #[error("{0} did not accept connections within {1:?}")]
    NotReady(&'static str, std::time::Duration),
    /// File system or process errors.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// This crate's results.
pub type Result<T> = std::result::Result<T, Error>;

/// A port nothing listens on right now on 127.0.0.1 (the kernel's pick; a service started on it
/// at once almost always gets it, and starts retry on another if not).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until something accepts TCP connections on `port`.
fn wait_for_port(
    what: &'static str,
    port: u16,
    timeout: std::time::Duration,
    mut still_running: impl FnMut() -> bool,
) -> Result<()> {
    let until = std::time::Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() > until || !still_running() {
            return Err(Error::NotReady(what, timeout));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs a command to completion; an error carries its output.
fn run(command: &mut std::process::Command) -> Result<String> {
    let output = command.output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(Error::Command {
            command: format!("{command:?}"),
            output: text,
        })
    }
}
