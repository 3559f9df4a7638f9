//! The conformance suite every [`Cache`] must pass. Run it on your own implementation with
//! [`cache_conformance_tests!`](crate::cache_conformance_tests):
//!
//! ```
//! mod memory_cache {
//!     im_sdk::cache_conformance_tests!(im_sdk::MemoryCache::new());
//! }
//! ```

use im_proto::{
    ClientId, Conversation, ConversationId, ConversationType, Message, MessageBody, MessageId, Uid,
    User,
};

use super::CacheUsage;
use super::{Cache, ConversationRecord, OutboxState, OutgoingMessage};

/// Generates one `#[test]` per conformance check, each on a fresh cache made by `$make`.
#[macro_export]
macro_rules! cache_conformance_tests {
    ($make:expr) => {
        $crate::cache_conformance_tests!(@tests $make;
            owner_and_cursor,
            conversations_sort_by_activity_and_page,
            conversations_replace_and_hide_removed,
            updates_are_atomic_and_insert_only_when_asked,
            messages_are_idempotent_and_page_backwards,
            outbox_keeps_order_and_replaces_in_place,
            users_are_stored_and_replaced,
            search_finds_every_term_newest_first,
            replaced_messages_are_searched_as_they_are_now,
            hidden_messages_are_remembered_apart,
            clearing_forgets_messages_and_keeps_the_rest,
        );
    };
    (@tests $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let cache = $make;
                $crate::cache::conformance::$check(&cache);
            }
        )*
    };
}

fn conversation(create_time: i64) -> Conversation {
    let me = Uid::random();
    Conversation {
        id: ConversationId::random(),
        title: format!("c{create_time}"),
        icon: String::new(),
        manager_id: me,
        remark: String::new(),
        user_count: 2,
        attrs: Default::default(),
        create_time,
        kind: ConversationType::SingleChat,
        user_ids: vec![me, Uid::random()],
    }
}

fn message(conversation_id: ConversationId, seq: u64) -> Message {
    Message {
        id: MessageId::time_ordered(),
        conversation_id,
        seq,
        from: Uid::random(),
        client_id: ClientId::random(),
        timestamp: 1_000 + seq as i64,
        body: MessageBody::text(format!("message {seq}")),
        reply_to: None,
        edited_at: None,
        mentions: vec![],
        mention_all: false,
        reactions: vec![],
    }
}

/// A new cache has no owner and cursor 0; both persist once set.
pub fn owner_and_cursor(cache: &dyn Cache) {
    assert_eq!(cache.owner().unwrap(), None);
    assert_eq!(cache.sync_cursor().unwrap(), 0);
    let uid = Uid::random();
    cache.set_owner(uid).unwrap();
    cache.set_sync_cursor(17).unwrap();
    cache.set_sync_cursor(18).unwrap();
    assert_eq!(cache.owner().unwrap(), Some(uid));
    assert_eq!(cache.sync_cursor().unwrap(), 18);
}

/// The list is ordered by activity, newest first, and pages with offset and limit.
pub fn conversations_sort_by_activity_and_page(cache: &dyn Cache) {
    let records: Vec<ConversationRecord> = (0..5)
        .map(|i| ConversationRecord::new(conversation(100 + i)))
        .collect();
    cache.put_conversations(&records).unwrap();
    let titles = |list: Vec<ConversationRecord>| -> Vec<String> {
        list.into_iter().map(|r| r.conversation.title).collect()
    };
    assert_eq!(
        titles(cache.conversations(0, 3).unwrap()),
        ["c104", "c103", "c102"]
    );
    assert_eq!(titles(cache.conversations(3, 3).unwrap()), ["c101", "c100"]);
    assert!(cache.conversations(5, 3).unwrap().is_empty());
    // New activity moves a conversation to the top.
    let mut bumped = records[0].clone();
    bumped.activity = 999;
    cache.put_conversations(&[bumped]).unwrap();
    assert_eq!(titles(cache.conversations(0, 1).unwrap()), ["c100"]);
}

/// Putting a record again replaces it; removed conversations leave the list but stay readable.
pub fn conversations_replace_and_hide_removed(cache: &dyn Cache) {
    let mut record = ConversationRecord::new(conversation(1));
    cache.put_conversations(&[record.clone()]).unwrap();
    record.read_seq = 4;
    record.last_seq = 9;
    record.conversation.title = "renamed".into();
    cache.put_conversations(&[record.clone()]).unwrap();
    let back = cache.conversation(record.conversation.id).unwrap().unwrap();
    assert_eq!(back, record);
    assert_eq!(back.unread_count(), 5);
    assert_eq!(cache.conversations(0, 10).unwrap().len(), 1);
    record.removed = true;
    cache.put_conversations(&[record.clone()]).unwrap();
    assert!(cache.conversations(0, 10).unwrap().is_empty());
    assert!(
        cache
            .conversation(record.conversation.id)
            .unwrap()
            .unwrap()
            .removed
    );
    assert!(cache
        .conversation(ConversationId::random())
        .unwrap()
        .is_none());
}

