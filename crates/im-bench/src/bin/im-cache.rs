//! `im-cache`: how long an app takes to open its disk cache and list the first conversations,
//! with a large cache (default 10k conversations, 1M messages).
//!
//! ```sh
//! cargo run --release -p im-bench --bin im-cache -- --path /var/tmp/big-cache.sqlite3
//! ```
//! The cache is filled on the first run (and reused after). Each measurement opens the file
//! afresh, as an app starting up does, and lists the first `--list` conversations.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use im_bench::median;
use im_proto::Uid;
use im_sdk::{Cache, DiskCache};

/// Disk cache open-and-list benchmark.
#[derive(Debug, Parser)]
struct Args {
    /// The cache file (filled if it does not exist).
    #[arg(long, default_value = "/var/tmp/gtedx-im/bench-cache.sqlite3")]
    path: std::path::PathBuf,
    /// Conversations to fill it with.
    #[arg(long, default_value_t = 10_000)]
    conversations: usize,
    /// Messages to fill it with (spread evenly over the conversations).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Conversations listed per measurement.
    #[arg(long, default_value_t = 50)]
    list: usize,
    /// Measurements.
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Drop the OS page cache before each measurement (needs root): a cold start after boot.
    #[arg(long)]
    cold: bool,
}

fn drop_page_cache() -> Result<()> {
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .map_err(|e| anyhow::anyhow!("--cold needs root to drop the page cache: {e}"))
}

fn fill(args: &Args) -> Result<()> {
    let started = Instant::now();
    let cache = DiskCache::open(&args.path)?;
    let me = Uid::random();
    cache.set_owner(me)?;
    let messages = im_bench::fill_cache(&cache, me, args.conversations, args.messages)?;
    eprintln!(
        "filled {} with {} conversations and {messages} messages in {:.1} s",
        args.path.display(),
        args.conversations,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !args.path.exists() {
        fill(&args)?;
    }
    let size = std::fs::metadata(&args.path)?.len();
    let mut open_ms = Vec::new();
    let mut total_ms = Vec::new();
    for _ in 0..args.runs {
        if args.cold {
            drop_page_cache()?;
        }
        let started = Instant::now();
        let cache = DiskCache::open(&args.path)?;
        let opened = started.elapsed();
        let first = cache.conversations(0, args.list)?;
        let listed = started.elapsed();
        assert_eq!(first.len(), args.list.min(args.conversations));
        let history = cache.messages_before(first[0].conversation.id, u64::MAX, 50)?;
        assert!(!history.is_empty());
        open_ms.push(ms(opened));
        total_ms.push(ms(listed));
    }
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        format!("{lo:.2}–{hi:.2}")
    };
    println!(
        "{} disk cache {:.0} MiB: open median {:.2} ms ({}), open + list first {} median {:.2} ms ({}), {} runs",
        if args.cold { "cold" } else { "warm" },
        size as f64 / 1048576.0,
        median(&mut open_ms.clone()),
        spread(&open_ms),
        args.list,
        median(&mut total_ms.clone()),
        spread(&total_ms),
        args.runs
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
