//! Back-pressure inside the server: a client pipelining far more changes than its outbound
//! queue holds is served in full — its own answers never make it "too slow" — and a client that
//! really does not read is closed with 1013, reconnects and catches up.

mod common;

use std::collections::HashSet;

use common::{Client, TestServer};
use im_proto::{ClientId, CreateConversation, Message, SendText};

#[tokio::test]
async fn a_client_pipelining_beyond_its_queue_gets_every_answer_and_stays_connected() {
    let server = TestServer::start_with(|c| {
        c.outbound_queue = 64;
        c.limits.requests_per_second = 100_000;
        c.limits.request_burst = 100_000;
    })
    .await;
    let jerry = Client::user(&server.url, "jerry").await;
    let jerry_uid = jerry.uid();
    drop(jerry); // offline: no events to anyone but tom's own answers
    let mut tom = Client::user(&server.url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry_uid],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    const N: usize = 1_000;
    let mut ids = HashSet::new();
    for i in 0..N {
        ids.insert(
            tom.send(SendText {
                conversation_id: c.id,
                client_id: ClientId::random(),
                text: format!("pipelined {i}"),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            })
            .await,
        );
    }
    let mut seqs = Vec::new();
    while !ids.is_empty() {
        match tom.next_raw().await {
            common::Raw::Reply(Some(id), Ok(value)) => {
                assert!(ids.remove(&id), "one answer per request");
                seqs.push(serde_json::from_value::<Message>(value).unwrap().seq);
            }
            common::Raw::Reply(id, Err(e)) => panic!("request {id:?} refused: {e:?}"),
            common::Raw::Reply(None, Ok(v)) => panic!("a result without an id: {v}"),
            common::Raw::Event => {}
            common::Raw::Closed(code) => {
                panic!("closed ({code:?}) after {} of {N} answers", seqs.len())
            }
        }
    }
    assert_eq!(seqs, (1..=N as u64).collect::<Vec<_>>(), "in order");
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_with_1013_and_catches_up_after_reconnecting() {
    let server = TestServer::start_with(|c| {
        c.outbound_queue = 64;
        c.limits.requests_per_second = 100_000;
        c.limits.request_burst = 100_000;
    })
    .await;
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
    // Jerry reads nothing while 12 MB of messages are pushed to him: more than the socket
    // buffers hold, so his queue fills behind a blocked write.
    const N: u64 = 3_000;
    let text = "x".repeat(4_000);
    // Pipelined (and Tom reading his acks as he goes), so that it takes far less than the
    // server's 10 s write timeout.
    for _ in 0..N / 100 {
        for _ in 0..100 {
            tom.send(SendText {
                conversation_id: c.id,
                client_id: ClientId::random(),
                text: text.clone(),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            })
            .await;
        }
        for _ in 0..100 {
            assert!(tom.any_reply().await.1.is_ok());
        }
    }
    // Reading again, he gets what was written before he fell behind, then the close.
    let mut received = 0;
    let code = loop {
        match jerry.next_raw().await {
            common::Raw::Closed(code) => break code,
            _ => received += 1,
        }
    };
    assert_eq!(code, Some(1013), "too slow to keep up");
    assert!(received < N, "{received} of {N} arrived before the close");
    // Reconnect, resume, catch up: nothing was lost.
    let mut again = Client::connect(&server.url).await;
    again
        .call(im_proto::Resume {
            token: jerry.token.clone().unwrap(),
        })
        .await
        .unwrap();
    let sync = again
        .call(im_proto::Sync {
            since: 0,
            limit: None,
        })
        .await
        .unwrap();
    let view = sync
        .conversations
        .iter()
        .find(|v| v.conversation.id == c.id)
        .expect("the conversation in sync");
    assert_eq!(view.last_seq, N);
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = again
            .call(im_proto::GetMessages {
                conversation_id: c.id,
                after: Some(after),
                before: None,
                limit: None,
            })
            .await
            .unwrap();
        after = page.messages.last().map_or(after, |m| m.seq);
        seqs.extend(page.messages.iter().map(|m| m.seq));
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
}
