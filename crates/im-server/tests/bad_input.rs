//! Bad input the kit cannot provoke on a server with its default settings: these tests start
//! the server with small limits or short timers. Every other kind of bad input, with its stable
//! error code, is checked by the conformance kit (crates/im-conformance), which runs against
//! this server in its own tests.

mod common;

use common::{assert_code, tom_and_jerry, Client, TestServer};
use im_proto::{CreateConversation, ErrorCode, Ping};
use tokio_tungstenite::tungstenite::Message;

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

/// Sends a `ping` request and reads until its reply; whether it came (false: closed). It waits
/// by yielding, not on a timer: on a paused clock tokio jumps to the next timer as soon as no
/// task is ready, and a server task woken only by its socket does not count as ready.
async fn ping_without_timers(client: &mut Client) -> bool {
    use futures_util::{FutureExt, StreamExt};
    client.send_text(r#"{"id":77,"op":"ping"}"#).await;
    for _ in 0..1_000_000 {
        match client.ws.next().now_or_never() {
            Some(Some(Ok(Message::Text(reply)))) => return reply.contains(r#""id":77"#),
            Some(Some(Ok(_))) => continue, // the server's pings
            Some(_) => return false,
            None => tokio::task::yield_now().await,
        }
    }
    panic!("no reply to a ping request");
}

/// The frames (opcode, payload) the server sent on a connection the client never read, read as
/// raw bytes until the server closed it.
async fn frames_until_eof(client: &mut Client) -> Vec<(u8, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    use tokio_tungstenite::MaybeTlsStream;
    let MaybeTlsStream::Plain(socket) = client.ws.get_mut() else {
        unreachable!("the tests speak plain ws://")
    };
    let mut bytes = Vec::new();
    socket.read_to_end(&mut bytes).await.unwrap();
    let (mut frames, mut at) = (Vec::new(), 0);
    while at < bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 => (
                u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize,
                4,
            ),
            127 => unreachable!("no frame here is that long"),
            n => (n as usize, 2),
        };
        frames.push((opcode, bytes[at + header..at + header + len].to_vec()));
        at += header + len;
    }
    frames
}

/// The default heartbeat (a ping after 30 s of silence, closed after 90 s) on a paused clock:
/// tokio jumps it to the next timer whenever every task waits, so minutes pass in milliseconds
/// and the schedule is exact.
#[tokio::test(start_paused = true)]
async fn silent_connections_are_pinged_then_dropped() {
    use futures_util::StreamExt;
    use std::time::Duration;
    use tokio::time::Instant;
    let server = TestServer::start().await;
    let s = Duration::from_secs;

    // A client that keeps reading answers the pings (tungstenite does) and stays, for 285 s.
    let mut lively = Client::connect(&server.url).await;
    let mut silent = Client::connect(&server.url).await;
    let start = Instant::now();
    let mut pings = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(start + s(285), lively.ws.next()).await
    {
        if matches!(message, Message::Ping(_)) {
            pings.push(start.elapsed());
        }
    }
    assert_eq!(pings.len(), 9, "a ping every 30 s of silence: {pings:?}");
    for (n, at) in pings.iter().enumerate() {
        let due = s(30) * (n as u32 + 1);
        assert!(*at >= due && *at < due + s(1), "ping {n} at {at:?}");
    }
    assert!(ping_without_timers(&mut lively).await);
    // One that read nothing meanwhile (so never answered) was pinged at 30 and 60 s and closed
    // as idle at 90 s. Read raw: a WebSocket client would answer the pings now, into a closed
    // socket, and the reset would discard the close frame.
    let frames = frames_until_eof(&mut silent).await;
    let opcodes: Vec<u8> = frames.iter().map(|(opcode, _)| *opcode).collect();
    assert_eq!(opcodes, [0x9, 0x9, 0x8], "2 pings, then the close");
    assert_eq!(
        frames[2].1[..2],
        1001u16.to_be_bytes(),
        "closed as going away"
    );

    // Silence shorter than the timeout is forgiven; the timeout counts from the last frame.
    let mut quiet = Client::connect(&server.url).await;
    let connected = Instant::now();
    tokio::time::sleep(s(80)).await;
    assert!(ping_without_timers(&mut quiet).await, "dropped before 90 s");
    tokio::time::sleep(s(80)).await;
    assert!(
        ping_without_timers(&mut quiet).await,
        "the timeout did not restart"
    );
    let frames = frames_until_eof(&mut quiet).await;
    let closed_at = connected.elapsed();
    let opcodes: Vec<u8> = frames.iter().map(|(opcode, _)| *opcode).collect();
    assert_eq!(
        opcodes,
        [0x9, 0x9, 0x8],
        "pings at 190 and 220 s, then the close"
    );
    assert_eq!(frames[2].1[..2], 1001u16.to_be_bytes());
    // The close frame went out at 250 s, 90 s after the last request; the socket closed 2 s
    // later, when the close handshake the client never answered timed out.
    assert!(
        closed_at >= s(252) && closed_at < s(253),
        "closed {closed_at:?} after connecting"
    );
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
