//! `im-test-postgres`: starts a throwaway PostgreSQL cluster for a whole test run (or a
//! benchmark), prints the URL of its `postgres` database and the postmaster's pid on one line,
//! and keeps it until its standard input closes (the
//! runner ends, or closes the pipe); then stops it and removes its files. A runner exports the
//! URL as `IM_TEST_POSTGRES`, and each test makes a database of its own there
//! ([`im_test_services::TestDatabase`]) instead of starting a cluster.

use std::io::{Read, Write};

fn main() -> std::process::ExitCode {
    let cluster = match im_test_services::Postgres::start() {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("im-test-postgres: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "{} {}",
        cluster.url("postgres"),
        cluster.postmaster_pid().unwrap_or(0)
    );
    let _ = out.flush();
    let mut sink = [0u8; 64];
    while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
    drop(cluster);
    std::process::ExitCode::SUCCESS
}
