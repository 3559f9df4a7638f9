//! The credential store on the real Secret Service (run inside `.ci/desktop-env`): sign-outs
//! queued and settled from several threads at once, as the start-up retry and a sign-out do,
//! against a model of what must be pending afterwards; and random interleavings of every
//! operation from several threads against a reference model.

#![cfg(target_os = "linux")]

use std::collections::BTreeSet;

use gtedx_im::Credentials;
use im_sdk::{Secret, Session, Uid, User};
use proptest::prelude::*;

fn session(n: usize) -> Session {
    Session {
        server_url: "wss://chat.example.org/ws".into(),
        user: User {
            uid: Uid::random(),
            username: format!("user{n}"),
            display_name: format!("User {n}"),
        },
        token: Secret::new(format!("token-{n}")),
    }
}

#[test]
fn sign_outs_queued_and_settled_at_once_lose_nothing() {
    let store = Credentials::new(format!("gtedx-im.test-{}", std::process::id()));
    let sessions: Vec<Session> = (0..12).map(session).collect();
    // Every session is queued from one of 3 threads; every third one is then settled from
    // another thread while the others are still queueing.
    std::thread::scope(|scope| {
        for chunk in sessions.chunks(4) {
            let store = store.clone();
            scope.spawn(move || {
                for s in chunk {
                    store.queue_sign_out(s).unwrap();
                }
            });
        }
        for chunk in sessions.chunks(8) {
            let store = store.clone();
            let settle: Vec<Session> = chunk.iter().step_by(3).cloned().collect();
            scope.spawn(move || {
                for s in &settle {
                    // Settled only once it is queued (the retry never settles what it did
                    // not read), so wait for it: a queued session that never shows was lost.
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                    while !store
                        .pending_sign_outs()
                        .unwrap()
                        .iter()
                        .any(|p| p.token.expose() == s.token.expose())
                    {
                        assert!(
                            std::time::Instant::now() < deadline,
                            "a queued sign-out was lost (another thread's write replaced it)"
                        );
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    store.sign_out_done(s).unwrap();
                }
            });
        }
    });
    let settled: BTreeSet<String> = sessions
        .chunks(8)
        .flat_map(|c| c.iter().step_by(3))
        .map(|s| s.token.expose().to_owned())
        .collect();
    let expected: BTreeSet<String> = sessions
        .iter()
        .map(|s| s.token.expose().to_owned())
        .filter(|t| !settled.contains(t))
        .collect();
    let pending: BTreeSet<String> = store
        .pending_sign_outs()
        .unwrap()
        .iter()
        .map(|s| s.token.expose().to_owned())
        .collect();
    assert_eq!(pending, expected);
    for s in &sessions {
        store.sign_out_done(s).unwrap();
    }
    assert!(store.pending_sign_outs().unwrap().is_empty());
}

/// One thread's operations, drawn at random: on the saved session (save, clear, load) and on
/// the sign-outs of its own sessions (queue, settle, read the list).
#[derive(Debug, Clone)]
enum Op {
    Save(usize),
    Clear,
    Load,
    Queue(usize),
    Done(usize),
    Pending,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..3usize).prop_map(Op::Save),
        1 => Just(Op::Clear),
        1 => Just(Op::Load),
        3 => (0..3usize).prop_map(Op::Queue),
        2 => (0..3usize).prop_map(Op::Done),
        1 => Just(Op::Pending),
    ]
}

proptest! {
    // Each case talks to the real Secret Service: a few dozen D-Bus round trips of ~0.25 s.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Three threads interleave every operation of the store at random. Against the model: a
    /// session's sign-out is pending at the end exactly when its thread's last word on it was
    /// "queue" (threads own their sessions, so nothing else decides it); the saved session is
    /// what one thread's last save or clear left (whichever ran last); no call fails.
    #[test]
    fn random_interleavings_match_the_model(
        plans in prop::collection::vec(prop::collection::vec(op(), 1..10), 3)
    ) {
        // A store of its own per case (the test keyring is thrown away afterwards).
        let store = Credentials::new(format!("gtedx-im.test-mix-{}", Uid::random()));
        // Thread t's sessions are t*3 .. t*3+3; saved sessions are named by thread and index.
        let sessions: Vec<Session> = (0..plans.len() * 3).map(session).collect();
        std::thread::scope(|scope| {
            for (t, plan) in plans.iter().enumerate() {
                let store = store.clone();
                let own = &sessions[t * 3..t * 3 + 3];
                scope.spawn(move || {
                    for op in plan {
                        match op {
                            Op::Save(i) => store.save(&own[*i]).unwrap(),
                            Op::Clear => store.clear().unwrap(),
                            Op::Load => drop(store.load().unwrap()),
                            Op::Queue(i) => store.queue_sign_out(&own[*i]).unwrap(),
                            Op::Done(i) => store.sign_out_done(&own[*i]).unwrap(),
                            Op::Pending => drop(store.pending_sign_outs().unwrap()),
                        }
                    }
                });
            }
        });
        let mut expected_pending = BTreeSet::new();
        // What each thread's last save or clear left (None: it cleared; absent: it did neither).
        let mut last_saved: Vec<Option<String>> = Vec::new();
        for (t, plan) in plans.iter().enumerate() {
            for i in 0..3 {
                let last = plan.iter().rev().find_map(|op| match op {
                    Op::Queue(j) if *j == i => Some(true),
                    Op::Done(j) if *j == i => Some(false),
                    _ => None,
                });
                if last == Some(true) {
                    expected_pending.insert(sessions[t * 3 + i].token.expose().to_owned());
                }
            }
            if let Some(last) = plan.iter().rev().find_map(|op| match op {
                Op::Save(i) => Some(Some(sessions[t * 3 + i].token.expose().to_owned())),
                Op::Clear => Some(None),
                _ => None,
            }) {
                last_saved.push(last);
            }
        }
        let pending: BTreeSet<String> = store
            .pending_sign_outs()
            .unwrap()
            .iter()
            .map(|s| s.token.expose().to_owned())
            .collect();
        prop_assert_eq!(pending, expected_pending);
        let saved = store.load().unwrap().map(|s| s.token.expose().to_owned());
        if last_saved.is_empty() {
            prop_assert_eq!(saved, None);
        } else {
            prop_assert!(
                last_saved.contains(&saved),
                "saved {:?}, but the threads last left {:?}",
                saved,
                last_saved
            );
        }
    }
}
