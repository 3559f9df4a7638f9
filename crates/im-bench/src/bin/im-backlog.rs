//! `im-backlog`: how an SDK client's offline backlog goes out when the server comes back: in the
//! order written, each message once, paced to the rate the server announces instead of bouncing
//! off its limit, and in about `(backlog - burst) / rate` seconds.
//!
//! ```sh
//! cargo run --release -p im-bench --bin im-backlog -- --messages 10000
//! ```
//! The real server runs in process (its own runtime) on 127.0.0.1 with a SQLite file, with the
//! default limits unless told otherwise. Tom signs up, opens a 1:1 chat with Jerry; the server
//! stops; Tom writes the backlog (into the client's disk cache); the server starts again on the
//! same database. Measured: from the restart to the client online, and from online to the last
//! message acknowledged; then the stored history is read back and checked.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures_util::StreamExt;
use im_proto::ErrorCode;
use im_sdk::{
    ClientConfig, ClientEvent, ConnectionState, CreateConversation, DiskCache, ImClient, ImService,
    Secret, TextMessage,
};

/// Offline backlog drain benchmark.
#[derive(Debug, Parser)]
struct Args {
    /// Messages written while the server is down.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// The server's sustained requests per second per connection (its default: 200).
    #[arg(long)]
    requests_per_second: Option<u32>,
    /// The server's burst (its default: 400).
    #[arg(long)]
    request_burst: Option<u32>,
}

fn server_config(args: &Args, addr: SocketAddr, db: PathBuf) -> im_server::Config {
    let mut config = im_server::Config::new(addr, db);
    if let Some(rate) = args.requests_per_second {
        config.limits.requests_per_second = rate;
    }
    if let Some(burst) = args.request_burst {
        config.limits.request_burst = burst;
    }
    config
}

async fn wait_state(client: &ImClient, online: bool) -> Result<()> {
    let mut state = client.watch_state();
    tokio::time::timeout(
        Duration::from_secs(60),
        state.wait_for(|s| (*s == ConnectionState::Online) == online),
    )
    .await
    .context("connection state did not change in 60 s")??;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("im-backlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(args: &Args, dir: &std::path::Path) -> Result<()> {
    // The server on a runtime of its own, as a separate process would be.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let db = dir.join("im.sqlite3");
    let server = server_rt.block_on(im_server::start(server_config(
        args,
        "127.0.0.1:0".parse()?,
        db.clone(),
    )))?;
    let addr = server.local_addr();
    let url = format!("ws://{addr}/ws");

    let (tom, chat) = client_rt.block_on(async {
        let password = Secret::new("backlog-password".to_owned());
        let tom = im_sdk::sign_up(&url, "tom", &password, Some("Tom")).await?;
        let jerry = im_sdk::sign_up(&url, "jerry", &password, Some("Jerry")).await?;
        let service = ImService::with_config(ClientConfig::default());
        let tom = service.create_im_client(tom)?;
        tom.set_cache(DiskCache::open(dir.join("tom-cache.sqlite3"))?)?;
        wait_state(&tom, true).await?;
        let chat = tom
            .create_conversation(CreateConversation {
                user_ids: vec![jerry.user.uid],
                ..Default::default()
            })
            .await?;
        anyhow::Ok((tom, chat))
    })?;
    server_rt.block_on(server.shutdown());
    client_rt.block_on(wait_state(&tom, false))?;

    let texts: Vec<String> = (0..args.messages)
        .map(|i| format!("backlog message {i:06}"))
        .collect();
    let written = Instant::now();
    for text in &texts {
        chat.enqueue(TextMessage::new(text.clone()))?;
    }
    let write_s = written.elapsed().as_secs_f64();
    let mut events = tom.events();

    // The server comes back on the same address and database.
    let restarted = Instant::now();
    let server = loop {
        match server_rt.block_on(im_server::start(server_config(args, addr, db.clone()))) {
            Ok(server) => break server,
            Err(_) if restarted.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let (online_s, drain_s, reports, failed) = client_rt.block_on(async {
        wait_state(&tom, true).await?;
        let online = Instant::now();
        let online_s = restarted.elapsed().as_secs_f64();
        let mut reports: HashMap<String, usize> = HashMap::new();
        let mut failed = 0usize;
        tokio::time::timeout(Duration::from_secs(600), async {
            while reports.len() < texts.len() {
                match events.next().await {
                    Some(ClientEvent::MessageSent(m)) => {
                        *reports.entry(m.client_id.to_string()).or_default() += 1;
                    }
                    Some(ClientEvent::MessageFailed { .. }) => failed += 1,
                    Some(_) => {}
                    None => break,
                }
            }
        })
        .await
        .context("the backlog did not drain in 600 s")?;
        anyhow::Ok((online_s, online.elapsed().as_secs_f64(), reports, failed))
    })?;
    let limits = tom.limits();
    let refused = server.errors_sent(ErrorCode::RateLimited);
    let resends = server.resends_answered();

    // The history as stored, read back page by page.
    let stored = client_rt.block_on(async {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = tom
                .call(im_proto::GetMessages {
                    conversation_id: chat.id(),
                    after: Some(after),
                    before: None,
                    limit: None,
                })
                .await?;
            after = page.messages.last().map_or(after, |m| m.seq);
            all.extend(page.messages);
            if !page.has_more {
                return anyhow::Ok(all);
            }
        }
    })?;
    let got: Vec<&str> = stored.iter().map(|m| m.body.preview()).collect();
    let mut seen = std::collections::HashSet::new();
    let duplicated = got.iter().filter(|t| !seen.insert(**t)).count();
    let lost = texts.iter().filter(|t| !seen.contains(t.as_str())).count();
    let out_of_order = got
        .windows(2)
        .filter(|w| w[0] >= w[1]) // the texts sort in the order written
        .count();
    let reported_twice = reports.values().filter(|&&n| n > 1).count();
    let outbox_left = tom.outbox()?.len();
    let rate = f64::from(limits.requests_per_second);
    let burst = f64::from(limits.request_burst);
    let expected_s = ((texts.len() as f64 - burst) / rate).max(0.0);
    println!(
        "backlog {n} messages (written offline in {write_s:.2} s); server limits {rate} req/s, \
         burst {burst}",
        n = texts.len()
    );
    println!(
        "restart → online {online_s:.2} s; online → last ack {drain_s:.2} s \
         (pace floor (backlog − burst) / rate = {expected_s:.2} s, ratio {:.3}); \
         {:.0} msgs/s",
        drain_s / expected_s.max(f64::MIN_POSITIVE),
        texts.len() as f64 / drain_s
    );
    println!(
        "stored {}, lost {lost}, duplicated {duplicated}, out of order {out_of_order}; \
         reported sent twice {reported_twice}, failed {failed}; server refusals (rate_limited) \
         {refused}, resends answered {resends}; outbox left {outbox_left}",
        stored.len()
    );
    client_rt.block_on(tom.close());
    server_rt.block_on(server.shutdown());
    if lost + duplicated + out_of_order + reported_twice + failed + outbox_left > 0 || refused > 0 {
        bail!("the backlog did not go out in order, once, without refusals");
    }
    Ok(())
}
