//! What each member decides for themselves (§5 `mute_conversation`, `block_user`,
//! `unblock_user`, `get_blocked`): a mute shows in the member's views and reaches their other
//! sessions; a block closes the single chat between the two both ways, stops the blocked user
//! from starting conversations with or adding the one who blocks, and keeps resends idempotent.

use anyhow::Result;
use im_proto::{BlockState, ErrorCode, Event, MuteState, Uid};
use serde_json::json;

use super::support::{create, send, sync_all, text, view};
use crate::client::Conn;
use crate::{same, Ctx};

/// `mute_conversation`: the result, the member's view (and only theirs), `sync` from before,
/// `mute_changed` on the member's other sessions only, nothing when nothing changes, and
/// `not_member` for an outsider.
pub async fn mute(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let mut spike = cx.user("spike").await?;
    let c = create(&mut tom, &[jerry.uid()], "t&j").await?;
    let (_, cursor) = sync_all(&mut tom_laptop, 0).await?;
    for conn in [&mut jerry, &mut tom_laptop, &mut spike] {
        conn.drain().await?;
    }
    same!(
        view(&mut tom, c.id).await?.muted,
        false,
        "a new conversation's muted"
    );

    for muted in [true, false] {
        let state: MuteState = tom
            .ok_as(im_proto::MuteConversation {
                conversation_id: c.id,
                muted,
            })
            .await?;
        same!(
            state,
            MuteState {
                conversation_id: c.id,
                muted
            },
            "mute_conversation's result"
        );
        tom_laptop
            .expect_events(
                &[Event::MuteChanged(state.clone())],
                "the member's other session",
            )
            .await?;
        jerry.expect_no_events("another member").await?;
        tom.expect_no_events("the calling connection").await?;
        same!(view(&mut tom, c.id).await?.muted, muted, "tom's view");
        same!(view(&mut jerry, c.id).await?.muted, false, "jerry's view");
        if muted {
            let (views, _) = sync_all(&mut tom_laptop, cursor).await?;
            let synced: Vec<bool> = views
                .iter()
                .filter(|v| v.conversation.id == c.id)
                .map(|v| v.muted)
                .collect();
            same!(synced, vec![true], "sync from before the mute");
        }
        // The same again changes nothing and tells nobody.
        tom.ok(
            "mute_conversation",
            json!({"conversation_id": c.id, "muted": muted}),
        )
        .await?;
        tom_laptop
            .expect_no_events("a mute that changed nothing")
            .await?;
    }
    spike
        .refused(
            "mute_conversation",
            json!({"conversation_id": c.id, "muted": true}),
            ErrorCode::NotMember,
        )
        .await?;
    Ok(())
}

/// `block_user`, `unblock_user`, `get_blocked`, `block_changed` and `blocked`.
pub async fn block(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut jerry_laptop = jerry.session("jerry-laptop").await?;
    let mut tom = cx.user("tom").await?;
    let spike = cx.user("spike").await?;
    let tyke = cx.user("tyke").await?;
    let chat = create(&mut tom, &[jerry.uid()], "t&j").await?;
    let earlier = text(chat.id, "before the block");
    tom.ok("send_text", earlier.clone()).await?;
    // A group Jerry made, with Tom in it.
    let group = create(&mut jerry, &[tom.uid(), spike.uid()], "cheese").await?;
    for conn in [&mut jerry, &mut jerry_laptop, &mut tom] {
        conn.drain().await?;
    }

    let blocked = BlockState {
        user_id: tom.uid(),
        blocked: true,
    };
    let state: BlockState = jerry
        .ok_as(im_proto::BlockUser { user_id: tom.uid() })
        .await?;
    same!(state, blocked, "block_user's result");
    jerry_laptop
        .expect_events(
            &[Event::BlockChanged(blocked.clone())],
            "the blocker's other session",
        )
        .await?;
    tom.expect_no_events("the blocked user is not told").await?;
    jerry
        .ok("block_user", json!({"user_id": tom.uid()}))
        .await?;
    jerry_laptop
        .expect_no_events("a block that changed nothing")
        .await?;
    same!(
        blocked_list(&mut jerry).await?,
        vec![tom.uid()],
        "get_blocked"
    );
    same!(
        blocked_list(&mut tom).await?,
        Vec::<Uid>::new(),
        "tom's get_blocked"
    );

    // The single chat is closed both ways; a resend of what was stored before still answers.
    tom.refused("send_text", text(chat.id, "hello?"), ErrorCode::Blocked)
        .await?;
    jerry
        .refused("send_text", text(chat.id, "bye"), ErrorCode::Blocked)
        .await?;
    let again = tom.ok("send_text", earlier.clone()).await?;
    same!(
        again["seq"],
        json!(1),
        "a resend of a message from before the block"
    );
    // Typing in it reaches nobody.
    tom.ok(
        "typing",
        json!({"conversation_id": chat.id, "typing": true}),
    )
    .await?;
    jerry.expect_no_events("typing from a blocked user").await?;
    // Tom can start nothing with Jerry, nor add him anywhere.
    tom.refused(
        "create_conversation",
        json!({"user_ids": [jerry.uid()], "unique": true}),
        ErrorCode::Blocked,
    )
    .await?;
    tom.refused(
        "create_conversation",
        json!({"user_ids": [jerry.uid(), spike.uid()], "title": "x"}),
        ErrorCode::Blocked,
    )
    .await?;
    let toms_group = create(&mut tom, &[spike.uid(), tyke.uid()], "tom's").await?;
    tom.refused(
        "add_members",
        json!({"conversation_id": toms_group.id, "user_ids": [jerry.uid()]}),
        ErrorCode::Blocked,
    )
    .await?;
    // Groups they share go on.
    send(&mut tom, group.id, "still here").await?;

    let state: BlockState = jerry
        .ok_as(im_proto::UnblockUser { user_id: tom.uid() })
        .await?;
    same!(
        state,
        BlockState {
            user_id: tom.uid(),
            blocked: false
        },
        "unblock_user's result"
    );
    same!(
        blocked_list(&mut jerry).await?,
        Vec::<Uid>::new(),
        "get_blocked after unblocking"
    );
    send(&mut tom, chat.id, "hello again").await?;
    same!(
        view(&mut jerry, chat.id).await?.last_seq,
        2,
        "the chat after unblocking"
    );

    jerry
        .refused(
            "block_user",
            json!({"user_id": jerry.uid()}),
            ErrorCode::InvalidParams,
        )
        .await?;
    jerry
        .refused(
            "block_user",
            json!({"user_id": Uid::random()}),
            ErrorCode::UserNotFound,
        )
        .await?;
    Ok(())
}

async fn blocked_list(conn: &mut Conn) -> Result<Vec<Uid>> {
    Ok(conn.ok_as(im_proto::GetBlocked {}).await?.user_ids)
}
