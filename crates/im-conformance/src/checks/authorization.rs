//! The authorization matrix (§2.2, §2.3, §5 "member", §4.8 former members): every conversation
//! op asked by every kind of caller who may not do it — an outsider, a former member (removed
//! or left), a signed-out session, a connection that is not signed in, one that never said
//! hello, a member who is not the manager — gets exactly the refusal the document promises, and
//! the refusal changes nothing and tells nobody.

use anyhow::Result;
use im_proto::{ConversationId, ConversationView, ErrorCode, Uid, OPS};
use serde_json::json;

use super::support::{
    create, ids_without_barrier, params_for, send, sync_all, view, Findings, CONVERSATION_OPS,
};
use crate::client::Conn;
use crate::{same, Ctx};

/// The ops a connection may call before signing in (§2.3).
const ANONYMOUS_OPS: [&str; 5] = ["hello", "ping", "sign_up", "sign_in", "resume"];

/// Asks every op in `ops` about conversation `c` (with `u` wherever a user is needed) and
/// records each answer that is not the error `code`.
async fn refuse_all(
    conn: &mut Conn,
    ops: &[&str],
    c: ConversationId,
    u: Uid,
    code: ErrorCode,
    findings: &mut Findings,
) -> Result<()> {
    for op in ops {
        let reply = conn.call(op, params_for(op, c, u)).await?;
        findings.code(&format!("{} {op}", conn.label()), &reply, code);
    }
    Ok(())
}

/// What the members see of a conversation, to compare before and after refusals.
async fn snapshot(member: &mut Conn, ids: &[ConversationId]) -> Result<Vec<ConversationView>> {
    let mut views = Vec::new();
    for id in ids {
        views.push(view(member, *id).await?);
    }
    Ok(views)
}

/// A user who never was a member gets `not_member` for every conversation op, on a single chat
/// and on a group, even for a `send_text` reusing a member's client id; `list_conversations`
/// and `sync` do not show the conversation; nothing changes and no member hears anything.
pub async fn outsider(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let mut spike = cx.user("spike").await?;
    let single = create(&mut tom, &[jerry.uid()], "private").await?;
    let group = create(&mut tom, &[jerry.uid(), tyke.uid()], "private group").await?;
    let mut keys = Vec::new();
    for c in [&single, &group] {
        keys.push(send(&mut tom, c.id, "secret").await?.client_id);
    }
    jerry.drain().await?;
    let ids = [single.id, group.id];
    let before = snapshot(&mut tom, &ids).await?;
    let mut findings = Findings::default();
    for (id, key) in ids.iter().zip(&keys) {
        let spike_uid = spike.uid();
        refuse_all(
            &mut spike,
            &CONVERSATION_OPS,
            *id,
            spike_uid,
            ErrorCode::NotMember,
            &mut findings,
        )
        .await?;
        let reply = spike
            .call(
                "remove_members",
                json!({"conversation_id": id, "user_ids": [tom.uid()]}),
            )
            .await?;
        findings.code("spike removes tom", &reply, ErrorCode::NotMember);
        let reply = spike
            .call(
                "send_text",
                json!({"conversation_id": id, "client_id": key, "text": "tom's key"}),
            )
            .await?;
        findings.code(
            "spike resends with tom's client id",
            &reply,
            ErrorCode::NotMember,
        );
    }
    let listed = spike.ok("list_conversations", json!({})).await?;
    let listed: Vec<ConversationView> = spike.decode("the list", &listed["conversations"])?;
    findings.check(ids_without_barrier(&spike, &listed).is_empty(), || {
        format!("the outsider's list shows {listed:?}")
    });
    let (synced, _) = sync_all(&mut spike, 0).await?;
    findings.check(ids_without_barrier(&spike, &synced).is_empty(), || {
        format!("the outsider's sync shows {synced:?}")
    });
    findings.finish()?;
    same!(
        snapshot(&mut tom, &ids).await?,
        before,
        "the conversations after the refusals"
    );
    jerry.expect_no_events("the outsider's attempts").await?;
    tom.expect_no_events("the outsider's attempts").await?;
    Ok(())
}

