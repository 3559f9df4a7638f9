//! The admin listener of a real server: health, readiness (also while stopping) and the
//! Prometheus figures after real traffic.

mod common;

use std::time::Duration;

use common::{http_get, tom_and_jerry, Client, TestServer, WAIT};
use im_proto::SignIn;

/// The value of one sample line (`name{labels} value`) in Prometheus text.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

async fn admin_server() -> (TestServer, String) {
    let server = TestServer::start_with(|c| {
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        c.shutdown_grace = Duration::from_secs(60);
    })
    .await;
    let admin = format!(
        "http://{}",
        server.server.as_ref().unwrap().admin_addr().unwrap()
    );
    (server, admin)
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let (server, admin) = admin_server().await;
    assert_eq!(
        http_get(format!("{admin}/healthz")).await,
        (200, "ok\n".into())
    );
    assert_eq!(
        http_get(format!("{admin}/readyz")).await,
        (200, "ready\n".into())
    );
    assert_eq!(http_get(format!("{admin}/nothing")).await.0, 404);

    let (mut tom, mut jerry, c) = tom_and_jerry(&server.url).await;
    for i in 0..7 {
        tom.call(im_proto::SendText {
            conversation_id: c.id,
            client_id: im_proto::ClientId::random(),
            text: format!("耗子，起床啦 {i}"),
            reply_to: None,
            mentions: vec![],
            mention_all: false,
        })
        .await
        .unwrap();
    }
    for _ in 0..7 {
        jerry
            .event_where(|e| matches!(e, im_proto::Event::Message(_)).then_some(()))
            .await;
    }
    let mut stranger = Client::connect(&server.url).await;
    let wrong = stranger
        .call(SignIn {
            username: "tom".into(),
            password: "not-toms-password".into(),
            device: None,
        })
        .await;
    assert!(wrong.is_err());

    let (status, text) = http_get(format!("{admin}/metrics")).await;
    assert_eq!(status, 200);
    assert_eq!(sample(&text, "im_messages_stored_total"), 7.0);
    // Each message reached Jerry's one connection (Tom's own is skipped: it got the ack).
    assert!(sample(&text, "im_deliveries_total") >= 7.0, "{text}");
    assert_eq!(sample(&text, "im_accounts"), 2.0);
    assert_eq!(sample(&text, "im_sessions_stored"), 2.0);
    assert_eq!(sample(&text, "im_sessions_online"), 2.0);
    assert_eq!(sample(&text, "im_connections_open"), 3.0);
    assert_eq!(sample(&text, "im_sign_ups_total"), 2.0);
    assert_eq!(
        sample(
            &text,
            "im_sign_in_failures_total{reason=\"wrong_credentials\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&text, "im_errors_total{code=\"wrong_credentials\"}"),
        1.0
    );
    // Sign-ups, sessions, the conversation, 7 messages and the readiness probe: committed in
    // batches whose sizes add up to at least that.
    assert!(sample(&text, "im_commit_batch_size_sum") >= 12.0, "{text}");
    assert!(sample(&text, "im_commit_seconds_count") >= 1.0, "{text}");
    assert_eq!(sample(&text, "im_writer_queue_depth"), 0.0);
    assert!(
        text.contains("# TYPE im_commit_seconds histogram"),
        "{text}"
    );
    assert!(text.contains("im_checkpoint_seconds"), "{text}");

    drop(stranger);
    tokio::time::timeout(WAIT, async {
        loop {
            let (_, text) = http_get(format!("{admin}/metrics")).await;
            if sample(&text, "im_connections_open") == 2.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a closed connection is no longer counted");
}

#[tokio::test]
async fn not_ready_while_stopping() {
    let (mut server, admin) = admin_server().await;
    // A client that never answers the close handshake keeps the server draining.
    let stubborn = tokio::net::TcpStream::connect(server.server.as_ref().unwrap().local_addr())
        .await
        .unwrap();
    let (ws, _) = tokio_tungstenite::client_async(server.url.clone(), stubborn)
        .await
        .unwrap();
    let running = server.server.take().unwrap();
    let stopping = tokio::spawn(running.shutdown());
    let status = tokio::time::timeout(WAIT, async {
        loop {
            let (status, body) = http_get(format!("{admin}/readyz")).await;
            if status != 200 {
                break (status, body);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("readiness turns off while stopping");
    assert_eq!(status, (503, "not ready: stopping\n".into()));
    // Still alive while it drains.
    assert_eq!(http_get(format!("{admin}/healthz")).await.0, 200);
    drop(ws);
    tokio::time::timeout(WAIT, stopping).await.unwrap().unwrap();
    // Gone with the server.
    let refused =
        tokio::task::spawn_blocking(move || ureq::get(&format!("{admin}/healthz")).call())
            .await
            .unwrap();
    assert!(refused.is_err());
}

#[tokio::test]
async fn the_admin_listener_cannot_be_the_public_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        im_server::Config::new("127.0.0.1:47999".parse().unwrap(), dir.path().join("db"));
    config.admin_listen = Some(config.listen);
    let error = im_server::start(config).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot share the public address"),
        "{error}"
    );
}
