//! The SDK over `wss://` against the real server with TLS, a certificate authority made in the
//! test standing in for a public one (trusted through `trust_extra_ca_pem`, beside the
//! operating system's store): the seed's chat, a reconnect, and each kind of bad certificate
//! refused with its own error, never retried in clear.

mod common;

use common::{chat, client, fast_config, next_event, online, password, sign_up, Server};
use im_sdk::{ClientEvent, Error, ImService, TextMessage, TlsProblem};
use im_server::TlsFiles;
use im_test_pki::{ServerCert, TestCa, Validity};

/// A server whose certificate is `cert`; its `wss://localhost` URL.
async fn server_with(cert: &ServerCert) -> (Server, String, tempfile::TempDir) {
    let files_dir = tempfile::tempdir().unwrap();
    let (cert, key) = cert.write(files_dir.path(), "server");
    let server = Server::start_with(move |config| {
        config.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        })
    })
    .await;
    let url = format!("wss://localhost:{}/ws", server.addr.port());
    (server, url, files_dir)
}

#[tokio::test]
async fn tom_wakes_jerry_over_wss_and_reconnects_securely() {
    let ca = TestCa::new("Gtedx test CA");
    assert_eq!(
        im_sdk::trust_extra_ca_pem(ca.cert_pem.as_bytes()).unwrap(),
        1
    );
    let (mut server, url, _files) = server_with(&ca.issue(&["localhost"], Validity::Current)).await;
    let dir = tempfile::tempdir().unwrap();
    let service = ImService::with_config(fast_config());
    let jerry = client(&service, sign_up(&url, "jerry").await, dir.path());
    let tom = client(&service, sign_up(&url, "tom").await, dir.path());
    let mut jerry_events = jerry.events();
    online(&tom).await;
    online(&jerry).await;
    let conversation = chat(&tom, jerry.user().uid).await;
    conversation
        .send(TextMessage::new("耗子，起床啦"))
        .await
        .unwrap();
    let text = |e: ClientEvent| match e {
        ClientEvent::Message { message, .. } => Some(message.body.preview().to_owned()),
        _ => None,
    };
    assert_eq!(next_event(&mut jerry_events, text).await, "耗子，起床啦");

    // The server restarts; both reconnect over TLS and the next message arrives.
    server.kill().await;
    server.restart().await;
    online(&tom).await;
    online(&jerry).await;
    conversation.send(TextMessage::new("醒醒")).await.unwrap();
    assert_eq!(next_event(&mut jerry_events, text).await, "醒醒");
}

async fn refused_with(cert: ServerCert) -> TlsProblem {
    let (_server, url, _files) = server_with(&cert).await;
    match im_sdk::sign_in(&url, "tom", &password("tom"), None).await {
        Err(Error::Tls { url: at, problem }) => {
            assert_eq!(at, url);
            problem
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_authority_is_refused_as_untrusted() {
    let trusted = TestCa::new("Trusted CA");
    im_sdk::trust_extra_ca_pem(trusted.cert_pem.as_bytes()).unwrap();
    let stranger = TestCa::new("Stranger CA");
    let problem = refused_with(stranger.issue(&["localhost"], Validity::Current)).await;
    assert_eq!(problem, TlsProblem::Untrusted);
    let error = Error::Tls {
        url: "wss://localhost/ws".into(),
        problem,
    };
    assert_eq!(error.code(), "tls_untrusted");
    assert!(!error.is_transient(), "something must change first");
}

#[tokio::test]
async fn an_expired_certificate_is_refused_as_expired() {
    let ca = TestCa::new("Trusted CA");
    im_sdk::trust_extra_ca_pem(ca.cert_pem.as_bytes()).unwrap();
    let problem = refused_with(ca.issue(&["localhost"], Validity::Expired)).await;
    assert_eq!(problem, TlsProblem::Expired);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_as_the_wrong_host() {
    let ca = TestCa::new("Trusted CA");
    im_sdk::trust_extra_ca_pem(ca.cert_pem.as_bytes()).unwrap();
    let problem = refused_with(ca.issue(&["chat.example.org"], Validity::Current)).await;
    assert_eq!(problem, TlsProblem::WrongHost);
}

/// `wss://` without a server speaking TLS fails as a connection error; it is never retried as
/// `ws://`, and a `ws://` URL is never upgraded silently either: the scheme decides.
#[tokio::test]
async fn wss_to_a_plain_server_fails_and_nothing_falls_back() {
    let server = Server::start().await;
    let wss = format!("wss://localhost:{}/ws", server.addr.port());
    let error = im_sdk::sign_up(&wss, "tom", &password("tom"), None)
        .await
        .expect_err("no TLS there");
    assert!(
        matches!(error, Error::Tls { .. } | Error::Connect { .. }),
        "{error:?}"
    );
    // Nothing reached the server: the account does not exist.
    sign_up(&server.url(), "tom").await;
}
