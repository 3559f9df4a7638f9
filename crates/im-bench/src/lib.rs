//! Shared pieces of the Gtedx IM benchmarks: a minimal protocol client, and process CPU and memory
//! read from `/proc`.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use im_proto::{decode_server_frame, Op, Request, ServerFrame, User};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A signed-in connection, not yet split into reader and writer.
#[derive(Debug)]
pub struct Session {
    /// The socket.
    pub socket: Socket,
    /// Who is signed in.
    pub user: User,
    /// The session token, for `resume`.
    pub token: im_proto::Secret,
    next_id: u64,
}

/// Sends one request on a socket and waits for its reply, skipping events.
pub async fn call<P: Op>(socket: &mut Socket, id: u64, params: P) -> Result<P::Output> {
    let text = serde_json::to_string(&Request {
        id,
        call: params.into(),
    })?;
    socket.send(Message::text(text)).await?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .map_err(|_| anyhow!("{}: no reply in 60 s", P::NAME))?
            .ok_or_else(|| anyhow!("{}: connection closed", P::NAME))??;
        let Message::Text(text) = message else {
            continue;
        };
        match decode_server_frame(text.as_str())? {
            ServerFrame::Result { id: got, result } if got == id => {
                return Ok(serde_json::from_str(result.get())?)
            }
            ServerFrame::Error { id: got, error } if got == Some(id) || got.is_none() => {
                bail!("{}: {}", P::NAME, error)
            }
            _ => continue,
        }
    }
}

/// The environment variable naming the CA certificate (PEM) a `wss://` benchmark trusts.
pub const CA_ENV: &str = "IM_BENCH_CA";

/// How `wss://` connections are made: trusting only the CA in `IM_BENCH_CA` (the test CA of
/// `.ci/bench-server --tls`), with one client configuration shared by every connection so that
/// reconnects resume their TLS sessions as a real client's would. `ws://` stays plain.
pub fn connector(url: &str) -> Result<Option<tokio_tungstenite::Connector>> {
    use std::sync::{Arc, OnceLock};
    static CONFIG: OnceLock<std::result::Result<Arc<rustls::ClientConfig>, String>> =
        OnceLock::new();
    if !url.starts_with("wss://") {
        return Ok(Some(tokio_tungstenite::Connector::Plain));
    }
    let config = CONFIG.get_or_init(|| {
        use rustls::pki_types::pem::PemObject;
        let file = std::env::var_os(CA_ENV).ok_or(format!("set {CA_ENV} to the server's CA"))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(&file)
            .map_err(|e| format!("{}: {e}", file.to_string_lossy()))?
        {
            roots
                .add(cert.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth(),
        ))
    });
    match config {
        Ok(config) => Ok(Some(tokio_tungstenite::Connector::Rustls(config.clone()))),
        Err(e) => bail!("{e}"),
    }
}

/// Like [`connector`], but with a TLS session cache of `client`'s own, as each real client has:
/// its reconnects resume with its own tickets instead of competing for the few one shared cache
/// keeps per server name.
pub fn connector_for(url: &str, client: &str) -> Result<Option<tokio_tungstenite::Connector>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CLIENTS: OnceLock<Mutex<HashMap<String, Arc<rustls::ClientConfig>>>> = OnceLock::new();
    let Some(tokio_tungstenite::Connector::Rustls(base)) = connector(url)? else {
        return connector(url);
    };
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .expect("tls clients");
    let config = clients.entry(client.to_owned()).or_insert_with(|| {
        let mut own = (*base).clone();
        own.resumption = rustls::client::Resumption::in_memory_sessions(4);
        Arc::new(own)
    });
    Ok(Some(tokio_tungstenite::Connector::Rustls(config.clone())))
}

/// Opens a WebSocket (TLS for `wss://`, see [`connector`]).
pub async fn open(
    url: &str,
    config: Option<tokio_tungstenite::tungstenite::protocol::WebSocketConfig>,
) -> Result<Socket> {
    let (socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, config, true, connector(url)?)
            .await
            .with_context(|| format!("connecting to {url}"))?;
    Ok(socket)
}

/// Opens a WebSocket as `client` (its own TLS session cache, see [`connector_for`]).
pub async fn open_as(
    url: &str,
    config: Option<tokio_tungstenite::tungstenite::protocol::WebSocketConfig>,
    client: &str,
) -> Result<Socket> {
    let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
        url,
        config,
        true,
        connector_for(url, client)?,
    )
    .await
    .with_context(|| format!("connecting to {url}"))?;
    Ok(socket)
}

