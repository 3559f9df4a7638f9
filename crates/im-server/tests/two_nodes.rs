//! Two server nodes on one PostgreSQL database (fan-out between nodes aside): what one node's
//! writer commits, the other's writer takes into account at once. Seqs stay gapless and unique
//! when both write to one conversation together, a member removed or a block set on one node
//! is enforced by the other even though it had the conversation cached, and a session made on
//! one node resumes on the other.

mod common;

use common::{node, pipeline, text, Client, WAIT};
use im_proto::{
    BlockUser, ConversationId, CreateConversation, ErrorCode, GetMessages, Message, RemoveMembers,
};
use im_test_services::TestDatabase;

async fn history(client: &mut Client, id: ConversationId) -> Vec<Message> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = client
            .call(GetMessages {
                conversation_id: id,
                after: Some(after),
                before: None,
                limit: Some(200),
            })
            .await
            .unwrap();
        after = page.messages.last().map_or(after, |m| m.seq);
        all.extend(page.messages);
        if !page.has_more {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_keep_seqs_gapless_and_each_others_rules() {
    let db = TestDatabase::create().unwrap();
    let (a, b) = (node(&db, None).await, node(&db, None).await);
    let mut jerry = Client::user(&b.url(), "jerry").await;
    let mut tom = Client::user(&a.url(), "tom").await;
    let mut spike = Client::user(&b.url(), "spike").await;
    let chat = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    // A session made on node A resumes on node B.
    let mut tom_on_b = tom.another_session(&b.url()).await;
    assert_eq!(tom_on_b.uid(), tom.uid());

    // Both nodes write to one conversation at once.
    let (from_a, from_b) = tokio::join!(
        pipeline(&mut tom, chat.id, 300),
        pipeline(&mut jerry, chat.id, 300)
    );
    let mut seqs: Vec<u64> = from_a.iter().chain(&from_b).map(|m| m.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=600).collect::<Vec<_>>(),
        "gapless, each seq once"
    );
    for acks in [&from_a, &from_b] {
        assert!(
            acks.windows(2).all(|w| w[0].seq < w[1].seq),
            "each sender's messages in the order sent"
        );
    }
    // Either node reads the same history: every acknowledged message once, in seq order.
    let on_a = history(&mut tom, chat.id).await;
    let on_b = history(&mut tom_on_b, chat.id).await;
    assert_eq!(on_a, on_b);
    let mut acked: Vec<&Message> = from_a.iter().chain(&from_b).collect();
    acked.sort_by_key(|m| m.seq);
    assert_eq!(on_a.iter().collect::<Vec<_>>(), acked);

    // A group whose conversation node B's writer has cached (Spike sent there)…
    let group = tom
        .call(CreateConversation {
            user_ids: vec![jerry.uid(), spike.uid()],
            title: Some("cheese".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    spike.call(text(group.id, "hello".into())).await.unwrap();
    // …loses Spike on node A: node B refuses his next message.
    tom.call(RemoveMembers {
        conversation_id: group.id,
        user_ids: vec![spike.uid()],
    })
    .await
    .unwrap();
    let refused = spike
        .call(text(group.id, "still here?".into()))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotMember, "{refused:?}");

    // Jerry blocks Tom on node B: node A, which has their chat cached, refuses Tom's message.
    jerry.call(BlockUser { user_id: tom.uid() }).await.unwrap();
    let blocked = tom.call(text(chat.id, "hey".into())).await.unwrap_err();
    assert_eq!(blocked.code, ErrorCode::Blocked, "{blocked:?}");
    let last = tokio::time::timeout(WAIT, history(&mut jerry, chat.id))
        .await
        .unwrap();
    assert_eq!(last.len(), 600, "nothing stored past the block");
    a.shutdown().await;
    b.shutdown().await;
}
