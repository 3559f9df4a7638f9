//! Conversations (§4.6, §4.8, `create_conversation` … `remove_members`): creating (plain and
//! unique), reading, updating, membership and the manager's rights, the conversation list and
//! `sync` with its cursors and frozen views of former members.

use anyhow::{ensure, Result};
use im_proto::{
    Conversation, ConversationId, ConversationRemoved, ConversationType, ConversationView,
    CreatedConversation, ErrorCode, Event, Uid,
};
use serde_json::{json, Map, Value};

use super::support::{create, history, ids_without_barrier, send, sync, sync_all, view, Findings};
use crate::client::Conn;
use crate::{same, Ctx};

async fn created(conn: &mut Conn, params: Value) -> Result<CreatedConversation> {
    let result = conn.ok("create_conversation", params).await?;
    conn.decode("create_conversation's result", &result)
}

async fn change(conn: &mut Conn, op: &str, params: Value) -> Result<Conversation> {
    let result = conn.ok(op, params).await?;
    conn.decode(&format!("{op}'s result"), &result)
}

fn removed(conversation_id: ConversationId, by: Uid) -> Event {
    Event::ConversationRemoved(ConversationRemoved {
        conversation_id,
        by,
    })
}

async fn list(conn: &mut Conn, params: Value) -> Result<(Vec<ConversationView>, Option<u64>)> {
    let result = conn.ok("list_conversations", params).await?;
    let views = conn.decode(
        "list_conversations' conversations",
        &result["conversations"],
    )?;
    Ok((views, result.get("next_before").and_then(Value::as_u64)))
}

fn titles(views: &[ConversationView]) -> Vec<String> {
    views.iter().map(|v| v.conversation.title.clone()).collect()
}

/// Two members make a `SINGLE_CHAT` whose manager is the creator, listed first; duplicates and
/// the caller's own uid are ignored; unset fields take their defaults; the other member and the
/// creator's other sessions get `conversation_created`, the creating connection nothing
/// (`create_conversation`, §4.6).
pub async fn create_single_chat(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let tom_uid = tom.uid();
    let made = created(
        &mut tom,
        json!({"user_ids": [jerry.uid(), jerry.uid(), tom_uid], "title": "Tom & Jerry"}),
    )
    .await?;
    same!(made.created, true, "created");
    let c = made.conversation;
    same!(c.kind, ConversationType::SingleChat, "type");
    same!(c.user_ids, vec![tom.uid(), jerry.uid()], "user_ids");
    same!(c.user_count, 2, "user_count");
    same!(c.manager_id, tom.uid(), "manager_id");
    same!(
        (c.title.as_str(), c.icon.as_str(), c.remark.as_str()),
        ("Tom & Jerry", "", ""),
        "title, icon and remark"
    );
    same!(c.attrs, Map::new(), "attrs");
    let told = Event::ConversationCreated(c.clone());
    jerry
        .expect_events(std::slice::from_ref(&told), "the other member")
        .await?;
    tom_laptop
        .expect_events(&[told], "the creator's other session")
        .await?;
    tom.expect_no_events("the creating connection").await?;
    Ok(())
}

/// Any other number of members makes a `GROUP_CHAT`, yourself alone included; the fields given
/// are stored as given (`create_conversation`, §4.6).
pub async fn create_group(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let mut tom = cx.user("tom").await?;
    let attrs = json!({"color": "blue", "pinned": true, "n": {"deep": [1, 2]}});
    let c = created(
        &mut tom,
        json!({"user_ids": [jerry.uid(), spike.uid()], "title": "Cat & Mice",
               "icon": "https://example.com/g.png", "remark": "the house", "attrs": attrs}),
    )
    .await?
    .conversation;
    same!(c.kind, ConversationType::GroupChat, "type");
    same!(
        c.user_ids,
        vec![tom.uid(), jerry.uid(), spike.uid()],
        "user_ids in joining order"
    );
    same!(
        (c.title.as_str(), c.icon.as_str(), c.remark.as_str()),
        ("Cat & Mice", "https://example.com/g.png", "the house"),
        "title, icon and remark"
    );
    same!(Value::Object(c.attrs.clone()), attrs, "attrs");
    for member in [&mut jerry, &mut spike] {
        member
            .expect_events(&[Event::ConversationCreated(c.clone())], "a member")
            .await?;
    }
    let alone = created(&mut tom, json!({"user_ids": []}))
        .await?
        .conversation;
    same!(
        alone.kind,
        ConversationType::GroupChat,
        "a conversation of one"
    );
    same!(alone.user_ids, vec![tom.uid()], "its members");
    jerry
        .expect_no_events("not a member of tom's own group")
        .await?;
    Ok(())
}

