//! The services start, answer, survive a restart with their data, and clean up.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use im_test_services::{Nats, Postgres};

#[test]
fn postgres_starts_keeps_data_across_a_crash_and_goes_away() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_database("im").unwrap();
    assert!(url.ends_with(&format!(":{}/im", pg.port())), "{url}");
    pg.psql("im", "CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        .unwrap();
    // Killed as a crash would; the committed row is there after recovery.
    pg.kill().unwrap();
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_err());
    assert!(pg.psql("im", "SELECT 1").is_err());
    pg.start_again().unwrap();
    assert_eq!(pg.psql("im", "SELECT x FROM t").unwrap().trim(), "7");
    // An error is reported, not swallowed.
    let err = pg.psql("im", "SELECT * FROM missing").unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    let port = pg.port();
    drop(pg);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn two_clusters_run_side_by_side() {
    let (a, b) = (Postgres::start().unwrap(), Postgres::start().unwrap());
    assert_ne!(a.port(), b.port());
    a.psql("postgres", "CREATE TABLE only_in_a (x int)")
        .unwrap();
    assert!(b.psql("postgres", "SELECT * FROM only_in_a").is_err());
}

/// Connects and reads NATS's INFO greeting, then checks it answers PING.
fn nats_answers(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("INFO {"), "{line}");
    (&stream)
        .write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .unwrap();
    line.clear();
    reader.read_line(&mut line).unwrap();
    line.trim() == "PONG"
}

#[test]
fn nats_starts_stops_and_comes_back_on_its_port() {
    let nats = Nats::start().unwrap();
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{}", nats.port()));
    assert!(nats_answers(nats.port()));
    nats.stop();
    assert!(!nats_answers(nats.port()));
    nats.start_again().unwrap();
    assert!(nats_answers(nats.port()));
    let port = nats.port();
    drop(nats);
    assert!(!nats_answers(port));
}