/// Opens a connection and says hello.
pub async fn connect(url: &str) -> Result<Socket> {
    let mut socket = open(url, None).await?;
    call(
        &mut socket,
        0,
        im_proto::Hello {
            protocol: im_proto::PROTOCOL_VERSION,
            client: Some("im-bench".into()),
        },
    )
    .await?;
    Ok(socket)
}

impl Session {
    /// Signs up `username` (if needed) and signs in on a new connection.
    pub async fn sign_up_and_in(url: &str, username: &str, password: &str) -> Result<Self> {
        let mut socket = connect(url).await?;
        // A rerun against the same database finds the account already there.
        let _ = call(
            &mut socket,
            1,
            im_proto::SignUp {
                username: username.into(),
                password: password.into(),
                display_name: None,
                invite: None,
            },
        )
        .await;
        let signed = call(
            &mut socket,
            2,
            im_proto::SignIn {
                username: username.into(),
                password: password.into(),
                device: Some("im-bench".into()),
            },
        )
        .await?;
        Ok(Self {
            socket,
            user: signed.user,
            token: signed.token,
            next_id: 10,
        })
    }

    /// Signs up and in each of `usernames` (all with `password`), eight at a time (each sign-up
    /// hashes a password), in the order given.
    pub async fn sign_up_many(
        url: &str,
        usernames: impl IntoIterator<Item = String>,
        password: &str,
    ) -> Result<Vec<Self>> {
        Self::sign_up_many_on(&[url.to_owned()], usernames, password).await
    }

    /// [`Self::sign_up_many`] spread over several servers (the nodes of a cluster): user `i`
    /// on `urls[i % urls.len()]`.
    pub async fn sign_up_many_on(
        urls: &[String],
        usernames: impl IntoIterator<Item = String>,
        password: &str,
    ) -> Result<Vec<Self>> {
        let signups = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
        let handles: Vec<_> = usernames
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let (url, password, signups) = (
                    urls[i % urls.len()].clone(),
                    password.to_owned(),
                    signups.clone(),
                );
                tokio::spawn(async move {
                    let _permit = signups.acquire().await?;
                    Self::sign_up_and_in(&url, &name, &password).await
                })
            })
            .collect();
        let mut sessions = Vec::with_capacity(handles.len());
        for h in handles {
            sessions.push(h.await??);
        }
        Ok(sessions)
    }

    /// Sends a request and waits for its reply.
    pub async fn call<P: Op>(&mut self, params: P) -> Result<P::Output> {
        self.next_id += 1;
        call(&mut self.socket, self.next_id, params).await
    }

    /// Splits the socket for concurrent reading and writing.
    pub fn split(self) -> (SplitSink<Socket, Message>, SplitStream<Socket>) {
        self.socket.split()
    }
}

