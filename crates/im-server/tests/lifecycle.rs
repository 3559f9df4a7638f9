//! Durability across restarts and graceful shutdown, in-process and as the real `im-server`
//! binary stopped by a signal.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{Client, TestServer};
use im_proto::{
    ClientId, CreateConversation, ErrorCode, GetMessages, Message, Ping, Resume, SendText,
};

fn send(conversation_id: im_proto::ConversationId, text: &str) -> SendText {
    SendText {
        conversation_id,
        client_id: ClientId::random(),
        text: text.into(),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
    }
}

async fn all_messages(client: &mut Client, c: im_proto::ConversationId) -> Vec<Message> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = client
            .call(GetMessages {
                conversation_id: c,
                after: Some(after),
                before: None,
                limit: None,
            })
            .await
            .unwrap();
        after = page.messages.last().map_or(after, |m| m.seq);
        out.extend(page.messages);
        if !page.has_more {
            return out;
        }
    }
}

#[tokio::test]
async fn acked_messages_survive_a_restart_and_seqs_continue() {
    let mut server = TestServer::start().await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            title: Some("T&J".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let mut acked = Vec::new();
    for i in 0..50 {
        acked.push(tom.call(send(c.id, &format!("before {i}"))).await.unwrap());
    }
    let token = tom.token.clone().unwrap();
    drop(tom);
    drop(jerry);

    server.restart().await;

    let mut tom = Client::connect(&server.url).await;
    tom.call(Resume { token })
        .await
        .expect("sessions survive restarts");
    let stored = all_messages(&mut tom, c.id).await;
    assert_eq!(stored, acked, "every acked message, exactly as acked");
    let next = tom.call(send(c.id, "after")).await.unwrap();
    assert_eq!(next.seq, 51);
    let mut jerry = Client::connect(&server.url).await;
    jerry.sign_in("jerry").await;
    let view = jerry
        .call(im_proto::GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            view.conversation.title.as_str(),
            view.last_seq,
            view.unread_count
        ),
        ("T&J", 51, 51)
    );
}

/// Whether any send lands after the writer's stop (and is refused `shutting_down`) depends on
/// timing here; the refusal path itself is asserted by the engine's own test
/// (`a_stop_commits_what_came_before_it_and_refuses_what_came_after`). What this one proves
/// end to end: every answer is an ack or `shutting_down`, the store holds exactly the acked
/// messages, and resending the rest lands each once.
#[tokio::test]
async fn shutdown_commits_or_refuses_everything_in_flight() {
    let mut server = TestServer::start_with(|c| {
        c.limits.requests_per_second = 100_000;
        c.limits.request_burst = 100_000;
    })
    .await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;

    // Pipeline many sends and stop the server while they are in flight.
    let mut sent = Vec::new();
    for i in 0..400 {
        let params = send(c.id, &format!("in flight {i}"));
        let id = tom.send(params.clone()).await;
        sent.push((id, params));
    }
    let stopping = tokio::spawn({
        let running = server.server.take().unwrap();
        async move { running.shutdown().await }
    });
    let mut acked = Vec::new();
    let mut refused = 0;
    let close_code = loop {
        match tom.next_raw().await {
            common::Raw::Reply(id, Ok(value)) => {
                let m: Message = serde_json::from_value(value).unwrap();
                acked.push((id.unwrap(), m));
            }
            common::Raw::Reply(_, Err(e)) => {
                assert_eq!(e.code, ErrorCode::ShuttingDown, "{e:?}");
                refused += 1;
            }
            common::Raw::Event => {}
            common::Raw::Closed(code) => break code,
        }
    };
    stopping.await.unwrap();
    eprintln!("acked {} refused {refused} of 400", acked.len());
    assert_eq!(close_code, Some(1001), "closed as going away");
    assert!(!acked.is_empty(), "some sends were taken before the stop");

    // After a restart the store holds exactly the acked messages, gapless.
    server.restart().await;
    let mut tom = tom_again(&server.url).await;
    let stored = all_messages(&mut tom, c.id).await;
    let acked_seqs: BTreeSet<u64> = acked.iter().map(|(_, m)| m.seq).collect();
    let stored_seqs: BTreeSet<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(stored_seqs, acked_seqs);
    assert_eq!(stored_seqs, (1..=acked.len() as u64).collect());

    // The client retries what was not acked, with the same client ids: each lands once.
    let acked_ids: BTreeSet<u64> = acked.iter().map(|(id, _)| *id).collect();
    let retries: Vec<_> = sent
        .into_iter()
        .filter(|(id, _)| !acked_ids.contains(id))
        .collect();
    assert_eq!(retries.len(), 400 - acked.len());
    assert!(refused <= retries.len());
    for (_, params) in &retries {
        tom.call(params.clone()).await.unwrap();
    }
    for (_, m) in acked.iter().take(5) {
        // Retrying an acked one returns the original.
        let again = tom
            .call(SendText {
                conversation_id: c.id,
                client_id: m.client_id.clone(),
                text: "x".into(),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            })
            .await
            .unwrap();
        assert_eq!(&again, m);
    }
    let stored = all_messages(&mut tom, c.id).await;
    assert_eq!(stored.len(), 400);
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=400).collect::<Vec<_>>()
    );
}

