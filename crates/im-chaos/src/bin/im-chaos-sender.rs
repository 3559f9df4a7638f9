//! `im-chaos-sender`: one SDK sender process of an im-chaos run (see `im_chaos::sdk_sender`).
//! im-chaos starts, SIGKILLs and restarts it; it is not meant to be run by hand.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

// One thread on purpose: see `im_chaos::sdk_sender` (a kill between enqueue and its log line
// must leave the message in the outbox).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let options = im_chaos::sdk_sender::SenderOptions::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    im_chaos::sdk_sender::run(options).await
}
