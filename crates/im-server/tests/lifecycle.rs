//! Durability across restarts and graceful shutdown, in-process and as the real `im-server`
//! binary stopped by a signal.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{Client, TestServer};
use im_proto::{ClientId, CreateConversation, ErrorCode, GetMessages, Message, Resume, SendText};

fn send(conversation_id: im_proto::ConversationId, text: &str) -> SendText {
    SendText {
        conversation_id,
        client_id: ClientId::random(),
        text: text.into(),
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

/// The real binary, listening on a free port with its database in `dir`.
struct Binary {
    child: Child,
    url: String,
}

impl Binary {
    fn start(dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_im-server"))
            .current_dir(dir)
            .env("IM_LISTEN", "127.0.0.1:0")
            .env("IM_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("server exited").unwrap();
            if let Some(at) = line.find("ws://") {
                break line[at..].split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
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
