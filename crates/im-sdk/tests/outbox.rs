//! The outbox under backlog: thousands of messages written offline go out in the order written,
//! each exactly once, at the pace the server announces (never bouncing off its rate limit), also
//! across a restart of the client or the server in the middle of the flush.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{chat, client, fast_config, online, sign_up, Server, WAIT};
use futures_util::StreamExt;
use im_proto::ErrorCode;
use im_sdk::{ClientEvent, ConnectionState, ImClient, ImService, TextMessage};

/// A server whose rate limit a backlog exceeds many times over: burst 100, 2,000 per second.
async fn tight_server() -> Server {
    Server::start_with(|c| {
        c.limits.requests_per_second = 2_000;
        c.limits.request_burst = 100;
    })
    .await
}

async fn offline(client: &ImClient) {
    let mut state = client.watch_state();
    tokio::time::timeout(WAIT, state.wait_for(|s| *s != ConnectionState::Online))
        .await
        .unwrap()
        .unwrap();
}

/// Every message of a conversation, from the server.
async fn history(client: &ImClient, id: im_proto::ConversationId) -> Vec<im_proto::Message> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = client
            .call(im_proto::GetMessages {
                conversation_id: id,
                after: Some(after),
                before: None,
                limit: None,
            })
            .await
            .unwrap();
        after = page.messages.last().map_or(after, |m| m.seq);
        all.extend(page.messages);
        if !page.has_more {
            return all;
        }
    }
}

/// Waits until every one of `n` messages was reported sent; returns how often each client id
/// was reported.
async fn sent_reports(
    events: &mut im_sdk::EventStream,
    n: usize,
    patience: Duration,
) -> HashMap<String, usize> {
    let mut reports: HashMap<String, usize> = HashMap::new();
    tokio::time::timeout(patience, async {
        while reports.len() < n {
            match events.next().await.expect("events") {
                ClientEvent::MessageSent(m) => {
                    *reports.entry(m.client_id.to_string()).or_default() += 1;
                }
                ClientEvent::MessageFailed { error, .. } => panic!("a send failed: {error}"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {n} sends were reported", reports.len()));
    reports
}

fn assert_in_order_once(stored: &[im_proto::Message], texts: &[String]) {
    let got: Vec<&str> = stored.iter().map(|m| m.body.preview()).collect();
    let want: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert_eq!(got.len(), want.len(), "each message stored once");
    let first_wrong = got.iter().zip(&want).position(|(g, w)| g != w);
    assert_eq!(first_wrong, None, "stored in the order written");
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=stored.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_thirty_times_the_burst_goes_out_in_order_once_without_a_refusal() {
    let mut server = tight_server().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let service = ImService::with_config(fast_config());
    let jerry = client(&service, sign_up(&url, "jerry").await, dir.path());
    let tom = client(&service, sign_up(&url, "tom").await, dir.path());
    online(&tom).await;
    let c = chat(&tom, jerry.user().uid).await;
    server.stop().await;
    offline(&tom).await;
    const N: usize = 3_000;
    let texts: Vec<String> = (0..N).map(|i| format!("backlog {i:04}")).collect();
    for text in &texts {
        c.enqueue(TextMessage::new(text.clone())).unwrap();
    }
    let mut events = tom.events();
    server.restart().await;
    let reports = sent_reports(&mut events, N, WAIT * 4).await;
    assert!(reports.values().all(|&n| n == 1), "each reported sent once");
    assert!(tom.outbox().unwrap().is_empty());
    assert_in_order_once(&history(&tom, c.id()).await, &texts);
    assert_eq!(
        server.errors_sent(ErrorCode::RateLimited),
        0,
        "paced: never refused for the rate"
    );
    assert_eq!(server.resends_answered(), 0, "nothing was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_cut_by_a_server_restart_resumes_in_order() {
    let mut server = tight_server().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let service = ImService::with_config(fast_config());
    let jerry = client(&service, sign_up(&url, "jerry").await, dir.path());
    let tom = client(&service, sign_up(&url, "tom").await, dir.path());
    online(&tom).await;
    let c = chat(&tom, jerry.user().uid).await;
    server.stop().await;
    offline(&tom).await;
    const N: usize = 2_000;
    let texts: Vec<String> = (0..N).map(|i| format!("cut {i:04}")).collect();
    for text in &texts {
        c.enqueue(TextMessage::new(text.clone())).unwrap();
    }
    let mut events = tom.events();
    server.restart().await;
    // Stop it gracefully in the middle: sends taken are committed or refused `shutting_down`.
    sent_reports(&mut events, 300, WAIT).await;
    server.stop().await;
    server.restart().await;
    tokio::time::timeout(WAIT * 4, async {
        while !tom.outbox().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the outbox drains");
    online(&tom).await;
    assert_in_order_once(&history(&tom, c.id()).await, &texts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_client_sends_its_backlog_once_even_with_messages_written_at_start() {
    let mut server = tight_server().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let service = ImService::with_config(fast_config());
    let jerry = client(&service, sign_up(&url, "jerry").await, dir.path());
    let tom_session = sign_up(&url, "tom").await;
    let id;
    let mut texts: Vec<String> = (0..50).map(|i| format!("before {i:02}")).collect();
    {
        let tom = client(&service, tom_session.clone(), dir.path());
        online(&tom).await;
        let c = chat(&tom, jerry.user().uid).await;
        id = c.id();
        server.stop().await;
        offline(&tom).await;
        for text in &texts {
            c.enqueue(TextMessage::new(text.clone())).unwrap();
        }
        tom.close().await;
    }
    server.restart().await;
    // The app starts again and, at once, the user writes more (the race the tester hit: the
    // first queued message went out twice and was reported sent twice).
    let tom = client(
        &ImService::with_config(fast_config()),
        tom_session,
        dir.path(),
    );
    let mut events = tom.events();
    let c = tom.conversation(id).await.unwrap();
    for i in 0..5 {
        let text = format!("at start {i}");
        c.enqueue(TextMessage::new(text.clone())).unwrap();
        texts.push(text);
    }
    let reports = sent_reports(&mut events, texts.len(), WAIT * 2).await;
    // A barrier: this one's ack comes after every earlier one's on the same connection, so a
    // duplicate report of an earlier message would already be here.
    let last = c.send(TextMessage::new("barrier")).await.unwrap();
    texts.push("barrier".into());
    let mut late = reports;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, events.next()).await {
        if let ClientEvent::MessageSent(m) = event {
            *late.entry(m.client_id.to_string()).or_default() += 1;
        }
    }
    late.remove(last.client_id.as_str());
    assert!(
        late.values().all(|&n| n == 1),
        "each reported sent once: {:?}",
        late.iter().filter(|(_, &n)| n != 1).collect::<Vec<_>>()
    );
    assert_eq!(server.resends_answered(), 0, "nothing was sent twice");
    assert_in_order_once(&history(&tom, id).await, &texts);
}
