//! The run, start to finish: the server under its manager, the proxy, the cast, the raw clients
//! and the SDK senders; then the chaos (server kills, sender kills, proxy freezes and drops)
//! until the requested numbers of kills are reached; then the calm (the server up, the path
//! clear, every client drained), the audit, a clean server stop, and the [`Report`].

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::audit;
use crate::proxy::ChaosProxy;
use crate::raw_client::{RawClient, RawClientConfig, RawClientOutcome};
use crate::report::{ChaosCounts, Report};
use crate::senders::{SenderFleet, SenderSpec};
use crate::server::ServerManager;
use crate::setup::{self, CastSize};

/// `im-chaos`: SIGKILLs the real im-server and SDK sender processes at random and breaks the
/// network under load, then checks that every acknowledged message is stored exactly once, in
/// order per sender, with gapless seqs. The defaults are the short (CI) run.
#[derive(Debug, Clone, clap::Parser, Serialize)]
// Later options win, so a script's defaults can be overridden by appending options.
#[command(name = "im-chaos", version, about, args_override_self = true)]
pub struct Options {
    /// Server SIGKILL + restart cycles (one every 1–4 s; with several nodes, a random node
    /// each time, whose clients move to the others).
    #[arg(long, default_value_t = 10)]
    pub server_kills: u64,
    /// im-server nodes: 1 runs on an SQLite file; more run as a cluster on one throwaway
    /// PostgreSQL database with a throwaway NATS between them (Debian's postgresql and
    /// nats-server), every client going to one node first and to the others on reconnects.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// SDK sender SIGKILL + restart cycles (one every 1–4 s, a random sender each time).
    #[arg(long, default_value_t = 5)]
    pub sender_kills: u64,
    /// Raw protocol clients (users in 1:1 pairs, some also in groups).
    #[arg(long, default_value_t = 20)]
    pub clients: usize,
    /// SDK sender processes, each in a 1:1 with a raw client.
    #[arg(long, default_value_t = 3)]
    pub sdk_senders: usize,
    /// Groups of raw clients.
    #[arg(long, default_value_t = 3)]
    pub groups: usize,
    /// Members per group.
    #[arg(long, default_value_t = 5)]
    pub group_size: usize,
    /// Messages per second per client (raw and SDK).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Seed of the chaos schedule (random if absent; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Leave the network path alone (no proxy freezes or drops).
    #[arg(long)]
    pub no_proxy_chaos: bool,
    /// Upper bound, in seconds, for the clients to drain after the chaos.
    #[arg(long, default_value_t = 180)]
    pub drain_timeout: u64,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Work folder (database, logs, sender folders), kept afterwards; it must not hold a
    /// database yet. Default: a temporary folder, deleted unless the run fails.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The im-server binary. Default: next to this executable.
    #[arg(long, env = "IM_CHAOS_SERVER_BIN")]
    pub server_bin: Option<PathBuf>,
    /// The im-chaos-sender binary. Default: next to this executable.
    #[arg(long, env = "IM_CHAOS_SENDER_BIN")]
    pub sender_bin: Option<PathBuf>,
}

/// Runs the whole scenario and returns its report. The work folder is kept (and named) when
/// the run fails.
pub async fn run(options: Options) -> Result<Report> {
    let seed = options.seed.unwrap_or_else(|| rand::rng().random());
    println!("im-chaos: seed {seed} (--seed {seed} replays this schedule)");
    let (dir, temporary) = match &options.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (dir.clone(), None)
        }
        None => {
            let temporary = tempfile::Builder::new().prefix("im-chaos-").tempdir()?;
            (temporary.path().to_owned(), Some(temporary))
        }
    };
    let result = run_in(&dir, seed, &options).await;
    let keep = !matches!(&result, Ok(report) if report.passed);
    if keep {
        if let Some(temporary) = temporary {
            let kept = temporary.keep();
            println!("im-chaos: logs and database kept in {}", kept.display());
        }
    }
    result
}

