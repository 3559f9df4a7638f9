//! The SDK across a cluster: Tom's client on node 1, Jerry's on node 2 (one PostgreSQL database,
//! NATS between them). Tom's messages reach Jerry's app live through the other node; when NATS
//! restarts, what Tom sent meanwhile reaches Jerry's app through the `sync_needed` catch-up,
//! once each and in order, without Jerry's connection dropping.

mod common;

use common::{chat, client, online, sign_up, WAIT};
use futures_util::StreamExt;
use im_sdk::{ClientEvent, ImService, TextMessage};
use im_server::{Config, Database, RunningServer};
use im_test_services::{Nats, TestDatabase};

async fn node(db: &TestDatabase, nats: &Nats) -> RunningServer {
    let database: Database = db.url().parse().unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), database);
    config.cluster = Some(nats.url());
    im_server::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_nodes_messages_arrive_live_and_after_nats_restarts() {
    let db = TestDatabase::create().unwrap();
    let nats = Nats::start().unwrap();
    let (one, two) = (node(&db, &nats).await, node(&db, &nats).await);
    let dir = tempfile::tempdir().unwrap();
    let (tom_app, jerry_app) = (ImService::new(), ImService::new());
    let tom = client(&tom_app, sign_up(&one.url(), "tom").await, dir.path());
    let jerry = client(&jerry_app, sign_up(&two.url(), "jerry").await, dir.path());
    let mut events = jerry.events();
    online(&tom).await;
    online(&jerry).await;
    let conversation = chat(&tom, jerry.user().uid).await;
    conversation
        .send(TextMessage::new("耗子，起床啦"))
        .await
        .unwrap();
    let first = common::collect_messages(&mut events, 1).await;
    assert_eq!(first[0].body.preview(), "耗子，起床啦");

    nats.stop();
    for text in ["one", "two", "three"] {
        conversation.send(TextMessage::new(text)).await.unwrap();
    }
    nats.start_again().unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(WAIT * 2, async {
        while got.len() < 3 {
            match events.next().await.expect("events") {
                ClientEvent::Message { message, .. } => got.push(message),
                ClientEvent::ConnectionState(state) => {
                    panic!("Jerry's connection changed ({state:?}) instead of catching up")
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the messages sent while NATS was down arrive");
    let texts: Vec<&str> = got.iter().map(|m| m.body.preview()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(
        got.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [2, 3, 4],
        "in order, once each"
    );
    one.shutdown().await;
    two.shutdown().await;
}
