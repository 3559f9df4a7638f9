//! A client whose supervisor dies does not pretend to be online: it fails visibly (state
//! `Failed`, an error event), every waiter and every later call gets `Error::Failed`, and its
//! unsent messages stay in the cache for the next client.

mod common;

use std::sync::Arc;

use common::{chat, fast_config, online, sign_up, Server, WAIT};
use im_proto::{ClientId, ConversationId, Seq, Uid, User};
use im_sdk::cache::ConversationRecord;
use im_sdk::{
    Cache, ClientEvent, ConnectionState, ImService, MemoryCache, Message, OutgoingMessage,
    TextMessage,
};

/// A cache that panics when asked to store a message whose text says so: a bug inside the
/// supervisor, triggered from the outside.
#[derive(Debug, Default)]
struct Booby(MemoryCache);

impl Cache for Booby {
    fn owner(&self) -> im_sdk::Result<Option<Uid>> {
        self.0.owner()
    }
    fn set_owner(&self, uid: Uid) -> im_sdk::Result<()> {
        self.0.set_owner(uid)
    }
    fn sync_cursor(&self) -> im_sdk::Result<u64> {
        self.0.sync_cursor()
    }
    fn set_sync_cursor(&self, cursor: u64) -> im_sdk::Result<()> {
        self.0.set_sync_cursor(cursor)
    }
    fn put_conversations(&self, records: &[ConversationRecord]) -> im_sdk::Result<()> {
        self.0.put_conversations(records)
    }
    fn conversation(&self, id: ConversationId) -> im_sdk::Result<Option<ConversationRecord>> {
        self.0.conversation(id)
    }
    fn update_conversation(
        &self,
        id: ConversationId,
        new: Option<ConversationRecord>,
        change: &mut dyn FnMut(&mut ConversationRecord),
    ) -> im_sdk::Result<Option<ConversationRecord>> {
        self.0.update_conversation(id, new, change)
    }
    fn conversations(
        &self,
        offset: usize,
        limit: usize,
    ) -> im_sdk::Result<Vec<ConversationRecord>> {
        self.0.conversations(offset, limit)
    }
    fn put_messages(&self, messages: &[Message]) -> im_sdk::Result<Vec<Message>> {
        if messages.iter().any(|m| m.body.preview() == "boom") {
            panic!("the cache cannot take this message");
        }
        self.0.put_messages(messages)
    }
    fn messages_before(
        &self,
        id: ConversationId,
        before: Seq,
        limit: usize,
    ) -> im_sdk::Result<Vec<Message>> {
        self.0.messages_before(id, before, limit)
    }
    fn max_seq(&self, id: ConversationId) -> im_sdk::Result<Seq> {
        self.0.max_seq(id)
    }
    fn replace_message(&self, message: &Message) -> im_sdk::Result<bool> {
        self.0.replace_message(message)
    }
    fn hide_message(&self, id: ConversationId, seq: Seq) -> im_sdk::Result<()> {
        self.0.hide_message(id, seq)
    }
    fn hidden_messages(&self, id: ConversationId) -> im_sdk::Result<Vec<Seq>> {
        self.0.hidden_messages(id)
    }
    fn search_messages(&self, query: &str, limit: usize) -> im_sdk::Result<Vec<Message>> {
        self.0.search_messages(query, limit)
    }
    fn usage(&self) -> im_sdk::Result<im_sdk::CacheUsage> {
        self.0.usage()
    }
    fn clear_messages(&self) -> im_sdk::Result<()> {
        self.0.clear_messages()
    }
    fn index_search_backlog(&self, batch: usize) -> im_sdk::Result<usize> {
        self.0.index_search_backlog(batch)
    }
    fn outbox_put(&self, message: &OutgoingMessage) -> im_sdk::Result<()> {
        self.0.outbox_put(message)
    }
    fn outbox(&self) -> im_sdk::Result<Vec<OutgoingMessage>> {
        self.0.outbox()
    }
    fn outbox_entry(&self, client_id: &ClientId) -> im_sdk::Result<Option<OutgoingMessage>> {
        self.0.outbox_entry(client_id)
    }
    fn outbox_remove(&self, client_id: &ClientId) -> im_sdk::Result<()> {
        self.0.outbox_remove(client_id)
    }
    fn put_users(&self, users: &[User]) -> im_sdk::Result<()> {
        self.0.put_users(users)
    }
    fn user(&self, uid: Uid) -> im_sdk::Result<Option<User>> {
        self.0.user(uid)
    }
}

#[tokio::test]
async fn a_supervisor_that_dies_fails_the_client_visibly_and_everyone_waiting() {
    let server = Server::start().await;
    let url = server.url();
    let service = ImService::with_config(fast_config());
    let tom = service
        .create_im_client(sign_up(&url, "tom").await)
        .unwrap();
    let cache = Arc::new(Booby::default());
    tom.set_shared_cache(cache.clone()).unwrap();
    let jerry_session = sign_up(&url, "jerry").await;
    online(&tom).await;
    let c = chat(&tom, jerry_session.user.uid).await;
    let mut events = tom.events();
    // Its own message comes back to be stored, and the cache panics.
    let waiting = tokio::spawn({
        let c = c.clone();
        async move { c.send(TextMessage::new("boom")).await }
    });
    let failed = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("the waiter is answered")
        .unwrap();
    match failed {
        Err(im_sdk::Error::Failed(reason)) => {
            assert!(
                reason.contains("the cache cannot take this message"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut state = tom.watch_state();
    tokio::time::timeout(
        WAIT,
        state.wait_for(|s| matches!(s, ConnectionState::Failed { .. })),
    )
    .await
    .expect("the state says so")
    .unwrap();
    let mut saw_error = false;
    while let Ok(Some(event)) = tokio::time::timeout(std::time::Duration::ZERO, {
        use futures_util::StreamExt;
        events.next()
    })
    .await
    {
        saw_error |= matches!(event, ClientEvent::Error(im_sdk::Error::Failed(_)));
    }
    assert!(saw_error, "an error event");
    // Every later call fails the same way, at once.
    assert!(matches!(
        c.send(TextMessage::new("after")).await,
        Err(im_sdk::Error::Failed(_))
    ));
    assert!(matches!(
        tom.find_user("jerry").await,
        Err(im_sdk::Error::Failed(_))
    ));
}