/// An id that names no conversation is `conversation_not_found` for every conversation op.
pub async fn unknown_conversation(cx: Ctx) -> Result<()> {
    let mut tom = cx.user("tom").await?;
    let jerry = cx.user("jerry").await?;
    let mut findings = Findings::default();
    refuse_all(
        &mut tom,
        &CONVERSATION_OPS,
        ConversationId::random(),
        jerry.uid(),
        ErrorCode::ConversationNotFound,
        &mut findings,
    )
    .await?;
    findings.finish()
}

/// A former member, removed or left, gets `not_member` for every conversation op (reading the
/// conversation or its history included), except that resending a message they stored while a
/// member returns it; `list_conversations` leaves the conversation out and `sync` shows it only
/// as a `removed` view; nothing changes and no member hears anything.
pub async fn former_member(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let mut tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let g = create(&mut tom, &[jerry.uid(), spike.uid(), tyke.uid()], "house").await?;
    let spikes = send(&mut spike, g.id, "woof").await?;
    let tykes = send(&mut tyke, g.id, "squeak").await?;
    tom.ok(
        "remove_members",
        json!({"conversation_id": g.id, "user_ids": [spike.uid()]}),
    )
    .await?;
    let tyke_uid = tyke.uid();
    tyke.ok(
        "remove_members",
        json!({"conversation_id": g.id, "user_ids": [tyke_uid]}),
    )
    .await?;
    for conn in [&mut jerry, &mut tom, &mut spike, &mut tyke] {
        conn.drain().await?;
    }
    let before = snapshot(&mut tom, &[g.id]).await?;
    let mut findings = Findings::default();
    for (former, stored) in [(&mut spike, &spikes), (&mut tyke, &tykes)] {
        let uid = former.uid();
        refuse_all(
            former,
            &CONVERSATION_OPS,
            g.id,
            uid,
            ErrorCode::NotMember,
            &mut findings,
        )
        .await?;
        let resent = former
            .call(
                "send_text",
                json!({"conversation_id": g.id, "client_id": stored.client_id, "text": "again"}),
            )
            .await?;
        match resent {
            Ok(m) => findings.check(m == serde_json::to_value(stored)?, || {
                format!("{}'s resend returns the original, not {m}", former.label())
            }),
            Err(e) => findings.push(format!(
                "{}'s resend of a message stored while a member: {e}",
                former.label()
            )),
        }
        let listed = former.ok("list_conversations", json!({})).await?;
        let listed: Vec<ConversationView> = former.decode("the list", &listed["conversations"])?;
        findings.check(ids_without_barrier(former, &listed).is_empty(), || {
            format!("{}'s list still shows the group", former.label())
        });
        let (synced, _) = sync_all(former, 0).await?;
        let shown: Vec<&ConversationView> = synced
            .iter()
            .filter(|v| v.conversation.id == g.id)
            .collect();
        findings.check(shown.len() == 1 && shown[0].removed, || {
            format!(
                "{}'s sync shows the group once, removed: {shown:?}",
                former.label()
            )
        });
    }
    findings.finish()?;
    same!(
        snapshot(&mut tom, &[g.id]).await?,
        before,
        "the group after the refusals"
    );
    jerry
        .expect_no_events("the former members' attempts")
        .await?;
    tom.expect_no_events("the former members' attempts").await?;
    Ok(())
}

/// After `sign_out`, the signed-out connection and the others on the same token are
/// `unauthenticated` for every op that needs a session, and the token no longer resumes
/// (`invalid_token`); the members hear nothing.
pub async fn signed_out_session(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let mut tom_laptop = tom.session("tom-laptop").await?;
    let c = create(&mut tom, &[jerry.uid()], "t&j").await?;
    send(&mut tom, c.id, "hi").await?;
    jerry.drain().await?;
    tom_laptop.drain().await?;
    let token = tom.account().token.clone();
    tom.ok("sign_out", json!({})).await?;
    tom_laptop.drain().await?;
    let guarded: Vec<&str> = OPS
        .iter()
        .copied()
        .filter(|op| !ANONYMOUS_OPS.contains(op))
        .collect();
    let mut findings = Findings::default();
    for conn in [&mut tom, &mut tom_laptop] {
        refuse_all(
            conn,
            &guarded,
            c.id,
            jerry.uid(),
            ErrorCode::Unauthenticated,
            &mut findings,
        )
        .await?;
    }
    let mut again = cx.anon("tom-again").await?;
    let reply = again.call("resume", json!({"token": token})).await?;
    findings.code(
        "resume with the signed-out token",
        &reply,
        ErrorCode::InvalidToken,
    );
    findings.finish()?;
    same!(
        view(&mut jerry, c.id).await?.last_seq,
        1,
        "nothing was sent"
    );
    jerry.expect_no_events("the signed-out attempts").await
}