async fn run_in(dir: &Path, seed: u64, options: &Options) -> Result<Report> {
    let started = Instant::now();
    if options.rate.is_nan() || options.rate <= 0.0 {
        bail!("--rate must be above 0");
    }
    if options.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    let sqlite = dir.join("chaos.sqlite3");
    if sqlite.exists() {
        bail!(
            "{} already holds a database: use an empty folder",
            dir.display()
        );
    }
    let server_bin = beside_this_program(options.server_bin.clone(), "im-server")?;
    let sender_bin = beside_this_program(options.sender_bin.clone(), "im-chaos-sender")?;
    let mut rngs = StdRng::seed_from_u64(seed);
    let (mut setup_rng, server_rng, sender_rng, proxy_rng) = (
        StdRng::seed_from_u64(rngs.random()),
        StdRng::seed_from_u64(rngs.random()),
        StdRng::seed_from_u64(rngs.random()),
        StdRng::seed_from_u64(rngs.random()),
    );

    // One node on SQLite, or a cluster on PostgreSQL + NATS. Each node on a port chosen once,
    // so clients always reconnect to the same addresses.
    let services = match options.nodes {
        1 => None,
        _ => Some(ClusterServices::start().context("starting PostgreSQL and NATS")?),
    };
    let database = match &services {
        Some(services) => services.database.clone(),
        None => sqlite.display().to_string(),
    };
    let mut nodes = Vec::with_capacity(options.nodes);
    for n in 0..options.nodes {
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let log = dir.join(match options.nodes {
            1 => "server.log".to_owned(),
            _ => format!("server-{}.log", n + 1),
        });
        let node = ServerManager::new(server_bin.clone(), listen, database.clone(), log);
        nodes.push(match &services {
            Some(services) => node.in_cluster(services.nats.url()),
            None => node,
        });
    }
    for node in &mut nodes {
        let first_start = node.start().await.context("starting im-server")?;
        tracing::info!(?first_start, url = %node.url(), "server up");
    }
    let mut proxies = Vec::with_capacity(nodes.len());
    for node in &nodes {
        proxies.push(Arc::new(ChaosProxy::start(node.listen()).await?));
    }
    let proxy_urls: Vec<String> = proxies.iter().map(|p| p.url()).collect();
    // Client `i` starts on node `i`, then tries the others in turn.
    let urls_from = |i: usize| -> Vec<String> {
        (0..proxy_urls.len())
            .map(|k| proxy_urls[(i + k) % proxy_urls.len()].clone())
            .collect()
    };
    let server_url = nodes[0].url();

    let cast = setup::create(
        &server_url,
        CastSize {
            raw_users: options.clients,
            sdk_users: options.sdk_senders,
            groups: options.groups,
            group_size: options.group_size,
        },
        &mut setup_rng,
    )
    .await
    .context("creating accounts and conversations")?;
    tracing::info!(
        accounts = cast.accounts.len(),
        conversations = cast.conversations.len(),
        "cast ready"
    );

    let stop_sending = CancellationToken::new();
    let give_up = CancellationToken::new();
    let raw_clients: Vec<JoinHandle<RawClientOutcome>> = (0..cast.raw_users)
        .map(|i| {
            let account = &cast.accounts[i];
            let client = RawClient::new(
                account.username.clone(),
                account.token.clone(),
                cast.conversations_of(i),
                RawClientConfig::new(urls_from(i), options.rate),
            );
            tokio::spawn(client.run(stop_sending.clone(), give_up.clone()))
        })
        .collect();
    let specs = cast
        .sdk_users()
        .map(|i| {
            let account = &cast.accounts[i];
            SenderSpec {
                dir: dir.join("senders").join(&account.username),
                username: account.username.clone(),
                password: account.password.clone(),
                conversation: cast.sdk_conversation(i).expect("every sender has one"),
            }
        })
        .collect();
    let mut fleet = SenderFleet::new(sender_bin, proxy_urls.clone(), options.rate, specs);
    fleet.start_all()?;

    // Chaos.
    let chaos_started = Instant::now();
    let calm = CancellationToken::new();
    let network = tokio::spawn(network_chaos(
        proxies.clone(),
        proxy_rng,
        !options.no_proxy_chaos,
        calm.clone(),
    ));
    let (server_chaos, sender_chaos) = tokio::join!(
        server_chaos(&mut nodes, options.server_kills, server_rng),
        sender_chaos(&mut fleet, options.sender_kills, sender_rng),
    );
    calm.cancel();
    let (proxy_freezes, proxy_drops) = network.await?;
    for proxy in &proxies {
        proxy.thaw();
    }
    let chaos_time = chaos_started.elapsed();
    server_chaos?;
    sender_chaos?;
    tracing::info!(?chaos_time, "chaos over; draining");

    // Calm: the servers up, the paths clear; every client finishes what it started.
    for node in &mut nodes {
        node.ensure_running().await?;
    }
    stop_sending.cancel();
    let deadline = Instant::now() + Duration::from_secs(options.drain_timeout);
    let (raw_outcomes, drained) = tokio::join!(
        collect_raw_clients(raw_clients, deadline, &give_up),
        fleet.drain(deadline),
    );
    let raw_outcomes = raw_outcomes?;
    let drained = drained?;
    tracing::info!("drained; auditing");

    let logs = fleet.logs()?;
    let findings = audit::audit(&server_url, &cast, &raw_outcomes, &logs)
        .await
        .context("auditing")?;
    let mut stopped_cleanly = true;
    for node in &mut nodes {
        stopped_cleanly &= match node.stop().await {
            Ok(status) if status.success() => true,
            Ok(status) => {
                tracing::error!(%status, url = %node.url(), "im-server's exit after SIGTERM");
                false
            }
            Err(error) => {
                tracing::error!(%error, url = %node.url(), "stopping im-server");
                false
            }
        };
    }
    drop(services);
    let restart_times: Vec<Duration> = nodes
        .iter()
        .flat_map(|n| n.restart_times.iter().copied())
        .collect();
    let chaos = ChaosCounts {
        server_kills: nodes.iter().map(|n| n.kills).sum(),
        server_crashes: nodes
            .iter()
            .flat_map(|n| n.unexpected_exits.iter().cloned())
            .collect(),
        sender_kills: fleet.kills,
        sender_crashes: fleet.crashes.clone(),
        proxy_freezes,
        proxy_drops,
        raw_reconnects: raw_outcomes.iter().map(|o| o.reconnects).sum(),
        raw_transient_errors: raw_outcomes.iter().map(|o| o.transient_errors).sum(),
    };
    Ok(Report::new(
        seed,
        serde_json::to_value(options)?,
        started.elapsed(),
        chaos_time,
        chaos,
        &restart_times,
        drained.drained,
        drained.timed_out,
        stopped_cleanly,
        findings,
    ))
}

