//! The SDK against the real server: the seed scenario, conversations, history, and the
//! client's life cycle (cache first, one client per user, close, sign-out).

mod common;

use std::time::Duration;

use common::{
    chat, client, collect_messages, fast_config, next_event, online, sign_up, Server, WAIT,
};
use im_sdk::{
    ClientEvent, ConnectionState, CreateConversation, Error, EventKind, ImClient, ImService,
    MemoryCache, TextMessage,
};

#[tokio::test]
async fn tom_sends_jerry_wake_up_through_the_sdk() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let (tom_app, jerry_app) = (ImService::new(), ImService::new());
    let jerry = client(&jerry_app, sign_up(&url, "jerry").await, dir.path());
    let tom = client(&tom_app, sign_up(&url, "tom").await, dir.path());
    let mut jerry_events = jerry.events();
    // The seed's style: on(Event.MESSAGE, handler).
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let _subscription = jerry.on(EventKind::Message, move |event| {
        if let ClientEvent::Message { message, .. } = event {
            let _ = seen_tx.send(message.body.preview().to_owned());
        }
    });
    online(&tom).await;
    online(&jerry).await;

    let conversation = tom
        .create_conversation(CreateConversation {
            title: Some("Tom & Jerry".into()),
            user_ids: vec![jerry.user().uid],
            ..Default::default()
        })
        .await
        .unwrap();
    let info = conversation.info();
    assert_eq!(info.title, "Tom & Jerry");
    assert_eq!(info.user_ids, vec![tom.user().uid, jerry.user().uid]);
    assert_eq!(info.kind, im_sdk::ConversationType::SingleChat);
    assert_eq!(info.manager_id, tom.user().uid);

    let sent = conversation
        .send(TextMessage::new("耗子，起床啦"))
        .await
        .unwrap();
    assert_eq!((sent.seq, sent.from), (1, tom.user().uid));

    let created = next_event(&mut jerry_events, |e| match e {
        ClientEvent::ConversationCreated(c) => Some(c),
        _ => None,
    })
    .await;
    assert_eq!(&created, info);
    let received = next_event(&mut jerry_events, |e| match e {
        ClientEvent::Message { message, live } => Some((message, live)),
        _ => None,
    })
    .await;
    assert_eq!(received, (sent.clone(), true));
    let via_on = tokio::time::timeout(WAIT, seen_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(via_on, "耗子，起床啦");

    // Both caches now list it, with the last message; Jerry has one unread until he reads it.
    let listed = jerry.conversations(0, 10).unwrap();
    assert_eq!(listed.len(), 1);
    let record = listed[0].record();
    assert_eq!(record.last_message.as_ref(), Some(&sent));
    assert_eq!(record.unread_count(), 1);
    assert_eq!(listed[0].mark_read(1).unwrap(), 0);
    // Jerry's own app hears of its mark (its unread count changed), as his other devices do.
    let own = next_event(&mut jerry_events, |e| match e {
        ClientEvent::Receipt(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!((own.uid, own.read_seq), (jerry.user().uid, 1));
    // A mark that moves nothing says nothing (checked below: no receipt before the next message).
    assert_eq!(listed[0].mark_read(1).unwrap(), 0);
    let receipt = next_event(&mut tom.events(), |e| match e {
        ClientEvent::Receipt(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!((receipt.uid, receipt.read_seq), (jerry.user().uid, 1));
    let tom_side = tom.conversation(conversation.id()).await.unwrap();
    assert_eq!(tom_side.record().peer_read_seq, 1, "read tick for Tom");
    assert_eq!(tom_side.record().unread_count(), 0);

    conversation.send(TextMessage::new("醒了吗")).await.unwrap();
    next_event(&mut jerry_events, |e| match e {
        ClientEvent::Receipt(r) => panic!("a receipt for a mark that moved nothing: {r:?}"),
        ClientEvent::Message { message, .. } => Some(message),
        _ => None,
    })
    .await;
    jerry
        .conversation(conversation.id())
        .await
        .unwrap()
        .mark_read(2)
        .unwrap();
    let next = next_event(&mut jerry_events, |e| match e {
        ClientEvent::Receipt(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!((next.uid, next.read_seq), (jerry.user().uid, 2));

    // Typing reaches Jerry.
    conversation.typing(true).await.unwrap();
    let typing = next_event(&mut jerry_events, |e| match e {
        ClientEvent::Typing(t) => Some(t),
        _ => None,
    })
    .await;
    assert!(typing.typing);

    tom.close().await;
    jerry.close().await;
}

#[tokio::test]
async fn plain_creates_make_new_conversations_and_unique_finds_the_first() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let app = ImService::new();
    let jerry = sign_up(&url, "jerry").await;
    let tom = client(&app, sign_up(&url, "tom").await, dir.path());
    let params = || CreateConversation {
        user_ids: vec![jerry.user.uid],
        ..Default::default()
    };
    let a = tom.create_conversation(params()).await.unwrap();
    let b = tom.create_conversation(params()).await.unwrap();
    assert_ne!(a.id(), b.id());
    let unique = tom
        .create_conversation(CreateConversation {
            unique: true,
            ..params()
        })
        .await
        .unwrap();
    assert_eq!(unique.id(), a.id());
    assert_eq!(tom.conversations(0, 10).unwrap().len(), 2);
}

#[tokio::test]
async fn history_pages_from_the_cache_when_it_has_the_range_and_the_server_otherwise() {
    let mut server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry_session = sign_up(&url, "jerry").await;
    let tom = client(&ImService::new(), sign_up(&url, "tom").await, dir.path());
    let c = chat(&tom, jerry_session.user.uid).await;
    for i in 1..=120 {
        c.enqueue(TextMessage::new(format!("m{i}"))).unwrap();
    }
    let last = c.send(TextMessage::new("m121")).await.unwrap();
    assert_eq!(last.seq, 121);
    tom.close().await;

    // Jerry starts on a new device: nothing cached yet.
    let jerry = client(&ImService::new(), jerry_session, dir.path());
    online(&jerry).await;
    let conv = jerry.conversation(c.id()).await.unwrap();
    let newest = conv.messages(None, 50).await.unwrap();
    assert!(newest.complete);
    assert_eq!(newest.messages.first().unwrap().seq, 72);
    assert_eq!(newest.messages.last().unwrap().seq, 121);
    assert!(newest.has_more);
    let older = conv.messages(Some(72), 50).await.unwrap();
    assert_eq!(
        older.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (22..=71).collect::<Vec<_>>()
    );

    // With the server gone, the ranges already fetched still come whole from the cache ...
    server.stop().await;
    let conv = jerry.conversation(c.id()).await.unwrap();
    let cached = conv.messages(Some(100), 40).await.unwrap();
    assert!(cached.complete, "served from the cache");
    assert_eq!(
        cached.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (60..=99).collect::<Vec<_>>()
    );
    // ... and a range never fetched says it is incomplete rather than pretending.
    let beyond = conv.messages(Some(22), 50).await.unwrap();
    assert!(!beyond.complete);
    assert!(beyond.messages.is_empty());
    assert!(beyond.has_more);
    // Back online, the rest comes from the server and joins up.
    server.restart().await;
    online(&jerry).await;
    let rest = conv.messages(Some(22), 50).await.unwrap();
    assert!(rest.complete);
    assert_eq!(
        rest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=21).collect::<Vec<_>>()
    );
    assert!(!rest.has_more);
}

#[tokio::test]
async fn the_cache_comes_first_and_once() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let app = ImService::new();
    let tom = app.create_im_client(sign_up(&url, "tom").await).unwrap();
    // Before a cache is set, everything refuses clearly.
    assert!(matches!(tom.conversations(0, 10), Err(Error::CacheNotSet)));
    assert!(matches!(
        tom.find_user("jerry").await,
        Err(Error::CacheNotSet)
    ));
    assert!(matches!(tom.outbox(), Err(Error::CacheNotSet)));
    assert_eq!(
        tom.state(),
        ConnectionState::Connecting,
        "no connection before the cache"
    );
    tom.set_cache(MemoryCache::new()).unwrap();
    assert!(matches!(
        tom.set_cache(MemoryCache::new()),
        Err(Error::CacheAlreadySet)
    ));
    online(&tom).await;
    // Creating the client again for the same user hands back the same client.
    let again = app.create_im_client(tom.session().clone()).unwrap();
    assert!(matches!(
        again.set_cache(MemoryCache::new()),
        Err(Error::CacheAlreadySet)
    ));
    assert_eq!(server.online_connections(), 1, "one connection, not two");
    // A disk cache claimed by one account refuses another.
    let path = dir.path().join("shared.sqlite3");
    let jerry = ImService::new()
        .create_im_client(sign_up(&url, "jerry").await)
        .unwrap();
    jerry
        .set_cache(im_sdk::DiskCache::open(&path).unwrap())
        .unwrap();
    let spike = ImService::new()
        .create_im_client(sign_up(&url, "spike").await)
        .unwrap();
    assert!(matches!(
        spike.set_cache(im_sdk::DiskCache::open(&path).unwrap()),
        Err(Error::CacheOwnedByOther(_))
    ));
    // close() disconnects and stops; the client refuses afterwards.
    tom.close().await;
    assert!(matches!(tom.conversations(0, 1), Err(Error::Closed)));
    assert_eq!(tom.state(), ConnectionState::Offline);
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.online_connections() > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.online_connections(), 1, "only jerry is left");
    // After close, creating a client for Tom again gives a new, working one.
    let fresh = app.create_im_client(tom.session().clone()).unwrap();
    fresh.set_cache(MemoryCache::new()).unwrap();
    online(&fresh).await;
    jerry.close().await;
    fresh.close().await;
}

#[tokio::test]
async fn signing_out_elsewhere_stops_the_client() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let session = sign_up(&url, "tom").await;
    let phone = client(&ImService::new(), session.clone(), dir.path());
    let laptop = ImService::new().create_im_client(session).unwrap();
    laptop.set_cache(MemoryCache::new()).unwrap();
    let mut phone_events = phone.events();
    online(&phone).await;
    online(&laptop).await;
    laptop.sign_out().await;
    let reason = next_event(&mut phone_events, |e| match e {
        ClientEvent::SignedOut(reason) => Some(reason),
        _ => None,
    })
    .await;
    assert!(!reason.is_empty());
    assert!(matches!(
        phone.find_user("tom").await,
        Err(Error::SignedOut(_))
    ));
    // The token is dead for good: a new client with it is signed out at once.
    let again = ImService::new()
        .create_im_client(phone.session().clone())
        .unwrap();
    let mut again_events = again.events();
    again.set_cache(MemoryCache::new()).unwrap();
    next_event(&mut again_events, |e| {
        matches!(e, ClientEvent::SignedOut(_)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_and_by_the_server() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry = sign_up(&url, "jerry").await;
    let tom = client(&ImService::new(), sign_up(&url, "tom").await, dir.path());
    online(&tom).await;
    let c = chat(&tom, jerry.user.uid).await;
    assert!(matches!(
        c.send(TextMessage::new("  ")).await,
        Err(Error::InvalidInput(_))
    ));
    let long = "x".repeat(tom.limits().max_text_chars + 1);
    assert!(matches!(
        c.send(TextMessage::new(long)).await,
        Err(Error::InvalidInput(_))
    ));
    let err = tom
        .create_conversation(CreateConversation {
            user_ids: vec![im_sdk::Uid::random()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "user_not_found");
    assert!(!err.is_transient());
    assert!(matches!(
        im_sdk::sign_in(&url, "tom", &im_sdk::Secret::new("wrong-password"), None).await,
        Err(Error::Server(body)) if body.code == im_proto::ErrorCode::WrongCredentials
    ));
    assert!(matches!(
        im_sdk::sign_in("ws://127.0.0.1:9/ws", "tom", &common::password("tom"), None).await,
        Err(Error::Connect { .. })
    ));
}

/// A large group has more members than one `get_users` may name: names come in pages.
#[tokio::test]
async fn names_of_more_users_than_a_page_are_fetched_in_pages() {
    let server = Server::start_with(|c| c.limits.max_page = 5).await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let tom = client(
        &ImService::with_config(fast_config()),
        sign_up(&url, "tom").await,
        dir.path(),
    );
    let mut uids = Vec::new();
    for i in 0..12 {
        uids.push(sign_up(&url, &format!("member{i}")).await.user.uid);
    }
    online(&tom).await;
    let users = tom.users(&uids).await.unwrap();
    let mut names: Vec<String> = users.iter().map(|u| u.username.clone()).collect();
    names.sort();
    let mut want: Vec<String> = (0..12).map(|i| format!("member{i}")).collect();
    want.sort();
    assert_eq!(names, want);
}

#[tokio::test]
async fn mutes_and_blocks_reach_the_users_other_devices_and_a_blocked_chat_refuses_sends() {
    let server = Server::start().await;
    let url = server.url();
    let (dir, phone_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (app, phone_app, jerry_app) = (ImService::new(), ImService::new(), ImService::new());
    let jerry = client(&jerry_app, sign_up(&url, "jerry").await, dir.path());
    let tom = client(&app, sign_up(&url, "tom").await, dir.path());
    let phone_session = im_sdk::sign_in(&url, "tom", &common::password("tom"), Some("phone"))
        .await
        .unwrap();
    let tom_phone = client(&phone_app, phone_session, phone_dir.path());
    for c in [&tom, &tom_phone, &jerry] {
        online(c).await;
    }
    let mut phone_events = tom_phone.events();
    let conversation = chat(&tom, jerry.user().uid).await;
    assert!(!conversation.record().muted);

    // A mute: this device's cache and event at once, the other device's by the server's event.
    let mut events = tom.events();
    conversation.set_muted(true).await.unwrap();
    let here = next_event(&mut events, |e| match e {
        ClientEvent::MuteChanged(m) => Some(m),
        _ => None,
    })
    .await;
    assert!(here.muted);
    assert!(
        tom.conversation(conversation.id())
            .await
            .unwrap()
            .record()
            .muted
    );
    let there = next_event(&mut phone_events, |e| match e {
        ClientEvent::MuteChanged(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(there, here);
    assert!(
        tom_phone
            .conversation(conversation.id())
            .await
            .unwrap()
            .record()
            .muted,
        "the phone's cache"
    );
    // Jerry's side is his own.
    assert!(
        !jerry
            .refresh_conversation(conversation.id())
            .await
            .unwrap()
            .record()
            .muted
    );

    // Jerry blocks Tom: Tom's send is refused for good and stays in his outbox as failed.
    let mut jerry_events = jerry.events();
    jerry.block_user(tom.user().uid).await.unwrap();
    let blocked = next_event(&mut jerry_events, |e| match e {
        ClientEvent::BlockChanged(b) => Some(b),
        _ => None,
    })
    .await;
    assert!(blocked.blocked);
    assert_eq!(jerry.blocked_users().await.unwrap(), vec![tom.user().uid]);
    let refused = conversation
        .send(TextMessage::new("hello?"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "blocked");
    assert!(!refused.is_transient());
    let failed: Vec<_> = tom.outbox().unwrap();
    assert_eq!(failed.len(), 1, "the refused message is kept, not lost");
    let added = tom
        .create_conversation(CreateConversation {
            user_ids: vec![jerry.user().uid],
            unique: true,
            ..Default::default()
        })
        .await;
    assert_eq!(added.map(|_| ()).unwrap_err().code(), "blocked");

    // Unblocked, the kept message goes out on retry.
    jerry.unblock_user(tom.user().uid).await.unwrap();
    assert!(jerry.blocked_users().await.unwrap().is_empty());
    tom.retry_send(&failed[0].client_id).unwrap();
    let sent = next_event(&mut events, |e| match e {
        ClientEvent::MessageSent(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(sent.body.preview(), "hello?");

    for c in [tom, tom_phone, jerry] {
        c.close().await;
    }
}

/// An organisation's server: the sign-up form learns it needs an invite code, the code signs up;
/// then a person sees their devices, signs one out, and changes the password (the other
/// devices are signed out, this one stays).
#[tokio::test]
async fn invite_sign_up_devices_and_a_new_password() {
    let server = Server::start_with(|c| {
        c.sign_up = im_sdk::SignUpMode::Invite;
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let url = server.url();
    assert_eq!(
        im_sdk::sign_up_mode(&url).await.unwrap(),
        im_sdk::SignUpMode::Invite
    );
    let refused = im_sdk::sign_up(&url, "tom", &common::password("tom"), None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "invite_required");
    // The operator's code, as `im-server admin invite create` gets it.
    let code = match server
        .admin(im_server::AdminRequest::InviteCreate {
            uses: 1,
            expires_in_secs: None,
        })
        .await
    {
        im_server::AdminResponse::Invite { code, .. } => code,
        other => panic!("{other:?}"),
    };
    let session = im_sdk::sign_up_with_invite(
        &url,
        "tom",
        &common::password("tom"),
        Some("Tom"),
        Some(&code),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let laptop = client(&ImService::new(), session, dir.path());
    online(&laptop).await;
    let phone_session = im_sdk::sign_in(&url, "tom", &common::password("tom"), Some("phone"))
        .await
        .unwrap();
    let phone = ImService::new().create_im_client(phone_session).unwrap();
    phone.set_cache(MemoryCache::new()).unwrap();
    online(&phone).await;
    let tablet_session = im_sdk::sign_in(&url, "tom", &common::password("tom"), Some("tablet"))
        .await
        .unwrap();
    let tablet = ImService::new().create_im_client(tablet_session).unwrap();
    tablet.set_cache(MemoryCache::new()).unwrap();
    online(&tablet).await;

    let sessions = laptop.sessions().await.unwrap();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    assert_eq!(sessions[0].device, "tablet", "newest first: {sessions:?}");
    let phone_id = sessions
        .iter()
        .find(|s| s.device == "phone")
        .unwrap()
        .id
        .clone();
    let mut phone_events = phone.events();
    laptop.revoke_session(&phone_id).await.unwrap();
    next_event(&mut phone_events, |e| {
        matches!(e, ClientEvent::SignedOut(_)).then_some(())
    })
    .await;
    let gone = laptop.revoke_session(&phone_id).await.unwrap_err();
    assert_eq!(gone.code(), "session_not_found");

    let wrong = laptop
        .change_password(&"not-it".into(), &"a-new-password".into())
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "wrong_credentials");
    let mut tablet_events = tablet.events();
    laptop
        .change_password(&common::password("tom"), &"a-new-password".into())
        .await
        .unwrap();
    next_event(&mut tablet_events, |e| {
        matches!(e, ClientEvent::SignedOut(_)).then_some(())
    })
    .await;
    // The laptop is still signed in.
    assert_eq!(laptop.sessions().await.unwrap().len(), 1);
    im_sdk::sign_in(&url, "tom", &"a-new-password".into(), None)
        .await
        .unwrap();
}

/// Tom's edits and recall reach Jerry live and, after Jerry's app restarts from its disk cache,
/// through catch-up (changes to messages it already holds, not only new seqs); a reply keeps
/// its `reply_to`; search follows the text as it is now.
#[tokio::test]
async fn edits_and_recalls_reach_jerry_live_and_after_a_restart() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry_session = sign_up(&url, "jerry").await;
    let jerry = client(&ImService::new(), jerry_session.clone(), dir.path());
    let tom = client(&ImService::new(), sign_up(&url, "tom").await, dir.path());
    online(&jerry).await;
    online(&tom).await;
    let mut jerry_events = jerry.events();
    let toms = chat(&tom, jerry.user().uid).await;
    let wake = toms.send(TextMessage::new("耗子，起床啦")).await.unwrap();
    let hurry = toms
        .send(TextMessage::new("快点").replying_to(wake.seq))
        .await
        .unwrap();
    assert_eq!(hurry.reply_to, Some(wake.seq));
    let got = collect_messages(&mut jerry_events, 2).await;
    assert_eq!(got[1].reply_to, Some(wake.seq), "jerry's copy of the reply");

    // Live: the event, the cache, the conversation's last message, search.
    let edited = toms.edit(wake.seq, "耗子，快醒醒！").await.unwrap();
    let live = next_event(&mut jerry_events, |e| match e {
        ClientEvent::MessageUpdated { message, live } => Some((message, live)),
        _ => None,
    })
    .await;
    assert_eq!(live, (edited.clone(), true));
    let history = |client: &ImClient| {
        let client = client.clone();
        let id = toms.id();
        async move {
            client
                .conversation(id)
                .await
                .unwrap()
                .messages(None, 10)
                .await
                .unwrap()
                .messages
        }
    };
    assert_eq!(history(&jerry).await, vec![edited.clone(), got[1].clone()]);
    let found: Vec<u64> = jerry
        .search_messages("醒醒", 10)
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(found, [wake.seq]);
    assert!(jerry.search_messages("起床", 10).unwrap().is_empty());

    // Jerry's app is closed; Tom edits the reply and recalls the first message.
    jerry.close().await;
    let hurried = toms.edit(hurry.seq, "快点！！").await.unwrap();
    let recalled = toms.recall(wake.seq).await.unwrap();
    assert_eq!(
        recalled.body,
        im_proto::MessageBody::Recalled { by: tom.user().uid }
    );

    // Jerry's app starts again from the same cache: catch-up brings both changes.
    let jerry = client(&ImService::new(), jerry_session, dir.path());
    let mut events = jerry.events();
    let mut updated = None;
    let mut recalls = None;
    while updated.is_none() || recalls.is_none() {
        next_event(&mut events, |e| match e {
            ClientEvent::MessageUpdated { message, live } => {
                updated = Some((message, live));
                Some(())
            }
            ClientEvent::MessageRecalled { message, live } => {
                recalls = Some((message, live));
                Some(())
            }
            _ => None,
        })
        .await;
    }
    assert_eq!(updated, Some((hurried.clone(), false)));
    assert_eq!(recalls, Some((recalled.clone(), false)));
    assert_eq!(
        history(&jerry).await,
        vec![recalled.clone(), hurried.clone()]
    );
    let record = jerry.conversation(toms.id()).await.unwrap();
    assert_eq!(record.record().last_message, Some(hurried.clone()));
    assert!(jerry.search_messages("醒醒", 10).unwrap().is_empty());

    // Jerry deletes the reply on this device only: gone from his history, search and preview
    // (which falls back to the message before it); Tom still has it.
    jerry.delete_for_me(toms.id(), hurried.seq).unwrap();
    assert_eq!(history(&jerry).await, vec![recalled.clone()]);
    assert!(jerry.search_messages("快点", 10).unwrap().is_empty());
    let record = jerry.conversation(toms.id()).await.unwrap();
    assert_eq!(record.record().last_message, Some(recalled.clone()));
    assert_eq!(history(&tom).await, vec![recalled, hurried]);
}

/// Mentions go out with the message and the outbox keeps them; a reaction reaches the other
/// member as `MessageUpdated` and the cache holds it.
#[tokio::test]
async fn mentions_and_reactions_through_the_sdk() {
    let server = Server::start().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let jerry = client(&ImService::new(), sign_up(&url, "jerry").await, dir.path());
    let spike = client(&ImService::new(), sign_up(&url, "spike").await, dir.path());
    let tom = client(&ImService::new(), sign_up(&url, "tom").await, dir.path());
    for c in [&jerry, &spike, &tom] {
        online(c).await;
    }
    let mut jerry_events = jerry.events();
    let group = tom
        .create_conversation(CreateConversation {
            user_ids: vec![jerry.user().uid, spike.user().uid],
            title: Some("cheese".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let sent = group
        .send(TextMessage::new("@JERRY 起床").mentioning([jerry.user().uid]))
        .await
        .unwrap();
    assert_eq!(sent.mentions, vec![jerry.user().uid]);
    let everyone = group
        .send(TextMessage::new("@all 开会").mentioning_all())
        .await
        .unwrap();
    assert!(everyone.mention_all);
    let got = collect_messages(&mut jerry_events, 2).await;
    assert!(got.iter().all(|m| m.mentions_user(jerry.user().uid)));
    let jerrys = jerry.conversation(group.id()).await.unwrap();
    let refused = jerrys
        .send(TextMessage::new("@all").mentioning_all())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "not_manager");

    let mut tom_events = tom.events();
    let reacted = jerrys.react(sent.seq, "👍", true).await.unwrap();
    assert_eq!(reacted.reactions[0].user_ids, vec![jerry.user().uid]);
    let heard = next_event(&mut tom_events, |e| match e {
        ClientEvent::MessageUpdated {
            message,
            live: true,
        } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!(heard, reacted);
    let cached = tom.cached_message(group.id(), sent.seq).unwrap().unwrap();
    assert_eq!(cached.reactions, reacted.reactions);
}
