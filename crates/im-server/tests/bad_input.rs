//! Every kind of bad input gets its stable error code, and the connection (and everyone else)
//! carries on.

mod common;

use common::{assert_code, Client, TestServer};
use futures_util::SinkExt;
use im_proto::{
    ClientId, CreateConversation, ErrorCode, GetMessages, Hello, ListConversations, Ping, Resume,
    SendText, SignIn, SignUp, UpdateConversation,
};
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
async fn hello_comes_first_and_names_a_version_we_speak() {
    let server = TestServer::start().await;
    let mut raw = Client::raw(&server.url).await;
    assert_code(raw.call(Ping {}).await, ErrorCode::HelloRequired);
    assert_code(
        raw.call(SignIn {
            username: "tom".into(),
            password: "whatever-pass".into(),
            device: None,
        })
        .await,
        ErrorCode::HelloRequired,
    );
    assert_code(
        raw.call(Hello {
            protocol: 99,
            client: None,
        })
        .await,
        ErrorCode::UnsupportedVersion,
    );
    let ok = raw
        .call(Hello {
            protocol: 1,
            client: None,
        })
        .await
        .unwrap();
    assert_eq!(ok.protocol, 1);
    assert_eq!(ok.limits, im_proto::Limits::default());
    assert!(raw.call(Ping {}).await.is_ok());
}

#[tokio::test]
async fn only_sign_up_sign_in_and_resume_before_authentication() {
    let server = TestServer::start().await;
    let mut anon = Client::connect(&server.url).await;
    let c = im_proto::ConversationId::random();
    let u = im_proto::Uid::random();
    let calls: Vec<im_proto::Call> = vec![
        im_proto::SignOut {}.into(),
        im_proto::FindUsers {
            usernames: vec!["tom".into()],
        }
        .into(),
        im_proto::GetUsers { uids: vec![u] }.into(),
        CreateConversation {
            user_ids: vec![u],
            ..Default::default()
        }
        .into(),
        im_proto::GetConversation { conversation_id: c }.into(),
        ListConversations::default().into(),
        im_proto::Sync {
            since: 0,
            limit: None,
        }
        .into(),
        UpdateConversation {
            conversation_id: c,
            title: Some("x".into()),
            icon: None,
            remark: None,
            attrs: None,
        }
        .into(),
        im_proto::AddMembers {
            conversation_id: c,
            user_ids: vec![u],
        }
        .into(),
        im_proto::RemoveMembers {
            conversation_id: c,
            user_ids: vec![u],
        }
        .into(),
        SendText {
            conversation_id: c,
            client_id: ClientId::random(),
            text: "x".into(),
        }
        .into(),
        GetMessages {
            conversation_id: c,
            before: None,
            after: None,
            limit: None,
        }
        .into(),
        im_proto::MarkRead {
            conversation_id: c,
            seq: 1,
        }
        .into(),
        im_proto::SetTyping {
            conversation_id: c,
            typing: true,
        }
        .into(),
    ];
    let guarded = im_proto::OPS.len() - 5; // hello, ping, sign_up, sign_in, resume
    assert_eq!(
        calls.len(),
        guarded,
        "every op that needs a session is checked here"
    );
    for (i, call) in calls.into_iter().enumerate() {
        let name = call.name();
        let text = serde_json::to_string(&im_proto::Request {
            id: 1000 + i as u64,
            call,
        })
        .unwrap();
        anon.send_text(&text).await;
        let (id, error) = anon.error().await;
        assert_eq!(id, Some(1000 + i as u64));
        assert_eq!(error.code, ErrorCode::Unauthenticated, "{name}");
    }
}