/// A plain create always makes a new conversation, even for the same members
/// (`create_conversation`).
pub async fn create_plain_makes_new(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let first = create(&mut tom, &[jerry.uid()], "Tom & Jerry").await?;
    let second = create(&mut tom, &[jerry.uid()], "Tom & Jerry").await?;
    ensure!(
        first.id != second.id,
        "two plain creates made one conversation"
    );
    jerry
        .expect_events(
            &[
                Event::ConversationCreated(first),
                Event::ConversationCreated(second),
            ],
            "jerry hears of both",
        )
        .await
}

/// A unique create returns the oldest conversation whose current members are exactly the caller
/// and `user_ids`, of any type and title, unchanged, with `created: false` and no event; with a
/// new member set it creates (`create_conversation`).
pub async fn create_unique(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let spike = cx.user("spike").await?;
    let mut tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let first = create(&mut tom, &[jerry.uid()], "first").await?;
    create(&mut tom, &[jerry.uid()], "second").await?;
    jerry.drain().await?;
    let again = created(
        &mut tom,
        json!({"user_ids": [jerry.uid()], "title": "another title", "unique": true}),
    )
    .await?;
    same!(again.created, false, "created");
    same!(again.conversation, first, "the oldest, unchanged");
    jerry
        .expect_no_events("a unique create that found one")
        .await?;
    let jerry_uid = jerry.uid();
    let from_jerry = created(
        &mut jerry,
        json!({"user_ids": [tom.uid(), jerry_uid], "unique": true}),
    )
    .await?;
    same!(
        (from_jerry.created, from_jerry.conversation.id),
        (false, first.id),
        "the member set decides, not who asks"
    );
    let group = created(
        &mut tom,
        json!({"user_ids": [jerry.uid(), spike.uid()], "unique": true}),
    )
    .await?;
    same!(group.created, true, "a new member set creates");
    same!(
        group.conversation.kind,
        ConversationType::GroupChat,
        "its type"
    );
    // Current members decide, whatever the type: a group down to tom and tyke is "the chat
    // with tyke".
    let g = create(&mut tom, &[tyke.uid(), spike.uid()], "was three").await?;
    change(
        &mut tom,
        "remove_members",
        json!({"conversation_id": g.id, "user_ids": [spike.uid()]}),
    )
    .await?;
    tyke.drain().await?;
    let with_tyke = created(
        &mut tom,
        json!({"user_ids": [tyke.uid()], "unique": true, "title": "ignored"}),
    )
    .await?;
    same!(
        (with_tyke.created, with_tyke.conversation.id),
        (false, g.id),
        "a unique create finds the group whose current members match"
    );
    same!(
        with_tyke.conversation.kind,
        ConversationType::GroupChat,
        "and it stays a group"
    );
    tyke.expect_no_events("a unique create that found one")
        .await
}

/// A uid with no account is `user_not_found`, and nothing is created (`create_conversation`).
pub async fn create_user_not_found(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    for others in [vec![Uid::random()], vec![jerry.uid(), Uid::random()]] {
        tom.refused(
            "create_conversation",
            json!({"user_ids": others, "title": "nope"}),
            ErrorCode::UserNotFound,
        )
        .await?;
    }
    jerry.expect_no_events("nothing was created").await?;
    let (views, _) = list(&mut tom, json!({})).await?;
    same!(
        ids_without_barrier(&tom, &views),
        vec![],
        "tom's conversations"
    );
    Ok(())
}

/// `get_conversation` is the caller's view: the conversation, the newest message (null when
/// none), read marks and unread count, the others' furthest read mark, a version, no `removed`
/// (`get_conversation`, §4.8).
pub async fn get_conversation(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "Tom & Jerry").await?;
    let empty = view(&mut tom, c.id).await?;
    same!(empty.conversation, c, "the conversation");
    same!(
        (
            empty.last_seq,
            empty.last_message.is_none(),
            empty.read_seq,
            empty.others_read_seq,
            empty.unread_count,
            empty.removed
        ),
        (0, true, 0, 0, 0, false),
        "a conversation without messages"
    );
    let message = send(&mut jerry, c.id, "再睡五分钟").await?;
    let toms = view(&mut tom, c.id).await?;
    same!(
        (
            toms.last_seq,
            toms.read_seq,
            toms.unread_count,
            toms.others_read_seq
        ),
        (1, 0, 1, 1),
        "tom's view after jerry's message (jerry has read his own)"
    );
    same!(toms.last_message, Some(message), "the newest message");
    ensure!(
        toms.version > empty.version,
        "a message gives the view a new version ({} then {})",
        empty.version,
        toms.version
    );
    let jerrys = view(&mut jerry, c.id).await?;
    same!(
        (jerrys.read_seq, jerrys.unread_count, jerrys.others_read_seq),
        (1, 0, 0),
        "jerry's view: his own message counts as read, tom has read nothing"
    );
    Ok(())
}

