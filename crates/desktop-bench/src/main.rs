//! `im-desktop-bench`: how long the Gtedx IM desktop app takes from launch to its conversation
//! list on screen (with a saved session and a large cache, before the network answers), and how
//! much memory all its processes use, beside an empty Tauri 2 app measured the same way.
//!
//! ```sh
//! .ci/bench-desktop          # builds both apps (release) and runs this inside .ci/desktop-env
//! IM_DESKTOP_BENCH_LOG=/tmp/apps.log .ci/bench-desktop --runs 3   # also keep the apps' debug logs
//! ```
//!
//! "Ready" is the moment the UI has painted its first screen: both apps call `ui_ready` after two
//! animation frames, which appends the milliseconds since their `main` to `$GTEDX_READY_FILE`.
//! This program also times from `spawn()` to that line appearing (wall clock, including process
//! start-up and dynamic linking). Memory is the sum of PSS (`/proc/PID/smaps_rollup`) over the
//! app and every process under it (WebKit's web and network processes), after it settles.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use im_bench::{median, pss_bytes};
use im_sdk::{Cache, DiskCache, Secret, Session};

/// Desktop start-up and memory benchmark (run inside `.ci/desktop-env`).
#[derive(Debug, Parser)]
struct Args {
    /// The Gtedx IM binary.
    #[arg(long)]
    app: PathBuf,
    /// The empty Tauri app binary.
    #[arg(long)]
    empty: PathBuf,
    /// Conversations in the cache.
    #[arg(long, default_value_t = 10_000)]
    conversations: usize,
    /// Messages in the cache.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Launches of each app.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Drop the OS page cache before each launch (needs root): a cold start after boot.
    #[arg(long)]
    cold: bool,
    /// How long to let an app settle after "ready" before measuring its memory.
    #[arg(long, default_value_t = 2000)]
    settle_ms: u64,
}

struct Launch {
    wall_ms: f64,
    internal_ms: f64,
    pss_mib: f64,
    processes: usize,
    /// Each process's name and PSS in MiB.
    by_process: Vec<(String, f64)>,
}

fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let ppid = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        parents.push((pid, ppid));
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