async fn tom_again(url: &str) -> Client {
    let mut tom = Client::connect(url).await;
    tom.sign_in("tom").await;
    tom
}

/// The real binary, listening on a free port with its database in `dir`; everything it writes
/// (stdout and stderr) is kept in `log`.
struct Binary {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Binary {
    fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, &[])
    }

    fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_im-server"))
            .current_dir(dir)
            .env("IM_LISTEN", "127.0.0.1:0")
            .env("IM_ADMIN_LISTEN", "127.0.0.1:0")
            .env("IM_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let keep = |log: &Arc<Mutex<String>>, line: &str| {
            let mut log = log.lock().unwrap();
            log.push_str(line);
            log.push('\n');
        };
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in stderr.lines().map_while(Result::ok) {
                    keep(&log, &line);
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("server exited").unwrap();
            keep(&log, &line);
            if let Some(at) = line.find("wss://").or_else(|| line.find("ws://")) {
                // (In a JSON log line the URL ends at the closing quote.)
                break line[at..]
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next()
                    .unwrap()
                    .to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in lines.map_while(Result::ok) {
                    keep(&log, &line);
                }
            }
        });
        Self { child, url, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        self.child.wait().unwrap()
    }

    /// Waits for the process to exit on its own (an upper bound, not a timing assertion).
    fn exited(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + common::WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running; its log:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[tokio::test]
async fn the_binary_runs_with_defaults_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start(dir.path());
    assert!(server.url.ends_with("/ws"), "{}", server.url);
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let first = tom.call(send(c.id, "耗子，起床啦")).await.unwrap();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        dir.path().join(im_server::DEFAULT_DATABASE).exists(),
        "the default database file"
    );

    let server = Binary::start(dir.path());
    let mut tom = Client::connect(&server.url).await;
    tom.sign_in("tom").await;
    assert_eq!(all_messages(&mut tom, c.id).await, vec![first]);
    assert!(server.terminate().success());
}