/// Any member may update (not only the manager, also in a single chat); given fields replace
/// (attrs as a whole), absent ones stay, `""` clears; the members' other sessions get
/// `conversation_updated` with the new state, the calling connection nothing; with no field at
/// all nothing changes and no event is sent (`update_conversation`).
pub async fn update_conversation(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let c = create(&mut tom, &[jerry.uid(), spike.uid()], "before").await?;
    for conn in [&mut jerry, &mut spike, &mut tom_laptop] {
        conn.drain().await?;
    }
    let first = change(
        &mut jerry,
        "update_conversation",
        json!({"conversation_id": c.id, "title": "after", "icon": "https://example.com/cat.png",
               "remark": "cat and mouse", "attrs": {"pinned": true, "n": 1}}),
    )
    .await?;
    same!(
        (
            first.title.as_str(),
            first.icon.as_str(),
            first.remark.as_str()
        ),
        ("after", "https://example.com/cat.png", "cat and mouse"),
        "the updated fields"
    );
    same!(
        Value::Object(first.attrs.clone()),
        json!({"pinned": true, "n": 1}),
        "attrs"
    );
    same!(
        (
            first.id,
            first.manager_id,
            first.create_time,
            &first.user_ids,
            first.kind
        ),
        (c.id, c.manager_id, c.create_time, &c.user_ids, c.kind),
        "what an update does not touch"
    );
    for conn in [&mut tom, &mut tom_laptop, &mut spike] {
        conn.expect_events(&[Event::ConversationUpdated(first.clone())], "a member")
            .await?;
    }
    jerry.expect_no_events("the calling connection").await?;

    let second = change(
        &mut tom,
        "update_conversation",
        json!({"conversation_id": c.id, "attrs": {"color": "red"}}),
    )
    .await?;
    same!(
        Value::Object(second.attrs.clone()),
        json!({"color": "red"}),
        "attrs are replaced as a whole"
    );
    same!(
        (second.title.as_str(), second.remark.as_str()),
        ("after", "cat and mouse"),
        "absent fields stay"
    );
    for conn in [&mut jerry, &mut spike, &mut tom_laptop] {
        conn.expect_events(
            &[Event::ConversationUpdated(second.clone())],
            "tom's update",
        )
        .await?;
    }
    let cleared = change(
        &mut spike,
        "update_conversation",
        json!({"conversation_id": c.id, "title": ""}),
    )
    .await?;
    same!(cleared.title, "", "an empty title clears it");
    for conn in [&mut jerry, &mut tom, &mut tom_laptop] {
        conn.drain().await?;
    }
    let nothing = change(
        &mut jerry,
        "update_conversation",
        json!({"conversation_id": c.id}),
    )
    .await?;
    same!(
        nothing,
        cleared,
        "an update with no field returns the conversation as it is"
    );
    for conn in [&mut tom, &mut tom_laptop, &mut spike] {
        conn.expect_no_events("an update with no field").await?;
    }
    same!(
        view(&mut tom, c.id).await?.conversation,
        cleared,
        "the stored conversation"
    );

    let single = create(&mut tom, &[jerry.uid()], "ours").await?;
    jerry.drain().await?;
    let renamed = change(
        &mut jerry,
        "update_conversation",
        json!({"conversation_id": single.id, "title": "mine too"}),
    )
    .await?;
    same!(
        renamed.title,
        "mine too",
        "a single chat's other member updates it"
    );
    tom.expect_events(
        &[Event::ConversationUpdated(renamed)],
        "the single chat's other member",
    )
    .await
}

/// `{"k":"xxx…"}` of exactly `bytes` bytes as compact JSON.
fn attrs_of(bytes: usize) -> Value {
    json!({"k": "x".repeat(bytes - 8)})
}

