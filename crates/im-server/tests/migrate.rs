//! Moving a single node's SQLite database to PostgreSQL (`im-server migrate`): accounts with
//! their passwords, sessions, conversations, members with read marks, mutes and departures,
//! messages, blocks and invites come across, verified by counts and checksums; a move
//! interrupted part-way resumes; the file is not touched while a server holds it; and a server
//! on PostgreSQL then carries on where the SQLite one stopped — same tokens, same history, same
//! sync views, the next seq.

mod common;

use common::{tom_and_jerry, Client};
use im_proto::{
    ClientId, CreateConversation, GetMessages, MarkRead, MuteConversation, RemoveMembers, SendText,
    Sync,
};
use im_server::{Config, Database, MigrateLimits, PostgresUrl};
use im_test_services::TestDatabase;

async fn everything(client: &mut Client, ids: &[im_proto::ConversationId]) -> serde_json::Value {
    let sync = client
        .call(Sync {
            since: 0,
            limit: None,
        })
        .await
        .unwrap();
    let mut histories = Vec::new();
    for id in ids {
        let page = client
            .call(GetMessages {
                conversation_id: *id,
                after: Some(0),
                before: None,
                limit: None,
            })
            .await
            .unwrap();
        histories.push(page.messages);
    }
    serde_json::json!({ "sync": sync, "histories": histories })
}

/// `im_server::migrate_with` off the async threads (it blocks, as the command does).
async fn migrate(
    file: &std::path::Path,
    url: &PostgresUrl,
    limits: MigrateLimits,
) -> im_server::Result<im_server::MigrateReport> {
    let (file, url) = (file.to_owned(), url.clone());
    tokio::task::spawn_blocking(move || im_server::migrate_with(&file, &url, limits))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_moves_to_postgres_and_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("im.sqlite3");
    let sqlite = im_server::start(Config::new("127.0.0.1:0".parse().unwrap(), file.clone()))
        .await
        .unwrap();
    let (mut tom, mut jerry, chat) = tom_and_jerry(&sqlite.url()).await;
    let spike = Client::user(&sqlite.url(), "spike").await;
    for i in 0..15 {
        let (sender, text) = match i % 3 {
            0 => (&mut jerry, format!("jerry {i}")),
            _ => (&mut tom, format!("tom {i}")),
        };
        sender
            .call(SendText {
                conversation_id: chat.id,
                client_id: ClientId::random(),
                text,
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            })
            .await
            .unwrap();
    }
    jerry
        .call(MarkRead {
            conversation_id: chat.id,
            seq: 9,
        })
        .await
        .unwrap();
    tom.call(MuteConversation {
        conversation_id: chat.id,
        muted: true,
    })
    .await
    .unwrap();
    let group = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            title: Some("cheese".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    tom.call(SendText {
        conversation_id: group.id,
        client_id: ClientId::random(),
        text: "welcome".into(),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
    })
    .await
    .unwrap();
    tom.call(RemoveMembers {
        conversation_id: group.id,
        user_ids: vec![spike.uid()],
    })
    .await
    .unwrap();
    jerry
        .call(im_proto::BlockUser {
            user_id: spike.uid(),
        })
        .await
        .unwrap();
    let ids = [chat.id, group.id];
    let before_tom = everything(&mut tom, &ids).await;
    let before_jerry = everything(&mut jerry, &ids).await;
    let tom_token = tom.token.clone().unwrap();

    let db = TestDatabase::create().unwrap();
    let url: PostgresUrl = db.url().parse().unwrap();
    // Not while a server holds the file.
    let busy = migrate(&file, &url, MigrateLimits::default())
        .await
        .unwrap_err();
    assert!(busy.to_string().contains("in use"), "{busy}");
    sqlite.shutdown().await;

    // Interrupted after 3 chunks of 4 rows, then resumed.
    let small = |stop| MigrateLimits {
        chunk_rows: 4,
        stop_after_chunks: stop,
    };
    let interrupted = migrate(&file, &url, small(Some(3))).await.unwrap_err();
    assert!(interrupted.to_string().contains("resume"), "{interrupted}");
    let report = migrate(&file, &url, small(None)).await.unwrap();
    assert!(report.resumed);
    let rows = |name: &str| {
        report
            .tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .rows
    };
    assert_eq!(
        (
            rows("users"),
            rows("conversations"),
            rows("messages"),
            rows("blocks")
        ),
        (3, 2, 16, 1)
    );
    assert_eq!(rows("members"), 5, "spike's departure is a member row too");
    let copied: u64 = report.tables.iter().map(|t| t.copied).sum();
    let total: u64 = report.tables.iter().map(|t| t.rows).sum();
    // The first run committed three chunks (users, sessions, conversations: 3 + 3 + 2 rows).
    assert_eq!(copied + 8, total, "the resumed run copied only the rest");
    // Run again: nothing left to copy, and it checks out.
    let again = migrate(&file, &url, MigrateLimits::default())
        .await
        .unwrap();
    assert!(again.tables.iter().all(|t| t.copied == 0));
    assert_eq!(again.version, report.version);

    // The server on PostgreSQL carries on.
    let postgres = im_server::start(Config::new(
        "127.0.0.1:0".parse().unwrap(),
        Database::Postgres(url),
    ))
    .await
    .unwrap();
    let mut tom = Client::connect(&postgres.url()).await;
    tom.call(im_proto::Resume { token: tom_token })
        .await
        .expect("Tom's session came across");
    let mut jerry = Client::connect(&postgres.url()).await;
    jerry.sign_in("jerry").await; // the password hash came across
    assert_eq!(everything(&mut tom, &ids).await, before_tom);
    let after_jerry = everything(&mut jerry, &ids).await;
    assert_eq!(after_jerry["histories"], before_jerry["histories"]);
    assert_eq!(
        after_jerry["sync"]["conversations"],
        before_jerry["sync"]["conversations"]
    );
    let next = tom
        .call(SendText {
            conversation_id: chat.id,
            client_id: ClientId::random(),
            text: "on PostgreSQL".into(),
            reply_to: None,
            mentions: vec![],
            mention_all: false,
        })
        .await
        .unwrap();
    assert_eq!(next.seq, 16);
    let later = tom
        .call(Sync {
            since: before_tom["sync"]["cursor"].as_u64().unwrap(),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(later.conversations.len(), 1, "the sync cursor carries on");
    assert_eq!(later.conversations[0].last_seq, 16);
    postgres.shutdown().await;
}