/// The binary serves `wss://` from `--tls-cert`/`--tls-key` (here through their `IM_*`
/// variables) and reloads them on SIGHUP, as certbot's deploy hook or `systemctl reload` asks.
#[tokio::test]
async fn the_binary_serves_tls_and_reloads_its_certificate_on_sighup() {
    use im_test_pki::{TestCa, Validity};
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (TestCa::new("Old CA"), TestCa::new("New CA"));
    let (cert, key) = old_ca
        .issue(&["localhost"], Validity::Current)
        .write(dir.path(), "server");
    let (cert_path, key_path) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = Binary::start_with(
        dir.path(),
        &[
            ("IM_TLS_CERT", cert_path),
            ("IM_TLS_KEY", key_path),
            // Only the signal reloads, so this test sees the signal work.
            ("IM_TLS_RELOAD_CHECK_SECS", "0"),
        ],
    );
    assert!(server.url.starts_with("wss://"), "{}", server.url);
    let url = server.url.replace("127.0.0.1", "localhost");
    let mut open = Client::connect_tls(&url, &old_ca).await.unwrap();

    new_ca
        .issue(&["localhost"], Validity::Current)
        .write(dir.path(), "server");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        Client::connect_tls(&url, &new_ca).await.is_err(),
        "nothing reloads before the signal"
    );
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let mut renewed = None;
    for _ in 0..200 {
        if let Ok(client) = Client::connect_tls(&url, &new_ca).await {
            renewed = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(renewed.is_some(), "not reloaded; log:\n{}", server.log());
    assert!(
        open.call(Ping {}).await.is_ok(),
        "the open connection stays"
    );
    assert!(server.log().contains("TLS certificate reloaded"));
    assert!(server.terminate().success());
}

#[tokio::test]
async fn a_panicking_writer_stops_the_binary_at_once_with_the_panic_in_its_log() {
    let dir = tempfile::tempdir().unwrap();
    // Sign-up and sign-in are the first two batches; the third panics.
    let mut server = Binary::start_with(dir.path(), &[("IM_DEBUG_WRITER_PANIC_AFTER", "2")]);
    let mut tom = Client::user(&server.url, "tom").await;
    let id = tom.send(im_proto::CreateConversation::default()).await;
    let status = server.exited();
    assert_eq!(status.code(), Some(70), "exits non-zero (EX_SOFTWARE)");
    let log = server.log();
    assert!(
        log.contains("injected fault: the writer panics after 2 batches"),
        "the panic is in the log:\n{log}"
    );
    assert!(log.contains("fatal"), "{log}");
    // The request in flight is never answered (the process is gone), and the connection drops.
    match tom.next_raw().await {
        common::Raw::Closed(_) => {}
        common::Raw::Reply(got, reply) => panic!("reply {got:?} to {id}: {reply:?}"),
        common::Raw::Event => panic!("an event from a dead server"),
    }
}

#[tokio::test]
async fn a_panicking_writer_stops_the_server_in_process_with_an_error() {
    let mut server = TestServer::start_with(|c| c.debug_writer_panic_after = Some(1)).await;
    let mut raw = Client::connect(&server.url).await;
    // The sign-up is the first batch; its sign-in the second, which panics.
    raw.call(im_proto::SignUp {
        username: "tom".into(),
        password: "tom-password".into(),
        display_name: None,
        invite: None,
    })
    .await
    .unwrap();
    let _ = raw
        .send(im_proto::SignIn {
            username: "tom".into(),
            password: "tom-password".into(),
            device: None,
        })
        .await;
    let running = server.server.take().unwrap();
    let stopped = tokio::time::timeout(common::WAIT, running.stopped())
        .await
        .expect("stops by itself");
    match stopped {
        Err(im_server::Error::Fatal(reason)) => {
            assert!(reason.contains("im-writer"), "{reason}");
            assert!(reason.contains("injected fault"), "{reason}");
        }
        other => panic!("stopped with {other:?}"),
    }
}

#[tokio::test]
async fn credentials_never_reach_the_log_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start_with(
        dir.path(),
        &[("IM_LOG", "trace,tungstenite=trace,tokio_tungstenite=trace")],
    );
    let password = "Sw0rdfish-is-the-password";
    let mut tom = Client::connect(&server.url).await;
    tom.call(im_proto::SignUp {
        username: "tom".into(),
        password: password.into(),
        display_name: None,
        invite: None,
    })
    .await
    .unwrap();
    let signed = tom
        .call(im_proto::SignIn {
            username: "tom".into(),
            password: password.into(),
            device: None,
        })
        .await
        .unwrap();
    // A wrong password and a malformed sign-in, too.
    let mut other = Client::connect(&server.url).await;
    let wrong = "Wrong-Sw0rdfish-guess";
    assert!(other
        .call(im_proto::SignIn {
            username: "tom".into(),
            password: wrong.into(),
            device: None,
        })
        .await
        .is_err());
    other
        .send_text(&format!(
            r#"{{"id":99,"op":"sign_in","username":7,"password":"{wrong}"}}"#
        ))
        .await;
    other.error().await;
    let token = signed.token.expose().to_owned();
    let mut again = Client::connect(&server.url).await;
    again
        .call(Resume {
            token: token.clone().into(),
        })
        .await
        .unwrap();
    let log = server.log();
    assert!(
        log.contains("TRACE") || log.contains("trace"),
        "the log runs at trace"
    );
    for secret in [password, wrong, token.as_str()] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    assert!(server.terminate().success());
}