/// Titles up to 200 characters, icons 2048, remarks 1000 and attrs 4096 bytes of compact JSON
/// are stored; one more is `field_too_long`, on create and update, and changes nothing (§8).
pub async fn field_limits(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "limits").await?;
    jerry.drain().await?;
    let over = [
        ("title", json!("题".repeat(201))),
        ("icon", json!("i".repeat(2049))),
        ("remark", json!("备".repeat(1001))),
        ("attrs", attrs_of(4097)),
    ];
    let mut findings = Findings::default();
    for (field, value) in &over {
        let mut params = json!({"user_ids": [jerry.uid()]});
        params[*field] = value.clone();
        let reply = tom.call("create_conversation", params).await?;
        findings.code(
            &format!("create with a {field} over its limit"),
            &reply,
            ErrorCode::FieldTooLong,
        );
        let mut params = json!({"conversation_id": c.id});
        params[*field] = value.clone();
        let reply = tom.call("update_conversation", params).await?;
        findings.code(
            &format!("update with a {field} over its limit"),
            &reply,
            ErrorCode::FieldTooLong,
        );
    }
    findings.finish()?;
    same!(
        view(&mut tom, c.id).await?.conversation,
        c,
        "the refusals changed nothing"
    );
    jerry
        .expect_no_events("refused creates and updates")
        .await?;
    let at_limits = json!({"title": "题".repeat(200), "icon": "i".repeat(2048),
                           "remark": "备".repeat(1000), "attrs": attrs_of(4096)});
    let mut params = at_limits.clone();
    params["user_ids"] = json!([jerry.uid()]);
    let made = created(&mut tom, params).await?.conversation;
    let mut params = at_limits.clone();
    params["conversation_id"] = json!(c.id);
    let updated = change(&mut tom, "update_conversation", params).await?;
    for stored in [&made, &updated] {
        same!(
            (
                json!(stored.title),
                json!(stored.icon),
                json!(stored.remark),
                Value::Object(stored.attrs.clone())
            ),
            (
                at_limits["title"].clone(),
                at_limits["icon"].clone(),
                at_limits["remark"].clone(),
                at_limits["attrs"].clone()
            ),
            "fields at their limits are stored as given"
        );
    }
    jerry
        .expect_events(
            &[
                Event::ConversationCreated(made),
                Event::ConversationUpdated(updated),
            ],
            "the accepted create and update",
        )
        .await
}

/// The manager adds users to a group: current members and duplicates are skipped; the new
/// members' sessions get `conversation_created`, the existing members' other sessions
/// `conversation_updated`; the new ones start with nothing unread and read the whole history;
/// adding nobody new changes nothing and tells nobody (`add_members`).
pub async fn add_members(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let mut tyke = cx.user("tyke").await?;
    let mut tyke_laptop = tyke.session("tyke-laptop").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let c = create(&mut tom, &[jerry.uid(), spike.uid()], "house").await?;
    let before = vec![
        send(&mut tom, c.id, "before tyke").await?,
        send(&mut jerry, c.id, "also before tyke").await?,
    ];
    for conn in [&mut jerry, &mut spike, &mut tom_laptop, &mut tom] {
        conn.drain().await?;
    }
    let added = change(
        &mut tom,
        "add_members",
        json!({"conversation_id": c.id, "user_ids": [tyke.uid(), tyke.uid(), jerry.uid()]}),
    )
    .await?;
    same!(
        added.user_ids,
        vec![tom.uid(), jerry.uid(), spike.uid(), tyke.uid()],
        "the members, the new one last"
    );
    same!(
        (added.id, &added.title, added.manager_id, added.kind),
        (c.id, &c.title, c.manager_id, c.kind),
        "what adding does not touch"
    );
    for conn in [&mut tyke, &mut tyke_laptop] {
        conn.expect_events(&[Event::ConversationCreated(added.clone())], "a new member")
            .await?;
    }
    for conn in [&mut jerry, &mut spike, &mut tom_laptop] {
        conn.expect_events(
            &[Event::ConversationUpdated(added.clone())],
            "an existing member",
        )
        .await?;
    }
    tom.expect_no_events("the calling connection").await?;
    let again = change(
        &mut tom,
        "add_members",
        json!({"conversation_id": c.id, "user_ids": [jerry.uid(), tyke.uid()]}),
    )
    .await?;
    same!(again, added, "adding only members changes nothing");
    for conn in [
        &mut jerry,
        &mut spike,
        &mut tom_laptop,
        &mut tyke,
        &mut tyke_laptop,
    ] {
        conn.expect_no_events("adding nobody new").await?;
    }
    let tykes = view(&mut tyke, c.id).await?;
    same!(
        (tykes.read_seq, tykes.unread_count, tykes.last_seq),
        (2, 0, 2),
        "a new member starts with nothing unread"
    );
    same!(
        history(&mut tyke, c.id).await?,
        before,
        "a new member reads the whole history"
    );
    Ok(())
}

