//! The writer's engine and rules on PostgreSQL: every write statement exercised through real
//! commands against a throwaway cluster, what is stored read back with `psql`, and a second
//! writer (a restart) carrying on from what the first committed.

use std::sync::Arc;

use im_proto::{
    AddMembers, ClientId, ConversationId, CreateConversation, ErrorCode, Message, RemoveMembers,
    Uid, UpdateConversation, User,
};
use im_test_services::Postgres;
use tokio::sync::oneshot;

use super::{migrate, PgBackend};
use crate::error::{Error, Result};
use crate::hub::{Hub, TokenHash};
use crate::store::command::{Origin, Reply, WriteCmd};
use crate::store::engine::Writer;
use crate::store::SessionCache;

fn writer(url: &str, sessions: Arc<SessionCache>) -> Writer<PgBackend> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    migrate(&mut client).unwrap();
    Writer::new(
        PgBackend::new(client),
        Arc::new(Hub::new()),
        1024,
        10,
        sessions,
        Default::default(),
    )
    .unwrap()
}

fn session_cache() -> Arc<SessionCache> {
    Arc::new(std::sync::Mutex::new(lru::LruCache::new(
        std::num::NonZeroUsize::new(100).unwrap(),
    )))
}

/// Runs commands as one batch; returns their answers in order.
fn batch<T>(writer: &mut Writer<PgBackend>, cmds: Vec<(WriteCmd, Receiver<T>)>) -> Vec<Result<T>> {
    let (mut cmds, receivers): (Vec<_>, Vec<_>) = cmds.into_iter().unzip();
    assert!(writer.execute(&mut cmds).is_none());
    receivers
        .into_iter()
        .map(|mut rx| rx.try_recv().expect("answered"))
        .collect()
}

type Receiver<T> = oneshot::Receiver<Result<T>>;

fn one<T>(writer: &mut Writer<PgBackend>, make: impl FnOnce(Reply<T>) -> WriteCmd) -> Result<T> {
    let (tx, rx) = oneshot::channel();
    batch(writer, vec![(make(Reply::Direct(tx)), rx)])
        .pop()
        .unwrap()
}

fn by(uid: Uid) -> Origin {
    Origin { uid, conn: 1 }
}

fn send(
    from: Uid,
    to: ConversationId,
    client_id: &str,
    text: &str,
) -> (WriteCmd, Receiver<Message>) {
    let (tx, rx) = oneshot::channel();
    let cmd = WriteCmd::Send {
        by: by(from),
        conversation_id: to,
        client_id: client_id.parse::<ClientId>().unwrap(),
        body: im_proto::MessageBody::text(text),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
        order: 0,
        reply: Reply::Direct(tx),
    };
    (cmd, rx)
}

