//! The write engine's failure paths, with faults injected through TEMP triggers on the writer's
//! own connection: one failing command fails alone (the batch is replayed without it), a failure
//! of the batch as a whole answers every command and leaves nothing behind (not even a session
//! revocation), and the writer carries on afterwards.

use std::sync::Arc;

use im_proto::{ClientId, ConversationId, CreateConversation, ErrorCode, Message, Uid, User};
use tokio::sync::oneshot;

use super::command::{Origin, Reply, WriteCmd};
use super::engine::Writer;
use super::{checkpoint, schema, SessionCache};
use crate::error::Result;
use crate::hub::{Hub, TokenHash};

struct Fixture {
    _dir: tempfile::TempDir,
    writer: Writer,
    sessions: Arc<SessionCache>,
    tom: Uid,
    jerry: Uid,
    conversation: ConversationId,
}

fn run<T>(writer: &mut Writer, cmd: impl FnOnce(Reply<T>) -> WriteCmd) -> Result<T> {
    let (tx, mut rx) = oneshot::channel();
    writer.execute(&mut vec![cmd(Reply::Direct(tx))]);
    rx.try_recv().expect("answered")
}

fn origin(uid: Uid) -> Origin {
    Origin { uid, conn: 1 }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.sqlite3");
    let conn = schema::open_writer(&path).unwrap();
    let sessions: Arc<SessionCache> = Arc::new(std::sync::Mutex::new(lru::LruCache::new(
        std::num::NonZeroUsize::new(100).unwrap(),
    )));
    let checkpointer = checkpoint::Checkpointer::start(
        &path,
        i32::MAX,
        &crate::fatal::Fatal::default(),
        metrics::Histogram::noop(),
    )
    .unwrap();
    let mut writer = Writer::new(
        crate::store::sqlite_tx::SqliteBackend::new(conn, checkpointer),
        Arc::new(Hub::new()),
        1024,
        10,
        sessions.clone(),
        Default::default(),
    )
    .unwrap();
    let mut user = |name: &str| -> User {
        run(&mut writer, |reply| WriteCmd::CreateUser {
            username: name.into(),
            display_name: name.into(),
            password_hash: "x".into(),
            invite: None,
            reply,
        })
        .unwrap()
    };
    let tom = user("tom").uid;
    let jerry = user("jerry").uid;
    let conversation = run(&mut writer, |reply| WriteCmd::CreateConversation {
        by: origin(tom),
        params: CreateConversation {
            user_ids: vec![jerry],
            ..Default::default()
        },
        reply,
    })
    .unwrap()
    .conversation
    .id;
    Fixture {
        _dir: dir,
        writer,
        sessions,
        tom,
        jerry,
        conversation,
    }
}

type Answer<T> = oneshot::Receiver<Result<T>>;

