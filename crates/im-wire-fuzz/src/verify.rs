//! Proof that the server survived: a normal client, on fresh connections after the attack, signs
//! two new users up, creates a conversation, sends "耗子，起床啦", and checks that the other member
//! receives it live and that the history, the conversation view, read marks and idempotent
//! resends are all correct.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use im_proto::{
    ClientId, CreateConversation, Event, FindUsers, GetConversation, GetMessages, MarkRead,
    MessageBody, SendText,
};

use crate::client::Client;

/// The longest wait for the live message event (an upper bound).
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The seed's message.
pub const WAKE_UP: &str = "耗子，起床啦";

/// Runs the normal client's session; `Ok` lists what was checked.
pub async fn normal_client(url: &str, source: Option<IpAddr>, tag: &str) -> Result<Vec<String>> {
    let mut checked = Vec::new();
    let (tom_name, jerry_name) = (format!("tom_{tag}"), format!("jerry_{tag}"));
    let password = format!("{tag}-password");
    let mut jerry = Client::connect(url, source)
        .await
        .context("jerry connects")?;
    let jerry_user = jerry
        .sign_up_and_in(&jerry_name, &password)
        .await
        .context("jerry signs up and in")?;
    let mut tom = Client::connect(url, source).await.context("tom connects")?;
    let tom_user = tom
        .sign_up_and_in(&tom_name, &password)
        .await
        .context("tom signs up and in")?;
    checked.push("sign up and sign in".to_owned());

    let found = tom
        .ok(FindUsers {
            usernames: vec![jerry_name.to_uppercase()],
        })
        .await?;
    ensure!(
        found.users.len() == 1 && found.users[0].uid == jerry_user.uid,
        "find_users {jerry_name}: {:?}",
        found.users
    );
    checked.push("find_users".to_owned());

    let created = tom
        .ok(CreateConversation {
            user_ids: vec![jerry_user.uid],
            title: Some("Tom & Jerry".into()),
            unique: true,
            ..Default::default()
        })
        .await?;
    let conversation = created.conversation;
    ensure!(created.created, "a fresh pair's unique create must create");
    ensure!(
        conversation.user_ids == vec![tom_user.uid, jerry_user.uid],
        "members {:?}",
        conversation.user_ids
    );
    checked.push("create_conversation".to_owned());

    let client_id = ClientId::random();
    let sent = tom
        .ok(SendText {
            conversation_id: conversation.id,
            client_id: client_id.clone(),
            text: WAKE_UP.into(),
            reply_to: None,
            mentions: vec![],
            mention_all: false,
        })
        .await?;
    ensure!(sent.seq == 1, "first message got seq {}", sent.seq);
    ensure!(
        sent.body == MessageBody::text(WAKE_UP),
        "stored {:?}",
        sent.body
    );
    checked.push(format!("send_text {WAKE_UP:?} acked with seq 1"));

    // Jerry hears of the conversation, then receives the message live.
    let received = loop {
        match jerry
            .next_event(EVENT_TIMEOUT)
            .await
            .context("jerry's events")?
        {
            Event::Message(m) => break m,
            Event::ConversationCreated(c) => {
                ensure!(c.id == conversation.id, "created event for {}", c.id)
            }
            other => anyhow::bail!("jerry got an unexpected event: {other:?}"),
        }
    };
    ensure!(
        received == sent,
        "jerry received {received:?}, tom was acked {sent:?}"
    );
    checked.push("the other member received it live, identical to the ack".to_owned());

    let history = jerry
        .ok(GetMessages {
            conversation_id: conversation.id,
            before: None,
            after: None,
            limit: None,
        })
        .await?;
    ensure!(
        history.messages == vec![sent.clone()] && !history.has_more,
        "history {:?}",
        history.messages
    );
    checked.push("history holds exactly that message".to_owned());

    let resent = tom
        .ok(SendText {
            conversation_id: conversation.id,
            client_id,
            text: "a resend".into(),
            reply_to: None,
            mentions: vec![],
            mention_all: false,
        })
        .await?;
    ensure!(resent == sent, "a resend returned {resent:?}");
    checked.push("a resend with the same client id returns the original".to_owned());

    let read = jerry
        .ok(MarkRead {
            conversation_id: conversation.id,
            seq: 1,
        })
        .await?;
    ensure!(
        read.read_seq == 1 && read.unread_count == 0,
        "mark_read {read:?}"
    );
    let view = tom
        .ok(GetConversation {
            conversation_id: conversation.id,
        })
        .await?;
    ensure!(
        view.last_seq == 1 && view.others_read_seq == 1 && view.unread_count == 0,
        "tom's view: last_seq {} others_read_seq {} unread {}",
        view.last_seq,
        view.others_read_seq,
        view.unread_count
    );
    checked.push("read marks and the conversation view".to_owned());
    tom.close().await;
    jerry.close().await;
    Ok(checked)
}