/// Only the manager adds (`not_manager`); every uid must have an account (`user_not_found`,
/// and nobody is added); refusals change nothing (`add_members`).
pub async fn add_members_refusals(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let spike = cx.user("spike").await?;
    let mut tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid(), spike.uid()], "house").await?;
    jerry.drain().await?;
    jerry
        .refused(
            "add_members",
            json!({"conversation_id": c.id, "user_ids": [tyke.uid()]}),
            ErrorCode::NotManager,
        )
        .await?;
    for uids in [vec![Uid::random()], vec![tyke.uid(), Uid::random()]] {
        tom.refused(
            "add_members",
            json!({"conversation_id": c.id, "user_ids": uids}),
            ErrorCode::UserNotFound,
        )
        .await?;
    }
    same!(
        view(&mut tom, c.id).await?.conversation,
        c,
        "the refusals changed nothing"
    );
    tyke.expect_no_events("tyke was not added").await?;
    jerry.expect_no_events("nothing changed").await
}

/// A `SINGLE_CHAT` keeps its two members: adding, removing the other and leaving are all
/// `single_chat_members_fixed` (§4.6).
pub async fn single_chat_members_fixed(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let spike = cx.user("spike").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "").await?;
    same!(c.kind, ConversationType::SingleChat, "two members");
    let attempts = [
        ("add_members", vec![spike.uid()]),
        ("remove_members", vec![jerry.uid()]),
        ("remove_members", vec![tom.uid()]),
    ];
    for (op, uids) in attempts {
        tom.refused(
            op,
            json!({"conversation_id": c.id, "user_ids": uids}),
            ErrorCode::SingleChatMembersFixed,
        )
        .await?;
    }
    jerry
        .refused(
            "remove_members",
            json!({"conversation_id": c.id, "user_ids": [jerry.uid()]}),
            ErrorCode::SingleChatMembersFixed,
        )
        .await?;
    same!(
        view(&mut tom, c.id).await?.conversation,
        c,
        "the single chat is unchanged"
    );
    Ok(())
}

/// The manager removes members: non-members and duplicates are skipped; the removed user's
/// sessions get `conversation_removed` (by the manager), the remaining members' other sessions
/// `conversation_updated`; removing no member changes nothing and tells nobody
/// (`remove_members`).
pub async fn remove_members(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let mut spike_laptop = spike.session("spike-laptop").await?;
    let mut tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let c = create(&mut tom, &[jerry.uid(), spike.uid(), tyke.uid()], "house").await?;
    for conn in [
        &mut jerry,
        &mut spike,
        &mut spike_laptop,
        &mut tyke,
        &mut tom_laptop,
    ] {
        conn.drain().await?;
    }
    let after = change(
        &mut tom,
        "remove_members",
        json!({"conversation_id": c.id, "user_ids": [spike.uid(), spike.uid(), Uid::random()]}),
    )
    .await?;
    same!(
        after.user_ids,
        vec![tom.uid(), jerry.uid(), tyke.uid()],
        "the remaining members"
    );
    same!(after.manager_id, tom.uid(), "the manager");
    for conn in [&mut spike, &mut spike_laptop] {
        conn.expect_events(&[removed(c.id, tom.uid())], "the removed user")
            .await?;
    }
    for conn in [&mut jerry, &mut tyke, &mut tom_laptop] {
        conn.expect_events(
            &[Event::ConversationUpdated(after.clone())],
            "a remaining member",
        )
        .await?;
    }
    tom.expect_no_events("the calling connection").await?;
    let again = change(
        &mut tom,
        "remove_members",
        json!({"conversation_id": c.id, "user_ids": [spike.uid(), Uid::random()]}),
    )
    .await?;
    same!(again, after, "removing no member changes nothing");
    for conn in [
        &mut jerry,
        &mut tyke,
        &mut tom_laptop,
        &mut spike,
        &mut spike_laptop,
    ] {
        conn.expect_no_events("removing no member").await?;
    }
    Ok(())
}