/// `explicit`, or the program `name` in the folder of the running executable (cargo puts every
/// binary of a build in the same target folder).
fn beside_this_program(explicit: Option<PathBuf>, name: &str) -> Result<PathBuf> {
    let path = match explicit {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("the executable has no folder")?
            .join(name),
    };
    if !path.is_file() {
        bail!(
            "{name} not found at {}: build it (cargo build -p im-chaos -p im-server, same profile) \
             or pass its path",
            path.display()
        );
    }
    Ok(path)
}

/// A port nothing listens on right now, below the kernel's ephemeral range when it can: while
/// the server is down, a client's outgoing connection could otherwise take the port as its own
/// source port (and connect to itself, or keep the server from binding again).
fn free_port() -> Result<u16> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_low > 2048 {
        let below = ephemeral_low.saturating_sub(20_000).max(1024)..ephemeral_low;
        for _ in 0..100 {
            let port = rand::rng().random_range(below.clone());
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(port);
            }
        }
    }
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn seconds(rng: &mut StdRng, range: std::ops::Range<f64>) -> Duration {
    Duration::from_secs_f64(rng.random_range(range))
}

/// Kills a server node (a random one of several) `kills` times, 1–4 s apart, restarting it at
/// once each time. A node that dies on its own meanwhile is restarted too (and recorded).
async fn server_chaos(nodes: &mut [ServerManager], kills: u64, mut rng: StdRng) -> Result<()> {
    for n in 1..=kills {
        let until = Instant::now() + seconds(&mut rng, 1.0..4.0);
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for node in nodes.iter_mut() {
                node.ensure_running().await?;
            }
        }
        let victim = rng.random_range(0..nodes.len());
        let took = nodes[victim].kill_and_restart().await?;
        tracing::info!(
            "server kill {n}/{kills}: node {} answering again after {took:?}",
            victim + 1
        );
    }
    Ok(())
}

