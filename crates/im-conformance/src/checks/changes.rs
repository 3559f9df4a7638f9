//! Changes to sent messages (§5 `edit_message`, `recall_message`, `get_message_changes`, and
//! `send_text`'s `reply_to`): who may change what, the `message_updated` event on every
//! member's other sessions, retries that change nothing, and catching up on changes to old
//! messages after being away (`sync` brings the conversation back without moving it up the
//! list; `get_message_changes` pages the changed messages).

use anyhow::{ensure, Result};
use im_proto::{ErrorCode, Event, Message, MessageBody, MessageChanges};
use serde_json::{json, Value};

use super::support::{create, history, send, sync_all, text};
use crate::client::Conn;
use crate::{same, Ctx};

/// `op`'s result, decoded.
async fn call_as<T: serde::de::DeserializeOwned>(
    conn: &mut Conn,
    op: &str,
    params: Value,
) -> Result<T> {
    let result = conn.ok(op, params).await?;
    conn.decode(op, &result)
}

/// `edit_message`, `recall_message`, `message_updated`, replies, and every refusal.
pub async fn edit_and_recall(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let mut spike = cx.user("spike").await?;
    let c = create(&mut tom, &[jerry.uid()], "t&j").await?;
    let wake = send(&mut tom, c.id, "耗子，起床啦").await?;
    // A reply names the seq it answers, and keeps it in the history.
    let mut reply = text(c.id, "再睡五分钟");
    reply["reply_to"] = json!(wake.seq);
    let answer: Message = call_as(&mut jerry, "send_text", reply).await?;
    same!(answer.reply_to, Some(wake.seq), "a reply's reply_to");
    let mut beyond = text(c.id, "to nothing");
    beyond["reply_to"] = json!(answer.seq + 1);
    jerry
        .refused("send_text", beyond, ErrorCode::MessageNotFound)
        .await?;
    for conn in [&mut jerry, &mut tom, &mut tom_laptop] {
        conn.drain().await?;
    }

    // Tom edits his message: the result, and everyone else's sessions hear it.
    let edit = |seq: u64, text: &str| json!({"conversation_id": c.id, "seq": seq, "text": text});
    let edited: Message =
        call_as(&mut tom, "edit_message", edit(wake.seq, "耗子，快起床！")).await?;
    same!(
        (&edited.body, edited.id, edited.seq, edited.timestamp),
        (
            &MessageBody::text("耗子，快起床！"),
            wake.id,
            wake.seq,
            wake.timestamp
        ),
        "edit_message's result"
    );
    ensure!(edited.edited_at.is_some(), "an edit sets edited_at");
    for (conn, who) in [
        (&mut jerry, "the other member"),
        (&mut tom_laptop, "tom's laptop"),
    ] {
        conn.expect_events(&[Event::MessageUpdated(edited.clone())], who)
            .await?;
    }
    tom.expect_no_events("the editing connection").await?;
    // The same text again: the same message, nobody told.
    let again: Message =
        call_as(&mut tom, "edit_message", edit(wake.seq, "耗子，快起床！")).await?;
    same!(again, edited, "an edit repeated");
    jerry
        .expect_no_events("an edit that changed nothing")
        .await?;
    same!(
        history(&mut jerry, c.id).await?,
        vec![edited.clone(), answer.clone()],
        "the history after the edit"
    );

    // Refusals.
    jerry
        .refused("edit_message", edit(wake.seq, "no"), ErrorCode::NotSender)
        .await?;
    jerry
        .refused(
            "edit_message",
            edit(answer.seq + 5, "no"),
            ErrorCode::MessageNotFound,
        )
        .await?;
    jerry
        .refused("edit_message", edit(0, "no"), ErrorCode::MessageNotFound)
        .await?;
    tom.refused(
        "edit_message",
        edit(wake.seq, "  "),
        ErrorCode::InvalidParams,
    )
    .await?;
    let long = "长".repeat(cx.limits().max_text_chars + 1);
    tom.refused(
        "edit_message",
        edit(wake.seq, &long),
        ErrorCode::TextTooLong,
    )
    .await?;
    spike
        .refused("edit_message", edit(wake.seq, "no"), ErrorCode::NotMember)
        .await?;
    let recall = |seq: u64| json!({"conversation_id": c.id, "seq": seq});
    spike
        .refused("recall_message", recall(wake.seq), ErrorCode::NotMember)
        .await?;
    tom.refused("recall_message", recall(answer.seq), ErrorCode::NotSender)
        .await?;
    tom.refused(
        "recall_message",
        recall(answer.seq + 1),
        ErrorCode::MessageNotFound,
    )
    .await?;

    // Tom recalls his message: its text is gone for everyone.
    let recalled: Message = call_as(&mut tom, "recall_message", recall(wake.seq)).await?;
    same!(
        (&recalled.body, recalled.seq, recalled.from),
        (
            &MessageBody::Recalled { by: tom.uid() },
            wake.seq,
            tom.uid()
        ),
        "recall_message's result"
    );
    for (conn, who) in [
        (&mut jerry, "the other member"),
        (&mut tom_laptop, "tom's laptop"),
    ] {
        conn.expect_events(&[Event::MessageUpdated(recalled.clone())], who)
            .await?;
    }
    let twice: Message = call_as(&mut tom, "recall_message", recall(wake.seq)).await?;
    same!(twice, recalled, "a recall repeated");
    jerry
        .expect_no_events("a recall that changed nothing")
        .await?;
    tom.refused(
        "edit_message",
        edit(wake.seq, "back"),
        ErrorCode::NotEditable,
    )
    .await?;
    let seen = history(&mut jerry, c.id).await?;
    same!(
        seen.first(),
        Some(&recalled),
        "the history after the recall"
    );
    Ok(())
}