/// Any member may leave (remove themselves), only the manager removes others (`not_manager`);
/// when the manager leaves, the earliest remaining member becomes manager; a group stays a group
/// at two members and at none, after the last one leaves, when `manager_id` keeps naming the last
/// manager (`remove_members`, §4.6).
pub async fn leave_and_manager_handover(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut jerry_laptop = jerry.session("jerry-laptop").await?;
    let mut spike = cx.user("spike").await?;
    let mut tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let c = create(&mut tom, &[jerry.uid(), spike.uid(), tyke.uid()], "house").await?;
    for conn in [
        &mut jerry,
        &mut jerry_laptop,
        &mut spike,
        &mut tyke,
        &mut tom_laptop,
    ] {
        conn.drain().await?;
    }
    jerry
        .refused(
            "remove_members",
            json!({"conversation_id": c.id, "user_ids": [spike.uid()]}),
            ErrorCode::NotManager,
        )
        .await?;
    let jerry_uid = jerry.uid();
    let left = change(
        &mut jerry,
        "remove_members",
        json!({"conversation_id": c.id, "user_ids": [jerry_uid]}),
    )
    .await?;
    same!(
        left.user_ids,
        vec![tom.uid(), spike.uid(), tyke.uid()],
        "after jerry left"
    );
    jerry_laptop
        .expect_events(
            &[removed(c.id, jerry.uid())],
            "jerry's other session: by jerry",
        )
        .await?;
    jerry.expect_no_events("the leaving connection").await?;
    for conn in [&mut tom, &mut tom_laptop, &mut spike, &mut tyke] {
        conn.expect_events(
            &[Event::ConversationUpdated(left.clone())],
            "a remaining member",
        )
        .await?;
    }
    let tom_uid = tom.uid();
    let handed = change(
        &mut tom,
        "remove_members",
        json!({"conversation_id": c.id, "user_ids": [tom_uid]}),
    )
    .await?;
    same!(
        handed.manager_id,
        spike.uid(),
        "the earliest remaining member is the manager"
    );
    same!(
        handed.user_ids,
        vec![spike.uid(), tyke.uid()],
        "after tom left"
    );
    same!(
        handed.kind,
        ConversationType::GroupChat,
        "still a group at two members"
    );
    tom_laptop
        .expect_events(&[removed(c.id, tom.uid())], "tom's other session")
        .await?;
    for conn in [&mut spike, &mut tyke] {
        conn.expect_events(
            &[Event::ConversationUpdated(handed.clone())],
            "a remaining member",
        )
        .await?;
    }
    same!(
        view(&mut tyke, c.id).await?.conversation.manager_id,
        spike.uid(),
        "the view names the new manager"
    );
    let back = change(
        &mut spike,
        "add_members",
        json!({"conversation_id": c.id, "user_ids": [jerry.uid()]}),
    )
    .await?;
    same!(
        back.user_ids,
        vec![spike.uid(), tyke.uid(), jerry.uid()],
        "the new manager adds"
    );
    for conn in [&mut tyke, &mut jerry] {
        let uid = conn.uid();
        change(
            conn,
            "remove_members",
            json!({"conversation_id": c.id, "user_ids": [uid]}),
        )
        .await?;
    }
    let spike_uid = spike.uid();
    let empty = change(
        &mut spike,
        "remove_members",
        json!({"conversation_id": c.id, "user_ids": [spike_uid]}),
    )
    .await?;
    same!(
        (
            empty.user_count,
            empty.user_ids.len(),
            empty.kind,
            empty.manager_id
        ),
        (0, 0, ConversationType::GroupChat, spike_uid),
        "the last member left: a group with no members, still naming its last manager"
    );
    Ok(())
}