#[tokio::test]
async fn start_up_repairs_what_a_crash_left_inconsistent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start(dir.path());
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    for i in 0..6 {
        tom.call(send(c.id, &format!("m{i}"))).await.unwrap();
    }
    assert!(server.terminate().success());
    // The state issue 9's bug left behind: last_seq one below the newest message, and a read
    // mark above it.
    {
        let db = rusqlite::Connection::open(dir.path().join(im_server::DEFAULT_DATABASE)).unwrap();
        db.execute(
            "UPDATE conversations SET last_seq = 5, version = version + 100",
            [],
        )
        .unwrap();
    }
    let server = Binary::start(dir.path());
    let log = server.log();
    assert!(
        log.contains("consistency check: last_seq set to the newest stored message"),
        "{log}"
    );
    jerry = {
        let mut j = Client::connect(&server.url).await;
        j.sign_in("jerry").await;
        j
    };
    let view = jerry
        .call(im_proto::GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(view.last_seq, 6);
    assert_eq!(view.last_message.map(|m| m.seq), Some(6));
    let mut tom = tom_again(&server.url).await;
    assert_eq!(tom.call(send(c.id, "after")).await.unwrap().seq, 7);
    let mark = tom
        .call(im_proto::MarkRead {
            conversation_id: c.id,
            seq: 7,
        })
        .await
        .unwrap();
    assert_eq!(mark.unread_count, 0);
    assert!(server.terminate().success());
    // A clean stop records that everything is consistent: the next start has nothing to look at.
    let server = Binary::start(dir.path());
    let deadline = std::time::Instant::now() + common::WAIT;
    while !server.log().contains("PRAGMA quick_check: ok") {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let log = server.log();
    assert!(log.contains("consistency check: all consistent"), "{log}");
    assert!(log.contains("conversations=0"), "{log}");
    assert!(server.terminate().success());
}

/// `--config FILE`: the file sits above the defaults and under the `IM_*` variables and the
/// flags; `--print-config` shows each setting's source; a key that is no option is refused by
/// name.
#[test]
fn the_config_file_sits_under_the_environment_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("im-server.toml");
    std::fs::write(
        &file,
        "listen = \"0.0.0.0:8443\"\nmax-members = 300\nreaders = 8\n\
         trusted-proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_im-server"))
        .args([
            "--config",
            file.to_str().unwrap(),
            "--print-config",
            "--readers",
            "2",
        ])
        .env("IM_MAX_MEMBERS", "250")
        .env_remove("IM_LISTEN")
        .env_remove("IM_READERS")
        .env_remove("IM_TRUSTED_PROXIES")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    for line in [
        "listen = \"0.0.0.0:8443\"  # config file",
        "max-members = 250  # IM_MAX_MEMBERS",
        "readers = 2  # flag",
        "trusted-proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]  # config file",
        "max-text-chars = 4096  # default",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line:?} not in:\n{printed}"
        );
    }

    std::fs::write(&file, "listne = \"0.0.0.0:8443\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_im-server"))
        .args(["--config", file.to_str().unwrap(), "--print-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("unknown setting \"listne\""), "{error}");
}

