//! `im-search`: message search in a large disk cache (default 1,000 conversations, 1M messages
//! of mixed Chinese and English chat), query by query: median time of `--runs` searches for the
//! first `--limit` hits, and how many there were.
//!
//! ```sh
//! cargo run --release -p im-bench --bin im-search -- --path /var/tmp/gtedx-im/search-cache.sqlite3
//! ```
//! The cache is filled on the first run (and reused after); filling reports its time and the
//! file's size.

use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use im_bench::median;
use im_proto::{
    ClientId, Conversation, ConversationId, ConversationType, Message, MessageBody, MessageId, Uid,
};
use im_sdk::{Cache, ConversationRecord, DiskCache};
use rand::prelude::*;

/// Disk cache search benchmark.
#[derive(Debug, Parser)]
struct Args {
    /// The cache file (filled if it does not exist).
    #[arg(long, default_value = "/var/tmp/gtedx-im/search-cache.sqlite3")]
    path: std::path::PathBuf,
    /// Conversations to fill it with.
    #[arg(long, default_value_t = 1_000)]
    conversations: usize,
    /// Messages to fill it with (spread evenly over the conversations).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Hits asked for per search (the app asks for 100).
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Searches per query.
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Afterwards, drop the indexes and time indexing every message again the way an older
    /// cache is, in the background, `--backlog-batch` at a time (the client's batch).
    #[arg(long)]
    backlog: bool,
    /// Messages per background batch.
    #[arg(long, default_value_t = 2_000)]
    backlog_batch: usize,
}

/// What people write, in pieces: Chinese phrases and English words, mixed into messages.
const CHINESE: &[&str] = &[
    "你好",
    "今天",
    "明天",
    "晚上",
    "吃饭",
    "开会",
    "项目",
    "进度",
    "没问题",
    "好的",
    "谢谢",
    "周末",
    "一起",
    "电影",
    "下班",
    "路上",
    "堵车",
    "文件",
    "发给你",
    "看一下",
    "老板",
    "客户",
    "周报",
    "需求",
    "上线",
    "测试",
    "修复",
    "问题",
    "咖啡",
    "天气",
    "下雨",
    "记得",
    "带伞",
    "生日",
    "快乐",
    "辛苦了",
    "早上好",
    "晚安",
    "哈哈",
    "收到",
];
const ENGLISH: &[&str] = &[
    "hello", "meeting", "tomorrow", "project", "deadline", "coffee", "lunch", "thanks", "review",
    "release", "build", "test", "bug", "fixed", "deploy", "weekend", "movie", "call", "later",
    "sure", "great", "report", "client", "server", "update", "schedule", "ok", "see", "you",
    "soon",
];

fn sentence(rng: &mut impl Rng) -> String {
    let words = rng.random_range(3..12);
    let mut out = String::new();
    for _ in 0..words {
        if rng.random_bool(0.6) {
            out.push_str(CHINESE[rng.random_range(0..CHINESE.len())]);
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(ENGLISH[rng.random_range(0..ENGLISH.len())]);
            out.push(' ');
        }
    }
    out.trim().to_owned()
}

/// The rare message the needle queries look for: one per 100,000.
const NEEDLE: &str = "耗子，起床啦 wake up Jerry";

