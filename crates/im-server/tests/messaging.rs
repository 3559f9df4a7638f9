//! Message guarantees under limits the kit cannot use on a server with its default settings:
//! catching up on 500 messages pipelined at once, and the send hold with a burst of 4. The
//! message guarantees at the default limits (delivery, idempotent resend, paging, order,
//! concurrent senders, issue 9) are checked by the conformance kit (crates/im-conformance); here
//! also the edit and recall windows, set short.

mod common;

use common::{Client, TestServer};
use im_proto::{
    ClientId, CreateConversation, EditMessage, ErrorCode, GetMessages, Message, MessageBody,
    RecallMessage, SendText, Sync,
};

fn text(conversation_id: im_proto::ConversationId, body: &str) -> SendText {
    SendText {
        conversation_id,
        client_id: ClientId::random(),
        text: body.into(),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
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

/// The edit and recall windows (set short here: 1 s and 2 s) close on time; a group's manager
/// may still recall anyone's message after the window; the windows are told in `hello`.
#[tokio::test]
async fn edits_and_recalls_close_with_their_windows() {
    let server = TestServer::start_with(|c| {
        c.limits.edit_window_ms = 1_000;
        c.limits.recall_window_ms = 2_000;
    })
    .await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let spike = Client::user(&server.url, "spike").await;
    let hello = Client::raw(&server.url)
        .await
        .call(im_proto::Hello {
            protocol: im_proto::PROTOCOL_VERSION,
            client: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (hello.limits.edit_window_ms, hello.limits.recall_window_ms),
        (1_000, 2_000)
    );
    let group = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            title: Some("Cat & Mice".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let toms = tom.call(text(group.id, "耗子，起床啦")).await.unwrap();
    let jerrys = jerry.call(text(group.id, "再睡五分钟")).await.unwrap();
    let edit = |seq, text: &str| EditMessage {
        conversation_id: group.id,
        seq,
        text: text.into(),
    };
    let recall = |seq| RecallMessage {
        conversation_id: group.id,
        seq,
    };
    // Within the windows.
    let edited = jerry.call(edit(jerrys.seq, "再睡十分钟")).await.unwrap();
    assert!(edited.edited_at.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    // Past the edit window, inside the recall window.
    assert_eq!(
        jerry
            .call(edit(jerrys.seq, "起来了"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::WindowClosed
    );
    let third = jerry.call(text(group.id, "好吧")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    // Past both windows for Jerry's first message; the third is 1 s old.
    assert_eq!(
        jerry.call(recall(jerrys.seq)).await.unwrap_err().code,
        ErrorCode::WindowClosed
    );
    let recalled = jerry.call(recall(third.seq)).await.unwrap();
    assert_eq!(recalled.body, MessageBody::Recalled { by: jerry.uid() });
    // The group's manager recalls Jerry's old message, and his own.
    let by_manager = tom.call(recall(jerrys.seq)).await.unwrap();
    assert_eq!(by_manager.body, MessageBody::Recalled { by: tom.uid() });
    assert_eq!(by_manager.from, jerry.uid());
    tom.call(recall(toms.seq)).await.unwrap();
    // Jerry is no manager: Tom's messages are not his to recall, at any age.
    let again = tom.call(text(group.id, "都撤回了")).await.unwrap();
    assert_eq!(
        jerry.call(recall(again.seq)).await.unwrap_err().code,
        ErrorCode::NotSender
    );
}
