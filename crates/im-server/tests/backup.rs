//! Backups taken while the server runs under load hold everything acknowledged before they
//! began; a restore puts one in place of a stopped server's database.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{tom_and_jerry, Client, TestServer};
use im_proto::{ClientId, GetMessages, SendText};

fn quick(config: &mut im_server::Config) {
    config.limits.requests_per_second = 1_000_000;
    config.limits.request_burst = 1_000_000;
}

/// The seqs stored in `file` for the conversation.
fn stored_seqs(file: &std::path::Path) -> Vec<u64> {
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut query = conn
        .prepare("SELECT seq FROM messages ORDER BY seq")
        .unwrap();
    query
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|seq| seq.unwrap() as u64)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_holds_every_message_acked_before_it_began() {
    let server = TestServer::start_with(quick).await;
    let (mut tom, _jerry, conversation) = tom_and_jerry(&server.url).await;
    // Tom sends without pause; every acknowledged seq is recorded as its ack arrives.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn({
        let (acked, stop) = (acked.clone(), stop.clone());
        async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let sent = tom
                    .call(SendText {
                        conversation_id: conversation.id,
                        client_id: ClientId::random(),
                        text: format!("message {n}"),
                        reply_to: None,
                        mentions: vec![],
                        mention_all: false,
                    })
                    .await
                    .unwrap();
                acked.lock().unwrap().push(sent.seq);
                n += 1;
            }
        }
    });
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let copy = server.sqlite_file().with_extension("backup");
    let before: Vec<u64> = acked.lock().unwrap().clone();
    let report = {
        let (database, copy) = (server.sqlite_file(), copy.clone());
        tokio::task::spawn_blocking(move || im_server::backup(&database, &copy))
            .await
            .unwrap()
            .unwrap()
    };
    let during = acked.lock().unwrap().len();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.unwrap();

    let in_copy = stored_seqs(&copy);
    eprintln!(
        "acked before the backup: {}, when it returned: {during}, in the copy: {}",
        before.len(),
        in_copy.len()
    );
    for seq in &before {
        assert!(
            in_copy.contains(seq),
            "acked seq {seq} is missing from the backup"
        );
    }
    assert_eq!(report.messages, in_copy.len() as u64);
    assert_eq!(report.users, 2);
    // The copy is the database as of one commit: seqs 1..=n without a hole.
    assert_eq!(in_copy, (1..=in_copy.len() as u64).collect::<Vec<_>>());
    let total = acked.lock().unwrap().len();
    assert!(
        total > during,
        "the load went on while and after the backup ran ({} before, {total} in all)",
        before.len()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup is private");
    }
    // A second backup to the same file is refused rather than overwriting it.
    assert!(im_server::backup(&server.sqlite_file(), &copy).is_err());
}

#[tokio::test]
async fn a_restore_brings_a_backup_back_and_refuses_a_running_server() {
    let mut server = TestServer::start_with(quick).await;
    let (mut tom, jerry, conversation) = tom_and_jerry(&server.url).await;
    let send = |text: &str| SendText {
        conversation_id: conversation.id,
        client_id: ClientId::random(),
        text: text.into(),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
    };
    tom.call(send("kept")).await.unwrap();
    let copy = server.sqlite_file().with_extension("backup");
    im_server::backup(&server.sqlite_file(), &copy).unwrap();
    tom.call(send("after the backup")).await.unwrap();

    let refused = im_server::restore(&copy, &server.sqlite_file()).unwrap_err();
    assert!(refused.to_string().contains("in use"), "{refused}");

    drop((tom, jerry));
    server.stop().await;
    let report = im_server::restore(&copy, &server.sqlite_file()).unwrap();
    assert_eq!(report.messages, 1);
    let mut kept = server.sqlite_file().into_os_string();
    kept.push(".before-restore");
    assert!(
        std::path::Path::new(&kept).is_file(),
        "the old database is kept aside"
    );

    server.restart().await;
    let mut tom = Client::connect(&server.url).await;
    tom.sign_in("tom").await;
    let page = tom
        .call(GetMessages {
            conversation_id: conversation.id,
            before: None,
            after: None,
            limit: None,
        })
        .await
        .unwrap();
    let texts: Vec<String> = page
        .messages
        .iter()
        .map(|m| m.body.preview().to_owned())
        .collect();
    assert_eq!(texts, ["kept"]);
}