/// `update_conversation` changes a record in place without losing anyone's change, and inserts
/// only when given a new record.
pub fn updates_are_atomic_and_insert_only_when_asked(cache: &dyn Cache) {
    let record = ConversationRecord::new(conversation(1));
    let id = record.conversation.id;
    let untouched = cache
        .update_conversation(id, None, &mut |r| r.last_seq = 99)
        .unwrap();
    assert_eq!(untouched, None, "no record, nothing given: nothing stored");
    assert!(cache.conversation(id).unwrap().is_none());
    let stored = cache
        .update_conversation(id, Some(record.clone()), &mut |r| r.last_seq = 1)
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_seq, 1);
    assert_eq!(cache.conversation(id).unwrap(), Some(stored));
    // Eight threads, each moving its own field forward 100 times: nothing is lost.
    std::thread::scope(|scope| {
        for t in 0..8 {
            scope.spawn(move || {
                for _ in 0..100 {
                    cache
                        .update_conversation(id, None, &mut |r| match t % 2 {
                            0 => r.last_seq += 1,
                            _ => r.read_seq += 1,
                        })
                        .unwrap();
                }
            });
        }
    });
    let after = cache.conversation(id).unwrap().unwrap();
    assert_eq!((after.last_seq, after.read_seq), (401, 400));
    assert_eq!(
        after.conversation, record.conversation,
        "the rest as it was"
    );
}

/// Messages are stored once per seq; `put_messages` reports only new ones; pages go backwards.
pub fn messages_are_idempotent_and_page_backwards(cache: &dyn Cache) {
    let c = ConversationId::random();
    let other = ConversationId::random();
    assert_eq!(cache.max_seq(c).unwrap(), 0);
    let first: Vec<Message> = (1..=5).map(|s| message(c, s)).collect();
    assert_eq!(cache.put_messages(&first).unwrap().len(), 5);
    let mut again: Vec<Message> = (4..=8).map(|s| message(c, s)).collect();
    again[0] = first[3].clone();
    let new = cache.put_messages(&again).unwrap();
    assert_eq!(new.iter().map(|m| m.seq).collect::<Vec<_>>(), [6, 7, 8]);
    // The first copy of seq 5 stays.
    assert_eq!(
        cache.messages_before(c, 6, 1).unwrap(),
        vec![first[4].clone()]
    );
    cache.put_messages(&[message(other, 1)]).unwrap();
    assert_eq!(cache.max_seq(c).unwrap(), 8);
    assert_eq!(cache.max_seq(other).unwrap(), 1);
    let seqs = |page: Vec<Message>| page.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(cache.messages_before(c, u64::MAX, 3).unwrap()),
        [6, 7, 8]
    );
    assert_eq!(seqs(cache.messages_before(c, 6, 3).unwrap()), [3, 4, 5]);
    assert_eq!(seqs(cache.messages_before(c, 3, 10).unwrap()), [1, 2]);
    assert!(cache.messages_before(c, 1, 10).unwrap().is_empty());
    assert!(cache
        .messages_before(ConversationId::random(), 10, 10)
        .unwrap()
        .is_empty());
    let text = cache.messages_before(c, 2, 1).unwrap()[0]
        .body
        .preview()
        .to_owned();
    assert_eq!(text, "message 1");
}