/// A connection that said hello but is not signed in may only call `hello`, `ping`, `sign_up`,
/// `sign_in` and `resume`: every other op is `unauthenticated` and changes nothing (§2.3).
pub async fn unauthenticated(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "t&j").await?;
    jerry.drain().await?;
    let before = snapshot(&mut tom, &[c.id]).await?;
    let mut anon = cx.anon("anonymous").await?;
    let guarded: Vec<&str> = OPS
        .iter()
        .copied()
        .filter(|op| !ANONYMOUS_OPS.contains(op))
        .collect();
    same!(
        guarded.len() + ANONYMOUS_OPS.len(),
        OPS.len(),
        "every op is either anonymous or guarded"
    );
    let mut findings = Findings::default();
    refuse_all(
        &mut anon,
        &guarded,
        c.id,
        jerry.uid(),
        ErrorCode::Unauthenticated,
        &mut findings,
    )
    .await?;
    findings.finish()?;
    same!(
        snapshot(&mut tom, &[c.id]).await?,
        before,
        "the conversation"
    );
    jerry.expect_no_events("the anonymous attempts").await?;
    tom.expect_no_events("the anonymous attempts").await
}

/// Before `hello`, every op but `hello` is `hello_required` and changes nothing (§2.2).
pub async fn before_hello(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "t&j").await?;
    jerry.drain().await?;
    let before = snapshot(&mut tom, &[c.id]).await?;
    let mut raw = cx.open("no hello").await?;
    let ops: Vec<&str> = OPS.iter().copied().filter(|op| *op != "hello").collect();
    let mut findings = Findings::default();
    refuse_all(
        &mut raw,
        &ops,
        c.id,
        jerry.uid(),
        ErrorCode::HelloRequired,
        &mut findings,
    )
    .await?;
    let reply = raw
        .call("resume", json!({"token": tom.account().token}))
        .await?;
    findings.code(
        "resume with a valid token before hello",
        &reply,
        ErrorCode::HelloRequired,
    );
    findings.finish()?;
    same!(
        snapshot(&mut tom, &[c.id]).await?,
        before,
        "the conversation"
    );
    jerry.expect_no_events("the attempts before hello").await?;
    tom.expect_no_events("the attempts before hello").await
}

/// A member who is not the manager may read, write, update and leave, but adding anyone or
/// removing anyone else is `not_manager`, and changes nothing (§5 `add_members`,
/// `remove_members`).
pub async fn non_manager(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut spike = cx.user("spike").await?;
    let tyke = cx.user("tyke").await?;
    let mut tom = cx.user("tom").await?;
    let g = create(&mut tom, &[jerry.uid(), spike.uid()], "house").await?;
    for conn in [&mut jerry, &mut spike] {
        conn.drain().await?;
    }
    let mut findings = Findings::default();
    let attempts = [
        ("add_members", vec![tyke.uid()]),
        ("add_members", vec![jerry.uid(), tyke.uid()]),
        ("remove_members", vec![spike.uid()]),
        ("remove_members", vec![jerry.uid(), spike.uid()]),
    ];
    for (op, uids) in attempts {
        let reply = jerry
            .call(op, json!({"conversation_id": g.id, "user_ids": uids}))
            .await?;
        findings.code(
            &format!("jerry {op} {uids:?}"),
            &reply,
            ErrorCode::NotManager,
        );
    }
    findings.finish()?;
    same!(
        view(&mut tom, g.id).await?.conversation,
        g,
        "the group after the refusals"
    );
    spike.expect_no_events("refused membership changes").await?;
    for op in [
        "get_conversation",
        "get_messages",
        "send_text",
        "mark_read",
        "typing",
        "update_conversation",
    ] {
        jerry.ok(op, params_for(op, g.id, jerry.uid())).await?;
    }
    let jerry_uid = jerry.uid();
    let left = jerry
        .ok(
            "remove_members",
            json!({"conversation_id": g.id, "user_ids": [jerry_uid]}),
        )
        .await?;
    same!(
        left["user_ids"],
        json!([tom.uid(), spike.uid()]),
        "a member may leave"
    );
    Ok(())
}
