//! The seed's single-chat chapter, against a running server:
//!
//! ```sh
//! cargo run -p im-server &                                   # ws://127.0.0.1:7822/ws
//! cargo run -p im-sdk --example single_chat -- ws://127.0.0.1:7822/ws
//! ```
//!
//! Tom and Jerry get accounts (created on first run), Tom creates a conversation with Jerry and
//! sends "耗子，起床啦", and Jerry's client prints it when it arrives.

use futures_util::StreamExt;
use im_sdk::{
    ClientEvent, CreateConversation, Error, ImService, MemoryCache, Secret, Session, TextMessage,
};

async fn account(url: &str, name: &str) -> Result<Session, Error> {
    let password = Secret::new(format!("{name}-demo-password"));
    match im_sdk::sign_in(url, name, &password, Some("single_chat example")).await {
        Ok(session) => Ok(session),
        Err(e) if e.server_code() == Some(im_sdk::ErrorCode::WrongCredentials) => {
            im_sdk::sign_up(url, name, &password, None).await
        }
        Err(e) => Err(e),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:7822/ws".to_owned());

    // Jerry's app: one IM client for the app's lifetime, a cache right after, then listen.
    let jerry = ImService::new().create_im_client(account(&url, "jerry").await?)?;
    jerry.set_cache(MemoryCache::new())?;
    let mut events = jerry.events();

    // Tom's app.
    let tom = ImService::new().create_im_client(account(&url, "tom").await?)?;
    tom.set_cache(MemoryCache::new())?;
    let conversation = tom
        .create_conversation(CreateConversation {
            title: Some("Tom & Jerry".into()),
            user_ids: vec![jerry.user().uid],
            ..Default::default()
        })
        .await?;
    println!(
        "tom created {:?} ({}) with members {:?}",
        conversation.info().title,
        conversation.id(),
        conversation.info().user_ids
    );
    let sent = conversation.send(TextMessage::new("耗子，起床啦")).await?;
    println!("tom sent #{} {:?}", sent.seq, sent.body.preview());

    while let Some(event) = events.next().await {
        match event {
            ClientEvent::Message { message, .. }
                if message.conversation_id == conversation.id() =>
            {
                println!(
                    "jerry received #{} {:?}",
                    message.seq,
                    message.body.preview()
                );
                break;
            }
            ClientEvent::Error(e) => eprintln!("jerry's client: {e}"),
            _ => {}
        }
    }
    tom.close().await;
    jerry.close().await;
    Ok(())
}
