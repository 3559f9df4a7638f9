//! A full disk: the server refuses with `storage_full` (transient, with a retry delay), loses
//! nothing it acknowledged, stays up, and stores again once space frees. The database lives on
//! a small tmpfs the test mounts (this needs root, as CI runs).

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Client, TestServer};
use im_proto::{ClientId, CreateConversation, ErrorCode, GetMessages, Message, SendText};

/// A tmpfs of `size` mounted on a temp dir, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed ({status}): this test needs root, as CI runs it"
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
        for n in [4096, 512, 64, 1] {
            while file.write_all(&chunk[..n]).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test]
async fn a_full_disk_refuses_for_now_loses_nothing_and_recovers() {
    let disk = SmallDisk::mount("8m");
    let database = disk.path().join("im.sqlite3");
    let mut server = TestServer::start_with(move |c| {
        c.database = database.into();
        c.limits.requests_per_second = 100_000;
        c.limits.request_burst = 100_000;
    })
    .await;
    let jerry = Client::user(&server.url, "jerry").await;
    let mut tom = Client::user(&server.url, "tom").await;
    let c = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let filler = disk.fill();

    // Send until the disk refuses: pipelined, in rounds.
    let text = "满".repeat(700); // ~2 KB
    let mut sent: Vec<SendText> = Vec::new();
    let mut acked: HashMap<ClientId, Message> = HashMap::new();
    let mut refused: Vec<(SendText, im_proto::ErrorBody)> = Vec::new();
    for _round in 0..40 {
        let mut ids = HashMap::new();
        for _ in 0..50 {
            let params = SendText {
                conversation_id: c.id,
                client_id: ClientId::random(),
                text: text.clone(),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            };
            ids.insert(tom.send(params.clone()).await, params.clone());
            sent.push(params);
        }
        while !ids.is_empty() {
            let (id, reply) = tom.any_reply().await;
            let params = ids.remove(&id.unwrap()).unwrap();
            match reply {
                Ok(value) => {
                    let m: Message = serde_json::from_value(value).unwrap();
                    acked.insert(params.client_id.clone(), m);
                }
                Err(e) => refused.push((params, e)),
            }
        }
        if !refused.is_empty() {
            break;
        }
    }
    assert!(!refused.is_empty(), "the disk never filled");
    for (_, e) in &refused {
        assert_eq!(e.code, ErrorCode::StorageFull, "{e:?}");
        assert!(e.retry_after_ms.is_some(), "{e:?}");
    }
    // Still serving reads while full.
    let view = tom
        .call(im_proto::GetConversation {
            conversation_id: c.id,
        })
        .await
        .unwrap();
    assert_eq!(view.last_seq, acked.len() as u64);

    // Space frees: the refused ones, sent again in order with the same client ids, are stored.
    std::fs::remove_file(filler).unwrap();
    for (params, _) in &refused {
        let m = tom.call(params.clone()).await.unwrap();
        acked.insert(params.client_id.clone(), m);
    }
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = tom
            .call(GetMessages {
                conversation_id: c.id,
                after: Some(after),
                before: None,
                limit: None,
            })
            .await
            .unwrap();
        after = page.messages.last().map_or(after, |m| m.seq);
        stored.extend(page.messages);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(stored.len(), sent.len(), "every message stored once");
    for m in &stored {
        assert_eq!(acked.get(&m.client_id), Some(m), "stored as acked");
    }
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=sent.len() as u64).collect::<Vec<_>>(), "gapless");
    // The order of sending is the order stored.
    let order: Vec<&ClientId> = stored.iter().map(|m| &m.client_id).collect();
    let want: Vec<&ClientId> = sent.iter().map(|p| &p.client_id).collect();
    assert_eq!(order, want);
    // And the writer is healthy: a sign-up (a write of its own) works.
    Client::user(&server.url, "spike").await;
    server.stop().await;
}
