//! The guarantees under trouble: the server killed mid-send, sends while it is down, a client
//! dropped with an unsent outbox, starting offline from the cache, two sessions of one account,
//! and a connection that goes silent.

mod common;

use std::time::Duration;

use common::{
    chat, client, collect_messages, fast_config, next_event, online, sign_up, Server, WAIT,
};
use im_sdk::{
    ClientEvent, ConnectionState, CreateConversation, ImService, OutboxState, TextMessage,
};

fn assert_once_in_order(messages: &[im_sdk::Message], n: u64) {
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "every message once, in order"
    );
}

#[tokio::test]
async fn the_server_is_killed_and_restarted_while_tom_sends() {
    let mut server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let tom_app = ImService::with_config(fast_config());
    let jerry_app = ImService::with_config(fast_config());
    let jerry = client(&jerry_app, sign_up(&url, "jerry").await, dir.path());
    let tom = client(&tom_app, sign_up(&url, "tom").await, dir.path());
    online(&tom).await;
    online(&jerry).await;
    let c = chat(&tom, jerry.user().uid).await;
    let mut jerry_events = jerry.events();
    let mut tom_states = tom.events();

    const N: u64 = 200;
    let sender = {
        let c = c.clone();
        tokio::spawn(async move {
            let mut sent = Vec::new();
            for i in 1..=N {
                sent.push(c.enqueue(TextMessage::new(format!("message {i}"))).unwrap());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            sent
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.kill().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart().await;
    let queued = sender.await.unwrap();
    assert_eq!(queued.len() as u64, N);

    // Every message reaches Jerry exactly once and in order.
    let received = collect_messages(&mut jerry_events, N as usize).await;
    assert_once_in_order(&received, N);
    let texts: Vec<String> = received
        .iter()
        .map(|m| m.body.preview().to_owned())
        .collect();
    assert_eq!(
        texts,
        (1..=N).map(|i| format!("message {i}")).collect::<Vec<_>>(),
        "in the order Tom wrote them"
    );
    // Tom's outbox drains, each acknowledged once.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !tom.outbox().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tom.outbox().unwrap().is_empty());

    // Tom saw the connection go and come back, in order.
    let mut states = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(
        Duration::from_millis(200),
        futures_util::StreamExt::next(&mut tom_states),
    )
    .await
    {
        if let ClientEvent::ConnectionState(s) = event {
            states.push(s);
        }
    }
    assert!(
        matches!(states.first(), Some(ConnectionState::Offline)),
        "{states:?}"
    );
    assert!(
        matches!(
            states.get(1),
            Some(ConnectionState::Reconnecting { attempt: 1, .. })
        ),
        "{states:?}"
    );
    assert_eq!(states.last(), Some(&ConnectionState::Online), "{states:?}");
    let attempts: Vec<u32> = states
        .iter()
        .filter_map(|s| match s {
            ConnectionState::Reconnecting { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert!(
        attempts.windows(2).all(|w| w[1] == w[0] + 1),
        "attempts count up: {states:?}"
    );

    // The server agrees: exactly N stored.
    let page = c.refresh().await.unwrap();
    assert_eq!(page.record().last_seq, N);
}

#[tokio::test]
async fn sends_while_the_server_is_down_are_delivered_once_when_it_returns() {
    let mut server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry = client(
        &ImService::with_config(fast_config()),
        sign_up(&url, "jerry").await,
        dir.path(),
    );
    let tom = client(
        &ImService::with_config(fast_config()),
        sign_up(&url, "tom").await,
        dir.path(),
    );
    online(&tom).await;
    online(&jerry).await;
    let c = chat(&tom, jerry.user().uid).await;
    let mut jerry_events = jerry.events();
    server.stop().await;
    let mut tom_state = tom.watch_state();
    tokio::time::timeout(WAIT, tom_state.wait_for(|s| *s != ConnectionState::Online))
        .await
        .unwrap()
        .unwrap();

    // Sending offline: queued, not failed.
    let pending = c.enqueue(TextMessage::new("耗子，起床啦")).unwrap();
    let waiting = tokio::spawn({
        let c = c.clone();
        async move { c.send(TextMessage::new("second")).await }
    });
    let deadline = tokio::time::Instant::now() + WAIT;
    while tom.outbox().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(tom.outbox().unwrap().len(), 2);
    assert_eq!(tom.outbox().unwrap()[0].state, OutboxState::Sending);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "send() waits for the server");

    server.restart().await;
    let second = tokio::time::timeout(WAIT, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.seq, 2);
    let received = collect_messages(&mut jerry_events, 2).await;
    assert_once_in_order(&received, 2);
    assert_eq!(received[0].client_id, pending.client_id);
    assert!(tom.outbox().unwrap().is_empty());
}

#[tokio::test]
async fn a_dropped_client_s_outbox_goes_out_once_when_it_is_reopened() {
    let mut server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry = client(
        &ImService::with_config(fast_config()),
        sign_up(&url, "jerry").await,
        dir.path(),
    );
    let tom_session = sign_up(&url, "tom").await;
    let conversation_id;
    {
        let tom = client(
            &ImService::with_config(fast_config()),
            tom_session.clone(),
            dir.path(),
        );
        online(&tom).await;
        let c = chat(&tom, jerry.user().uid).await;
        conversation_id = c.id();
        server.stop().await;
        let mut state = tom.watch_state();
        tokio::time::timeout(WAIT, state.wait_for(|s| *s != ConnectionState::Online))
            .await
            .unwrap()
            .unwrap();
        c.enqueue(TextMessage::new("written on the plane")).unwrap();
        // The app quits: every handle dropped.
    }
    let mut jerry_events = jerry.events();
    server.restart().await;
    // Reopened on the same disk cache: the outbox is still there and goes out.
    let tom = client(
        &ImService::with_config(fast_config()),
        tom_session,
        dir.path(),
    );
    let sent = next_event(&mut tom.events(), |e| match e {
        ClientEvent::MessageSent(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(sent.body.preview(), "written on the plane");
    // And only once: a marker sent after it is stored after anything the outbox could still
    // send, and Jerry hears messages in commit order, so whatever he gets before the marker is
    // all there is.
    let marker = tom
        .conversation(conversation_id)
        .await
        .unwrap()
        .send(TextMessage::new("marker"))
        .await
        .unwrap();
    let received = collect_messages(&mut jerry_events, 2).await;
    assert_eq!(
        received,
        vec![sent, marker.clone()],
        "the message once, then the marker"
    );
    assert_eq!(marker.seq, 2);
    let c = tom
        .conversation(conversation_id)
        .await
        .unwrap()
        .refresh()
        .await
        .unwrap();
    assert_eq!(c.record().last_seq, 2, "the message and the marker");
}

#[tokio::test]
async fn a_client_reopened_offline_shows_its_conversations_and_history_from_the_cache() {
    let mut server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry_session = sign_up(&url, "jerry").await;
    let tom_session = sign_up(&url, "tom").await;
    {
        let tom = client(&ImService::new(), tom_session.clone(), dir.path());
        online(&tom).await;
        for title in ["work", "home"] {
            let c = tom
                .create_conversation(CreateConversation {
                    title: Some(title.into()),
                    user_ids: vec![jerry_session.user.uid],
                    ..Default::default()
                })
                .await
                .unwrap();
            for i in 1..=3 {
                c.send(TextMessage::new(format!("{title} {i}")))
                    .await
                    .unwrap();
            }
        }
        tom.close().await;
    }
    server.stop().await;

    let tom = client(
        &ImService::with_config(fast_config()),
        tom_session,
        dir.path(),
    );
    let listed = tom.conversations(0, 50).unwrap();
    let titles: Vec<_> = listed.iter().map(|c| c.info().title.clone()).collect();
    assert_eq!(titles, ["home", "work"], "most recent first");
    assert_eq!(
        listed[0]
            .record()
            .last_message
            .as_ref()
            .unwrap()
            .body
            .preview(),
        "home 3"
    );
    let history = listed[0].messages(None, 50).await.unwrap();
    assert!(history.complete);
    assert_eq!(
        history
            .messages
            .iter()
            .map(|m| m.body.preview())
            .collect::<Vec<_>>(),
        ["home 1", "home 2", "home 3"]
    );
    assert_ne!(tom.state(), ConnectionState::Online);
}

#[tokio::test]
async fn one_account_signed_in_twice_sees_everything_on_both() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry = client(&ImService::new(), sign_up(&url, "jerry").await, dir.path());
    let tom_session = sign_up(&url, "tom").await;
    let phone_session = im_sdk::sign_in(&url, "tom", &common::password("tom"), Some("phone"))
        .await
        .unwrap();
    let laptop = client(&ImService::new(), tom_session, dir.path());
    let phone_dir = tempfile::tempdir().unwrap();
    let phone = client(&ImService::new(), phone_session, phone_dir.path());
    online(&laptop).await;
    online(&phone).await;
    online(&jerry).await;
    let mut phone_events = phone.events();
    let mut laptop_events = laptop.events();

    let c = chat(&jerry, laptop.user().uid).await;
    c.send(TextMessage::new("hello tom")).await.unwrap();
    for events in [&mut phone_events, &mut laptop_events] {
        let got = collect_messages(events, 1).await;
        assert_eq!(got[0].body.preview(), "hello tom");
    }
    // Tom answers from the phone: the laptop shows it too.
    let on_phone = phone.conversation(c.id()).await.unwrap();
    let reply = on_phone
        .send(TextMessage::new("hi jerry, from my phone"))
        .await
        .unwrap();
    let on_laptop = collect_messages(&mut laptop_events, 1).await;
    assert_eq!(on_laptop, vec![reply.clone()]);
    let laptop_record = laptop.conversation(c.id()).await.unwrap().record().clone();
    assert_eq!(laptop_record.last_message, Some(reply));
    assert_eq!(
        laptop_record.unread_count(),
        0,
        "his own message counts as read on every device"
    );
}

#[tokio::test]
async fn a_silent_connection_is_noticed_and_replaced() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr).await;
    let dir = tempfile::tempdir().unwrap();
    let session = sign_up(&server.url(), "tom").await;
    let session = im_sdk::Session {
        server_url: format!("ws://{}/ws", proxy.addr),
        ..session
    };
    let tom = client(&ImService::with_config(fast_config()), session, dir.path());
    online(&tom).await;
    let mut events = tom.events();
    // The network path goes dead without closing anything.
    proxy.freeze();
    let started = tokio::time::Instant::now();
    next_event(&mut events, |e| {
        matches!(e, ClientEvent::ConnectionState(ConnectionState::Offline)).then_some(())
    })
    .await;
    let noticed = started.elapsed();
    assert!(noticed < WAIT, "noticed after {noticed:?}");
    proxy.thaw();
    next_event(&mut events, |e| {
        matches!(e, ClientEvent::ConnectionState(ConnectionState::Online)).then_some(())
    })
    .await;
}

/// A TCP proxy that can stop forwarding while keeping its sockets open (a dead network path).
struct Proxy {
    addr: std::net::SocketAddr,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    // While frozen, new connections hang too.
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        drop(client);
                    });
                    continue;
                }
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(forward(cr, sw, flag.clone()));
                tokio::spawn(forward(sr, cw, flag.clone()));
            }
        });
        Self { addr, frozen }
    }

    fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn thaw(&self) {
        self.frozen
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies bytes from `from` to `to`, holding them back while `frozen` is set.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 16384];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        while frozen.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}
