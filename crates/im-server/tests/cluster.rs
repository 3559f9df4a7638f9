//! Three nodes on one PostgreSQL database with NATS between them (real services, started by
//! the test): Tom on node 1, Jerry on node 2, Spike on node 3. Every message reaches the other
//! members' sessions once, in seq order, wherever it was sent; a sign-out on one node ends the
//! session's connections on the others; NATS restarting makes the nodes tell their sessions
//! `sync_needed`, and what was sent meanwhile is there to catch up on.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{node, pipeline, Client, WAIT};
use im_proto::{ConversationId, CreateConversation, ErrorCode, Event, GetMessages, Message};
use im_test_services::{Nats, TestDatabase};

/// The message events `client` has received for `id` until it holds `expected` of them (or
/// nothing more comes within WAIT).
async fn received(client: &mut Client, id: ConversationId, expected: usize) -> Vec<Message> {
    let mut got = Vec::new();
    while got.len() < expected {
        let event = tokio::time::timeout(WAIT, client.event())
            .await
            .unwrap_or_else(|_| panic!("{} of {expected} messages arrived", got.len()));
        if let Event::Message(m) = event {
            if m.conversation_id == id {
                got.push(m);
            }
        }
    }
    got
}

/// Every message of the others, once, in seq order.
fn check_delivery(who: &str, got: &[Message], others_acked: &[&Message]) {
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{who}: in seq order, once each: {seqs:?}"
    );
    let mut wanted: Vec<u64> = others_acked.iter().map(|m| m.seq).collect();
    wanted.sort_unstable();
    assert_eq!(seqs, wanted, "{who}: every message of the others");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_once_in_order_and_share_sessions() {
    let db = TestDatabase::create().unwrap();
    let nats = Nats::start().unwrap();
    let nodes = [
        node(&db, Some(&nats)).await,
        node(&db, Some(&nats)).await,
        node(&db, Some(&nats)).await,
    ];
    let mut tom = Client::user(&nodes[0].url(), "tom").await;
    let mut jerry = Client::user(&nodes[1].url(), "jerry").await;
    let mut spike = Client::user(&nodes[2].url(), "spike").await;

    // A 1:1 chat made on node 1 reaches Jerry on node 2.
    let chat = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let created = jerry
        .event_where(|e| match e {
            Event::ConversationCreated(c) => Some(c),
            _ => None,
        })
        .await;
    assert_eq!(created.id, chat.id);

    // Both talk at once, each on their own node.
    let (from_tom, from_jerry) = tokio::join!(
        pipeline(&mut tom, chat.id, 150),
        pipeline(&mut jerry, chat.id, 150)
    );
    let jerry_got = received(&mut jerry, chat.id, 150).await;
    let tom_got = received(&mut tom, chat.id, 150).await;
    check_delivery("jerry", &jerry_got, &from_tom.iter().collect::<Vec<_>>());
    check_delivery("tom", &tom_got, &from_jerry.iter().collect::<Vec<_>>());

    // A group over all three nodes: everyone sends at once.
    let group = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            title: Some("cheese".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let (a, b, c) = tokio::join!(
        pipeline(&mut tom, group.id, 60),
        pipeline(&mut jerry, group.id, 60),
        pipeline(&mut spike, group.id, 60)
    );
    let acked: HashMap<&str, &Vec<Message>> = [("tom", &a), ("jerry", &b), ("spike", &c)].into();
    for (who, client) in [
        ("tom", &mut tom),
        ("jerry", &mut jerry),
        ("spike", &mut spike),
    ] {
        let got = received(client, group.id, 120).await;
        let others: Vec<&Message> = acked
            .iter()
            .filter(|(name, _)| **name != who)
            .flat_map(|(_, acks)| acks.iter())
            .collect();
        check_delivery(who, &got, &others);
    }
    let mut all: Vec<u64> = a.iter().chain(&b).chain(&c).map(|m| m.seq).collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=180).collect::<Vec<_>>(),
        "gapless over three nodes"
    );

    // Tom's session, also open on node 3, signs out on node 1: node 3 closes it, and no node
    // takes its token again.
    let mut tom_on_3 = tom.another_session(&nodes[2].url()).await;
    let token = tom.token.clone().unwrap();
    tom.call(im_proto::SignOut {}).await.unwrap();
    let signed_out = tom_on_3
        .event_where(|e| match e {
            Event::SignedOut(s) => Some(s),
            _ => None,
        })
        .await;
    assert!(!signed_out.reason.is_empty());
    for n in &nodes {
        let mut again = Client::connect(&n.url()).await;
        let refused = again
            .call(im_proto::Resume {
                token: token.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidToken, "{refused:?}");
    }
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarting_makes_sessions_catch_up_and_nothing_is_missing() {
    let db = TestDatabase::create().unwrap();
    let nats = Nats::start().unwrap();
    let (one, two) = (node(&db, Some(&nats)).await, node(&db, Some(&nats)).await);
    let mut tom = Client::user(&one.url(), "tom").await;
    let mut jerry = Client::user(&two.url(), "jerry").await;
    let chat = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let before = pipeline(&mut tom, chat.id, 5).await;
    assert_eq!(received(&mut jerry, chat.id, 5).await, before);

    nats.stop();
    // Stored while the nodes cannot reach each other: acknowledged, not delivered live.
    let meanwhile = pipeline(&mut tom, chat.id, 5).await;
    nats.start_again().unwrap();
    let told = tokio::time::timeout(
        Duration::from_secs(30),
        jerry.event_where(|e| match e {
            Event::SyncNeeded(s) => Some(s),
            _ => None,
        }),
    )
    .await
    .expect("sync_needed after NATS came back");
    assert!(!told.reason.is_empty());
    // Catching up as told finds everything; and live delivery works again.
    let page = jerry
        .call(GetMessages {
            conversation_id: chat.id,
            after: Some(5),
            before: None,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages, meanwhile);
    let after = pipeline(&mut tom, chat.id, 3).await;
    let live = received(&mut jerry, chat.id, 3).await;
    // (Messages stored meanwhile may also have arrived live once NATS was back; what counts
    // is that the newest arrive, in order.)
    assert_eq!(&live[live.len() - 3..], &after[..]);
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_on_one_node_slow_sign_ins_on_the_others() {
    let db = TestDatabase::create().unwrap();
    let nats = Nats::start().unwrap();
    let (one, two) = (node(&db, Some(&nats)).await, node(&db, Some(&nats)).await);
    Client::user(&one.url(), "tom").await;
    let attempt = |password: &str| im_proto::SignIn {
        username: "tom".into(),
        password: password.to_owned().into(),
        device: None,
    };
    let mut guesser = Client::connect(&one.url()).await;
    for _ in 0..5 {
        let refused = guesser.call(attempt("guess")).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::WrongCredentials);
    }
    // The other node heard of them: even the right password waits there now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut elsewhere = Client::connect(&two.url()).await;
    let slowed = elsewhere.call(attempt("tom-password")).await.unwrap_err();
    assert_eq!(slowed.code, ErrorCode::RateLimited, "{slowed:?}");
    assert!(slowed.retry_after_ms.is_some_and(|ms| ms > 0));
    one.shutdown().await;
    two.shutdown().await;
}