/// `get_message_changes` and `sync` after being away: the conversation comes back, the list's
/// order stays, and the changed messages come in change order, paged.
pub async fn catch_up_on_changes(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut spike = cx.user("spike").await?;
    let older = create(&mut tom, &[jerry.uid()], "older").await?;
    let first = send(&mut tom, older.id, "one").await?;
    let second = send(&mut tom, older.id, "two").await?;
    let newer = create(&mut tom, &[jerry.uid(), spike.uid()], "newer").await?;
    send(&mut tom, newer.id, "the newest message").await?;
    let (_, cursor) = sync_all(&mut jerry, 0).await?;

    // While Jerry looks away: one edit, one recall, in the older conversation.
    let edited: Message = call_as(
        &mut tom,
        "edit_message",
        json!({"conversation_id": older.id, "seq": second.seq, "text": "two, edited"}),
    )
    .await?;
    let recalled: Message = call_as(
        &mut tom,
        "recall_message",
        json!({"conversation_id": older.id, "seq": first.seq}),
    )
    .await?;
    let (views, _) = sync_all(&mut jerry, cursor).await?;
    let back: Vec<_> = views.iter().map(|v| v.conversation.id).collect();
    same!(back, vec![older.id], "sync from before the changes");
    let view = &views[0];
    ensure!(
        view.changes_version > cursor && view.version >= view.changes_version,
        "changes_version moves past the cursor: {view:?}"
    );
    same!(
        view.last_message.as_ref(),
        Some(&edited),
        "the view's last message, as edited"
    );
    // The list is ordered by activity: an edit is none. (Each user of the kit also has a
    // conversation of their own, left out.)
    let list = jerry.ok("list_conversations", json!({})).await?;
    let order: Vec<String> = list["conversations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v["conversation"]["id"].as_str().unwrap_or("").to_owned())
                .filter(|id| [newer.id.to_string(), older.id.to_string()].contains(id))
                .collect()
        })
        .unwrap_or_default();
    same!(
        order,
        vec![newer.id.to_string(), older.id.to_string()],
        "list_conversations after an edit of an older chat"
    );

    let changes = |after: u64, limit: Option<usize>| {
        let mut params = json!({"conversation_id": older.id, "after": after});
        if let Some(limit) = limit {
            params["limit"] = json!(limit);
        }
        params
    };
    let all: MessageChanges =
        call_as(&mut jerry, "get_message_changes", changes(cursor, None)).await?;
    same!(
        (&all.messages, all.next, all.has_more),
        (
            &vec![edited.clone(), recalled.clone()],
            view.changes_version,
            false
        ),
        "get_message_changes from the cursor"
    );
    let one: MessageChanges =
        call_as(&mut jerry, "get_message_changes", changes(cursor, Some(1))).await?;
    same!(
        (&one.messages, one.has_more),
        (&vec![edited.clone()], true),
        "the first page of one"
    );
    let rest: MessageChanges = call_as(
        &mut jerry,
        "get_message_changes",
        changes(one.next, Some(1)),
    )
    .await?;
    same!(
        (&rest.messages, rest.next, rest.has_more),
        (&vec![recalled.clone()], view.changes_version, false),
        "the page after it"
    );
    let none: MessageChanges = call_as(
        &mut jerry,
        "get_message_changes",
        changes(view.changes_version, None),
    )
    .await?;
    same!(
        (none.messages.len(), none.next, none.has_more),
        (0, view.changes_version, false),
        "nothing after the last change"
    );
    spike
        .refused(
            "get_message_changes",
            changes(0, None),
            ErrorCode::NotMember,
        )
        .await?;
    Ok(())
}

