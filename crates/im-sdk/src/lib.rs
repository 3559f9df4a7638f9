//! The Gtedx IM client SDK: the seed tutorial's API in Rust.
//!
//! Tom signs in, creates a conversation with Jerry and sends "耗子，起床啦"; Jerry's client
//! receives it:
//!
//! ```
//! use futures_util::StreamExt;
//! use im_sdk::{ClientEvent, CreateConversation, ImService, MemoryCache, Secret, TextMessage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let server = im_server::start(im_server::Config::new(
//! #     "127.0.0.1:0".parse()?,
//! #     dir.path().join("im.sqlite3"),
//! # ))
//! # .await?;
//! # let url = server.url();
//! # im_sdk::sign_up(&url, "jerry", &Secret::new("jerry-password"), Some("Jerry")).await?;
//! # im_sdk::sign_up(&url, "tom", &Secret::new("tom-password"), Some("Tom")).await?;
//! // Jerry's app: create the IM client once, set its cache right away, listen.
//! let jerry_app = ImService::new();
//! let jerry_session = im_sdk::sign_in(&url, "jerry", &Secret::new("jerry-password"), None).await?;
//! let jerry = jerry_app.create_im_client(jerry_session)?;
//! jerry.set_cache(MemoryCache::new())?;
//! let mut jerry_events = jerry.events();
//!
//! // Tom's app does the same, then writes to Jerry.
//! let tom_app = ImService::new();
//! let tom_session = im_sdk::sign_in(&url, "tom", &Secret::new("tom-password"), None).await?;
//! let tom = tom_app.create_im_client(tom_session)?;
//! tom.set_cache(MemoryCache::new())?; // or DiskCache::open(path)? for an app
//!
//! let conversation = tom
//!     .create_conversation(CreateConversation {
//!         title: Some("Tom & Jerry".into()),
//!         user_ids: vec![jerry.user().uid],
//!         ..Default::default()
//!     })
//!     .await?;
//! let sent = conversation.send(TextMessage::new("耗子，起床啦")).await?;
//! assert_eq!(sent.seq, 1);
//!
//! // Jerry's client.on(Event.MESSAGE, …): here as a stream of events.
//! while let Some(event) = jerry_events.next().await {
//!     if let ClientEvent::Message { message, .. } = event {
//!         assert_eq!(message.body.preview(), "耗子，起床啦");
//!         break;
//!     }
//! }
//! tom.close().await;
//! jerry.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## How a client works
//!
//! - [`ImService::create_im_client`] makes the client for a [`Session`] (from [`sign_in`] or
//!   [`sign_up`], or one an app saved). A second call for the same user returns the same
//!   client. [`ImClient::close`] disconnects and stops everything; so does dropping every handle.
//! - [`ImClient::set_cache`] must come next: everything else fails with
//!   [`Error::CacheNotSet`] until it does, and the client connects only once it has one.
//!   [`DiskCache`] keeps conversations, messages, cursors, read marks and the outbox in SQLite so
//!   an app can show its conversation list and recent history before the network answers;
//!   [`MemoryCache`] keeps them in memory. Both pass [`cache::conformance`].
//! - One supervisor task owns the socket. It reconnects with exponential backoff and jitter,
//!   resumes the session with its token, catches up from the cache's cursor (paged, and gaps are
//!   fetched), sends the outbox, and pings to notice a dead connection. Its state is
//!   [`ImClient::state`], and every change is a [`ClientEvent::ConnectionState`].
//! - Sends go through the outbox: [`Conversation::send`] resolves when the server has stored
//!   the message; offline, the message waits in the cache and is resent with the same client id
//!   after reconnecting or restarting, so it is stored exactly once.
//! - Events arrive on [`ImClient::events`] (a stream) or through [`ImClient::on`].
//! - Errors are one enum, [`Error`], with [`Error::is_transient`] and a stable [`Error::code`].

mod account;
pub mod cache;
mod client;
mod conversation;
mod error;
mod events;
mod outbox;
mod pacing;
mod service;
mod supervisor;
mod tls;
mod transport;

pub use account::{sign_in, sign_out, sign_up, sign_up_mode, sign_up_with_invite, Session};
pub use cache::{
    Cache, CacheUsage, ConversationRecord, DiskCache, MemoryCache, OutboxState, OutgoingMessage,
};
pub use client::{ClientConfig, EventStream, ImClient, Subscription};
pub use conversation::{Conversation, HistoryPage, TextMessage};
pub use error::{Error, Result};
pub use events::{ClientEvent, ConnectionState, EventKind};
pub use service::ImService;
pub use tls::{trust_extra_ca_pem, TlsProblem};

pub use im_proto::{
    ClientId, ConversationId, ConversationType, CreateConversation, ErrorBody, ErrorCode, Limits,
    Message, MessageBody, Receipt, Secret, Seq, SessionInfo, SignUpMode, Typing, Uid,
    UpdateConversation, User,
};
