//! The fuzzer in bounded mode, as CI runs it: 20,000 frames from the real `im-wire-fuzz` binary
//! against the real `im-server` binary, then the verdict and proof that the attack really reached
//! the server (many distinct error codes, several close codes, broken handshakes answered, and
//! requests that succeeded).
//!
//! Finding `im-server`: Cargo builds only this package's binaries for its tests, so the test
//! builds `im-server` itself with `cargo build -p im-server --bin im-server` into the same target
//! folder and profile as this test (a no-op when it is up to date; cargo's lock is free while
//! tests run). `IM_SERVER_BIN=/path/to/im-server` skips that and uses the given binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The folder holding this test's binaries (`…/target/debug` or `…/target/release`).
fn profile_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_im-wire-fuzz"))
        .parent()
        .expect("the binary lives in a folder")
        .to_owned()
}

/// A freshly built `im-server` next to `im-wire-fuzz`.
fn im_server() -> PathBuf {
    if let Some(path) = std::env::var_os("IM_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let dir = profile_dir();
    let target_dir = dir.parent().expect("a target folder");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    // The manifest folder as cargo gives it when running the test: the one baked in at compile
    // time may be another checkout's, when the target folder is shared (CI reuses one).
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    build
        .current_dir(manifest_dir)
        .args([
            "build",
            "-p",
            "im-server",
            "--bin",
            "im-server",
            "--target-dir",
        ])
        .arg(target_dir);
    if dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo build -p im-server");
    assert!(status.success(), "cargo build -p im-server failed");
    let binary = dir.join("im-server");
    assert!(binary.is_file(), "no im-server at {}", binary.display());
    binary
}

fn numbers(map: &Value) -> BTreeMap<String, u64> {
    map.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_server_survives_twenty_thousand_mutated_frames() {
    let server = im_server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let seed = std::env::var("IM_WIRE_FUZZ_SEED").unwrap_or_else(|_| "20261130".into());
    let output = Command::new(env!("CARGO_BIN_EXE_im-wire-fuzz"))
        .args(["--frames", "20000", "--connections", "8", "--seed", &seed])
        .arg("--server-bin")
        .arg(&server)
        .arg("--work-dir")
        .arg(dir.path().join("server"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("running im-wire-fuzz");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("no summary ({e}): {stderr}")),
    )
    .unwrap();

    // The verdict: alive, no panic, a normal client served, no finding.
    assert_eq!(summary["server_alive"], true, "the server died");
    assert_eq!(
        summary["log"]["panic_count"], 0,
        "{}",
        summary["log"]["panics"]
    );
    assert!(
        summary["normal_client"].get("Ok").is_some(),
        "normal client: {}",
        summary["normal_client"]
    );
    assert_eq!(summary["failures"], serde_json::json!([]));
    assert!(output.status.success(), "im-wire-fuzz failed: {stdout}");

    // The attack really happened and reached deep into the server.
    assert!(summary["frames"].as_u64().unwrap() >= 20_000);
    assert!(
        summary["connections"].as_u64().unwrap() >= 20,
        "reconnected as closed"
    );
    let errors = numbers(&summary["errors"]);
    for code in [
        "malformed_frame",
        "invalid_params",
        "unknown_op",
        "frame_too_large",
        "not_member",
        "unauthenticated",
        "already_signed_in",
    ] {
        assert!(
            errors.contains_key(code),
            "no {code} reply; errors: {errors:?}"
        );
    }
    assert!(
        errors.len() >= 12,
        "only {} distinct error codes: {errors:?}",
        errors.len()
    );
    // Codes the server chose (not 1005, the echo of a close frame without a code).
    let server_closes: Vec<String> = numbers(&summary["closes"])
        .into_keys()
        .filter(|k| k.parse::<u16>().is_ok_and(|c| c != 1005))
        .collect();
    assert!(
        server_closes.len() >= 2,
        "the server closed with fewer than two codes: {}",
        summary["closes"]
    );
    assert!(
        !numbers(&summary["http_statuses"]).is_empty(),
        "no broken handshake was answered"
    );
    // Valid requests succeeded too: messages were stored and delivered as events.
    assert!(summary["results"].as_u64().unwrap() >= 1000);
    let events = numbers(&summary["events"]);
    assert!(
        events.contains_key("message"),
        "no message event: {events:?}"
    );
    let attacks = numbers(&summary["attacks"]);
    for kind in [
        "binary",
        "fragmented",
        "frame_over_limit",
        "valid",
        "bit_flip",
    ] {
        assert!(attacks.contains_key(kind), "no {kind} attack: {attacks:?}");
    }
}