/// `send_text`'s `mentions` and `mention_all`, and `react`: reactions reach every other session
/// as `message_updated`, repeat nothing, stop at 20 emoji, and are refused on a recalled message.
pub async fn mentions_and_reactions(cx: Ctx) -> Result<()> {
    let mut tom = cx.user("tom").await?;
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let tyke = cx.user("tyke").await?;
    let group = create(&mut tom, &[jerry.uid(), spike.uid()], "cheese").await?;
    for conn in [&mut jerry, &mut spike] {
        conn.drain().await?;
    }
    let mut mention = text(group.id, "@Jerry 起床啦");
    mention["mentions"] = json!([jerry.uid(), jerry.uid()]);
    let sent: Message = call_as(&mut tom, "send_text", mention).await?;
    same!(sent.mentions, vec![jerry.uid()], "mentions, once each");
    ensure!(!sent.mention_all, "not @all");
    jerry
        .expect_events(&[Event::Message(sent.clone())], "the mentioned member")
        .await?;
    spike.drain().await?;
    let mut everyone = text(group.id, "@all 开会");
    everyone["mention_all"] = json!(true);
    jerry
        .refused("send_text", everyone.clone(), ErrorCode::NotManager)
        .await?;
    let all: Message = call_as(&mut tom, "send_text", everyone).await?;
    ensure!(all.mention_all, "the manager's @all");
    let mut outsider = text(group.id, "@Tyke");
    outsider["mentions"] = json!([tyke.uid()]);
    tom.refused("send_text", outsider, ErrorCode::InvalidParams)
        .await?;
    for conn in [&mut jerry, &mut spike] {
        conn.drain().await?;
    }

    let react = |emoji: &str, on: bool| json!({"conversation_id": group.id, "seq": sent.seq, "emoji": emoji, "on": on});
    let liked: Message = call_as(&mut jerry, "react", react("👍", true)).await?;
    same!(
        liked.reactions,
        vec![im_proto::Reaction {
            emoji: "👍".into(),
            user_ids: vec![jerry.uid()]
        }],
        "react's result"
    );
    for (conn, who) in [(&mut tom, "the sender"), (&mut spike, "another member")] {
        conn.expect_events(&[Event::MessageUpdated(liked.clone())], who)
            .await?;
    }
    let again: Message = call_as(&mut jerry, "react", react("👍", true)).await?;
    same!(again, liked, "a reaction repeated");
    tom.expect_no_events("a reaction that changed nothing")
        .await?;
    let both: Message = call_as(&mut spike, "react", react("👍", true)).await?;
    same!(
        both.reactions[0].user_ids,
        vec![jerry.uid(), spike.uid()],
        "who, in order"
    );
    let back: Message = call_as(&mut jerry, "react", react("👍", false)).await?;
    same!(
        back.reactions[0].user_ids,
        vec![spike.uid()],
        "a reaction taken back"
    );
    for emoji in ["a", "👍 👍", "", "👍a"] {
        jerry
            .refused("react", react(emoji, true), ErrorCode::InvalidParams)
            .await?;
    }
    // Twenty different emoji in all; the twenty-first is refused.
    let more = [
        "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰",
        "😗", "😙", "😚", "🙂",
    ];
    for emoji in more {
        tom.ok("react", react(emoji, true)).await?;
    }
    tom.refused("react", react("🤩", true), ErrorCode::TooManyReactions)
        .await?;
    tom.ok(
        "recall_message",
        json!({"conversation_id": group.id, "seq": sent.seq}),
    )
    .await?;
    jerry
        .refused("react", react("👍", true), ErrorCode::NotEditable)
        .await?;
    Ok(())
}