/// `list_conversations`: the caller's current conversations, most recent activity (a message, a
/// field or member change) first, never reordered by read marks; pages of `limit` with
/// `next_before` only when more follow; a conversation that moves while paging does not show up
/// again on later pages (`list_conversations`).
pub async fn list_conversations(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&mut tom, &[jerry.uid()], &format!("c{i}")).await?.id);
    }
    send(&mut tom, ids[1], "bump").await?;
    let barrier = "im-conformance barrier";
    let (first, next) = list(&mut tom, json!({"limit": 3})).await?;
    same!(
        titles(&first),
        ["c1", "c4", "c3"],
        "the first page, most recent first"
    );
    same!(
        (first[0].last_seq, first[0].read_seq, first[0].unread_count),
        (1, 1, 0),
        "tom's own message counts as read"
    );
    ensure!(
        next.is_some(),
        "next_before is present when more pages follow"
    );
    let (rest, after) = list(&mut tom, json!({"limit": 3, "before": next})).await?;
    same!(titles(&rest), ["c2", "c0", barrier], "the second page");
    same!(after, None, "next_before on the last page");
    let (all, none) = list(&mut tom, json!({})).await?;
    same!(
        titles(&all),
        ["c1", "c4", "c3", "c2", "c0", barrier],
        "the default page: all"
    );
    same!(none, None, "next_before when everything fits");
    let (jerrys, _) = list(&mut jerry, json!({"limit": 1})).await?;
    same!(
        (jerrys[0].conversation.id, jerrys[0].unread_count),
        (ids[1], 1),
        "jerry's list: c1 first, unread"
    );
    // Read marks do not reorder the list.
    jerry
        .ok("mark_read", json!({"conversation_id": ids[1], "seq": 1}))
        .await?;
    let (again, _) = list(&mut tom, json!({})).await?;
    same!(titles(&again), titles(&all), "the list after jerry read c1");
    // A conversation that moves while paging shows up at the front, not again.
    let (page1, next) = list(&mut tom, json!({"limit": 2})).await?;
    same!(titles(&page1), ["c1", "c4"], "page 1");
    send(&mut jerry, ids[0], "c0 moves").await?;
    let (page2, next) = list(&mut tom, json!({"limit": 2, "before": next})).await?;
    same!(
        titles(&page2),
        ["c3", "c2"],
        "page 2, after c0 moved to the front"
    );
    let (page3, last) = list(&mut tom, json!({"limit": 2, "before": next})).await?;
    same!(titles(&page3), [barrier], "page 3: c0 is not shown again");
    same!(last, None, "the last page");
    // A change of fields is activity too.
    change(
        &mut jerry,
        "update_conversation",
        json!({"conversation_id": ids[2], "title": "c2!"}),
    )
    .await?;
    let (now, _) = list(&mut tom, json!({})).await?;
    same!(
        titles(&now),
        ["c2!", "c0", "c1", "c4", "c3", barrier],
        "after c2 was renamed"
    );
    Ok(())
}

/// `sync` pages the caller's changed conversations in increasing version order, each once, with
/// `cursor` the version of the last view (or `since` when there is none) and `has_more`; what
/// makes a conversation come back: a message, a field change, the caller's own read mark — not
/// others' read marks, not typing (`sync`).
pub async fn sync_pages(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut ids = Vec::new();
    for i in 0..7 {
        let c = create(&mut tom, &[jerry.uid()], &format!("c{i}")).await?;
        send(&mut tom, c.id, "hello").await?;
        ids.push(c.id);
    }
    let mut seen = Vec::new();
    let mut since = 0;
    let mut last_version = 0;
    loop {
        let page = sync(&mut jerry, since, Some(2)).await?;
        ensure!(
            page.conversations.len() <= 2,
            "a page holds at most limit views"
        );
        for v in &page.conversations {
            ensure!(
                v.version > last_version && v.version > since,
                "versions increase and are above since: {} after {last_version} (since {since})",
                v.version
            );
            last_version = v.version;
        }
        let expected_cursor = page.conversations.last().map_or(since, |v| v.version);
        same!(
            page.cursor,
            expected_cursor,
            "the cursor is the last view's version"
        );
        seen.extend(ids_without_barrier(&jerry, &page.conversations));
        since = page.cursor;
        if !page.has_more {
            break;
        }
        ensure!(
            !page.conversations.is_empty(),
            "has_more with an empty page"
        );
    }
    same!(
        seen,
        ids,
        "every changed conversation, oldest change first, once"
    );
    let quiet = sync(&mut jerry, since, None).await?;
    same!(
        (quiet.conversations.len(), quiet.cursor, quiet.has_more),
        (0, since, false),
        "nothing changed since the cursor"
    );
    let (_, tom_since) = sync_all(&mut tom, 0).await?;
    // Jerry's read mark: a change for jerry, not for tom.
    jerry
        .ok("mark_read", json!({"conversation_id": ids[3], "seq": 1}))
        .await?;
    let mine = sync(&mut jerry, since, None).await?;
    same!(
        ids_without_barrier(&jerry, &mine.conversations),
        vec![ids[3]],
        "jerry's read mark"
    );
    same!(mine.conversations[0].read_seq, 1, "with the new read mark");
    let since = mine.cursor;
    same!(
        sync(&mut tom, tom_since, None).await?.conversations.len(),
        0,
        "another member's read mark"
    );
    // Typing is not a change.
    jerry
        .ok("typing", json!({"conversation_id": ids[4], "typing": true}))
        .await?;
    same!(
        sync(&mut jerry, since, None).await?.conversations.len(),
        0,
        "typing"
    );
    // A title change and a message are, for every member.
    change(
        &mut tom,
        "update_conversation",
        json!({"conversation_id": ids[5], "title": "c5!"}),
    )
    .await?;
    send(&mut jerry, ids[6], "answer").await?;
    for (conn, from) in [(&mut jerry, since), (&mut tom, tom_since)] {
        let page = sync(conn, from, None).await?;
        same!(
            ids_without_barrier(conn, &page.conversations),
            vec![ids[5], ids[6]],
            "{}: a renamed conversation, then one with a new message",
            conn.label()
        );
        same!(
            page.conversations[0].conversation.title,
            "c5!",
            "the current view"
        );
    }
    Ok(())
}