#[tokio::test]
async fn malformed_frames_get_precise_codes_and_the_connection_carries_on() {
    let server = TestServer::start().await;
    let (mut tom, _jerry, c) = tom_and_jerry(&server.url).await;
    let cases: &[(&str, Option<u64>, ErrorCode)] = &[
        ("this is not json", None, ErrorCode::MalformedFrame),
        ("[1,2,3]", None, ErrorCode::MalformedFrame),
        (r#"{"op":"ping"}"#, None, ErrorCode::MalformedFrame),
        (
            r#"{"id":"seven","op":"ping"}"#,
            None,
            ErrorCode::MalformedFrame,
        ),
        (r#"{"id":7}"#, Some(7), ErrorCode::MalformedFrame),
        (
            r#"{"id":8,"op":"drop_tables"}"#,
            Some(8),
            ErrorCode::UnknownOp,
        ),
        (
            r#"{"id":9,"op":"list_conversations","limit":"ten"}"#,
            Some(9),
            ErrorCode::InvalidParams,
        ),
        (
            r#"{"id":10,"op":"send_text","conversation_id":"xyz","client_id":"a","text":"hi"}"#,
            Some(10),
            ErrorCode::BadId,
        ),
        (
            r#"{"id":11,"op":"get_users","uids":["42"]}"#,
            Some(11),
            ErrorCode::BadId,
        ),
        // An id of the wrong JSON type is a wrong type like any other (§3.1).
        (
            r#"{"id":15,"op":"get_users","uids":[42]}"#,
            Some(15),
            ErrorCode::InvalidParams,
        ),
        (
            r#"{"id":16,"op":"get_conversation","conversation_id":null}"#,
            Some(16),
            ErrorCode::InvalidParams,
        ),
        (
            r#"{"id":12,"op":"send_text","client_id":"a","text":"hi"}"#,
            Some(12),
            ErrorCode::InvalidParams,
        ),
        (
            r#"{"id":13,"op":"list_conversations","limit":0}"#,
            Some(13),
            ErrorCode::InvalidParams,
        ),
        (
            r#"{"id":14,"op":"create_conversation","user_ids":[],"unique":"yes"}"#,
            Some(14),
            ErrorCode::InvalidParams,
        ),
    ];
    for (frame, id, code) in cases {
        tom.send_text(frame).await;
        let (got_id, error) = tom.error().await;
        assert_eq!(
            (got_id, error.code),
            (*id, *code),
            "{frame}: {}",
            error.message
        );
        assert!(!error.message.is_empty());
    }
    // Binary frames are refused too.
    tom.ws
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(tom.error().await.1.code, ErrorCode::MalformedFrame);
    // An oversize one is refused for its size, as a text frame would be.
    let limit = im_proto::Limits::default().max_frame_bytes;
    tom.ws
        .send(Message::Binary(vec![b' '; limit + 1].into()))
        .await
        .unwrap();
    assert_eq!(tom.error().await.1.code, ErrorCode::FrameTooLarge);
    // And after all that, the connection still works.
    let sent = tom
        .call(SendText {
            conversation_id: c.id,
            client_id: ClientId::random(),
            text: "still fine".into(),
        })
        .await
        .unwrap();
    assert_eq!(sent.seq, 1);
}

#[tokio::test]
async fn over_long_values_are_refused_with_their_codes() {
    let server = TestServer::start().await;
    let (mut tom, jerry, c) = tom_and_jerry(&server.url).await;
    let limit = im_proto::Limits::default().max_text_chars;
    let send = |text: String| SendText {
        conversation_id: c.id,
        client_id: ClientId::random(),
        text,
    };
    // The limit counts characters, not bytes: 4096 Chinese characters are fine.
    assert!(tom.call(send("耗".repeat(limit))).await.is_ok());
    assert_code(
        tom.call(send("耗".repeat(limit + 1))).await,
        ErrorCode::TextTooLong,
    );
    assert_code(
        tom.call(send("   \n ".into())).await,
        ErrorCode::InvalidParams,
    );
    assert_code(
        tom.call(UpdateConversation {
            conversation_id: c.id,
            title: Some("t".repeat(201)),
            icon: None,
            remark: None,
            attrs: None,
        })
        .await,
        ErrorCode::FieldTooLong,
    );
    let mut attrs = serde_json::Map::new();
    attrs.insert("blob".into(), serde_json::json!("x".repeat(5000)));
    assert_code(
        tom.call(CreateConversation {
            user_ids: vec![jerry.uid()],
            attrs: Some(attrs),
            ..Default::default()
        })
        .await,
        ErrorCode::FieldTooLong,
    );
    let crowd: Vec<_> = (0..501).map(|_| im_proto::Uid::random()).collect();
    assert_code(
        tom.call(CreateConversation {
            user_ids: crowd,
            ..Default::default()
        })
        .await,
        ErrorCode::TooManyMembers,
    );
    assert_code(
        tom.call(CreateConversation {
            user_ids: vec![im_proto::Uid::random()],
            ..Default::default()
        })
        .await,
        ErrorCode::UserNotFound,
    );
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
async fn accounts_check_names_passwords_and_tokens() {
    let server = TestServer::start().await;
    let mut c = Client::connect(&server.url).await;
    let sign_up = |username: &str, password: &str| SignUp {
        username: username.into(),
        password: password.into(),
        display_name: None,
    };
    assert_code(
        c.call(sign_up("no", "long-enough")).await,
        ErrorCode::InvalidUsername,
    );
    assert_code(
        c.call(sign_up("tom cat", "long-enough")).await,
        ErrorCode::InvalidUsername,
    );
    assert_code(
        c.call(sign_up("tom", "short")).await,
        ErrorCode::InvalidPassword,
    );
    let tom = c.call(sign_up("Tom", "long-enough")).await.unwrap().user;
    assert_eq!(
        (tom.username.as_str(), tom.display_name.as_str()),
        ("tom", "tom")
    );
    assert_eq!(tom.uid.to_string().len(), 32);
    assert_code(
        c.call(sign_up("TOM", "another-one")).await,
        ErrorCode::UsernameTaken,
    );

    let sign_in = |username: &str, password: &str| SignIn {
        username: username.into(),
        password: password.into(),
        device: None,
    };
    assert_code(
        c.call(sign_in("tom", "wrong-password")).await,
        ErrorCode::WrongCredentials,
    );
    assert_code(
        c.call(sign_in("nobody", "long-enough")).await,
        ErrorCode::WrongCredentials,
    );
    assert_code(
        c.call(Resume {
            token: "abc".into(),
        })
        .await,
        ErrorCode::InvalidToken,
    );
    assert_code(
        c.call(Resume {
            token: "0".repeat(64).into(),
        })
        .await,
        ErrorCode::InvalidToken,
    );
    let signed = c.call(sign_in("TOM", "long-enough")).await.unwrap();
    assert_eq!(signed.user, tom);
    assert_eq!(signed.token.expose().len(), 64);
    assert_code(
        c.call(sign_in("tom", "long-enough")).await,
        ErrorCode::AlreadySignedIn,
    );
    assert_code(
        c.call(Resume {
            token: signed.token,
        })
        .await,
        ErrorCode::AlreadySignedIn,
    );
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited() {
    let server = TestServer::start().await;
    let mut c = Client::connect(&server.url).await;
    c.call(SignUp {
        username: "tom".into(),
        password: "right-password".into(),
        display_name: None,
    })
    .await
    .unwrap();
    let attempt = |password: &str| SignIn {
        username: "tom".into(),
        password: password.into(),
        device: None,
    };
    for _ in 0..5 {
        assert_code(
            c.call(attempt("guess-guess")).await,
            ErrorCode::WrongCredentials,
        );
    }
    let blocked = c.call(attempt("right-password")).await.unwrap_err();
    assert_eq!(blocked.code, ErrorCode::RateLimited);
    assert!(blocked.retry_after_ms.unwrap() > 0);
    // The block is per account: someone else signs up and in from elsewhere.
    let mut other = Client::connect(&server.url).await;
    other
        .call(SignUp {
            username: "jerry".into(),
            password: "jerry-password".into(),
            display_name: None,
        })
        .await
        .unwrap();
    assert!(other
        .call(SignIn {
            username: "jerry".into(),
            password: "jerry-password".into(),
            device: None
        })
        .await
        .is_ok());
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
async fn oversize_frames_are_refused_without_harm() {
    let server = TestServer::start().await;
    let (mut tom, mut jerry, c) = tom_and_jerry(&server.url).await;
    let limit = im_proto::Limits::default().max_frame_bytes;

    // Over the limit: an error, and the connection carries on.
    let big = format!(
        r#"{{"id":1,"op":"send_text","conversation_id":"{}","client_id":"big","text":"{}"}}"#,
        c.id,
        "x".repeat(limit)
    );
    tom.send_text(&big).await;
    let (id, error) = tom.error().await;
    assert_eq!(
        (id, error.code),
        (Some(1), ErrorCode::FrameTooLarge),
        "the refusal names the request"
    );
    assert!(tom.call(Ping {}).await.is_ok());

    // Far over it (past 16x): an error, then the connection is closed with 1009 ...
    // (The server stops reading mid-frame, so this send may fail; its answer still arrives.)
    let _ = tom.ws.send(Message::text("y".repeat(limit * 17))).await;
    let (_, error) = tom.error().await;
    assert_eq!(error.code, ErrorCode::FrameTooLarge);
    assert_eq!(tom.closed().await, Some(1009));

    // ... and everyone else carries on.
    let sent = jerry
        .call(SendText {
            conversation_id: c.id,
            client_id: ClientId::random(),
            text: "ok?".into(),
        })
        .await
        .unwrap();
    assert_eq!(sent.seq, 1);
    let mut tom_again = Client::connect(&server.url).await;
    tom_again.sign_in("tom").await;
    let page = tom_again
        .call(GetMessages {
            conversation_id: c.id,
            before: None,
            after: None,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1, "the refused frames stored nothing");
}

#[tokio::test]
async fn other_paths_are_not_found() {
    let server = TestServer::start().await;
    let url = server.url.replace("/ws", "/elsewhere");
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn optional_fields_may_be_null() {
    let server = TestServer::start().await;
    let (mut tom, jerry, _) = tom_and_jerry(&server.url).await;
    tom.send_text(&format!(
        r#"{{"id":77,"op":"create_conversation","user_ids":["{}"],"title":null,"unique":null}}"#,
        jerry.uid()
    ))
    .await;
    let created: im_proto::CreatedConversation = tom.reply(77).await.unwrap();
    assert!(created.created);
    assert_eq!(created.conversation.title, "");
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
async fn before_hello_every_request_but_hello_gets_hello_required() {
    let server = TestServer::start().await;
    let mut raw = Client::raw(&server.url).await;
    for (frame, id) in [
        (r#"{"id":1,"op":"launch_missiles"}"#, 1),
        (r#"{"id":2,"op":"send_text","conversation_id":7}"#, 2),
        (r#"{"id":3,"op":"get_conversation"}"#, 3),
    ] {
        raw.send_text(frame).await;
        let (got, error) = raw.error().await;
        assert_eq!(
            (got, error.code),
            (Some(id), ErrorCode::HelloRequired),
            "{frame}"
        );
    }
    // A hello with bad parameters is a bad hello, and frames without an id stay malformed.
    raw.send_text(r#"{"id":4,"op":"hello","protocol":"one"}"#)
        .await;
    let (got, error) = raw.error().await;
    assert_eq!((got, error.code), (Some(4), ErrorCode::InvalidParams));
    raw.send_text(r#"{"op":"ping"}"#).await;
    assert_eq!(raw.error().await.1.code, ErrorCode::MalformedFrame);
    raw.send_text(r#"{"id":5,"op":"hello","protocol":1}"#).await;
    let _: im_proto::HelloOk = raw.reply(5).await.unwrap();
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

/// Plain HTTP requests get an HTTP answer instead of silence.
#[tokio::test]
async fn plain_http_gets_a_status_and_a_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let addr = server.server.as_ref().unwrap().local_addr();
    for (request, status) in [
        (
            "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
            "426 Upgrade Required",
        ),
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "404 Not Found"),
        ("GET /favicon.ico HTTP/1.0\r\n\r\n", "404 Not Found"),
        (
            "DELETE /ws HTTP/1.1\r\nHost: x\r\n\r\n",
            "405 Method Not Allowed",
        ),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        tokio::time::timeout(common::WAIT, tcp.read_to_string(&mut reply))
            .await
            .expect("answered and closed")
            .unwrap();
        assert!(
            reply.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{request:?}: {reply:?}"
        );
        assert!(reply.contains("Connection: close\r\n"), "{reply:?}");
        let body = reply.split("\r\n\r\n").nth(1).unwrap();
        assert!(!body.is_empty());
        assert!(
            reply.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{reply:?}"
        );
    }
}

/// A masked client frame, written past the WebSocket library.
fn raw_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first_byte, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

async fn write_raw(client: &mut Client, bytes: &[u8]) {
    use tokio::io::AsyncWriteExt;
    match client.ws.get_mut() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.write_all(bytes).await.unwrap(),
        _ => unreachable!("tests connect over plain TCP"),
    }
}

#[tokio::test]
async fn websocket_violations_are_closed_with_their_rfc_6455_codes() {
    let server = TestServer::start().await;
    // A text frame that is not UTF-8: 1007.
    let mut client = Client::connect(&server.url).await;
    write_raw(
        &mut client,
        &raw_frame(0x81, b"{\"id\":1,\"op\":\"ping\",\"x\":\"\xff\xfe\"}"),
    )
    .await;
    assert_eq!(client.closed().await, Some(1007));
    // A frame with a reserved bit set (no extension was negotiated): 1002.
    let mut client = Client::connect(&server.url).await;
    write_raw(&mut client, &raw_frame(0xC1, b"{}")).await;
    assert_eq!(client.closed().await, Some(1002));
    // An unknown opcode: 1002.
    let mut client = Client::connect(&server.url).await;
    write_raw(&mut client, &raw_frame(0x83, b"{}")).await;
    assert_eq!(client.closed().await, Some(1002));
    // Everyone else carries on.
    let mut tom = Client::user(&server.url, "tom").await;
    tom.call(Ping {}).await.unwrap();
}