fn fill(args: &Args) -> Result<()> {
    let started = Instant::now();
    let cache = DiskCache::open(&args.path)?;
    let me = Uid::random();
    cache.set_owner(me)?;
    let mut rng = StdRng::seed_from_u64(7);
    let per = (args.messages / args.conversations.max(1)).max(1);
    let base = 1_700_000_000_000i64;
    let mut batch = Vec::with_capacity(10_000);
    let mut records = Vec::new();
    let mut n = 0usize;
    for c in 0..args.conversations {
        let other = Uid::random();
        let mut record = ConversationRecord::new(Conversation {
            id: ConversationId::random(),
            title: String::new(),
            icon: String::new(),
            manager_id: me,
            remark: String::new(),
            user_count: 2,
            attrs: Default::default(),
            create_time: base,
            kind: ConversationType::SingleChat,
            user_ids: vec![me, other],
        });
        for seq in 1..=per as u64 {
            n += 1;
            let text = if n.is_multiple_of(100_000) {
                NEEDLE.to_owned()
            } else {
                sentence(&mut rng)
            };
            let m = Message {
                id: MessageId::time_ordered(),
                conversation_id: record.conversation.id,
                seq,
                from: if seq % 2 == 0 { me } else { other },
                client_id: ClientId::random(),
                // Interleaved in time across conversations, as real chats are.
                timestamp: base + (seq as i64) * 60_000 + c as i64,
                body: MessageBody::text(text),
                reply_to: None,
                edited_at: None,
                mentions: vec![],
                mention_all: false,
                reactions: vec![],
            };
            record.absorb(&m, me);
            batch.push(m);
            if batch.len() == 10_000 {
                cache.put_messages(&batch)?;
                batch.clear();
            }
        }
        records.push(record);
    }
    cache.put_messages(&batch)?;
    cache.put_conversations(&records)?;
    let size = std::fs::metadata(&args.path)?.len();
    eprintln!(
        "filled {} with {} conversations and {n} messages in {:.1} s ({:.0} MB)",
        args.path.display(),
        args.conversations,
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !args.path.exists() {
        fill(&args)?;
    }
    let opened = Instant::now();
    let cache = DiskCache::open(&args.path)?;
    println!(
        "cache {} ({:.0} MB), opened in {:.1} ms",
        args.path.display(),
        std::fs::metadata(&args.path)?.len() as f64 / 1e6,
        opened.elapsed().as_secs_f64() * 1e3
    );
    let queries = [
        ("3+ Chinese characters (trigram index)", "起床啦"),
        ("2 Chinese characters (short-gram index)", "起床"),
        ("1 Chinese character, common", "会"),
        ("2 Chinese characters, common", "项目"),
        ("English word", "meeting"),
        ("mixed Chinese and English", "项目 deadline"),
        ("inside a word", "eadlin"),
        ("2 Latin letters (short-gram index)", "ok"),
        ("2 Latin letters, rare", "jq"),
        ("a common word and a rare pair", "meeting jq"),
        ("a common word and a common pair", "meeting 项目"),
        ("no match (trigram index)", "zzqx"),
    ];
    println!(
        "{:<56} {:>8} {:>12} {:>10}",
        "query", "hits", "median ms", "max ms"
    );
    for (what, query) in queries {
        let mut times = Vec::with_capacity(args.runs);
        let mut hits = 0;
        for _ in 0..args.runs {
            let t = Instant::now();
            hits = cache.search_messages(query, args.limit)?.len();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let max = times.iter().cloned().fold(0.0, f64::max);
        println!(
            "{:<56} {hits:>8} {:>12.2} {max:>10.2}",
            format!("{what}: {query:?}"),
            median(&mut times)
        );
    }
    if args.backlog {
        drop(cache);
        backlog(&args)?;
    }
    Ok(())
}

/// Times the background indexing of a cache whose messages were stored before it could search.
fn backlog(args: &Args) -> Result<()> {
    {
        let conn = rusqlite::Connection::open(&args.path)?;
        conn.execute_batch(
            "DELETE FROM search_keys; DELETE FROM search_text;
             INSERT INTO search_grams(search_grams) VALUES ('delete-all');
             INSERT OR REPLACE INTO meta (key, value)
             SELECT 'search_backlog_below', CAST(max(rowid) + 1 AS TEXT) FROM messages;",
        )?;
    }
    let opened = Instant::now();
    let cache = DiskCache::open(&args.path)?;
    let open_ms = opened.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let mut batches = Vec::new();
    let mut indexed = 0;
    loop {
        let t = Instant::now();
        let n = cache.index_search_backlog(args.backlog_batch)?;
        if n == 0 {
            break;
        }
        batches.push(t.elapsed().as_secs_f64() * 1e3);
        indexed += n;
    }
    let total = started.elapsed().as_secs_f64();
    let max = batches.iter().cloned().fold(0.0, f64::max);
    println!(
        "backlog: opened in {open_ms:.1} ms; {indexed} messages indexed in {total:.1} s \
         ({:.0} per second), batches of {} take a median {:.1} ms (max {max:.1} ms)",
        indexed as f64 / total,
        args.backlog_batch,
        median(&mut batches)
    );
    Ok(())
}
