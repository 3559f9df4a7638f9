//! The conformance kit against the real im-server, in process (127.0.0.1:0, a SQLite file in a
//! temp dir — or with `IM_TEST_STORE=postgres` a PostgreSQL database of its own, as `.ci/test`
//! also runs it — real WebSockets), and against three nodes of a cluster with the kit's
//! connections spread over them: the whole kit must pass, with every check seeing what it claims
//! to cover; the kit runs twice against one server with the same outcome; and the checks that
//! need control of the server — a graceful shutdown with requests in flight — run here.

use std::collections::{BTreeMap, BTreeSet};

use im_conformance::checks::support::{create, history, text};
use im_conformance::client::{Closed, Conn};
use im_conformance::{all_checks, Ctx, Options, Outcome, Report};
use im_proto::{ErrorCode, Message};
use im_server::{Config, Database, RunningServer};
use serde_json::json;

/// A server on a free port with its database in a temp dir (or on PostgreSQL).
struct Server {
    running: Option<RunningServer>,
    /// Holds the SQLite file (when on SQLite).
    _dir: tempfile::TempDir,
    url: String,
    store: im_test_services::TestStore,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = im_test_services::TestStore::in_dir(dir.path()).unwrap();
        let mut server = Self {
            running: None,
            _dir: dir,
            url: String::new(),
            store,
        };
        server.boot().await;
        server
    }

    fn database(&self) -> Database {
        self.store.database().parse().unwrap()
    }

    async fn boot(&mut self) {
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), self.database());
        // Named explicitly: PostgreSQL has no file to keep blobs beside.
        config.blobs.dir = Some(self._dir.path().join("blobs"));
        let running = im_server::start(config).await.unwrap();
        self.url = running.url();
        self.running = Some(running);
    }

    fn running(&self) -> &RunningServer {
        self.running.as_ref().expect("running")
    }
}

fn print(report: &Report) {
    for result in &report.results {
        eprintln!("{}", Report::line(result));
    }
    eprintln!("{}", report.summary());
}

/// What is wrong with a report of the whole kit against im-server's defaults: a check failed,
/// was skipped, or passed without seeing what it covers; the servers (`errors_sent` summed over
/// them) sent fewer errors of a code than the kit saw; hello's limits are not the defaults.
fn problems(report: &Report, errors_sent: impl Fn(ErrorCode) -> u64) -> Vec<String> {
    let mut problems = Vec::new();
    if report.results.len() != all_checks().len() {
        problems.push(format!(
            "{} of {} checks ran",
            report.results.len(),
            all_checks().len()
        ));
    }
    for failure in report.failures() {
        if let Outcome::Failed(details) = &failure.outcome {
            problems.push(format!("{} failed:\n{details}", failure.name));
        }
    }
    for result in &report.results {
        if let Outcome::Skipped(why) = &result.outcome {
            problems.push(format!(
                "{} was skipped against im-server's defaults: {why}",
                result.name
            ));
        }
        let unobserved = result.unobserved();
        if result.passed() && !unobserved.is_empty() {
            problems.push(format!(
                "{} passed without seeing what it claims to cover: {unobserved:?}",
                result.name
            ));
        }
    }
    // The server counted every error the kit saw (and perhaps more: some went to connections
    // that were closing).
    for code in ErrorCode::ALL {
        let seen: u64 = report
            .results
            .iter()
            .filter_map(|r| r.observed.get(&format!("error:{}", code.as_str())))
            .sum();
        let sent = errors_sent(*code);
        if sent < seen {
            problems.push(format!(
                "the kit saw {seen} {code} errors, the server sent {sent}"
            ));
        }
    }
    if report.limits != Some(Config::default().limits) {
        problems.push(format!(
            "hello announces {:?}, not the configured limits",
            report.limits
        ));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_kit_passes_against_im_server() {
    let server = Server::start().await;
    let report = im_conformance::run(&server.url, &Options::default()).await;
    print(&report);
    let problems = problems(&report, |code| server.running().errors_sent(code));
    assert!(
        problems.is_empty(),
        "{}\n\n{}",
        problems.join("\n\n"),
        report.summary()
    );
}

/// Three nodes on one PostgreSQL database with NATS between them, the kit's connections spread
/// over the three: every check's events cross between nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_kit_passes_against_three_nodes() {
    let db = im_test_services::TestDatabase::create().unwrap();
    let nats = im_test_services::Nats::start().unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let mut config = Config::new(
            "127.0.0.1:0".parse().unwrap(),
            db.url().parse::<Database>().unwrap(),
        );
        config.cluster = Some(nats.url());
        // One directory the nodes share (one machine: a shared filesystem's stand-in).
        config.blobs.dir = Some(blobs.path().to_owned());
        nodes.push(im_server::start(config).await.unwrap());
    }
    let options = Options {
        other_nodes: nodes[1..].iter().map(RunningServer::url).collect(),
        ..Options::default()
    };
    let report = im_conformance::run(&nodes[0].url(), &options).await;
    print(&report);
    let problems = problems(&report, |code| {
        nodes.iter().map(|n| n.errors_sent(code)).sum()
    });
    assert!(
        problems.is_empty(),
        "{}\n\n{}",
        problems.join("\n\n"),
        report.summary()
    );
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kit_runs_twice_against_one_server_with_the_same_outcome() {
    let server = Server::start().await;
    let outcomes = |report: &Report| -> BTreeMap<&'static str, &'static str> {
        report
            .results
            .iter()
            .map(|r| {
                let kind = match r.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed(_) => "failed",
                    Outcome::Skipped(_) => "skipped",
                };
                (r.name, kind)
            })
            .collect()
    };
    let first = im_conformance::run(&server.url, &Options::default()).await;
    let second = im_conformance::run(&server.url, &Options::default()).await;
    print(&second);
    assert_eq!(
        second.results.len(),
        all_checks().len(),
        "every check ran again"
    );
    assert_eq!(
        outcomes(&second),
        outcomes(&first),
        "a second run against the same server comes out the same; its failures:\n{}",
        second.failure_details()
    );
    assert!(
        second.results.iter().filter(|r| r.passed()).count() > all_checks().len() / 2,
        "{}",
        second.summary()
    );
}

