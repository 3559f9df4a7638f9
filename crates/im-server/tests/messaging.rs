//! The seed scenario and the message guarantees: delivery, idempotent resend, catch-up, order.

mod common;

use std::collections::HashSet;

use common::{assert_code, Client, TestServer};
use im_proto::{
    ClientId, ConversationType, CreateConversation, ErrorCode, Event, FindUsers, GetConversation,
    GetMessages, ListConversations, MarkRead, Message, MessageBody, SendText, SetTyping, Sync,
};

fn text(conversation_id: im_proto::ConversationId, body: &str) -> SendText {
    SendText {
        conversation_id,
        client_id: ClientId::random(),
        text: body.into(),
    }
}

#[tokio::test]
async fn tom_sends_jerry_wake_up_and_jerry_receives_it() {
    let server = TestServer::start().await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;

    let found = tom
        .call(FindUsers {
            usernames: vec!["Jerry".into()],
        })
        .await
        .unwrap();
    assert_eq!(found.users.len(), 1);
    assert_eq!(found.users[0].uid, jerry.uid());
    assert_eq!(found.users[0].display_name, "JERRY");

    let created = tom
        .call(CreateConversation {
            title: Some("Tom & Jerry".into()),
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(created.created);
    let c = created.conversation;
    assert_eq!(c.title, "Tom & Jerry");
    assert_eq!(c.icon, "");
    assert_eq!(c.manager_id, tom.uid());
    assert_eq!(c.remark, "");
    assert_eq!(c.user_count, 2);
    assert!(c.attrs.is_empty());
    assert!(c.create_time > 1_700_000_000_000);
    assert_eq!(c.kind, ConversationType::SingleChat);
    assert_eq!(c.user_ids, vec![tom.uid(), jerry.uid()]);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(
        json.as_object().unwrap().len(),
        10,
        "exactly the seed's ten fields: {json}"
    );
    assert_eq!(json["type"], "SINGLE_CHAT");

    let announced = jerry.event().await;
    assert_eq!(announced, Event::ConversationCreated(c.clone()));

    let sent = tom.call(text(c.id, "耗子，起床啦")).await.unwrap();
    assert_eq!(sent.seq, 1);
    assert_eq!(sent.from, tom.uid());
    assert_eq!(sent.body, MessageBody::text("耗子，起床啦"));

    let Event::Message(received) = jerry.event().await else {
        panic!("expected a message")
    };
    assert_eq!(received, sent);

    // Jerry's list shows it unread; reading it clears the count and tells Tom.
    let list = jerry.call(ListConversations::default()).await.unwrap();
    assert_eq!(list.conversations.len(), 1);
    let view = &list.conversations[0];
    assert_eq!(view.conversation, c);
    assert_eq!(view.unread_count, 1);
    assert_eq!(view.last_message.as_ref(), Some(&sent));
    let mark = jerry
        .call(MarkRead {
            conversation_id: c.id,
            seq: 1,
        })
        .await
        .unwrap();
    assert_eq!((mark.read_seq, mark.unread_count), (1, 0));
    let receipt = tom
        .event_where(|e| match e {
            Event::Receipt(r) => Some(r),
            _ => None,
        })
        .await;
    assert_eq!((receipt.uid, receipt.read_seq), (jerry.uid(), 1));
    // Tom's view says how far Jerry has read (read ticks), without needing the event.
    let tom_view = tom
        .call(GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(tom_view.others_read_seq, 1);
    let view = tom
        .call(GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!((view.last_seq, view.read_seq, view.unread_count), (1, 1, 0));
}

#[tokio::test]
async fn plain_creates_make_new_conversations_and_unique_returns_the_first() {
    let server = TestServer::start().await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let params = || CreateConversation {
        title: Some("Tom & Jerry".into()),
        user_ids: vec![jerry.uid()],
        ..Default::default()
    };
    let first = tom.call(params()).await.unwrap().conversation;
    let second = tom.call(params()).await.unwrap().conversation;
    assert_ne!(
        first.id, second.id,
        "every plain create makes a new conversation"
    );

    let unique = tom
        .call(CreateConversation {
            unique: true,
            ..params()
        })
        .await
        .unwrap();
    assert!(!unique.created);
    assert_eq!(unique.conversation.id, first.id);

    // The member set decides, not who asks or in which order.
    let mut jerry = jerry;
    let from_jerry = jerry
        .call(CreateConversation {
            user_ids: vec![tom.uid(), jerry.uid()],
            unique: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(from_jerry.conversation.id, first.id);

    // A unique create with a new member set creates.
    let spike = Client::user(&server.url, "spike").await;
    let group = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            unique: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(group.created);
    assert_eq!(group.conversation.kind, ConversationType::GroupChat);
    assert_eq!(group.conversation.user_count, 3);
}

#[tokio::test]
async fn a_resent_message_returns_the_original_and_is_delivered_once() {
    let server = TestServer::start().await;
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
    jerry.event().await; // conversation_created

    let params = text(c.id, "耗子，起床啦");
    let first = tom.call(params.clone()).await.unwrap();
    let again = tom.call(params.clone()).await.unwrap();
    assert_eq!(again, first, "same id, seq and timestamp");
    // Also when the retry comes over a new connection (the usual case after a lost ack).
    let mut tom2 = tom.another_session(&server.url).await;
    assert_eq!(tom2.call(params).await.unwrap(), first);

    let next = tom.call(text(c.id, "second")).await.unwrap();
    assert_eq!(next.seq, 2, "the resends used no seq");

    let mut seen = Vec::new();
    for _ in 0..2 {
        match jerry.event().await {
            Event::Message(m) => seen.push(m.seq),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, [1, 2]);
    assert!(jerry.quiet_for(std::time::Duration::from_millis(300)).await);
    let page = jerry
        .call(GetMessages {
            conversation_id: c.id,
            before: None,
            after: None,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 2);
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

#[tokio::test]
async fn history_pages_backwards_from_a_seq() {
    let server = TestServer::start().await;
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
    for i in 1..=25 {
        tom.call(text(c.id, &format!("m{i}"))).await.unwrap();
    }
    let newest = tom
        .call(GetMessages {
            conversation_id: c.id,
            before: None,
            after: None,
            limit: Some(10),
        })
        .await
        .unwrap();
    assert_eq!(
        newest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (16..=25).collect::<Vec<_>>()
    );
    assert!(newest.has_more);
    let older = tom
        .call(GetMessages {
            conversation_id: c.id,
            before: Some(16),
            after: None,
            limit: Some(10),
        })
        .await
        .unwrap();
    assert_eq!(older.messages.first().unwrap().seq, 6);
    let oldest = tom
        .call(GetMessages {
            conversation_id: c.id,
            before: Some(6),
            after: None,
            limit: Some(10),
        })
        .await
        .unwrap();
    assert_eq!(
        oldest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=5).collect::<Vec<_>>()
    );
    assert!(!oldest.has_more);
    assert_code(
        tom.call(GetMessages {
            conversation_id: c.id,
            before: Some(3),
            after: Some(1),
            limit: None,
        })
        .await,
        ErrorCode::InvalidParams,
    );
}

#[tokio::test]
async fn messages_reach_every_session_of_every_member_but_the_sending_one() {
    let server = TestServer::start().await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut tom_laptop = tom.another_session(&server.url).await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    assert!(matches!(
        tom_laptop.event().await,
        Event::ConversationCreated(_)
    ));
    assert!(matches!(jerry.event().await, Event::ConversationCreated(_)));
    let sent = tom.call(text(c.id, "hi from the phone")).await.unwrap();
    assert_eq!(tom_laptop.event().await, Event::Message(sent.clone()));
    assert_eq!(jerry.event().await, Event::Message(sent));
    assert!(
        tom.quiet_for(std::time::Duration::from_millis(300)).await,
        "no echo to the sender"
    );

    // Typing notices reach the other member only, and are not stored.
    tom.call(SetTyping {
        conversation_id: c.id,
        typing: true,
    })
    .await
    .unwrap();
    match jerry.event().await {
        Event::Typing(t) => assert!(t.typing && t.uid == tom.uid()),
        other => panic!("{other:?}"),
    }
    assert!(
        tom_laptop
            .quiet_for(std::time::Duration::from_millis(300))
            .await
    );
    let view = jerry
        .call(GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(view.last_seq, 1);
}

#[tokio::test]
async fn concurrent_senders_get_gapless_unique_seqs() {
    let server = TestServer::start().await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut senders = Vec::new();
    for i in 0..8 {
        senders.push(Client::user(&server.url, &format!("sender{i}")).await);
    }
    let c = tom
        .call(CreateConversation {
            user_ids: senders.iter().map(|s| s.uid()).collect(),
            title: Some("crowd".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    const EACH: usize = 100;
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    ids.push(s.send(text(c.id, &format!("{i}"))).await);
                }
                let mut seqs = Vec::new();
                for id in ids {
                    let m: Message = s.reply(id).await.unwrap();
                    seqs.push(m.seq);
                }
                seqs
            })
        })
        .collect();
    let mut all = HashSet::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one sender's messages keep their order"
        );
        for seq in seqs {
            assert!(all.insert(seq), "seq {seq} twice");
        }
    }
    let total = 8 * EACH as u64;
    assert_eq!(all, (1..=total).collect::<HashSet<_>>(), "gapless");
    // Tom, a member, was pushed every one of them, in seq order.
    let mut pushed = Vec::new();
    while pushed.len() < total as usize {
        if let Event::Message(m) = tom.event().await {
            pushed.push(m.seq);
        }
    }
    assert_eq!(pushed, (1..=total).collect::<Vec<_>>());
}

/// The outside tester's reproduction (issue 9): three members on 15 connections pipeline sends
/// mixed with title changes and membership changes, so that they share write batches. The
/// conversation's `last_seq` must stay the newest seq, later sends must work, and marking read
/// must not take the writer down.
#[tokio::test]
async fn sends_mixed_with_renames_and_membership_changes_keep_last_seq() {
    let server = TestServer::start().await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let spike = Client::user(&server.url, "spike").await;
    let tyke = Client::user(&server.url, "tyke").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            title: Some("the house".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let mut connections = Vec::new();
    for who in [&tom, &jerry, &spike] {
        for _ in 0..5 {
            connections.push(who.another_session(&server.url).await);
        }
    }
    let tyke_uid = tyke.uid();
    let tom_uid = tom.uid();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(n, mut conn)| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..20 {
                    let id = match (i % 4, conn.uid() == tom_uid) {
                        (1, _) => {
                            conn.send(im_proto::UpdateConversation {
                                conversation_id: c.id,
                                title: Some(format!("title {n}.{i}")),
                                icon: None,
                                remark: None,
                                attrs: None,
                            })
                            .await
                        }
                        (2, true) => {
                            conn.send(im_proto::AddMembers {
                                conversation_id: c.id,
                                user_ids: vec![tyke_uid],
                            })
                            .await
                        }
                        (3, true) => {
                            conn.send(im_proto::RemoveMembers {
                                conversation_id: c.id,
                                user_ids: vec![tyke_uid],
                            })
                            .await
                        }
                        _ => conn.send(text(c.id, &format!("{n}.{i}"))).await,
                    };
                    ids.push(id);
                }
                for id in ids {
                    let reply: common::Reply<serde_json::Value> = conn.reply(id).await;
                    assert!(reply.is_ok(), "request {id} on connection {n}: {reply:?}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let history = {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = tom
                .call(GetMessages {
                    conversation_id: c.id,
                    after: Some(after),
                    before: None,
                    limit: None,
                })
                .await
                .unwrap();
            after = page.messages.last().map_or(after, |m| m.seq);
            all.extend(page.messages);
            if !page.has_more {
                break all;
            }
        }
    };
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gapless");
    let view = tom
        .call(im_proto::GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(
        view.last_seq,
        seqs.len() as u64,
        "last_seq is the newest seq"
    );
    assert_eq!(view.last_message.map(|m| m.seq), Some(view.last_seq));
    let next: Message = tom.call(text(c.id, "after the storm")).await.unwrap();
    assert_eq!(next.seq, view.last_seq + 1);
    let mark = jerry
        .call(im_proto::MarkRead {
            conversation_id: c.id,
            seq: next.seq,
        })
        .await
        .unwrap();
    assert_eq!((mark.read_seq, mark.unread_count), (next.seq, 0));
    // The writer is still alive: a sign-up (a change of its own) goes through.
    Client::user(&server.url, "nibbles").await;
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
