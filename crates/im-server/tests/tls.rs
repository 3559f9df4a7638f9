//! TLS on the public port, with a certificate authority made in the test standing in for a
//! public one: the protocol over `wss://`, no plain fallback, and the certificate renewed and
//! reloaded while a client stays connected.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Client;
use im_proto::Ping;
use im_server::{Config, RunningServer, TlsFiles};
use im_test_pki::{TestCa, Validity};

async fn start(dir: &Path, files: TlsFiles) -> RunningServer {
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.join("im.sqlite3"));
    config.tls = Some(files);
    config.tls_reload_check = Duration::from_millis(50);
    im_server::start(config).await.unwrap()
}

fn files(dir: &Path, stem: &str, cert: &im_test_pki::ServerCert) -> TlsFiles {
    let (cert, key) = cert.write(dir, stem);
    TlsFiles { cert, key }
}

#[tokio::test]
async fn the_protocol_runs_over_wss_and_never_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test CA");
    let server = start(
        dir.path(),
        files(
            dir.path(),
            "server",
            &ca.issue(&["localhost"], Validity::Current),
        ),
    )
    .await;
    assert!(server.url().starts_with("wss://"), "{}", server.url());
    let url = format!("wss://localhost:{}/ws", server.local_addr().port());

    let mut tom = Client::connect_tls(&url, &ca).await.unwrap();
    assert!(tom.call(Ping {}).await.is_ok());

    // A plain WebSocket to the TLS port gets no WebSocket.
    let plain = format!("ws://localhost:{}/ws", server.local_addr().port());
    assert!(tokio_tungstenite::connect_async(&plain).await.is_err());
    // Nor does a client that does not trust the certificate.
    let stranger = TestCa::new("Another CA");
    let refused = Client::connect_tls(&url, &stranger)
        .await
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("UnknownIssuer"), "{refused}");
    // The first client was not disturbed by either.
    assert!(tom.call(Ping {}).await.is_ok());
    server.shutdown().await;
}

/// A renewal (certbot writing new files) is picked up without a restart: connections already
/// open stay, new ones get the new certificate; a half-written renewal keeps the last good one.
#[tokio::test]
async fn a_renewed_certificate_is_served_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let old_ca = TestCa::new("Old CA");
    let tls = files(
        dir.path(),
        "server",
        &old_ca.issue(&["localhost"], Validity::Current),
    );
    let server = start(dir.path(), tls.clone()).await;
    let url = format!("wss://localhost:{}/ws", server.local_addr().port());
    let mut before = Client::connect_tls(&url, &old_ca).await.unwrap();

    // Renewed, by another authority so the two certificates are told apart by who trusts them.
    let new_ca = TestCa::new("New CA");
    let renewed = new_ca.issue(&["localhost"], Validity::Current);
    std::fs::write(&tls.key, &renewed.key_pem).unwrap();
    std::fs::write(&tls.cert, &renewed.cert_pem).unwrap();
    let mut after = None;
    for _ in 0..200 {
        if let Ok(client) = Client::connect_tls(&url, &new_ca).await {
            after = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut after = after.expect("the renewed certificate was not served within 5 s");
    assert!(
        Client::connect_tls(&url, &old_ca).await.is_err(),
        "the old one is gone"
    );
    assert!(
        before.call(Ping {}).await.is_ok(),
        "the open connection stays"
    );
    assert!(after.call(Ping {}).await.is_ok());

    // A broken renewal (a certificate file cut short) is refused; the last good one stays.
    std::fs::write(&tls.cert, &renewed.cert_pem[..renewed.cert_pem.len() / 2]).unwrap();
    assert!(server.reload_tls().is_err());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(Client::connect_tls(&url, &new_ca).await.is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn a_key_that_does_not_match_its_certificate_stops_the_start_with_both_names() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test CA");
    let one = files(
        dir.path(),
        "one",
        &ca.issue(&["localhost"], Validity::Current),
    );
    let two = files(
        dir.path(),
        "two",
        &ca.issue(&["localhost"], Validity::Current),
    );
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db"));
    config.tls = Some(TlsFiles {
        cert: one.cert.clone(),
        key: two.key.clone(),
    });
    let error = im_server::start(config)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("one.crt") && error.contains("two.key"),
        "{error}"
    );

    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db"));
    config.tls = Some(TlsFiles {
        cert: dir.path().join("missing.crt"),
        key: one.key,
    });
    let error = im_server::start(config)
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("missing.crt"), "{error}");
}
