//! Abuse limits over the wire: connections and sign-ups per address, per-user quotas, the
//! sign-in throttle's growing delays, display names that would impersonate by rendering, and
//! web pages from origins not allowed. (The limits' arithmetic is unit-tested in guard.rs.)

mod common;

use common::{assert_code, Client, TestServer};
use im_proto::{CreateConversation, ErrorCode, FindUsers, SignIn, SignUp};
use im_server::GuardLimits;

/// Limits that apply to loopback too, as they would to any other address.
fn strict(tune: impl FnOnce(&mut GuardLimits)) -> impl FnOnce(&mut im_server::Config) {
    move |c| {
        let mut guard = GuardLimits::unlimited();
        guard.exempt_loopback = false;
        tune(&mut guard);
        c.guard = guard;
    }
}

#[tokio::test]
async fn connections_past_the_per_address_limit_get_429_until_one_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(strict(|g| g.connections_per_address = 2)).await;
    let first = Client::connect(&server.url).await;
    let _second = Client::connect(&server.url).await;
    let addr = server.server.as_ref().unwrap().local_addr();
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    third.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{reply}"
    );
    assert!(reply.contains("Retry-After:"), "{reply}");
    drop(first);
    // The slot frees once the server has seen the first one go.
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        match tokio_tungstenite::connect_async(&server.url).await {
            Ok(_) => break,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "never freed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test]
async fn sign_ups_per_address_are_limited() {
    let server = TestServer::start_with(strict(|g| g.sign_ups_per_hour_per_address = 2)).await;
    let mut client = Client::connect(&server.url).await;
    for name in ["tom", "jerry"] {
        client
            .call(SignUp {
                username: name.into(),
                password: "a-good-password".into(),
                display_name: None,
                invite: None,
            })
            .await
            .unwrap();
    }
    let refused = client
        .call(SignUp {
            username: "spike".into(),
            password: "a-good-password".into(),
            display_name: None,
            invite: None,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert!(refused.retry_after_ms.unwrap() > 60_000, "{refused:?}");
}

#[tokio::test]
async fn per_user_quotas_refuse_creations_and_lookups_beyond_them() {
    let server = TestServer::start_with(strict(|g| {
        g.conversations_per_day_per_user = 2;
        g.lookups_per_minute_per_user = 3;
    }))
    .await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let create = || CreateConversation {
        user_ids: vec![jerry.uid()],
        ..Default::default()
    };
    tom.call(create()).await.unwrap();
    tom.call(create()).await.unwrap();
    let refused = tom.call(create()).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert!(
        refused.message.contains("conversations"),
        "{}",
        refused.message
    );
    for _ in 0..3 {
        tom.call(FindUsers {
            usernames: vec!["jerry".into()],
        })
        .await
        .unwrap();
    }
    assert_code(
        tom.call(FindUsers {
            usernames: vec!["jerry".into()],
        })
        .await,
        ErrorCode::RateLimited,
    );
    // Others are not affected.
    let mut spike = Client::user(&server.url, "spike").await;
    spike
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_passwords_make_the_next_attempt_wait_and_say_how_long() {
    let server = TestServer::start_with(strict(|g| g.sign_in_free_failures = 2)).await;
    let mut tom = Client::user(&server.url, "tom").await;
    drop(tom);
    tom = Client::connect(&server.url).await;
    let wrong = || SignIn {
        username: "tom".into(),
        password: "not-the-password".into(),
        device: None,
    };
    for _ in 0..2 {
        assert_code(tom.call(wrong()).await, ErrorCode::WrongCredentials);
    }
    // Past the free failures, each attempt must wait (1 s, then 2 s, 4 s…).
    let wait = tom.call(wrong()).await.unwrap_err();
    assert_eq!(wait.code, ErrorCode::RateLimited);
    let ms = wait.retry_after_ms.unwrap();
    assert!((1..=1_001).contains(&ms), "{ms}");
    // Waiting that long, the right password works.
    tokio::time::sleep(std::time::Duration::from_millis(ms + 10)).await;
    tom.sign_in("tom").await;
}

#[tokio::test]
async fn display_names_that_would_impersonate_are_refused() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server.url).await;
    for (name, code) in [
        ("\u{202E}nimda metsys", ErrorCode::InvalidDisplayName),
        ("\u{200B}\u{200B}", ErrorCode::InvalidDisplayName),
        ("Tom\nAdmin", ErrorCode::InvalidDisplayName),
        (&*"x".repeat(65), ErrorCode::FieldTooLong),
    ] {
        assert_code(
            client
                .call(SignUp {
                    username: "tom".into(),
                    password: "a-good-password".into(),
                    display_name: Some(name.into()),
                    invite: None,
                })
                .await,
            code,
        );
    }
    let ok = client
        .call(SignUp {
            username: "tom".into(),
            password: "a-good-password".into(),
            display_name: Some("  汤姆 🐱  ".into()),
            invite: None,
        })
        .await
        .unwrap();
    assert_eq!(ok.user.display_name, "汤姆 🐱");
}

#[tokio::test]
async fn a_web_page_cannot_open_a_socket_unless_its_origin_is_allowed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start_with(|c| {
        c.allowed_origins = vec!["https://chat.example.org".into()];
    })
    .await;
    let from = |origin: &str| {
        let mut request = server.url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        request
    };
    match tokio_tungstenite::connect_async(from("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(
        tokio_tungstenite::connect_async(from("https://chat.example.org"))
            .await
            .is_ok()
    );
    // Native clients send no Origin.
    Client::connect(&server.url).await;
}

/// Behind a reverse proxy every connection comes from the proxy's address. With the proxy
/// trusted, the throttle counts the client it names in `X-Forwarded-For`; without, the header
/// is a client's own words and changes nothing.
#[tokio::test]
async fn the_sign_in_throttle_counts_the_forwarded_client_only_behind_a_trusted_proxy() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    async fn via(url: &str, forwarded_for: &str) -> Client {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("X-Forwarded-For", forwarded_for.parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client::over(ws);
        client
            .call(im_proto::Hello {
                protocol: im_proto::PROTOCOL_VERSION,
                client: None,
            })
            .await
            .unwrap();
        client
    }
    let wrong = || SignIn {
        username: "tom".into(),
        password: "not-the-password".into(),
        device: None,
    };
    for trusted in [false, true] {
        let server = TestServer::start_with(strict(|g| {
            g.sign_in_free_failures = 2;
            if trusted {
                g.trusted_proxies = vec![im_server::parse_trusted_proxy("127.0.0.1").unwrap()];
            }
        }))
        .await;
        drop(Client::user(&server.url, "tom").await);
        // Someone at 203.0.113.7 guesses Tom's password.
        let mut guesser = via(&server.url, "203.0.113.7").await;
        for _ in 0..2 {
            assert_code(guesser.call(wrong()).await, ErrorCode::WrongCredentials);
        }
        assert_code(guesser.call(wrong()).await, ErrorCode::RateLimited);
        // Tom, at home behind the same proxy, from another address.
        let mut tom = via(&server.url, "198.51.100.9").await;
        let attempt = tom
            .call(SignIn {
                username: "tom".into(),
                password: "tom-password".into(),
                device: None,
            })
            .await;
        if trusted {
            assert!(
                attempt.is_ok(),
                "another address is not slowed: {attempt:?}"
            );
        } else {
            // Untrusted, both are the proxy's address: the header was not believed.
            assert_code(attempt, ErrorCode::RateLimited);
        }
    }
}
