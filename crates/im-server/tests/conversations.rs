//! Conversations: membership rules, manager rights, updates and who hears about them;
//! accounts and sessions.

mod common;

use common::{assert_code, Client, TestServer};
use im_proto::{
    AddMembers, ClientId, ConversationId, CreateConversation, ErrorCode, Event, GetConversation,
    GetMessages, GetUsers, ListConversations, MarkRead, RemoveMembers, Resume, SendText, SetTyping,
    SignOut, Sync, UpdateConversation,
};

async fn group(tom: &mut Client, others: &[&Client], title: &str) -> im_proto::Conversation {
    tom.call(CreateConversation {
        title: Some(title.into()),
        user_ids: others.iter().map(|c| c.uid()).collect(),
        ..Default::default()
    })
    .await
    .unwrap()
    .conversation
}

fn send(conversation_id: ConversationId, text: &str) -> SendText {
    SendText {
        conversation_id,
        client_id: ClientId::random(),
        text: text.into(),
    }
}

#[tokio::test]
async fn non_members_are_refused_on_every_conversation_op() {
    let server = TestServer::start().await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut spike = Client::user(&server.url, "spike").await;
    let c = group(&mut tom, &[&jerry], "private").await;
    tom.call(send(c.id, "secret")).await.unwrap();
    let id = c.id;

    assert_code(
        spike
            .call(GetConversation {
                conversation_id: id,
            })
            .await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike
            .call(GetMessages {
                conversation_id: id,
                before: None,
                after: None,
                limit: None,
            })
            .await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike.call(send(id, "let me in")).await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike
            .call(MarkRead {
                conversation_id: id,
                seq: 1,
            })
            .await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike
            .call(SetTyping {
                conversation_id: id,
                typing: true,
            })
            .await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike
            .call(UpdateConversation {
                conversation_id: id,
                title: Some("mine".into()),
                icon: None,
                remark: None,
                attrs: None,
            })
            .await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike
            .call(AddMembers {
                conversation_id: id,
                user_ids: vec![spike.uid()],
            })
            .await,
        ErrorCode::NotMember,
    );
    assert_code(
        spike
            .call(RemoveMembers {
                conversation_id: id,
                user_ids: vec![tom.uid()],
            })
            .await,
        ErrorCode::NotMember,
    );
    let listed = spike.call(ListConversations::default()).await.unwrap();
    assert!(listed.conversations.is_empty());
    assert!(spike
        .call(Sync {
            since: 0,
            limit: None
        })
        .await
        .unwrap()
        .conversations
        .is_empty());

    // An id that names no conversation says so.
    let nowhere = ConversationId::random();
    assert_code(
        spike
            .call(GetConversation {
                conversation_id: nowhere,
            })
            .await,
        ErrorCode::ConversationNotFound,
    );
    assert_code(
        spike.call(send(nowhere, "hello?")).await,
        ErrorCode::ConversationNotFound,
    );

    // Nothing spike tried changed anything.
    let view = tom
        .call(GetConversation {
            conversation_id: id,
        })
        .await
        .unwrap();
    assert_eq!(view.conversation.title, "private");
    assert_eq!(view.last_seq, 1);
    assert_eq!(view.conversation.user_ids, vec![tom.uid(), jerry.uid()]);
}

