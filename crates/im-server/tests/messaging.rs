//! Message guarantees under limits the kit cannot use on a server with its default settings:
//! catching up on 500 messages pipelined at once, and the send hold with a burst of 4. The
//! message guarantees at the default limits (delivery, idempotent resend, paging, order,
//! concurrent senders, issue 9) are checked by the conformance kit (crates/im-conformance).

mod common;

use common::{Client, TestServer};
use im_proto::{
    ClientId, CreateConversation, ErrorCode, GetMessages, Message, MessageBody, SendText, Sync,
};

fn text(conversation_id: im_proto::ConversationId, body: &str) -> SendText {
    SendText {
        conversation_id,
        client_id: ClientId::random(),
        text: body.into(),
    }
}

#[tokio::test]
async fn jerry_catches_up_on_500_messages_after_reconnecting() {
    // Tom pipelines 500 sends at once: lift the per-connection request rate for this test.
    let server = TestServer::start_with(|c| {
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
    // Jerry syncs (his cursor), then goes offline.
    let synced = jerry
        .call(Sync {
            since: 0,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(synced.conversations.len(), 1);
    let cursor = synced.cursor;
    let token = jerry.token.clone().unwrap();
    drop(jerry);

    // Tom sends 500, pipelined, then collects the acks.
    let mut ids = Vec::new();
    for i in 0..500 {
        ids.push(tom.send(text(c.id, &format!("message {i}"))).await);
    }
    for (i, id) in ids.into_iter().enumerate() {
        let m: Message = tom.reply(id).await.unwrap();
        assert_eq!(m.seq, i as u64 + 1);
    }

    // Jerry comes back with his token and cursor.
    let mut jerry = Client::connect(&server.url).await;
    jerry.call(im_proto::Resume { token }).await.unwrap();
    let changed = jerry
        .call(Sync {
            since: cursor,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(changed.conversations.len(), 1);
    let view = &changed.conversations[0];
    assert_eq!(
        (view.last_seq, view.read_seq, view.unread_count),
        (500, 0, 500)
    );
    assert!(changed.cursor > cursor);

    let mut got: Vec<Message> = Vec::new();
    let mut after = view.read_seq;
    let mut pages = 0;
    loop {
        let page = jerry
            .call(GetMessages {
                conversation_id: c.id,
                after: Some(after),
                before: None,
                limit: Some(200),
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.messages.len() <= 200, "bounded pages");
        after = page.messages.last().map_or(after, |m| m.seq);
        got.extend(page.messages);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(pages, 3);
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=500).collect::<Vec<_>>(),
        "all 500, once, in order"
    );
    assert_eq!(got[499].body, MessageBody::text("message 499"));
    // Nothing more changed since.
    let again = jerry
        .call(Sync {
            since: changed.cursor,
            limit: None,
        })
        .await
        .unwrap();
    assert!(again.conversations.is_empty());
    assert!(!again.has_more);
}

/// A send refused for now holds back the connection's later sends to that conversation until it
/// comes again, so a pipelining client that resends in order gets its messages stored in order.
#[tokio::test]
async fn a_send_refused_for_now_holds_back_the_later_ones_until_it_comes_again() {
    let server = TestServer::start_with(|c| {
        c.limits.requests_per_second = 10;
        c.limits.request_burst = 4;
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
    let mut sender = tom.another_session(&server.url).await; // hello + resume: 2 of 4
    let texts: Vec<SendText> = (1..=4).map(|i| text(c.id, &format!("s{i}"))).collect();
    let mut ids = Vec::new();
    for t in &texts {
        ids.push(sender.send(t.clone()).await);
    }
    // Replies to one connection's requests may come in any order (refusals are immediate).
    let mut replies = std::collections::HashMap::new();
    while replies.len() < ids.len() {
        let (id, reply) = sender.any_reply().await;
        replies.insert(id.unwrap(), reply);
    }
    let seq = |id: &u64| replies[id].as_ref().map(|v| v["seq"].as_u64().unwrap());
    assert_eq!(seq(&ids[0]), Ok(1));
    assert_eq!(seq(&ids[1]), Ok(2));
    let refused = replies[&ids[2]].as_ref().unwrap_err();
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert_eq!(
        replies[&ids[3]].as_ref().unwrap_err().code,
        ErrorCode::RateLimited
    );
    // s4 again, before s3: within the rate now, but held back behind s3.
    let wait = |e: &im_proto::ErrorBody| {
        std::time::Duration::from_millis(e.retry_after_ms.unwrap_or(100) + 20)
    };
    tokio::time::sleep(wait(refused)).await;
    let held = sender.call(texts[3].clone()).await.unwrap_err();
    assert_eq!(held.code, ErrorCode::RateLimited, "{held:?}");
    assert!(
        held.message.contains(texts[2].client_id.as_str()),
        "names the one to send first: {}",
        held.message
    );
    // s3, then s4: stored in the order sent.
    tokio::time::sleep(wait(&held)).await;
    assert_eq!(sender.call(texts[2].clone()).await.unwrap().seq, 3);
    tokio::time::sleep(wait(&held)).await;
    assert_eq!(sender.call(texts[3].clone()).await.unwrap().seq, 4);
    let history = tom
        .call(GetMessages {
            conversation_id: c.id,
            after: Some(0),
            before: None,
            limit: None,
        })
        .await
        .unwrap();
    let bodies: Vec<String> = history
        .messages
        .iter()
        .map(|m| m.body.preview().to_owned())
        .collect();
    assert_eq!(bodies, ["s1", "s2", "s3", "s4"]);
}