/// Search: every term anywhere in the text (Chinese without spaces, any case, inside words),
/// newest first, at most `limit`; a message stored twice is found once.
pub fn search_finds_every_term_newest_first(cache: &dyn Cache) {
    let (c, other) = (ConversationId::random(), ConversationId::random());
    let texts = [
        (c, 1, "耗子，起床啦"),
        (c, 2, "Wake UP, Jerry!"),
        (other, 1, "起来吃饭了 jerry"),
        (c, 3, "床上的猫"),
        (other, 2, "hi there"),
    ];
    let messages: Vec<Message> = texts
        .iter()
        .enumerate()
        .map(|(i, (conversation, seq, text))| Message {
            timestamp: 5_000 + i as i64,
            body: MessageBody::text(*text),
            ..message(*conversation, *seq)
        })
        .collect();
    cache.put_messages(&messages).unwrap();
    cache.put_messages(&messages[..2]).unwrap();
    let found = |query: &str, limit: usize| {
        cache
            .search_messages(query, limit)
            .unwrap()
            .iter()
            .map(|m| m.body.preview().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(found("起床", 10), ["耗子，起床啦"]);
    assert_eq!(found("起床啦", 10), ["耗子，起床啦"]);
    assert_eq!(found("床", 10), ["床上的猫", "耗子，起床啦"]);
    assert_eq!(found("起", 10), ["起来吃饭了 jerry", "耗子，起床啦"]);
    assert_eq!(found("JERRY", 10), ["起来吃饭了 jerry", "Wake UP, Jerry!"]);
    assert_eq!(found("jerry 吃饭", 10), ["起来吃饭了 jerry"]);
    assert_eq!(found("ake", 10), ["Wake UP, Jerry!"]);
    assert_eq!(found("hi", 10), ["hi there"]);
    assert_eq!(found("床", 1), ["床上的猫"], "the newest within the limit");
    assert!(found("起床 tom", 10).is_empty());
    assert!(found("   ", 10).is_empty());
    assert!(
        found("\"quoted\" OR *", 10).is_empty(),
        "query syntax is text"
    );
}

/// An edited message replaces the stored one and is found by its new text only; a recalled one
/// is found by nothing; a message the cache does not hold is not stored by a replace.
pub fn replaced_messages_are_searched_as_they_are_now(cache: &dyn Cache) {
    let c = ConversationId::random();
    let messages: Vec<Message> = ["耗子，起床啦", "再睡五分钟", "起来吃饭"]
        .iter()
        .enumerate()
        .map(|(i, text)| Message {
            body: MessageBody::text(*text),
            ..message(c, i as u64 + 1)
        })
        .collect();
    cache.put_messages(&messages).unwrap();
    let found = |query: &str| {
        cache
            .search_messages(query, 10)
            .unwrap()
            .iter()
            .map(|m| (m.seq, m.body.preview().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found("起"),
        [(3, "起来吃饭".to_owned()), (1, "耗子，起床啦".to_owned())]
    );
    let edited = Message {
        body: MessageBody::text("耗子，快醒醒"),
        edited_at: Some(9_000),
        ..messages[0].clone()
    };
    assert!(cache.replace_message(&edited).unwrap());
    assert_eq!(
        found("起"),
        [(3, "起来吃饭".to_owned())],
        "the old text is gone"
    );
    assert_eq!(
        found("醒醒"),
        [(1, "耗子，快醒醒".to_owned())],
        "the new text is found"
    );
    assert_eq!(
        found("醒"),
        [(1, "耗子，快醒醒".to_owned())],
        "by one character too"
    );
    let recalled = Message {
        body: MessageBody::Recalled {
            by: messages[2].from,
        },
        ..messages[2].clone()
    };
    assert!(cache.replace_message(&recalled).unwrap());
    assert!(found("吃饭").is_empty(), "a recalled message is not found");
    assert_eq!(
        cache.messages_before(c, 10, 10).unwrap(),
        vec![edited.clone(), messages[1].clone(), recalled.clone()],
        "history holds them as they are now"
    );
    let absent = message(c, 7);
    assert!(!cache.replace_message(&absent).unwrap());
    assert_eq!(cache.max_seq(c).unwrap(), 3, "a replace stores nothing new");
}

/// Messages deleted on this device are remembered per conversation, once each, through a
/// clearing of the cache; the messages themselves stay.
pub fn hidden_messages_are_remembered_apart(cache: &dyn Cache) {
    let (c, other) = (ConversationId::random(), ConversationId::random());
    cache
        .put_messages(&[message(c, 1), message(c, 2), message(c, 3)])
        .unwrap();
    assert!(cache.hidden_messages(c).unwrap().is_empty());
    for seq in [3, 1, 3] {
        cache.hide_message(c, seq).unwrap();
    }
    assert_eq!(cache.hidden_messages(c).unwrap(), [1, 3]);
    assert!(cache.hidden_messages(other).unwrap().is_empty());
    assert_eq!(cache.messages_before(c, 10, 10).unwrap().len(), 3);
    cache.clear_messages().unwrap();
    assert_eq!(
        cache.hidden_messages(c).unwrap(),
        [1, 3],
        "kept through a clear"
    );
}

/// The outbox keeps insertion order; putting an entry again replaces it in place.
pub fn outbox_keeps_order_and_replaces_in_place(cache: &dyn Cache) {
    let c = ConversationId::random();
    let entries: Vec<OutgoingMessage> = (0..3)
        .map(|i| OutgoingMessage {
            client_id: ClientId::random(),
            conversation_id: c,
            text: format!("draft {i}"),
            reply_to: None,
            mentions: vec![],
            mention_all: false,
            created_at: 10 - i,
            state: OutboxState::Sending,
        })
        .collect();
    for e in &entries {
        cache.outbox_put(e).unwrap();
    }
    assert_eq!(cache.outbox().unwrap(), entries);
    let mut failed = entries[1].clone();
    failed.state = OutboxState::Failed {
        code: "not_member".into(),
        message: "no".into(),
    };
    cache.outbox_put(&failed).unwrap();
    let now = cache.outbox().unwrap();
    assert_eq!(now[1], failed);
    assert_eq!(now.len(), 3);
    assert_eq!(
        cache.outbox_entry(&entries[1].client_id).unwrap().as_ref(),
        Some(&failed),
        "found by client id"
    );
    cache.outbox_remove(&entries[0].client_id).unwrap();
    cache.outbox_remove(&entries[0].client_id).unwrap();
    assert_eq!(cache.outbox_entry(&entries[0].client_id).unwrap(), None);
    assert_eq!(cache.outbox().unwrap(), vec![failed, entries[2].clone()]);
}

/// Users are stored and replaced by uid.
pub fn users_are_stored_and_replaced(cache: &dyn Cache) {
    let mut tom = User {
        uid: Uid::random(),
        username: "tom".into(),
        display_name: "Tom".into(),
    };
    cache.put_users(&[tom.clone()]).unwrap();
    assert_eq!(cache.user(tom.uid).unwrap(), Some(tom.clone()));
    tom.display_name = "Thomas".into();
    cache.put_users(&[tom.clone()]).unwrap();
    assert_eq!(cache.user(tom.uid).unwrap().unwrap().display_name, "Thomas");
    assert_eq!(cache.user(Uid::random()).unwrap(), None);
}

/// Clearing forgets every message and the search index, and keeps the conversations (their
/// previews and read marks), the users, the outbox, the owner and the cursor; messages stored
/// afterwards are stored and found again.
pub fn clearing_forgets_messages_and_keeps_the_rest(cache: &dyn Cache) {
    let owner = Uid::random();
    cache.set_owner(owner).unwrap();
    cache.set_sync_cursor(42).unwrap();
    let mut record = ConversationRecord::new(conversation(1));
    let id = record.conversation.id;
    let messages: Vec<Message> = (1..=30)
        .map(|seq| Message {
            body: MessageBody::text(format!("起床 number {seq}")),
            ..message(id, seq)
        })
        .collect();
    record.last_seq = 30;
    record.last_message = messages.last().cloned();
    record.read_seq = 12;
    cache.put_conversations(&[record.clone()]).unwrap();
    cache.put_messages(&messages).unwrap();
    let tom = User {
        uid: Uid::random(),
        username: "tom".into(),
        display_name: "Tom".into(),
    };
    cache.put_users(std::slice::from_ref(&tom)).unwrap();
    let unsent = OutgoingMessage {
        client_id: ClientId::random(),
        conversation_id: id,
        text: "not yet sent".into(),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
        created_at: 7,
        state: OutboxState::Sending,
    };
    cache.outbox_put(&unsent).unwrap();
    assert_eq!(cache.usage().unwrap().messages, 30);
    while cache.index_search_backlog(7).unwrap() > 0 {}

    let before: CacheUsage = cache.usage().unwrap();
    cache.clear_messages().unwrap();
    let after = cache.usage().unwrap();
    assert_eq!(after.messages, 0);
    assert!(after.bytes <= before.bytes, "{after:?} after {before:?}");
    assert!(cache.messages_before(id, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(cache.max_seq(id).unwrap(), 0);
    assert!(cache.search_messages("起床", 10).unwrap().is_empty());
    assert_eq!(
        cache.index_search_backlog(100).unwrap(),
        0,
        "no backlog left"
    );
    assert_eq!(cache.conversation(id).unwrap(), Some(record));
    assert_eq!(cache.user(tom.uid).unwrap(), Some(tom));
    assert_eq!(cache.outbox().unwrap(), vec![unsent]);
    assert_eq!(cache.owner().unwrap(), Some(owner));
    assert_eq!(cache.sync_cursor().unwrap(), 42);

    // History loaded again is stored and searchable again.
    assert_eq!(cache.put_messages(&messages[25..]).unwrap().len(), 5);
    assert_eq!(cache.usage().unwrap().messages, 5);
    assert_eq!(cache.search_messages("起床", 10).unwrap().len(), 5);
    assert_eq!(
        cache.messages_before(id, u64::MAX, 100).unwrap(),
        messages[25..]
    );
}
