//! The credential store on the real Secret Service (run inside `.ci/desktop-env`): sign-outs
//! queued and settled from several threads at once, as the start-up retry and a sign-out do,
//! against a model of what must be pending afterwards.

#![cfg(target_os = "linux")]

use std::collections::BTreeSet;

use gtedx_im::Credentials;
use im_sdk::{Secret, Session, Uid, User};

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