/// A former member's `sync` reports the conversation once with `"removed": true`, frozen as it
/// was just before the removal (fields and members of then, the last message before it, the read
/// mark of then, `others_read_seq` 0, the removal's version) and never again until they are
/// added back; `list_conversations` leaves it out; what happens afterwards stays hidden (§4.8,
/// `sync`).
pub async fn sync_removed_view(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let c = created(
        &mut tom,
        json!({"user_ids": [jerry.uid(), spike.uid()], "title": "house",
               "icon": "https://example.com/g.png", "remark": "the house", "attrs": {"color": "blue"}}),
    )
    .await?
    .conversation;
    let woof = send(&mut spike, c.id, "woof").await?;
    jerry
        .ok("mark_read", json!({"conversation_id": c.id, "seq": 1}))
        .await?;
    let (_, spike_since) = sync_all(&mut spike, 0).await?;
    spike.drain().await?;
    change(
        &mut tom,
        "remove_members",
        json!({"conversation_id": c.id, "user_ids": [spike.uid()]}),
    )
    .await?;
    let removal_version = view(&mut tom, c.id).await?.version;
    change(
        &mut jerry,
        "update_conversation",
        json!({"conversation_id": c.id, "title": "secret plan"}),
    )
    .await?;
    send(&mut jerry, c.id, "spike is gone").await?;
    change(
        &mut tom,
        "add_members",
        json!({"conversation_id": c.id, "user_ids": [tyke.uid()]}),
    )
    .await?;
    spike
        .expect_events(
            &[removed(c.id, tom.uid())],
            "the removed member hears of the removal and of nothing after it",
        )
        .await?;
    let expected = ConversationView {
        conversation: c.clone(),
        last_seq: 1,
        last_message: Some(woof),
        read_seq: 1,
        others_read_seq: 0,
        unread_count: 0,
        version: removal_version,
        removed: true,
        muted: false,
        changes_version: 0,
    };
    let page = sync(&mut spike, spike_since, None).await?;
    same!(
        page.conversations,
        vec![expected.clone()],
        "the frozen view, once"
    );
    let cursor = page.cursor;
    let (from_zero, _) = sync_all(&mut spike, 0).await?;
    ensure!(
        from_zero.contains(&expected),
        "a first sync from 0 also reports it, frozen: {from_zero:?}"
    );
    send(&mut jerry, c.id, "more after spike").await?;
    same!(
        sync(&mut spike, cursor, None).await?.conversations,
        vec![],
        "it never comes back"
    );
    let (listed, _) = list(&mut spike, json!({})).await?;
    same!(ids_without_barrier(&spike, &listed), vec![], "spike's list");
    let back = change(
        &mut tom,
        "add_members",
        json!({"conversation_id": c.id, "user_ids": [spike.uid()]}),
    )
    .await?;
    spike
        .expect_events(&[Event::ConversationCreated(back.clone())], "added back")
        .await?;
    let page = sync(&mut spike, cursor, None).await?;
    same!(page.conversations.len(), 1, "added back: it comes back");
    let now = &page.conversations[0];
    same!(
        (now.removed, &now.conversation, now.last_seq, now.read_seq),
        (false, &back, 3, 3),
        "a normal, current view, nothing unread"
    );
    Ok(())
}
