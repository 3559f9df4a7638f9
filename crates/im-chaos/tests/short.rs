//! The short chaos run (the CI mode: the defaults, 10 server kills and 5 sender kills) through the
//! real binaries: `im-chaos`, which runs `im-server` and `im-chaos-sender` from the same target
//! folder; once on one node (SQLite), once on a cluster of three nodes (PostgreSQL + NATS, a
//! random node killed each time). Build the server first: `cargo build -p im-chaos -p im-server` (cargo cannot build
//! another package's binary for this test); the test says so if it is missing.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// An upper bound against hangs; the run itself takes under a minute or two.
const HANG_LIMIT: Duration = Duration::from_secs(15 * 60);
const SERVER_KILLS: u64 = 10;
const SENDER_KILLS: u64 = 5;

#[tokio::test(flavor = "multi_thread")]
async fn no_acknowledged_message_is_lost_duplicated_or_reordered_under_chaos() {
    run_chaos(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nor_on_a_cluster_of_three_nodes_killed_at_random() {
    run_chaos(3).await;
}

async fn run_chaos(nodes: usize) {
    let chaos = PathBuf::from(env!("CARGO_BIN_EXE_im-chaos"));
    let server = chaos.with_file_name("im-server");
    assert!(
        server.is_file(),
        "{} is missing: build it with `cargo build -p im-chaos -p im-server` before this test",
        server.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let (stdout_path, stderr_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = tokio::process::Command::new(&chaos)
        .arg("--server-kills")
        .arg(SERVER_KILLS.to_string())
        .arg("--sender-kills")
        .arg(SENDER_KILLS.to_string())
        .arg("--json")
        .arg(&json)
        .arg("--server-bin")
        .arg(&server)
        .arg("--nodes")
        .arg(nodes.to_string())
        .env("RUST_LOG", "im_chaos=info")
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let status = match tokio::time::timeout(HANG_LIMIT, child.wait()).await {
        Ok(status) => status.unwrap(),
        Err(_) => {
            // SIGTERM first: im-chaos then stops the server and the senders it started.
            stop(&child);
            let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
            panic!(
                "im-chaos hung\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let context = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("no report ({e})\n{context}")),
    )
    .unwrap();
    let number = |path: &str| -> u64 {
        report
            .pointer(path)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("{path} missing from the report\n{context}"))
    };

    // The promise.
    for path in [
        "/findings/lost",
        "/findings/duplicated",
        "/findings/out_of_order",
        "/findings/seq_gaps",
        "/findings/view_mismatches",
        "/findings/ack_mismatches",
        "/findings/unknown_messages",
        "/findings/refused",
        "/findings/unacked_raw",
    ] {
        assert_eq!(number(path), 0, "{path}\n{context}");
    }
    // And it was tested: the chaos happened and messages went through it.
    assert!(number("/chaos/server_kills") >= SERVER_KILLS, "{context}");
    assert!(number("/restart/count") >= SERVER_KILLS, "{context}");
    assert!(number("/chaos/sender_kills") >= SENDER_KILLS, "{context}");
    assert!(number("/findings/acked_raw") > 0, "{context}");
    assert!(number("/findings/enqueued_sdk") > 0, "{context}");
    assert_eq!(
        number("/findings/stored"),
        number("/findings/acked_raw") + number("/findings/enqueued_sdk"),
        "everything stored was acked or enqueued, once\n{context}"
    );
    assert_eq!(number("/senders_drained"), 3, "{context}");
    assert_eq!(
        report.pointer("/options/nodes").and_then(Value::as_u64),
        Some(nodes as u64),
        "{context}"
    );
    assert_eq!(report["passed"], Value::Bool(true), "{context}");
    assert!(status.success(), "{status}\n{context}");
}

#[cfg(unix)]
fn stop(child: &tokio::process::Child) {
    use rustix::process::{kill_process, Pid, Signal};
    if let Some(pid) = child.id().and_then(|id| Pid::from_raw(id as i32)) {
        let _ = kill_process(pid, Signal::TERM);
    }
}

#[cfg(not(unix))]
fn stop(_child: &tokio::process::Child) {}