/// The services a cluster of nodes needs: a PostgreSQL database and a NATS server, both
/// throwaway, stopped when dropped.
struct ClusterServices {
    _postgres: im_test_services::Postgres,
    nats: im_test_services::Nats,
    database: String,
}

impl ClusterServices {
    fn start() -> Result<Self> {
        let postgres = im_test_services::Postgres::start()?;
        let database = postgres.create_database("chaos")?;
        let nats = im_test_services::Nats::start()?;
        Ok(Self {
            _postgres: postgres,
            nats,
            database,
        })
    }
}

/// Kills a random SDK sender `kills` times, 1–4 s apart, and starts it again on its folder
/// 0.1–1 s later. Senders that die on their own are restarted too (and recorded).
async fn sender_chaos(fleet: &mut SenderFleet, kills: u64, mut rng: StdRng) -> Result<()> {
    if fleet.is_empty() {
        return Ok(());
    }
    for n in 1..=kills {
        let until = Instant::now() + seconds(&mut rng, 1.0..4.0);
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
            fleet.check()?;
        }
        let victim = rng.random_range(0..fleet.len());
        fleet.kill(victim).await?;
        tokio::time::sleep(seconds(&mut rng, 0.1..1.0)).await;
        fleet.restart(victim)?;
        tracing::info!("sender kill {n}/{kills}: sender {victim} restarted");
    }
    Ok(())
}

/// Until `calm`: every 1–5 s either freezes the paths for 0.5–5 s or drops every connection.
/// Returns (freezes, drops).
async fn network_chaos(
    proxies: Vec<Arc<ChaosProxy>>,
    mut rng: StdRng,
    enabled: bool,
    calm: CancellationToken,
) -> (u64, u64) {
    let (mut freezes, mut drops) = (0, 0);
    if !enabled {
        return (freezes, drops);
    }
    loop {
        let pause = seconds(&mut rng, 1.0..5.0);
        tokio::select! {
            _ = calm.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
        if rng.random_bool(0.5) {
            let frozen_for = seconds(&mut rng, 0.5..5.0);
            tracing::info!(?frozen_for, "proxy: freeze");
            proxies.iter().for_each(|p| p.freeze());
            freezes += 1;
            tokio::select! {
                _ = calm.cancelled() => {}
                _ = tokio::time::sleep(frozen_for) => {}
            }
            proxies.iter().for_each(|p| p.thaw());
        } else {
            tracing::info!("proxy: drop every connection");
            proxies.iter().for_each(|p| p.drop_all());
            drops += 1;
        }
    }
    proxies.iter().for_each(|p| p.thaw());
    (freezes, drops)
}

/// Waits for every raw client to finish (at most until `deadline`, then tells them to give up).
async fn collect_raw_clients(
    clients: Vec<JoinHandle<RawClientOutcome>>,
    deadline: Instant,
    give_up: &CancellationToken,
) -> Result<Vec<RawClientOutcome>> {
    let all = futures_util::future::join_all(clients);
    tokio::pin!(all);
    let results = match tokio::time::timeout_at(deadline.into(), &mut all).await {
        Ok(results) => results,
        Err(_) => {
            tracing::error!("raw clients still sending at the drain deadline; stopping them");
            give_up.cancel();
            all.await
        }
    };
    results
        .into_iter()
        .map(|r| r.context("a raw client panicked"))
        .collect()
}