fn stop(mut child: Child) {
    let tree = descendants(child.id());
    for pid in tree.iter().rev() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in tree {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.wait();
}

fn drop_page_cache() -> Result<()> {
    Command::new("sync").status()?;
    std::fs::write("/proc/sys/vm/drop_caches", "3").context("--cold needs root")
}

fn launch(binary: &Path, args: &[&str], settle: Duration, cold: bool) -> Result<Launch> {
    let ready = std::env::temp_dir().join(format!("gtedx-ready-{}", std::process::id()));
    let _ = std::fs::remove_file(&ready);
    if cold {
        drop_page_cache()?;
    }
    let started = Instant::now();
    // With IM_DESKTOP_BENCH_LOG set to a file, the apps' debug logs (among them the page's
    // start-up marks) are appended to it.
    let (log_level, stderr) = match std::env::var_os("IM_DESKTOP_BENCH_LOG") {
        Some(path) => (
            "warn,gtedx_im=debug",
            Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        ),
        None => ("warn", Stdio::null()),
    };
    let child = Command::new(binary)
        .args(args)
        .env("GTEDX_READY_FILE", &ready)
        .env("GTEDX_LOG", log_level)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("launching {}", binary.display()))?;
    let internal_ms = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            if let Some(line) = text.lines().next() {
                break line.trim().parse::<f64>()?;
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            stop(child);
            bail!("{} never reported ready", binary.display());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    std::thread::sleep(settle);
    let tree = descendants(child.id());
    let by_process: Vec<(String, f64)> = tree
        .iter()
        .filter_map(|p| {
            let bytes = pss_bytes(*p).ok()?;
            let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            Some((name.trim().to_owned(), bytes as f64 / 1048576.0))
        })
        .collect();
    let pss: u64 = tree.iter().filter_map(|p| pss_bytes(*p).ok()).sum();
    stop(child);
    let _ = std::fs::remove_file(&ready);
    Ok(Launch {
        wall_ms,
        internal_ms,
        pss_mib: pss as f64 / 1048576.0,
        processes: tree.len(),
        by_process,
    })
}

/// A saved session and a filled cache for the profile `bench`, as if the user had used the app.
fn prepare_profile(args: &Args) -> Result<()> {
    let profile = gtedx_im::Profile::named("bench").map_err(anyhow::Error::msg)?;
    let data_home =
        std::env::var_os("XDG_DATA_HOME").context("run inside .ci/desktop-env (XDG_DATA_HOME)")?;
    let identifier = profile.identifier("im.gtedx.desktop");
    let user = im_sdk::User {
        uid: im_sdk::Uid::random(),
        username: "bench".into(),
        display_name: "Bench".into(),
    };
    let cache_path = PathBuf::from(data_home)
        .join(identifier)
        .join("accounts")
        .join(user.uid.to_string())
        .join("cache.sqlite3");
    let started = Instant::now();
    let cache = DiskCache::open(&cache_path)?;
    cache.set_owner(user.uid)?;
    cache.put_users(std::slice::from_ref(&user))?;
    let messages = im_bench::fill_cache(&cache, user.uid, args.conversations, args.messages)?;
    drop(cache);
    gtedx_im::Credentials::new(profile.keyring_service())
        .save(&Session {
            // Nothing listens there: the app starts offline, so the figure is the cache's.
            server_url: "ws://127.0.0.1:9/ws".into(),
            user,
            token: Secret::new("0".repeat(64)),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "prepared profile 'bench': {} conversations, {messages} messages, {:.0} MiB cache, in {:.1} s",
        args.conversations,
        std::fs::metadata(&cache_path)?.len() as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Summary {
    wall: f64,
    internal: f64,
    pss: f64,
    line: String,
}

fn summarize(name: &str, launches: &[Launch]) -> Summary {
    let col = |f: fn(&Launch) -> f64| launches.iter().map(f).collect::<Vec<f64>>();
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::MAX, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{lo:.0}–{hi:.0}")
    };
    let (wall, internal, pss) = (
        col(|l| l.wall_ms),
        col(|l| l.internal_ms),
        col(|l| l.pss_mib),
    );
    let s = Summary {
        wall: median(&mut wall.clone()),
        internal: median(&mut internal.clone()),
        pss: median(&mut pss.clone()),
        line: String::new(),
    };
    let last_by_process = launches.last().map_or(String::new(), |l| {
        l.by_process
            .iter()
            .map(|(name, mib)| format!("{name} {mib:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let line = format!(
        "{name}: ready {:.0} ms median ({}) from spawn, {:.0} ms ({}) from main; memory {:.1} MiB PSS median ({}) over {} processes (last run, MiB: {last_by_process}); {} runs",
        s.wall,
        spread(&wall),
        s.internal,
        spread(&internal),
        s.pss,
        spread(&pss),
        launches.last().map_or(0, |l| l.processes),
        launches.len()
    );
    Summary { line, ..s }
}

fn main() -> Result<()> {
    let args = Args::parse();
    for var in ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"] {
        if std::env::var_os(var).is_none() {
            bail!("{var} is not set: run through .ci/desktop-env");
        }
    }
    prepare_profile(&args)?;
    let settle = Duration::from_millis(args.settle_ms);
    let (mut app, mut empty) = (Vec::new(), Vec::new());
    // Interleaved, so that both see the same machine conditions.
    for run in 0..args.runs {
        empty.push(launch(&args.empty, &[], settle, args.cold)?);
        app.push(launch(
            &args.app,
            &["--profile", "bench"],
            settle,
            args.cold,
        )?);
        eprintln!(
            "run {}: app {:.0} ms / {:.1} MiB, empty {:.0} ms / {:.1} MiB",
            run + 1,
            app[run].wall_ms,
            app[run].pss_mib,
            empty[run].wall_ms,
            empty[run].pss_mib
        );
    }
    let a = summarize(
        &format!(
            "Gtedx IM ({} conversations, {} messages cached{})",
            args.conversations,
            args.messages,
            if args.cold { ", cold" } else { "" }
        ),
        &app,
    );
    let e = summarize("empty Tauri 2 app", &empty);
    println!("{}", a.line);
    println!("{}", e.line);
    println!(
        "ratio app/empty: start {:.2}× (from spawn), {:.2}× (from main); memory +{:.1} MiB",
        a.wall / e.wall,
        a.internal / e.internal,
        a.pss - e.pss
    );
    Ok(())
}
