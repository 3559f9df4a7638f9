//! `im-conformance ws://host:port/ws [--only NAME]… [--json FILE]`: runs the conformance kit
//! against a server, prints one line per check and a summary, and exits non-zero if any check
//! failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use im_conformance::{all_checks, coverage, Options, Report};

/// Checks a Gtedx IM server against docs/PROTOCOL.md.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's WebSocket URL, e.g. ws://127.0.0.1:7822/ws.
    url: Option<String>,
    /// Run only this check (`events.message`) or area (`events`); may be repeated.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The longest wait for any one reply, event or close, in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    timeout: u64,
    /// Bytes of messages the slow-reader check (close 1013) sends first to fill the TCP buffers.
    #[arg(long, value_name = "BYTES")]
    slow_reader_fill_bytes: Option<usize>,
    /// Small events it then piles up: more than the server's outbound queue (1024 frames).
    #[arg(long, value_name = "N")]
    slow_reader_frames: Option<usize>,
    /// Another node of the same server (a cluster): the checks' connections go to each node in
    /// turn; may be repeated.
    #[arg(long, value_name = "URL")]
    also: Vec<String>,
    /// List the checks and what they cover, and what cannot be checked remotely, then exit.
    #[arg(long)]
    list: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for check in all_checks() {
            println!("{:<50} {}", check.name, check.covers.join(" "));
        }
        println!("\nnot checkable against a remote server:");
        for (what, why) in coverage::NOT_REMOTE {
            println!("  {what}: {why}");
        }
        return ExitCode::SUCCESS;
    }
    let Some(url) = args.url else {
        eprintln!(
            "im-conformance: give the server's URL, e.g. ws://127.0.0.1:7822/ws (see --help)"
        );
        return ExitCode::from(2);
    };
    let defaults = Options::default();
    let options = Options {
        other_nodes: args.also,
        only: args.only,
        timeout: Duration::from_secs(args.timeout.max(1)),
        slow_reader_fill_bytes: args
            .slow_reader_fill_bytes
            .unwrap_or(defaults.slow_reader_fill_bytes),
        slow_reader_frames: args
            .slow_reader_frames
            .unwrap_or(defaults.slow_reader_frames),
        ..defaults
    };
    if !options.only.is_empty() && !all_checks().iter().any(|c| options.selects(c.name)) {
        eprintln!(
            "im-conformance: --only {:?} selects no check (see --list)",
            options.only
        );
        return ExitCode::from(2);
    }
    let report = im_conformance::run_with(&url, &options, |result| {
        println!("{}", Report::line(result));
    })
    .await;
    if !report.success() {
        println!("\n{}", report.failure_details().trim_end());
    }
    println!("\n{}", report.summary());
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&report.to_json()).expect("JSON");
        if let Err(e) = std::fs::write(&path, json) {
            eprintln!("im-conformance: writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
