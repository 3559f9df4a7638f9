//! `im-wire-fuzz`: attacks a live `im-server` over real WebSockets with mutated valid frames,
//! then proves it survived (process alive, no panic in its log, a normal client served
//! correctly). Exits non-zero on any failure.

mod attack;
mod client;
mod generate;
mod mutate;
mod report;
mod server;
mod stats;
mod verify;
mod world;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::report::Summary;
use crate::server::{Launch, ServerProcess};
use crate::stats::Stats;

/// Attacks an im-server with mutated protocol frames over real WebSockets and checks that it
/// survived.
#[derive(Debug, Parser)]
#[command(name = "im-wire-fuzz", version, about)]
struct Cli {
    /// Frames to send in all (WebSocket frames and raw chunks).
    #[arg(long, default_value_t = 100_000)]
    frames: u64,
    /// Concurrent connections (each reconnects whenever its connection ends).
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// RNG seed; printed at start and in the report. Default: a random one.
    #[arg(long)]
    seed: Option<u64>,
    /// Fraction of requests that are mutated; the rest go out valid.
    #[arg(long, default_value_t = 0.7)]
    mutate_ratio: f64,
    /// Attack an already running server at this URL (ws://HOST:PORT/ws) instead of starting
    /// one. Only loopback targets are allowed.
    #[arg(long, requires = "log_file")]
    url: Option<String>,
    /// With --url: the running server's log file (scanned for panics from its current end).
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// The im-server binary to start. Default: `im-server` next to this executable.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Log filter for the started server.
    #[arg(long, default_value = "info,im_server=debug")]
    server_log: String,
    /// `--max-frame-bytes` of the started server (small, so frames above it are cheap to send).
    #[arg(long, default_value_t = 16 * 1024)]
    max_frame_bytes: usize,
    /// `--requests-per-second` of the started server (per connection).
    #[arg(long, default_value_t = 2000)]
    server_rps: u32,
    /// `--request-burst` of the started server (per connection).
    #[arg(long, default_value_t = 400)]
    server_burst: u32,
    /// `--max-members` of the started server (small enough that a list one over it still fits
    /// in a frame).
    #[arg(long, default_value_t = 100)]
    max_members: usize,
    /// Accounts to set up (at least 6), besides two decoys.
    #[arg(long, default_value_t = 6)]
    accounts: usize,
    /// Extra session tokens per account made during set-up.
    #[arg(long, default_value_t = 3)]
    tokens: usize,
    /// Longest wait for a reply before the server counts as hung, in seconds.
    #[arg(long, default_value_t = 60)]
    reply_timeout: u64,
    /// Connect every fuzzing connection from 127.0.0.1 instead of one loopback address each.
    #[arg(long)]
    single_source: bool,
    /// Folder for the started server's database and log (default: a temporary folder, removed
    /// after a successful run).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(run(cli))?;
    print!("{}", summary.render());
    if !summary.ok {
        std::process::exit(1);
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<Summary> {
    let seed = cli.seed.unwrap_or_else(rand::random);
    println!("im-wire-fuzz: seed {seed} (reproduce with --seed {seed})");
    // The started server, and the temporary folder it lives in (kept if the run fails).
    let mut temp = None;
    let (mut server, url, log_path) = match &cli.url {
        Some(url) => {
            let log = cli.log_file.clone().context("--url needs --log-file")?;
            (None, url.clone(), log)
        }
        None => {
            let dir = match &cli.work_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)?;
                    dir.clone()
                }
                None => {
                    let t = tempfile::Builder::new().prefix("im-wire-fuzz-").tempdir()?;
                    let path = t.path().to_owned();
                    temp = Some(t);
                    path
                }
            };
            let launch = Launch {
                binary: cli
                    .server_bin
                    .clone()
                    .unwrap_or_else(server::default_binary),
                dir,
                log_filter: cli.server_log.clone(),
                max_frame_bytes: cli.max_frame_bytes,
                requests_per_second: cli.server_rps,
                request_burst: cli.server_burst,
                max_members: cli.max_members,
            };
            let process = ServerProcess::start(&launch)?;
            println!(
                "started {} (pid {}) at {}, log {}",
                launch.binary.display(),
                process.pid(),
                process.url,
                process.log.display()
            );
            let (url, log) = (process.url.clone(), process.log.clone());
            (Some(process), url, log)
        }
    };
    let addr = client::server_addr(&url).await?;
    if !addr.ip().is_loopback() {
        bail!("refusing to attack {addr}: only loopback servers may be fuzzed");
    }
    let log_from = server::log_len(&log_path);

    let world = world::World::build(
        &url,
        attack::setup_source(addr),
        seed,
        cli.accounts,
        cli.tokens,
    )
    .await
    .context("setting up accounts and conversations")?;
    println!(
        "set up {} accounts, {} conversations ({}), {} messages; limits: max_frame_bytes {}, {} requests/s, burst {}",
        world.accounts.len(),
        world.conversations.len(),
        world.census(),
        world.message_ids.len(),
        world.limits.max_frame_bytes,
        world.limits.requests_per_second,
        world.limits.request_burst
    );
    let world = Arc::new(world);
    let rss_before = server.as_ref().and_then(ServerProcess::rss_bytes);
    let server_pid = server.as_ref().map(ServerProcess::pid);
    let cpu_before = server_pid.and_then(server::cpu_seconds);

    let stats = Arc::new(Stats::default());
    let plan = attack::Plan {
        url: url.clone(),
        addr,
        connections: cli.connections,
        frames: cli.frames,
        seed,
        mutate_ratio: cli.mutate_ratio.clamp(0.0, 1.0),
        reply_timeout: Duration::from_secs(cli.reply_timeout),
        spread_sources: !cli.single_source,
    };
    println!(
        "attacking with {} frames over {} connections…",
        plan.frames, plan.connections
    );
    let started = Instant::now();
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress = tokio::spawn(report_progress(
        stats.clone(),
        server.as_ref().map(ServerProcess::pid),
        samples.clone(),
    ));
    attack::run(&plan, world, stats.clone()).await?;
    progress.abort();
    let seconds = started.elapsed().as_secs_f64();

    // The verdict.
    let rss_after = server.as_ref().and_then(ServerProcess::rss_bytes);
    let server_cpu_seconds = server_pid
        .and_then(server::cpu_seconds)
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let exit = server.as_mut().and_then(ServerProcess::exited);
    let server_alive = server.as_ref().map(|_| exit.is_none());
    let normal_client = if server_alive == Some(false) {
        Err("not tried: the server is dead".to_owned())
    } else {
        let tag = format!("{:08x}", rand::random::<u32>());
        verify::normal_client(&url, attack::verify_source(addr), &tag)
            .await
            .map_err(|e| format!("{e:#}"))
    };
    // Stop the server gracefully before reading its log, so that everything is flushed.
    let exit = match server.take() {
        Some(process) => Some(exit.map_or_else(
            || process.stop(Duration::from_secs(15)).map(|s| s.to_string()),
            |s| Ok(s.to_string()),
        )?),
        None => None,
    };
    let log = server::scan_log(&log_path, log_from)?;
    let tally = stats.tally();
    let frames = Stats::get(&stats.frames);
    let mut summary = Summary {
        ok: false,
        failures: Vec::new(),
        seed,
        url,
        server_log: log_path.display().to_string(),
        concurrency: plan.connections,
        frames,
        bytes: Stats::get(&stats.bytes),
        requests: Stats::get(&stats.requests),
        results: Stats::get(&stats.results),
        error_replies: tally.errors.values().sum(),
        connections: Stats::get(&stats.connections),
        raw_connections: Stats::get(&stats.raw_connections),
        pongs: Stats::get(&stats.pongs),
        seconds,
        frames_per_second: frames as f64 / seconds.max(1e-9),
        tally,
        server_alive,
        server_exit: if server_alive == Some(false) {
            exit
        } else {
            None
        },
        rss_before,
        rss_after,
        server_cpu_seconds,
        memory_samples: samples.lock().expect("samples").clone(),
        log,
        normal_client,
    };
    summary.judge();
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(t) = temp {
        if summary.ok {
            drop(t);
        } else {
            let kept = t.keep();
            println!("kept {} for inspection", kept.display());
        }
    }
    Ok(summary)
}

/// A line every 10 seconds while the attack runs, with the server's memory.
async fn report_progress(
    stats: Arc<Stats>,
    pid: Option<u32>,
    samples: Arc<std::sync::Mutex<Vec<report::Sample>>>,
) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    loop {
        tick.tick().await;
        let seconds = started.elapsed().as_secs_f64();
        let frames = Stats::get(&stats.frames);
        let rss = pid.and_then(server::rss_bytes);
        println!(
            "  {seconds:>5.0} s: {frames} frames ({:.0}/s), {} connections{}",
            frames as f64 / seconds,
            Stats::get(&stats.connections),
            rss.map_or(String::new(), |r| format!(
                ", server RSS {:.1} MiB",
                r as f64 / 1048576.0
            ))
        );
        samples.lock().expect("samples").push(report::Sample {
            seconds,
            frames,
            rss,
        });
    }
}