/// `im-server backup` against the database of a running server, then `restore` once it stops.
#[tokio::test]
async fn the_backup_and_restore_commands_work_beside_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start(dir.path());
    drop(Client::user(&server.url, "tom").await);
    let database = dir.path().join(im_server::DEFAULT_DATABASE);
    let copy = dir.path().join("copy.sqlite3");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_im-server"))
            .args(args)
            .arg("--database")
            .arg(&database)
            .env_remove("IM_DATABASE")
            .output()
            .unwrap()
    };
    let out = run(&["backup", "--to", copy.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.contains("1 accounts") && said.contains("integrity ok"),
        "{said}"
    );
    let out = run(&["restore", "--from", copy.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a running server's database is not replaced"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is in use"));
    assert!(server.terminate().success());
    let out = run(&["restore", "--from", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
}

/// `--log-format json` (here `IM_LOG_FORMAT`): one JSON object per line, for log collectors,
/// with a line when each connection opens and closes.
#[tokio::test]
async fn json_logs_are_one_object_a_line_with_connections_opening_and_closing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start_with(dir.path(), &[("IM_LOG_FORMAT", "json")]);
    drop(Client::user(&server.url, "tom").await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log();
    assert!(server.terminate().success());
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        assert!(
            line["level"].is_string() && line["message"].is_string(),
            "{line}"
        );
    }
    let opened = lines
        .iter()
        .find(|l| l["message"] == "connected")
        .unwrap_or_else(|| panic!("no connected line in {log}"));
    assert!(
        opened["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{opened}"
    );
    let closed = lines
        .iter()
        .find(|l| l["message"] == "disconnected" && l["conn"] == opened["conn"])
        .unwrap_or_else(|| panic!("no disconnected line in {log}"));
    assert!(closed["end"].is_string(), "{closed}");
    assert!(!log.contains("tom-password"), "no credentials in the log");
}

/// `im-server admin …` as the README shows it: against the running binary through its admin
/// listener on a closed server, then on the files once it has stopped.
#[tokio::test]
async fn the_admin_commands_reach_the_running_server_and_then_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start_with(dir.path(), &[("IM_SIGN_UP", "closed")]);
    let admin_addr = {
        let deadline = std::time::Instant::now() + common::WAIT;
        loop {
            let log = server.log();
            if let Some(at) = log.find("admin listener on http://") {
                let rest = &log[at + "admin listener on http://".len()..];
                break rest.split('/').next().unwrap().to_owned();
            }
            assert!(std::time::Instant::now() < deadline, "{log}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let database = dir.path().join(im_server::DEFAULT_DATABASE);
    let admin = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_im-server"))
            .arg("--database")
            .arg(&database)
            .args(["--admin-listen", &admin_addr, "admin"])
            .args(args)
            .env_remove("IM_DATABASE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, said, _) = admin(
        &["user", "create", "tom", "--password-stdin"],
        "tom-password\n",
    );
    assert!(ok && said.contains("created tom"), "{said}");
    let (ok, said, _) = admin(&["user", "create", "jerry"], "");
    let jerrys = said
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("a made-up password in {said}"))
        .to_owned();
    assert!(ok);
    let mut tom = Client::connect(&server.url).await;
    tom.sign_in("tom").await;
    let mut jerry = Client::connect(&server.url).await;
    jerry
        .call(im_proto::SignIn {
            username: "jerry".into(),
            password: jerrys.as_str().into(),
            device: None,
        })
        .await
        .unwrap();
    let (ok, said, err) = admin(&["--json", "user", "list"], "");
    assert!(ok, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert_eq!(listed["users"].as_array().unwrap().len(), 2, "{said}");
    // Disabling through the listener signs Tom out at once.
    let (ok, _, err) = admin(&["user", "disable", "tom"], "");
    assert!(ok, "{err}");
    tokio::time::timeout(
        common::WAIT,
        tom.event_where(|e| matches!(e, im_proto::Event::SignedOut(_)).then_some(())),
    )
    .await
    .expect("tom is signed out");
    let (ok, _, err) = admin(&["user", "disable", "nobody"], "");
    assert!(!ok && err.contains("no user"), "{err}");
    assert!(!server.log().contains("tom-password"));

    assert!(server.terminate().success());
    let (ok, said, err) = admin(&["invite", "create", "--uses", "3", "--expires", "7d"], "");
    assert!(ok, "{err}");
    assert!(err.contains("no server was running"), "{err}");
    assert!(
        said.contains("invite code: ") && said.contains("3 use(s)"),
        "{said}"
    );
}

/// A second server on a taken port (`.ci/start` twice, say) says so in one line, naming the
/// addresses and the settings to change: no Rust backtrace, even with RUST_BACKTRACE set.
#[test]
fn a_taken_port_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_im-server"))
        .env("IM_LISTEN", &address)
        .env("IM_ADMIN_LISTEN", "off")
        .env("IM_DATABASE", dir.path().join("im.sqlite3"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains(&format!("in use (public {address}, admin off)"))
            && error.contains("--listen"),
        "{error}"
    );
    assert!(!error.contains("backtrace"), "{error}");
}
