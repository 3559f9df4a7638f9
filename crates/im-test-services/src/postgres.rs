//! A throwaway PostgreSQL cluster.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{free_port, run, wait_for_port, Error, Result};

/// How long a start may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A PostgreSQL cluster of its own: data, socket and log in a temp dir, listening on
/// 127.0.0.1 on a free port, superuser `postgres` with trust authentication (tests only).
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    /// Makes a new cluster (`initdb`) and starts it.
    pub fn start() -> Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("im-pg-").tempdir()?;
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()))?;
        }
        let mut this = Self {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        run(this
            .command("initdb")
            .arg("-D")
            .arg(this.data())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"]))?;
        // Another process may take the free port between the pick and the start: pick again.
        let mut last = None;
        for _ in 0..3 {
            this.port = free_port()?;
            match this.start_again() {
                Ok(()) => return Ok(this),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three tries"))
    }

    /// The URL of database `name` (`postgres` exists from the start; see [`Self::create_database`]).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(self.url(name))
    }

    /// Runs SQL with `psql` in database `name` and returns what it printed (unaligned, tuples
    /// only), failing on the first error.
    pub fn psql(&self, name: &str, sql: &str) -> Result<String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qAt",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(name)
            .arg("-c")
            .arg(sql)
            .output()?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(Error::Command {
                command: format!("psql -c {sql:?}"),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// The server's main process (the postmaster, whose children are the backends), from its
    /// pid file.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops it, letting it finish cleanly (`pg_ctl stop -m fast`).
    pub fn stop(&self) -> Result<()> {
        self.pg_ctl_stop("fast")
    }

    /// Stops it as a crash would (`pg_ctl stop -m immediate`: no checkpoint, recovery on the
    /// next start).
    pub fn kill(&self) -> Result<()> {
        self.pg_ctl_stop("immediate")
    }

    /// Starts it again on the same port, with the same data.
    pub fn start_again(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("postgres.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]))?;
        wait_for_port("PostgreSQL", self.port, START_TIMEOUT, || true)
    }

    fn pg_ctl_stop(&self, mode: &str) -> Result<()> {
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", mode, "stop"]))
        .map(drop)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A PostgreSQL server program, as the `postgres` user when this process is root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self.pg_ctl_stop("immediate");
        }
    }
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of `PATH`, in
/// `/usr/lib/postgresql/<major>/bin`); `IM_TEST_PG_BIN` overrides.
fn bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("IM_TEST_PG_BIN") {
        return Ok(dir.into());
    }
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major);
    newest
        .map(|(_, bin)| bin)
        .ok_or_else(|| Error::NotInstalled("PostgreSQL (initdb)".into(), "postgresql"))
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
