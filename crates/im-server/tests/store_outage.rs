//! PostgreSQL going away under a running server, and coming back: meanwhile changes are refused
//! with `store_unavailable` (transient, with a retry delay) and `/readyz` says the database is
//! not ready; afterwards the writer and the readers connect again by themselves, a resend of
//! what was refused is stored once, and nothing acknowledged before is lost.

mod common;

use std::time::Duration;

use common::{http_get, tom_and_jerry, WAIT};
use im_proto::{ClientId, ErrorCode, Event, GetMessages, MessageBody, SendText};
use im_server::{Config, Database};
use im_test_services::Postgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_is_a_transient_refusal_and_the_server_recovers_by_itself() {
    // A cluster of this test's own: it is stopped and started again.
    let pg = Postgres::start().unwrap();
    let url = pg.create_database("im").unwrap();
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        Database::Postgres(url.parse().unwrap()),
    );
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = im_server::start(config).await.unwrap();
    let admin = format!("http://{}", server.admin_addr().unwrap());
    let (mut tom, mut jerry, c) = tom_and_jerry(&server.url()).await;
    let send = |text: &str, client_id: &ClientId| SendText {
        conversation_id: c.id,
        client_id: client_id.clone(),
        text: text.into(),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
    };
    let before = ClientId::random();
    tom.call(send("before", &before)).await.unwrap();

    pg.stop().unwrap();
    let during = ClientId::random();
    let refused = tom.call(send("during", &during)).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::StoreUnavailable, "{refused:?}");
    assert!(refused.code.is_transient());
    assert!(refused.retry_after_ms.is_some_and(|ms| ms > 0));
    assert!(
        !refused.message.contains("postgres"),
        "no internals to the client: {refused:?}"
    );
    let history = GetMessages {
        conversation_id: c.id,
        after: Some(0),
        before: None,
        limit: None,
    };
    let read = jerry.call(history.clone()).await.unwrap_err();
    assert_eq!(read.code, ErrorCode::StoreUnavailable, "{read:?}");
    let (status, body) = http_get(format!("{admin}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("the database (postgres://postgres@127.0.0.1:"),
        "{body}"
    );

    pg.start_again().unwrap();
    // The client sends it again, as told (same client id); the server reconnects by itself.
    let until = tokio::time::Instant::now() + WAIT;
    let stored = loop {
        match tom.call(send("during", &during)).await {
            Ok(message) => break message,
            Err(e) if e.code.is_transient() && tokio::time::Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(e.retry_after_ms.unwrap_or(100))).await;
            }
            Err(e) => panic!("not stored after PostgreSQL came back: {e:?}"),
        }
    };
    assert_eq!(stored.seq, 2);
    // Sent once more (an outbox unsure of the first answer): the same message, not a new one.
    let again = tom.call(send("during", &during)).await.unwrap();
    assert_eq!((again.id, again.seq), (stored.id, stored.seq));
    assert_eq!(
        http_get(format!("{admin}/readyz")).await,
        (200, "ready\n".into())
    );

    // Jerry got the acknowledged message live, and reads both in order: nothing lost, once each.
    let live = jerry
        .event_where(|e| match e {
            Event::Message(m) if m.seq == 2 => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(live.id, stored.id);
    let page = jerry.call(history).await.unwrap();
    let texts: Vec<_> = page
        .messages
        .iter()
        .map(|m| (m.seq, m.body.clone()))
        .collect();
    assert_eq!(
        texts,
        [
            (1, MessageBody::text("before")),
            (2, MessageBody::text("during"))
        ]
    );
    server.shutdown().await;
}