/// Fills a cache (owned by `me`) with `conversations` 1:1 conversations and `messages` messages
/// spread evenly over them, newest activity last. Returns the number of messages written.
pub fn fill_cache(
    cache: &dyn im_sdk::Cache,
    me: im_proto::Uid,
    conversations: usize,
    messages: usize,
) -> Result<usize> {
    use im_proto::{
        ClientId, Conversation, ConversationId, ConversationType, Message, MessageBody, MessageId,
        Uid,
    };
    use im_sdk::ConversationRecord;
    let per = (messages / conversations.max(1)).max(1);
    let mut records = Vec::with_capacity(1000);
    let mut batch = Vec::with_capacity(10_000);
    let mut users = Vec::with_capacity(1000);
    let base = 1_700_000_000_000i64;
    for c in 0..conversations {
        let other = im_proto::User {
            uid: Uid::random(),
            username: format!("friend{c}"),
            display_name: format!("Friend {c}"),
        };
        let conversation = Conversation {
            id: ConversationId::random(),
            title: String::new(),
            icon: String::new(),
            manager_id: me,
            remark: String::new(),
            user_count: 2,
            attrs: Default::default(),
            create_time: base + (c * per) as i64,
            kind: ConversationType::SingleChat,
            user_ids: vec![me, other.uid],
        };
        let mut record = ConversationRecord::new(conversation);
        for seq in 1..=per as u64 {
            let m = Message {
                id: MessageId::time_ordered(),
                conversation_id: record.conversation.id,
                seq,
                from: if seq % 2 == 0 { me } else { other.uid },
                client_id: ClientId::random(),
                timestamp: base + (c * per) as i64 + seq as i64,
                body: MessageBody::text(format!(
                    "message {seq} of conversation {c}: {}",
                    "x".repeat(60)
                )),
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
        record.synced_seq = record.last_seq;
        records.push(record);
        users.push(other);
        if records.len() == 1000 {
            cache.put_conversations(&records)?;
            cache.put_users(&users)?;
            records.clear();
            users.clear();
        }
    }
    cache.put_messages(&batch)?;
    cache.put_conversations(&records)?;
    cache.put_users(&users)?;
    Ok(per * conversations)
}

/// CPU time, memory and storage writes of a process, from `/proc`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSample {
    /// User + system CPU seconds so far.
    pub cpu_seconds: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
    /// Bytes it caused to be written to storage so far (`write_bytes` of `/proc/PID/io`: pages
    /// it dirtied, counted when dirtied; SQLite's WAL and its checkpoints for the server). `None`
    /// when the kernel does not say (no task I/O accounting, or not allowed to read it).
    pub written_bytes: Option<u64>,
}

/// Reads `/proc/PID/stat`, `/proc/PID/status` and `/proc/PID/io` (`pid` 0 = this process).
pub fn proc_sample(pid: u32) -> Result<ProcSample> {
    let base = if pid == 0 {
        "/proc/self".to_owned()
    } else {
        format!("/proc/{pid}")
    };
    let stat = std::fs::read_to_string(format!("{base}/stat"))?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')').ok_or_else(|| anyhow!("bad stat"))? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let status = std::fs::read_to_string(format!("{base}/status"))?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let written_bytes = std::fs::read_to_string(format!("{base}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes:"))
                .and_then(|v| v.trim().parse().ok())
        });
    Ok(ProcSample {
        cpu_seconds: ticks / clock_ticks_per_second(),
        rss_bytes: rss_kib * 1024,
        written_bytes,
    })
}

/// [`proc_sample`] summed over a process and all its descendants (PostgreSQL: the postmaster
/// and its backends, checkpointer, WAL writer…). Processes that end between two samples take
/// their counts with them; PostgreSQL's live for the whole run.
pub fn tree_sample(root: u32) -> Result<ProcSample> {
    let mut parents = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.insert(pid, ppid);
        }
    }
    let in_tree = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parents.get(&pid) {
            Some(&parent) if parent != 0 && parent != pid => pid = parent,
            _ => return false,
        }
    };
    let mut total = ProcSample {
        cpu_seconds: 0.0,
        rss_bytes: 0,
        written_bytes: Some(0),
    };
    for &pid in parents.keys().filter(|&&pid| in_tree(pid)) {
        let Ok(one) = proc_sample(pid) else { continue };
        total.cpu_seconds += one.cpu_seconds;
        total.rss_bytes += one.rss_bytes;
        total.written_bytes = total
            .written_bytes
            .zip(one.written_bytes)
            .map(|(a, b)| a + b);
    }
    Ok(total)
}

/// Proportional set size of a process in bytes (`/proc/PID/smaps_rollup`): its fair share of
/// shared pages, the right figure to add up across processes.
pub fn pss_bytes(pid: u32) -> Result<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let kib: u64 = rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no Pss in smaps_rollup"))?;
    Ok(kib * 1024)
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux architecture we run on.
    100.0
}

/// The median of some values (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let s = proc_sample(0).unwrap();
        assert!(s.rss_bytes > 0);
        assert!(s.cpu_seconds >= 0.0);
        assert!(pss_bytes(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn counts_what_it_writes_to_storage() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("im-bench-io-{}", std::process::id()));
        let before = proc_sample(0)
            .unwrap()
            .written_bytes
            .expect("/proc/self/io");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&vec![7u8; 1 << 20]).unwrap();
        file.sync_all().unwrap();
        let after = proc_sample(0)
            .unwrap()
            .written_bytes
            .expect("/proc/self/io");
        std::fs::remove_file(&path).unwrap();
        assert!(after - before >= 1 << 20, "{before} → {after}");
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }
}
