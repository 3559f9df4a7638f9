//! Who hears of what (§6): for every event, every session of every member it is meant for
//! receives it exactly once — the calling connection and everyone else nothing. Each check
//! watches two sessions per member, an outsider, and a connection that is not signed in, and
//! proves silence with a round trip that comes after everything queued before it.

use anyhow::{ensure, Result};
use im_proto::{ConversationRemoved, Event, Receipt, Typing};
use serde_json::json;

use super::support::{create, send, text};
use crate::client::Conn;
use crate::Ctx;

/// Tom and Jerry on two sessions each, Spike (not a member) and an anonymous connection.
struct Cast {
    tom: Conn,
    tom_laptop: Conn,
    jerry: Conn,
    jerry_laptop: Conn,
    spike: Conn,
    anon: Conn,
}

impl Cast {
    async fn new(cx: &Ctx) -> Result<Self> {
        let jerry = cx.user("jerry").await?;
        let jerry_laptop = jerry.session("jerry-laptop").await?;
        let tom = cx.user("tom").await?;
        let tom_laptop = tom.session("tom-laptop").await?;
        Ok(Self {
            tom,
            tom_laptop,
            jerry,
            jerry_laptop,
            spike: cx.user("spike").await?,
            anon: cx.anon("anonymous").await?,
        })
    }

    /// Forgets whatever the setup caused.
    async fn settle(&mut self) -> Result<()> {
        for conn in self.all() {
            conn.drain().await?;
        }
        Ok(())
    }

    fn all(&mut self) -> [&mut Conn; 6] {
        [
            &mut self.tom,
            &mut self.tom_laptop,
            &mut self.jerry,
            &mut self.jerry_laptop,
            &mut self.spike,
            &mut self.anon,
        ]
    }

    /// Proves that the connections named in `hearing` got exactly `event` and all others
    /// nothing.
    /// Proves that nothing (more) reached any of the sessions.
    async fn expect_none(&mut self, what: &str) -> Result<()> {
        for conn in self.all() {
            conn.expect_no_events(&format!("nothing more after {what}"))
                .await?;
        }
        Ok(())
    }

    async fn expect(&mut self, event: &Event, hearing: &[&str]) -> Result<()> {
        for conn in self.all() {
            if hearing.contains(&conn.label()) {
                conn.expect_events(std::slice::from_ref(event), "meant for it")
                    .await?;
            } else {
                conn.expect_no_events(&format!("{} is not for it", event.name()))
                    .await?;
            }
        }
        Ok(())
    }
}

/// `message`: every session of every member, the sender's other sessions included, except the
/// sending connection (`send_text`, §6).
pub async fn message(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    let c = create(&mut cast.tom, &[cast.jerry.uid()], "t&j").await?;
    cast.settle().await?;
    let sent = cast.tom.ok("send_text", text(c.id, "耗子，起床啦")).await?;
    let sent = cast.tom.decode("the message", &sent)?;
    cast.expect(
        &Event::Message(sent),
        &["tom-laptop", "jerry", "jerry-laptop"],
    )
    .await
}

/// `receipt`: every session of every member, the reader's other sessions included, except the
/// calling connection (`mark_read`, §6).
pub async fn receipt(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    let c = create(&mut cast.tom, &[cast.jerry.uid()], "t&j").await?;
    send(&mut cast.tom, c.id, "read me").await?;
    cast.settle().await?;
    cast.jerry
        .ok("mark_read", json!({"conversation_id": c.id, "seq": 1}))
        .await?;
    let event = Event::Receipt(Receipt {
        conversation_id: c.id,
        uid: cast.jerry.uid(),
        read_seq: 1,
    });
    cast.expect(&event, &["tom", "tom-laptop", "jerry-laptop"])
        .await
}

/// `typing`: every session of the other members, never the typist's own (`typing`, §6).
pub async fn typing(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    let c = create(&mut cast.tom, &[cast.jerry.uid()], "t&j").await?;
    cast.settle().await?;
    cast.jerry
        .ok("typing", json!({"conversation_id": c.id, "typing": true}))
        .await?;
    let event = Event::Typing(Typing {
        conversation_id: c.id,
        uid: cast.jerry.uid(),
        typing: true,
    });
    // Typing is not stored: between the nodes of a cluster it travels apart from the stored
    // changes, so a barrier (a stored change's reply) may overtake it. Wait for it first.
    for conn in [&mut cast.tom, &mut cast.tom_laptop] {
        let pushed = conn.next_event().await?;
        if pushed.event().as_ref() != Some(&event) {
            anyhow::bail!("{}: expected {event:?} first, got {pushed}", conn.label());
        }
    }
    cast.expect_none("typing").await
}