fn send(f: &Fixture, from: Uid, client_id: &str, text: &str) -> (WriteCmd, Answer<Message>) {
    let (tx, rx) = oneshot::channel();
    let cmd = WriteCmd::Send {
        by: origin(from),
        conversation_id: f.conversation,
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

fn stored(f: &Fixture) -> (Vec<(u64, String)>, u64) {
    let conn = f.writer.connection();
    let mut stmt = conn
        .prepare("SELECT seq, body FROM messages ORDER BY seq")
        .unwrap();
    let messages = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let last_seq = conn
        .query_row(
            "SELECT last_seq FROM conversations WHERE id = ?1",
            [f.conversation.as_bytes()],
            |r| r.get(0),
        )
        .unwrap();
    (messages, last_seq)
}

fn code<T: std::fmt::Debug>(answer: &mut Answer<T>) -> ErrorCode {
    answer
        .try_recv()
        .expect("answered")
        .expect_err("refused")
        .to_body()
        .code
}

#[test]
fn a_failing_command_fails_alone_and_the_rest_of_its_batch_commits() {
    let mut f = fixture();
    f.writer
        .connection()
        .execute_batch(
            "CREATE TEMP TRIGGER poison BEFORE INSERT ON messages WHEN NEW.body = 'poison'
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        )
        .unwrap();
    let (a, mut a_rx) = send(&f, f.tom, "a", "first");
    let (p, mut p_rx) = send(&f, f.jerry, "p", "poison");
    let (b, mut b_rx) = send(&f, f.jerry, "b", "second");
    let (read_tx, mut read_rx) = oneshot::channel();
    let mark = WriteCmd::MarkRead {
        by: origin(f.tom),
        conversation_id: f.conversation,
        seq: 2,
        reply: Reply::Direct(read_tx),
    };
    f.writer.execute(&mut vec![a, p, b, mark]);
    assert_eq!(a_rx.try_recv().unwrap().unwrap().seq, 1);
    assert_eq!(
        code(&mut p_rx),
        ErrorCode::Internal,
        "the failing one alone"
    );
    assert_eq!(
        b_rx.try_recv().unwrap().unwrap().seq,
        2,
        "no seq was lost to it"
    );
    let mark = read_rx.try_recv().unwrap().unwrap();
    assert_eq!((mark.read_seq, mark.unread_count), (2, 0));
    assert_eq!(
        stored(&f),
        (vec![(1, "first".into()), (2, "second".into())], 2)
    );
}

#[test]
fn a_failed_batch_answers_everyone_leaves_nothing_and_the_writer_goes_on() {
    let mut f = fixture();
    // The batch's own last step (writing last_seq) fails: nothing of the batch may remain.
    f.writer
        .connection()
        .execute_batch(
            "CREATE TEMP TRIGGER flush_fails BEFORE UPDATE OF last_seq ON conversations
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        )
        .unwrap();
    let token: TokenHash = [7; 32];
    run(&mut f.writer, |reply| WriteCmd::CreateSession {
        uid: f.tom,
        token_hash: token,
        device: "test".into(),
        reply,
    })
    .unwrap();
    let (a, mut a_rx) = send(&f, f.tom, "a", "first");
    let (revoke_tx, mut revoke_rx) = oneshot::channel();
    let revoke = WriteCmd::RevokeSession {
        by: origin(f.tom),
        token_hash: token,
        reply: Reply::Direct(revoke_tx),
    };
    f.writer.execute(&mut vec![revoke, a]);
    assert_eq!(code(&mut a_rx), ErrorCode::Internal);
    assert_eq!(code(&mut revoke_rx), ErrorCode::Internal);
    assert_eq!(stored(&f), (vec![], 0), "nothing stored");
    let sessions: i64 = f
        .writer
        .connection()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 1, "the revocation was rolled back");
    assert!(
        f.sessions.lock().unwrap().peek(&token).is_none(),
        "and the session is not remembered as revoked"
    );
    // The fault goes away: the same sends go through, the revocation too.
    f.writer
        .connection()
        .execute_batch("DROP TRIGGER flush_fails")
        .unwrap();
    let (a, mut a_rx) = send(&f, f.tom, "a", "first");
    let (b, mut b_rx) = send(&f, f.tom, "b", "second");
    f.writer.execute(&mut vec![a, b]);
    assert_eq!(a_rx.try_recv().unwrap().unwrap().seq, 1);
    assert_eq!(b_rx.try_recv().unwrap().unwrap().seq, 2);
    run(&mut f.writer, |reply| WriteCmd::RevokeSession {
        by: origin(f.tom),
        token_hash: token,
        reply,
    })
    .unwrap();
    assert_eq!(
        f.sessions.lock().unwrap().peek(&token),
        Some(&None),
        "revoked once committed"
    );
}

#[test]
fn signing_in_past_the_most_sessions_ends_the_oldest() {
    let f = fixture();
    let mut writer = f.writer.sessions_per_user(2);
    let sessions: Vec<TokenHash> = (1..=3u8).map(|n| [n; 32]).collect();
    for token in &sessions {
        run(&mut writer, |reply| WriteCmd::CreateSession {
            uid: f.tom,
            token_hash: *token,
            device: "test".into(),
            reply,
        })
        .unwrap();
    }
    let stored: Vec<[u8; 32]> = {
        let conn = writer.connection();
        let mut stmt = conn
            .prepare("SELECT token_hash FROM sessions ORDER BY rowid")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(stored, sessions[1..], "the oldest ended");
    assert_eq!(
        f.sessions.lock().unwrap().peek(&sessions[0]),
        Some(&None),
        "and is remembered as revoked"
    );
}

#[test]
fn a_stop_commits_what_came_before_it_and_refuses_what_came_after() {
    let mut f = fixture();
    let (a, mut a_rx) = send(&f, f.tom, "a", "before the stop");
    let (b, mut b_rx) = send(&f, f.jerry, "b", "after the stop");
    let (c, mut c_rx) = send(&f, f.tom, "c", "after the stop too");
    let (stop_tx, mut stop_rx) = oneshot::channel();
    let stop = f
        .writer
        .execute(&mut vec![a, WriteCmd::Stop(stop_tx), b, c])
        .expect("the batch held a stop");
    assert_eq!(a_rx.try_recv().unwrap().unwrap().seq, 1, "committed");
    assert_eq!(code(&mut b_rx), ErrorCode::ShuttingDown);
    assert_eq!(code(&mut c_rx), ErrorCode::ShuttingDown);
    assert_eq!(stored(&f), (vec![(1, "before the stop".into())], 1));
    stop.send(()).unwrap();
    stop_rx
        .try_recv()
        .expect("the stop is handed back to be answered");
}