#[tokio::test]
async fn the_manager_adds_and_removes_members_and_everyone_is_told() {
    let server = TestServer::start().await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut spike = Client::user(&server.url, "spike").await;
    let tyke = Client::user(&server.url, "tyke").await;
    let c = group(&mut tom, &[&jerry, &spike], "house").await;
    assert_eq!(c.kind, im_proto::ConversationType::GroupChat);
    jerry.event().await;
    spike.event().await;
    let earlier = send(c.id, "hi all");
    let earlier_ack = spike.call(earlier.clone()).await.unwrap();
    jerry.event().await;

    // Only the manager adds.
    assert_code(
        jerry
            .call(AddMembers {
                conversation_id: c.id,
                user_ids: vec![tyke.uid()],
            })
            .await,
        ErrorCode::NotManager,
    );
    let added = tom
        .call(AddMembers {
            conversation_id: c.id,
            user_ids: vec![tyke.uid()],
        })
        .await
        .unwrap();
    assert_eq!(added.user_count, 4);
    assert_eq!(added.user_ids.last(), Some(&tyke.uid()));
    assert_eq!(
        jerry.event().await,
        Event::ConversationUpdated(added.clone())
    );

    // Only the manager removes others; anyone may leave.
    assert_code(
        jerry
            .call(RemoveMembers {
                conversation_id: c.id,
                user_ids: vec![spike.uid()],
            })
            .await,
        ErrorCode::NotManager,
    );
    let removed = tom
        .call(RemoveMembers {
            conversation_id: c.id,
            user_ids: vec![spike.uid()],
        })
        .await
        .unwrap();
    assert_eq!(removed.user_count, 3);
    assert!(!removed.user_ids.contains(&spike.uid()));
    let told = spike
        .event_where(|e| match e {
            Event::ConversationRemoved(r) => Some(r),
            _ => None,
        })
        .await;
    assert_eq!((told.conversation_id, told.by), (c.id, tom.uid()));
    assert_code(
        spike.call(send(c.id, "still here?")).await,
        ErrorCode::NotMember,
    );
    // ... but a resend of what he sent while a member still gets its original.
    assert_eq!(spike.call(earlier.clone()).await.unwrap(), earlier_ack);
    // Spike's sync reports the removal, frozen as it was when he left: what happens in the
    // conversation afterwards stays hidden from him.
    jerry
        .call(UpdateConversation {
            conversation_id: c.id,
            title: Some("secret plan".into()),
            icon: None,
            remark: None,
            attrs: None,
        })
        .await
        .unwrap();
    jerry.call(send(c.id, "spike is gone")).await.unwrap();
    let synced = spike
        .call(Sync {
            since: 0,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(synced.conversations.len(), 1);
    let gone = &synced.conversations[0];
    assert!(gone.removed);
    assert_eq!(gone.conversation.title, "house");
    assert!(gone.conversation.user_ids.contains(&spike.uid()));
    assert_eq!((gone.last_seq, gone.unread_count), (1, 0));
    assert_eq!(gone.last_message.as_ref(), Some(&earlier_ack));

    // When the manager leaves, the longest-standing member takes over.
    let left = tom
        .call(RemoveMembers {
            conversation_id: c.id,
            user_ids: vec![tom.uid()],
        })
        .await
        .unwrap();
    assert_eq!(left.manager_id, jerry.uid());
    assert_eq!(left.user_ids, vec![jerry.uid(), tyke.uid()]);
    let view = jerry
        .call(GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(view.conversation.manager_id, jerry.uid());

    // Unknown users cannot be added; the limit on members holds.
    assert_code(
        jerry
            .call(AddMembers {
                conversation_id: c.id,
                user_ids: vec![im_proto::Uid::random()],
            })
            .await,
        ErrorCode::UserNotFound,
    );
}

#[tokio::test]
async fn a_single_chat_keeps_its_two_members() {
    let server = TestServer::start().await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let spike = Client::user(&server.url, "spike").await;
    let c = group(&mut tom, &[&jerry], "").await;
    assert_eq!(c.kind, im_proto::ConversationType::SingleChat);
    assert_code(
        tom.call(AddMembers {
            conversation_id: c.id,
            user_ids: vec![spike.uid()],
        })
        .await,
        ErrorCode::SingleChatMembersFixed,
    );
    assert_code(
        tom.call(RemoveMembers {
            conversation_id: c.id,
            user_ids: vec![jerry.uid()],
        })
        .await,
        ErrorCode::SingleChatMembersFixed,
    );
}

#[tokio::test]
async fn members_update_title_icon_remark_and_attrs() {
    let server = TestServer::start().await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let c = group(&mut tom, &[&jerry], "before").await;
    jerry.event().await;
    let mut attrs = serde_json::Map::new();
    attrs.insert("pinned".into(), serde_json::json!(true));
    let updated = jerry
        .call(UpdateConversation {
            conversation_id: c.id,
            title: Some("after".into()),
            icon: Some("https://example.com/cat.png".into()),
            remark: Some("cat and mouse".into()),
            attrs: Some(attrs.clone()),
        })
        .await
        .unwrap();
    assert_eq!(updated.title, "after");
    assert_eq!(updated.icon, "https://example.com/cat.png");
    assert_eq!(updated.remark, "cat and mouse");
    assert_eq!(updated.attrs, attrs);
    assert_eq!(updated.create_time, c.create_time);
    assert_eq!(
        tom.event().await,
        Event::ConversationUpdated(updated.clone())
    );
    // Absent fields stay.
    let again = tom
        .call(UpdateConversation {
            conversation_id: c.id,
            title: Some("again".into()),
            icon: None,
            remark: None,
            attrs: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (again.title.as_str(), again.remark.as_str()),
        ("again", "cat and mouse")
    );
}

#[tokio::test]
async fn the_list_is_ordered_by_activity_and_pages() {
    let server = TestServer::start().await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(group(&mut tom, &[&jerry], &format!("c{i}")).await.id);
    }
    // Activity in c1 moves it to the top.
    tom.call(send(ids[1], "bump")).await.unwrap();
    let first = tom
        .call(ListConversations {
            limit: Some(3),
            before: None,
        })
        .await
        .unwrap();
    let titles: Vec<_> = first
        .conversations
        .iter()
        .map(|v| v.conversation.title.clone())
        .collect();
    assert_eq!(titles, ["c1", "c4", "c3"]);
    assert_eq!(first.conversations[0].last_message.as_ref().unwrap().seq, 1);
    assert_eq!(
        first.conversations[0].unread_count, 0,
        "own messages count as read"
    );
    let rest = tom
        .call(ListConversations {
            limit: Some(3),
            before: first.next_before,
        })
        .await
        .unwrap();
    let titles: Vec<_> = rest
        .conversations
        .iter()
        .map(|v| v.conversation.title.clone())
        .collect();
    assert_eq!(titles, ["c2", "c0"]);
    assert!(rest.next_before.is_none());
}

#[tokio::test]
async fn sync_pages_through_changes_without_missing_any() {
    let server = TestServer::start().await;
    let mut jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    for i in 0..7 {
        let c = group(&mut tom, &[&jerry], &format!("c{i}")).await;
        tom.call(send(c.id, "hello")).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut since = 0;
    loop {
        let page = jerry
            .call(Sync {
                since,
                limit: Some(2),
            })
            .await
            .unwrap();
        seen.extend(
            page.conversations
                .iter()
                .map(|v| v.conversation.title.clone()),
        );
        since = page.cursor;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seen, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    // A read mark is a change for the reader's own sync (their other devices learn of it).
    let c3 = jerry
        .call(ListConversations::default())
        .await
        .unwrap()
        .conversations[3]
        .conversation
        .id;
    jerry
        .call(MarkRead {
            conversation_id: c3,
            seq: 1,
        })
        .await
        .unwrap();
    let after_read = jerry.call(Sync { since, limit: None }).await.unwrap();
    assert_eq!(after_read.conversations.len(), 1);
    assert_eq!(after_read.conversations[0].read_seq, 1);
}

#[tokio::test]
async fn sign_out_revokes_the_token_everywhere() {
    let server = TestServer::start().await;
    let mut tom = Client::user(&server.url, "tom").await;
    let mut tom_laptop = tom.another_session(&server.url).await;
    let token = tom.token.clone().unwrap();
    tom.call(SignOut {}).await.unwrap();
    let told = tom_laptop.event().await;
    assert!(matches!(told, Event::SignedOut(_)), "{told:?}");
    assert_code(
        tom_laptop.call(ListConversations::default()).await,
        ErrorCode::Unauthenticated,
    );
    assert_code(
        tom.call(ListConversations::default()).await,
        ErrorCode::Unauthenticated,
    );
    let mut fresh = Client::connect(&server.url).await;
    assert_code(fresh.call(Resume { token }).await, ErrorCode::InvalidToken);
    // Signing in again works and gives a new token.
    tom.sign_in("tom").await;
    assert!(tom.call(ListConversations::default()).await.is_ok());
}

#[tokio::test]
async fn users_are_found_by_uid_and_username() {
    let server = TestServer::start().await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let found = tom
        .call(GetUsers {
            uids: vec![jerry.uid(), im_proto::Uid::random(), tom.uid()],
        })
        .await
        .unwrap();
    let names: Vec<_> = found.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["jerry", "tom"]);
    let none = tom
        .call(im_proto::FindUsers {
            usernames: vec!["nobody".into(), "not a name!".into()],
        })
        .await
        .unwrap();
    assert!(none.users.is_empty());
}
