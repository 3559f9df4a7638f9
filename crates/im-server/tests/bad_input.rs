//! Bad input the kit cannot provoke on a server with its default settings: these tests start
//! the server with small limits or short timers. Every other kind of bad input, with its stable
//! error code, is checked by the conformance kit (crates/im-conformance), which runs against
//! this server in its own tests.

mod common;

use common::{assert_code, Client, TestServer};
use im_proto::{CreateConversation, ErrorCode, Ping};
use tokio_tungstenite::tungstenite::Message;

async fn tom_and_jerry(url: &str) -> (Client, Client, im_proto::Conversation) {
    let jerry = Client::user(url, "jerry").await;
    let mut tom = Client::user(url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    (tom, jerry, c)
}

#[tokio::test]
async fn a_small_member_limit_is_enforced() {
    let server = TestServer::start_with(|c| c.limits.max_members = 3).await;
    let (mut tom, jerry, _) = tom_and_jerry(&server.url).await;
    let spike = Client::user(&server.url, "spike").await;
    let tyke = Client::user(&server.url, "tyke").await;
    let g = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    assert_code(
        tom.call(im_proto::AddMembers {
            conversation_id: g.id,
            user_ids: vec![tyke.uid()],
        })
        .await,
        ErrorCode::TooManyMembers,
    );
    assert_code(
        tom.call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid(), tyke.uid()],
            ..Default::default()
        })
        .await,
        ErrorCode::TooManyMembers,
    );
}

#[tokio::test]
async fn requests_per_second_are_capped_per_connection() {
    let server = TestServer::start_with(|c| {
        c.limits.requests_per_second = 5;
        c.limits.request_burst = 10;
    })
    .await;
    let mut c = Client::connect(&server.url).await; // hello used one
    let mut ids = Vec::new();
    for _ in 0..30 {
        ids.push(c.send(Ping {}).await);
    }
    let mut limited = 0;
    for id in ids {
        match c.reply::<im_proto::Pong>(id).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code, ErrorCode::RateLimited);
                assert!(e.retry_after_ms.unwrap() > 0);
                limited += 1;
            }
        }
    }
    assert!(limited >= 15, "only {limited} of 30 were limited");
    // Another connection is not affected.
    let mut other = Client::connect(&server.url).await;
    assert!(other.call(Ping {}).await.is_ok());
}

#[tokio::test]
async fn silent_connections_are_pinged_then_dropped() {
    use futures_util::StreamExt;
    use std::time::Duration;
    let server = TestServer::start_with(|c| {
        c.ping_interval = Duration::from_millis(200);
        c.idle_timeout = Duration::from_millis(700);
    })
    .await;
    // A client that keeps reading answers the pings (tungstenite does) and stays.
    let mut lively = Client::connect(&server.url).await;
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(1200);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, lively.ws.next()).await {
        if matches!(message, Message::Ping(_)) {
            pings += 1;
        }
    }
    assert!(pings >= 2, "pinged after silence, {pings} times");
    assert!(lively.call(Ping {}).await.is_ok());

    // One that reads nothing (so never answers) is closed as idle.
    let mut silent = Client::connect(&server.url).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(silent.closed().await, Some(1001));
}

#[tokio::test]
async fn malformed_and_oversize_frames_are_charged_to_the_rate_limit() {
    let server = TestServer::start_with(|c| {
        c.limits.requests_per_second = 1;
        c.limits.request_burst = 5;
    })
    .await;
    let mut raw = Client::connect(&server.url).await; // hello: 1 of 5
    let oversize = format!(r#"{{"id":9,"op":"ping","pad":"{}"}}"#, " ".repeat(70_000));
    for frame in ["not json", "[]", "{}", oversize.as_str()] {
        raw.send_text(frame).await;
        let (_, error) = raw.error().await;
        assert_ne!(error.code, ErrorCode::RateLimited, "{error:?}");
    }
    raw.send_text("still not json").await;
    let (_, error) = raw.error().await;
    assert_eq!(error.code, ErrorCode::RateLimited, "{error:?}");
    assert!(error.retry_after_ms.is_some());
}