/// §2.6: on shutdown the server stops reading, commits and answers everything it had read or
/// refuses it `shutting_down`, then closes with 1001; after a restart the store holds exactly
/// the acknowledged messages, and resending the rest with the same client ids stores each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_commits_or_refuses_in_flight_requests_then_closes_1001() {
    let mut server = Server::start().await;
    let options = Options::default();
    let cx = Ctx::connect(&server.url, &options).await.unwrap();
    let mut jerry = cx.user("jerry").await.unwrap();
    let mut tom = cx.user("tom").await.unwrap();
    let c = create(&mut tom, &[jerry.uid()], "shutdown").await.unwrap();
    jerry.drain().await.unwrap();
    let account = tom.account().clone();

    // Pipeline sends (with a few other changes among them) and stop the server meanwhile.
    let count = (cx.limits().request_burst as usize / 2).max(10);
    let mut sends = Vec::new();
    let mut frames = Vec::new();
    for i in 0..count {
        let params = text(c.id, &format!("in flight {i}"));
        let (id, frame) = tom.frame("send_text", params.clone());
        sends.push((id, params));
        frames.push(frame);
        if i % 25 == 0 {
            let (_, frame) = tom.frame("mark_read", json!({"conversation_id": c.id, "seq": i}));
            frames.push(frame);
            let (_, frame) = tom.frame(
                "update_conversation",
                json!({"conversation_id": c.id, "title": format!("t{i}")}),
            );
            frames.push(frame);
        }
    }
    tom.send_burst(&frames).await.unwrap();
    // Once the server has answered one, the rest are in flight: stop it now.
    let first = tom.next_reply().await.unwrap();
    let stopping = tokio::spawn(server.running.take().unwrap().shutdown());
    let closed = tom.wait_closed().await.unwrap();
    stopping.await.unwrap();
    let mut replies = vec![first];
    replies.extend(tom.take_replies());
    let mut acked: BTreeMap<u64, Message> = BTreeMap::new();
    let mut refused = BTreeSet::new();
    for reply in &replies {
        let id = reply.id.expect("every reply names its request");
        match &reply.outcome {
            Ok(value) if reply.op.as_deref() == Some("send_text") => {
                acked.insert(id, serde_json::from_value(value.clone()).unwrap());
            }
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code, ErrorCode::ShuttingDown, "{}", reply.text);
                refused.insert(id);
            }
        }
    }
    eprintln!(
        "{} replies to {} requests: {} sends acked, {} refused shutting_down; closed {closed:?}",
        replies.len(),
        frames.len(),
        acked.len(),
        refused.len()
    );
    match &closed {
        Closed::Frame(Some(1001), _) => {}
        other => panic!("closed with {other:?}, not 1001"),
    }
    assert!(!acked.is_empty(), "some sends were taken before the stop");

    // After a restart: exactly the acknowledged messages, gapless.
    server.boot().await;
    let cx = Ctx::connect(&server.url, &options).await.unwrap();
    let mut tom = Conn::hello(cx.target(), "tom-again").await.unwrap();
    tom.ok("resume", json!({"token": account.token}))
        .await
        .expect("sessions survive a restart");
    tom.set_signed_in(account);
    let stored = history(&mut tom, c.id).await.unwrap();
    let acked_seqs: BTreeSet<u64> = acked.values().map(|m| m.seq).collect();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<BTreeSet<_>>(),
        acked_seqs,
        "the store holds exactly the acknowledged messages"
    );
    assert_eq!(acked_seqs, (1..=acked.len() as u64).collect(), "gapless");
    for m in acked.values() {
        assert!(stored.contains(m), "stored exactly as acknowledged: {m:?}");
    }

    // Resending everything with the same client ids: the acked ones come back as they were,
    // the others are stored once each.
    for (id, params) in &sends {
        let value = tom.ok("send_text", params.clone()).await.unwrap();
        let message: Message = serde_json::from_value(value).unwrap();
        if let Some(original) = acked.get(id) {
            assert_eq!(&message, original, "a resend of an acknowledged send");
        }
    }
    let stored = history(&mut tom, c.id).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=count as u64).collect::<Vec<_>>(),
        "every send stored once"
    );
    server.running.take().unwrap().shutdown().await;
}