fn code<T: std::fmt::Debug>(result: Result<T>) -> ErrorCode {
    match result {
        Err(Error::Refused(body)) => body.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn user(writer: &mut Writer<PgBackend>, name: &str) -> Result<User> {
    one(writer, |reply| WriteCmd::CreateUser {
        username: name.into(),
        display_name: name.into(),
        password_hash: "x".into(),
        invite: None,
        reply,
    })
}

#[test]
fn the_writer_keeps_its_promises_on_postgres() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_database("im").unwrap();
    let sessions = session_cache();
    let mut w = writer(&url, sessions.clone());

    // Accounts: a taken name is refused.
    let tom = user(&mut w, "tom").unwrap().uid;
    let jerry = user(&mut w, "jerry").unwrap().uid;
    let spike = user(&mut w, "spike").unwrap().uid;
    let nibbles = user(&mut w, "nibbles").unwrap().uid;
    assert_eq!(code(user(&mut w, "tom")), ErrorCode::UsernameTaken);

    // A single chat, found again by its members.
    let create = |unique| {
        move |reply| WriteCmd::CreateConversation {
            by: by(tom),
            params: CreateConversation {
                user_ids: vec![jerry],
                unique,
                ..Default::default()
            },
            reply,
        }
    };
    let chat = one(&mut w, create(false)).unwrap();
    assert!(chat.created);
    let again = one(&mut w, create(true)).unwrap();
    assert_eq!(
        (again.conversation.id, again.created),
        (chat.conversation.id, false)
    );
    let chat = chat.conversation.id;

    // One batch: three sends and a resend of the second inside it; then a resend later.
    let answers = batch(
        &mut w,
        vec![
            send(tom, chat, "c1", "耗子，起床啦"),
            send(jerry, chat, "c2", "喵"),
            send(jerry, chat, "c2", "喵 (resent)"),
            send(tom, chat, "c3", "早"),
        ],
    );
    let seqs: Vec<u64> = answers.iter().map(|a| a.as_ref().unwrap().seq).collect();
    assert_eq!(
        seqs,
        [1, 2, 2, 3],
        "gapless, and the resend gets the original"
    );
    let resent = one(&mut w, |reply| WriteCmd::Send {
        by: by(tom),
        conversation_id: chat,
        client_id: "c1".parse().unwrap(),
        body: im_proto::MessageBody::text("again"),
        reply_to: None,
        mentions: vec![],
        mention_all: false,
        order: 0,
        reply,
    })
    .unwrap();
    assert_eq!((resent.seq, resent.body.preview()), (1, "耗子，起床啦"));

    // Read marks: Jerry reads up to 2; a mark past the end stops at the end.
    let mark = |seq| {
        move |reply| WriteCmd::MarkRead {
            by: by(jerry),
            conversation_id: chat,
            seq,
            reply,
        }
    };
    let read = one(&mut w, mark(2)).unwrap();
    assert_eq!((read.read_seq, read.unread_count), (2, 1));
    assert_eq!(one(&mut w, mark(99)).unwrap().read_seq, 3);

    // A group: renamed, a member added and removed; a non-member cannot send.
    let group = one(&mut w, |reply| WriteCmd::CreateConversation {
        by: by(tom),
        params: CreateConversation {
            user_ids: vec![jerry, nibbles],
            title: Some("cats".into()),
            ..Default::default()
        },
        reply,
    })
    .unwrap()
    .conversation
    .id;
    let renamed = one(&mut w, |reply| WriteCmd::UpdateConversation {
        by: by(tom),
        params: UpdateConversation {
            conversation_id: group,
            title: Some("cats and dogs".into()),
            icon: None,
            remark: None,
            attrs: None,
        },
        reply,
    })
    .unwrap();
    assert_eq!(renamed.title, "cats and dogs");
    let added = one(&mut w, |reply| WriteCmd::AddMembers {
        by: by(tom),
        params: AddMembers {
            conversation_id: group,
            user_ids: vec![spike],
        },
        reply,
    })
    .unwrap();
    assert_eq!(added.user_ids, [tom, jerry, nibbles, spike]);
    let [spike_says] = batch(&mut w, vec![send(spike, group, "s1", "woof")])
        .try_into()
        .unwrap();
    assert_eq!(spike_says.unwrap().seq, 1);
    let removed = one(&mut w, |reply| WriteCmd::RemoveMembers {
        by: by(tom),
        params: RemoveMembers {
            conversation_id: group,
            user_ids: vec![spike],
        },
        reply,
    })
    .unwrap();
    assert_eq!((removed.user_ids.len(), removed.user_count), (3, 3));
    let [refused] = batch(&mut w, vec![send(spike, group, "s2", "woof?")])
        .try_into()
        .unwrap();
    assert_eq!(code(refused), ErrorCode::NotMember);

    // Mute and block: a blocked single chat takes no messages.
    let muted = one(&mut w, |reply| WriteCmd::Mute {
        by: by(jerry),
        conversation_id: group,
        muted: true,
        reply,
    })
    .unwrap();
    assert!(muted.muted);
    let blocked = one(&mut w, |reply| WriteCmd::Block {
        by: by(jerry),
        user_id: tom,
        blocked: true,
        reply,
    })
    .unwrap();
    assert!(blocked.blocked);
    let [refused] = batch(&mut w, vec![send(tom, chat, "c4", "hello?")])
        .try_into()
        .unwrap();
    assert_eq!(code(refused), ErrorCode::Blocked);

    // Sessions: past the most per user, the oldest ends and is remembered as revoked.
    let mut w = w.sessions_per_user(2);
    let tokens: Vec<TokenHash> = (1..=3u8).map(|n| [n; 32]).collect();
    for token in &tokens {
        one(&mut w, |reply| WriteCmd::CreateSession {
            uid: tom,
            token_hash: *token,
            device: "test".into(),
            reply,
        })
        .unwrap();
    }
    assert_eq!(sessions.lock().unwrap().peek(&tokens[0]), Some(&None));

    // What is stored.
    let stored = pg
        .psql(
            "im",
            &format!(
                "SELECT string_agg(seq || ':' || body, ',' ORDER BY seq) FROM messages
                 WHERE conversation_id = '\\x{}'",
                hex(chat.as_bytes())
            ),
        )
        .unwrap();
    assert_eq!(stored.trim(), "1:耗子，起床啦,2:喵,3:早");
    let sessions_left = pg
        .psql(
            "im",
            "SELECT string_agg(encode(token_hash, 'hex'), ',' ORDER BY made) FROM sessions",
        )
        .unwrap();
    assert_eq!(
        sessions_left.trim(),
        format!("{},{}", hex(&tokens[1]), hex(&tokens[2]))
    );

    // A restart: a new writer on the same database carries on (seqs, versions, blocks).
    drop(w);
    let mut w = writer(&url, session_cache());
    one(&mut w, |reply| WriteCmd::Block {
        by: by(jerry),
        user_id: tom,
        blocked: false,
        reply,
    })
    .unwrap();
    let [next] = batch(&mut w, vec![send(tom, chat, "c5", "you're back")])
        .try_into()
        .unwrap();
    assert_eq!(next.unwrap().seq, 4);
    let last_seq = pg
        .psql(
            "im",
            &format!(
                "SELECT last_seq FROM conversations WHERE id = '\\x{}'",
                hex(chat.as_bytes())
            ),
        )
        .unwrap();
    assert_eq!(last_seq.trim(), "4");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
