//! `im-chaos`: the chaos run (see the `im_chaos` crate docs). Prints a summary, writes the JSON
//! report with `--json`, and exits 1 unless every message came through intact.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = im_chaos::scenario::Options::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("im_chaos=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let json = options.json.clone();
    // On SIGINT or SIGTERM the run is dropped, which SIGKILLs the server and the senders (their
    // handles kill on drop) instead of leaving them running.
    let finished = tokio::select! {
        report = im_chaos::scenario::run(options) => Some(report),
        _ = interrupted() => None,
    };
    let Some(report) = finished else {
        eprintln!("im-chaos: interrupted; the server and the senders were stopped");
        std::process::exit(130);
    };
    let report = report?;
    print!("{}", report.summary());
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("report: {}", path.display());
    }
    if !report.passed {
        std::process::exit(1);
    }
    Ok(())
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
