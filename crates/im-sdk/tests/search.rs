//! Message search through the client, on a disk cache: what the server delivers is found at
//! once, Chinese included, and what a cache held from before it could search is indexed by the
//! client in the background.

mod common;

use common::{chat, online, sign_up, Server, WAIT};
use im_sdk::{Cache, DiskCache, ImService, TextMessage};

#[tokio::test]
async fn delivered_messages_are_found_and_an_older_cache_is_indexed_in_the_background() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jerry.sqlite3");
    let tom = ImService::new()
        .create_im_client(sign_up(&url, "tom").await)
        .unwrap();
    tom.set_cache(im_sdk::MemoryCache::new()).unwrap();
    let jerry_session = sign_up(&url, "jerry").await;
    let jerry_uid = jerry_session.user.uid;
    let jerry = ImService::new().create_im_client(jerry_session).unwrap();
    jerry.set_cache(DiskCache::open(&path).unwrap()).unwrap();
    online(&tom).await;
    online(&jerry).await;
    let conversation = chat(&tom, jerry_uid).await;
    for text in ["耗子，起床啦", "Wake up, Jerry", "早饭在桌上"] {
        conversation.send(TextMessage::new(text)).await.unwrap();
    }
    let found = |client: &im_sdk::ImClient, query: &str| {
        client
            .search_messages(query, 10)
            .unwrap()
            .iter()
            .map(|m| m.body.preview().to_owned())
            .collect::<Vec<_>>()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    // The last one sent is the last delivered.
    while found(&jerry, "早饭").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found(&jerry, "起床"), ["耗子，起床啦"]);
    assert_eq!(found(&jerry, "JERRY"), ["Wake up, Jerry"]);
    assert_eq!(found(&jerry, "饭"), ["早饭在桌上"]);
    jerry.close().await;

    // The same file as a version before search left it: its messages not indexed.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DELETE FROM search_keys; DELETE FROM search_text; INSERT INTO search_grams(search_grams) VALUES ('delete-all');
             UPDATE meta SET value = (SELECT CAST(max(rowid) + 1 AS TEXT) FROM messages) WHERE key = 'search_backlog_below';",
        )
        .unwrap();
    }
    let cache = DiskCache::open(&path).unwrap();
    assert!(cache.search_messages("起床", 10).unwrap().is_empty());
    let again = ImService::new()
        .create_im_client(sign_up_again(&url).await)
        .unwrap();
    again.set_cache(cache).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while found(&again, "起床").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backlog was never indexed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(found(&again, "起床"), ["耗子，起床啦"]);
    again.close().await;
}

async fn sign_up_again(url: &str) -> im_sdk::Session {
    im_sdk::sign_in(url, "jerry", &common::password("jerry"), None)
        .await
        .unwrap()
}