/// `conversation_created`: every session of each new member, the creator's other sessions
/// included, except the creating connection; when added later, every session of the new member
/// (`create_conversation`, `add_members`, §6).
pub async fn conversation_created(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    cast.settle().await?;
    let made = cast
        .tom
        .ok(
            "create_conversation",
            json!({"user_ids": [cast.jerry.uid()], "title": "t&j"}),
        )
        .await?;
    let made: im_proto::Conversation =
        cast.tom.decode("the conversation", &made["conversation"])?;
    cast.expect(
        &Event::ConversationCreated(made),
        &["tom-laptop", "jerry", "jerry-laptop"],
    )
    .await?;
    let group = create(&mut cast.jerry, &[], "group").await?;
    cast.settle().await?;
    let added = cast
        .jerry
        .ok(
            "add_members",
            json!({"conversation_id": group.id, "user_ids": [cast.tom.uid()]}),
        )
        .await?;
    let added: im_proto::Conversation = cast.jerry.decode("the conversation", &added)?;
    for conn in [&mut cast.tom, &mut cast.tom_laptop] {
        conn.expect_events(&[Event::ConversationCreated(added.clone())], "added back")
            .await?;
    }
    cast.jerry_laptop
        .expect_events(
            &[Event::ConversationUpdated(added)],
            "the adder's other session",
        )
        .await?;
    for conn in [&mut cast.jerry, &mut cast.spike, &mut cast.anon] {
        conn.expect_no_events("not for it").await?;
    }
    Ok(())
}

/// `conversation_updated`: every session of every member except the calling connection
/// (`update_conversation`, §6).
pub async fn conversation_updated(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    let c = create(&mut cast.tom, &[cast.jerry.uid()], "t&j").await?;
    cast.settle().await?;
    let updated = cast
        .jerry
        .ok(
            "update_conversation",
            json!({"conversation_id": c.id, "title": "Jerry & Tom"}),
        )
        .await?;
    let updated = cast.jerry.decode("the conversation", &updated)?;
    cast.expect(
        &Event::ConversationUpdated(updated),
        &["tom", "tom-laptop", "jerry-laptop"],
    )
    .await
}

/// `conversation_removed`: every session of the removed user except the calling connection (so
/// a leaver's other sessions hear of it, `by` themselves); the remaining members get
/// `conversation_updated` (`remove_members`, §6).
pub async fn conversation_removed(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    let mut tyke = cx.user("tyke").await?;
    let c = create(&mut cast.tom, &[cast.jerry.uid(), tyke.uid()], "house").await?;
    cast.settle().await?;
    tyke.drain().await?;
    let after = cast
        .tom
        .ok(
            "remove_members",
            json!({"conversation_id": c.id, "user_ids": [cast.jerry.uid()]}),
        )
        .await?;
    let after: im_proto::Conversation = cast.tom.decode("the conversation", &after)?;
    let removed = Event::ConversationRemoved(ConversationRemoved {
        conversation_id: c.id,
        by: cast.tom.uid(),
    });
    for conn in [&mut cast.jerry, &mut cast.jerry_laptop] {
        conn.expect_events(std::slice::from_ref(&removed), "the removed user")
            .await?;
    }
    for conn in [&mut cast.tom_laptop, &mut tyke] {
        conn.expect_events(
            &[Event::ConversationUpdated(after.clone())],
            "a remaining member",
        )
        .await?;
    }
    for conn in [&mut cast.tom, &mut cast.spike, &mut cast.anon] {
        conn.expect_no_events("the calling connection, or not a member")
            .await?;
    }
    let tyke_uid = tyke.uid();
    let left = tyke
        .ok(
            "remove_members",
            json!({"conversation_id": c.id, "user_ids": [tyke_uid]}),
        )
        .await?;
    let left: im_proto::Conversation = tyke.decode("the conversation", &left)?;
    tyke.expect_no_events("the leaving connection").await?;
    for conn in [&mut cast.tom, &mut cast.tom_laptop] {
        conn.expect_events(
            &[Event::ConversationUpdated(left.clone())],
            "a remaining member",
        )
        .await?;
    }
    for conn in [
        &mut cast.jerry,
        &mut cast.jerry_laptop,
        &mut cast.spike,
        &mut cast.anon,
    ] {
        conn.expect_no_events("no longer or never a member").await?;
    }
    Ok(())
}

/// `signed_out`: the other connections using the signed-out token, and nobody else (`sign_out`,
/// §6).
pub async fn signed_out(cx: Ctx) -> Result<()> {
    let mut cast = Cast::new(&cx).await?;
    let mut tom_desktop = cast.tom.new_session("tom-desktop").await?;
    cast.settle().await?;
    cast.tom.ok("sign_out", json!({})).await?;
    let told = cast.tom_laptop.drain().await?;
    ensure!(
        told.len() == 1 && told[0].name == "signed_out",
        "the other connection on the same token gets exactly signed_out: {told:?}"
    );
    tom_desktop
        .expect_no_events("another session of the same user")
        .await?;
    for conn in [
        &mut cast.tom,
        &mut cast.jerry,
        &mut cast.jerry_laptop,
        &mut cast.spike,
        &mut cast.anon,
    ] {
        conn.expect_no_events("not on that token").await?;
    }
    Ok(())
}
