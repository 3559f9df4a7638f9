//! Limits and closes (§2.1, §2.5, §4.10, §8): the per-connection request rate, page and list
//! sizes, member counts, frame sizes, and every way the server closes a connection — 1009 for a
//! frame over the hard cap, 1013 for a reader that falls behind, 1007 and 1002 for WebSocket
//! violations, and the normal close handshake.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use im_proto::{ErrorCode, Event};
use serde_json::{json, Value};

use super::support::{create, history, random_uids, text, view, Findings};
use crate::client::{masked_frame, request_text, Closed, Conn};
use crate::{same, Ctx, Skip};

/// A burst over `request_burst` on one connection is refused `rate_limited` with
/// `retry_after_ms`; no more are accepted than the bucket allows; after waiting, the same
/// request is accepted; other connections are not affected (§8, §9.7).
pub async fn rate_limited(cx: Ctx) -> Result<()> {
    let limits = cx.limits().clone();
    let mut conn = cx.anon("client").await?;
    // A second's worth of refill past the burst: no server reads that many frames that slowly.
    let n = limits.request_burst as usize + 1 + (limits.requests_per_second as usize).max(50);
    let frames: Vec<(u64, String)> = (0..n).map(|_| conn.frame("ping", json!({}))).collect();
    let started = Instant::now();
    conn.send_burst(&frames.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>())
        .await?;
    let (mut accepted, mut limited, mut wait) = (0usize, 0usize, 0u64);
    for (id, _) in &frames {
        match conn.reply(*id).await? {
            Ok(_) => accepted += 1,
            Err(e) if e.code == ErrorCode::RateLimited => {
                limited += 1;
                wait = wait.max(e.retry_after_ms.unwrap_or_default());
            }
            Err(e) => bail!("ping {id}: {e}"),
        }
    }
    let elapsed = started.elapsed();
    ensure!(
        limited > 0,
        "{n} pings sent at once in {elapsed:?} were all accepted (request_burst {})",
        limits.request_burst
    );
    let bound = limits.request_burst as f64
        + limits.requests_per_second as f64 * elapsed.as_secs_f64()
        + 1.0;
    ensure!(
        accepted as f64 <= bound,
        "{accepted} of {n} pings were accepted within {elapsed:?}: the bucket allows at most \
         {bound:.0}"
    );
    let mut other = cx.anon("other").await?;
    other.ok("ping", json!({})).await?;
    tokio::time::sleep(Duration::from_millis(wait + 10)).await;
    let (id, frame) = conn.frame("ping", json!({}));
    conn.send_text_now(&frame).await?;
    if let Err(e) = conn.reply(id).await? {
        bail!("a ping after waiting retry_after_ms ({wait} ms): {e}");
    }
    Ok(())
}

/// A frame that cannot be read as a request (made from its id), and the code it gets.
type Unreadable = (fn(u64) -> String, ErrorCode);

/// Every text or binary frame counts against the request rate, frames that cannot be read as a
/// request included: a burst of them beyond `request_burst` is answered `rate_limited` from
/// some point on, each of the others with its own code (§8).
pub async fn unreadable_frames_are_charged(cx: Ctx) -> Result<()> {
    let limits = cx.limits().clone();
    let mut conn = cx.anon("client").await?;
    // A second's worth of refill past the burst: no server reads that many frames that slowly.
    let n = limits.request_burst as usize + 1 + (limits.requests_per_second as usize).max(50);
    let kinds: [Unreadable; 4] = [
        (|_| "not json".to_owned(), ErrorCode::MalformedFrame),
        (
            |id| request_text(id, "no_such_op", json!({})),
            ErrorCode::UnknownOp,
        ),
        (
            |id| request_text(id, "get_conversation", json!({"conversation_id": "NOPE"})),
            ErrorCode::BadId,
        ),
        (
            |id| request_text(id, "send_text", json!({})),
            ErrorCode::InvalidParams,
        ),
    ];
    let frames: Vec<String> = (0..n)
        .map(|i| (kinds[i % kinds.len()].0)(1_000 + i as u64))
        .collect();
    let started = Instant::now();
    conn.send_burst(&frames).await?;
    let (mut answered, mut limited, mut wait) = (0usize, 0usize, 0u64);
    for i in 0..n {
        let reply = conn.next_reply().await?;
        let expected = kinds[i % kinds.len()].1;
        match &reply.outcome {
            Err(e) if e.code == expected => answered += 1,
            Err(e) if e.code == ErrorCode::RateLimited => {
                limited += 1;
                wait = wait.max(e.retry_after_ms.unwrap_or_default());
            }
            other => bail!(
                "frame {i} ({}): expected {expected}, got {other:?}",
                frames[i]
            ),
        }
    }
    let elapsed = started.elapsed();
    ensure!(
        limited > 0,
        "{n} unreadable frames sent at once in {elapsed:?} were all answered with their own \
         codes: they do not count against the rate (request_burst {})",
        limits.request_burst
    );
    let bound = limits.request_burst as f64
        + limits.requests_per_second as f64 * elapsed.as_secs_f64()
        + 1.0;
    ensure!(
        answered as f64 <= bound,
        "{answered} of {n} unreadable frames were read within {elapsed:?}: the bucket allows at \
         most {bound:.0}"
    );
    tokio::time::sleep(Duration::from_millis(wait + 10)).await;
    let (id, frame) = conn.frame("ping", json!({}));
    conn.send_text_now(&frame).await?;
    if let Err(e) = conn.reply(id).await? {
        bail!("a ping after waiting retry_after_ms ({wait} ms): {e}");
    }
    Ok(())
}

/// WebSocket control frames are not charged: more pings than `request_burst`, then a request,
/// which is accepted (§8).
pub async fn control_frames_not_charged(cx: Ctx) -> Result<()> {
    let limits = cx.limits().clone();
    let mut conn = cx.anon("client").await?;
    let n = limits.request_burst as usize + (limits.requests_per_second as usize).max(50);
    conn.send_ws_pings(n).await?;
    let (id, frame) = conn.frame("ping", json!({}));
    conn.send_text_now(&frame).await?;
    if let Err(e) = conn.reply(id).await? {
        bail!("a ping op after {n} WebSocket pings: {e}");
    }
    Ok(())
}

/// `limit` is 1 to `max_page` for `list_conversations`, `sync` and `get_messages`; `find_users`
/// and `get_users` take at most `max_page` names or uids, `remove_members` at most
/// `max_members` uids; beyond, `invalid_params` (§8).
pub async fn page_limits(cx: Ctx) -> Result<()> {
    let limits = cx.limits().clone();
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "pages").await?;
    let max = limits.max_page;
    let mut asks = Asks {
        max_frame_bytes: limits.max_frame_bytes,
        findings: Findings::default(),
        unchecked: Vec::new(),
    };
    for op in ["list_conversations", "sync", "get_messages"] {
        for (limit, ok) in [(0, false), (max + 1, false), (1, true), (max, true)] {
            let params = json!({"conversation_id": c.id, "since": 0, "limit": limit});
            asks.ask(&mut tom, op, params, ok).await?;
        }
    }
    let names = |n: usize| (0..n).map(|i| format!("nobody{i}")).collect::<Vec<_>>();
    asks.ask(
        &mut tom,
        "find_users",
        json!({"usernames": names(max)}),
        true,
    )
    .await?;
    asks.ask(
        &mut tom,
        "find_users",
        json!({"usernames": names(max + 1)}),
        false,
    )
    .await?;
    asks.ask(
        &mut tom,
        "get_users",
        json!({"uids": random_uids(max)}),
        true,
    )
    .await?;
    asks.ask(
        &mut tom,
        "get_users",
        json!({"uids": random_uids(max + 1)}),
        false,
    )
    .await?;
    let g = create(&mut tom, &[], "").await?;
    asks.ask(
        &mut tom,
        "remove_members",
        json!({"conversation_id": g.id, "user_ids": random_uids(limits.max_members + 1)}),
        false,
    )
    .await?;
    asks.findings.finish()?;
    if !asks.unchecked.is_empty() {
        return Err(Skip(asks.unchecked.join("; ")).into());
    }
    Ok(())
}

/// Requests at and over a limit, and what they got.
struct Asks {
    max_frame_bytes: usize,
    findings: Findings,
    unchecked: Vec<String>,
}

impl Asks {
    /// Asks `op`; records a mismatch unless it succeeds (`ok`) or is `invalid_params`.
    async fn ask(&mut self, conn: &mut Conn, op: &str, params: Value, ok: bool) -> Result<()> {
        let size = request_text(u64::MAX, op, params.clone()).len();
        if size > self.max_frame_bytes {
            self.unchecked
                .push(format!("{op} with {size} bytes exceeds max_frame_bytes"));
            return Ok(());
        }
        let reply = conn.call(op, params).await?;
        if ok {
            self.findings
                .check(reply.is_ok(), || format!("{op} at the limit: {reply:?}"));
        } else {
            self.findings.code(
                &format!("{op} over the limit"),
                &reply,
                ErrorCode::InvalidParams,
            );
        }
        Ok(())
    }
}

/// More than `max_members` uids in `create_conversation` or `add_members` is
/// `too_many_members` (the count is checked before the uids are looked up), and nothing changes
/// (§4.10, `create_conversation`, `add_members`).
pub async fn too_many_members(cx: Ctx) -> Result<()> {
    let limits = cx.limits().clone();
    let crowd = random_uids(limits.max_members + 1);
    if request_text(1, "create_conversation", json!({"user_ids": crowd})).len()
        > limits.max_frame_bytes
    {
        return Err(Skip(format!(
            "{} uids do not fit in a frame of {} bytes",
            crowd.len(),
            limits.max_frame_bytes
        ))
        .into());
    }
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    tom.refused(
        "create_conversation",
        json!({"user_ids": crowd}),
        ErrorCode::TooManyMembers,
    )
    .await?;
    let g = create(
        &mut tom,
        &[jerry.uid(), cx.user("spike").await?.uid()],
        "group",
    )
    .await?;
    jerry.drain().await?;
    tom.refused(
        "add_members",
        json!({"conversation_id": g.id, "user_ids": crowd}),
        ErrorCode::TooManyMembers,
    )
    .await?;
    same!(
        view(&mut tom, g.id).await?.conversation,
        g,
        "the group after the refusal"
    );
    jerry.expect_no_events("refused").await?;
    Ok(())
}

/// A text frame over `max_frame_bytes` is `frame_too_large` with its id when it is JSON with
/// one (`null` otherwise), a binary one too; a frame of exactly `max_frame_bytes` is read; the
/// connection carries on and nothing refused is carried out (§2.1, §3.2).
pub async fn frame_too_large(cx: Ctx) -> Result<()> {
    let limit = cx.limits().max_frame_bytes;
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "big").await?;
    let padded = |id: u64, size: usize| {
        let head = format!(
            r#"{{"id":{id},"op":"send_text","conversation_id":"{}","client_id":"big","text":""#,
            c.id
        );
        format!("{head}{}\"}}", "x".repeat(size - head.len() - 2))
    };
    let mut findings = Findings::default();
    let big = padded(500, limit + 1);
    tom.send_text(&big).await?;
    let reply = tom.next_reply().await?;
    findings.check(reply.id == Some(500), || {
        format!(
            "an oversize JSON request is refused with its id, not {:?}",
            reply.id
        )
    });
    findings.code(
        "a text frame of max_frame_bytes + 1",
        &reply.outcome,
        ErrorCode::FrameTooLarge,
    );
    tom.send_text(&"x".repeat(limit + 1)).await?;
    let reply = tom.next_reply().await?;
    findings.check(reply.id.is_none(), || {
        format!(
            "oversize non-JSON is refused with id null, not {:?}",
            reply.id
        )
    });
    findings.code(
        "oversize non-JSON",
        &reply.outcome,
        ErrorCode::FrameTooLarge,
    );
    tom.send_binary(padded(77, limit + 1).into_bytes()).await?;
    let reply = tom.next_reply().await?;
    findings.check(reply.id == Some(77), || {
        format!(
            "an oversize binary JSON request is refused with its id, not {:?}",
            reply.id
        )
    });
    findings.code(
        "an oversize binary frame",
        &reply.outcome,
        ErrorCode::FrameTooLarge,
    );
    let head = r#"{"id":9,"op":"ping","pad":""#;
    let exact = format!("{head}{}\"}}", " ".repeat(limit - head.len() - 2));
    tom.send_text(&exact).await?;
    let reply = tom.next_reply().await?;
    findings.check(reply.id == Some(9) && reply.outcome.is_ok(), || {
        format!(
            "a frame of exactly max_frame_bytes is read: {:?}",
            reply.outcome
        )
    });
    findings.finish()?;
    tom.ok("ping", json!({})).await?;
    same!(
        view(&mut tom, c.id).await?.last_seq,
        0,
        "the refused send stored nothing"
    );
    Ok(())
}

/// A frame over 16 × `max_frame_bytes` is not read: `frame_too_large` with `"id":null`, then
/// close 1009; everyone else carries on (§2.1, §2.5).
pub async fn close_1009_frame_over_hard_cap(cx: Ctx) -> Result<()> {
    let limit = cx.limits().max_frame_bytes;
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "hard cap").await?;
    let mut oversize = tom.session("tom-oversize").await?;
    // The server stops reading mid-frame, so this write may fail; its answer still arrives.
    let _ = oversize.send_text_now(&"y".repeat(16 * limit + 1)).await;
    let closed = oversize.wait_closed().await?;
    let reply = oversize.next_reply().await;
    match reply {
        Ok(r) => {
            same!(r.id, None, "the refusal's id");
            match r.outcome {
                Err(e) if e.code == ErrorCode::FrameTooLarge => {}
                other => bail!("expected frame_too_large before the close, got {other:?}"),
            }
        }
        Err(e) => bail!("no frame_too_large before the close ({closed:?}): {e:#}"),
    }
    same!(closed.code(), Some(1009), "the close code ({closed:?})");
    let sent = jerry.ok("send_text", text(c.id, "ok?")).await?;
    same!(sent["seq"], json!(1), "another connection carries on");
    tom.ok("ping", json!({})).await?;
    Ok(())
}

async fn violation(cx: &Ctx, first_byte: u8, payload: &[u8], code: u16) -> Result<()> {
    let mut conn = cx.anon("violator").await?;
    conn.write_bytes(&masked_frame(first_byte, payload)).await?;
    let closed = conn.wait_closed().await?;
    same!(closed.code(), Some(code), "the close code ({closed:?})");
    let mut other = cx.anon("bystander").await?;
    other.ok("ping", json!({})).await?;
    Ok(())
}

/// A text frame that is not UTF-8 closes the connection with 1007 (RFC 6455 §5.6, §7.4.1).
pub async fn close_1007_invalid_utf8(cx: Ctx) -> Result<()> {
    violation(
        &cx,
        0x81,
        b"{\"id\":1,\"op\":\"ping\",\"x\":\"\xff\xfe\"}",
        1007,
    )
    .await
}

/// A frame with a reserved bit set (no extension was negotiated, §2.1) closes the connection
/// with 1002 (RFC 6455 §5.2).
pub async fn close_1002_reserved_bit(cx: Ctx) -> Result<()> {
    violation(&cx, 0xC1, b"{}", 1002).await
}

/// A frame with an unknown opcode closes the connection with 1002 (RFC 6455 §5.2).
pub async fn close_1002_unknown_opcode(cx: Ctx) -> Result<()> {
    violation(&cx, 0x83, b"{}", 1002).await
}

/// A client frame that is not masked closes the connection with 1002 (RFC 6455 §5.1).
pub async fn close_1002_unmasked_frame(cx: Ctx) -> Result<()> {
    let mut frame = vec![0x81u8, 2];
    frame.extend_from_slice(b"{}");
    let mut conn = cx.anon("violator").await?;
    conn.write_bytes(&frame).await?;
    let closed = conn.wait_closed().await?;
    same!(closed.code(), Some(1002), "the close code ({closed:?})");
    Ok(())
}

/// A client's close frame is answered with the normal close handshake: the server's close frame
/// (1000), then the end of the connection (§2.5).
pub async fn normal_close(cx: Ctx) -> Result<()> {
    let mut tom = cx.user("tom").await?;
    tom.send_close().await?;
    let closed = tom.wait_closed().await?;
    same!(
        closed,
        Closed::Frame(Some(1000), closed_reason(&closed)),
        "the server's answer"
    );
    Ok(())
}

fn closed_reason(closed: &Closed) -> String {
    match closed {
        Closed::Frame(_, reason) => reason.clone(),
        Closed::Dropped(_) => String::new(),
    }
}

/// A connection that does not read while more frames pile up for it than its outbound queue
/// holds (1024, §2.5) is closed with 1013 after what was queued; the events it got came in
/// order, and nothing was lost: `sync` and `get_messages` have every message (§2.5, §9.1).
///
/// The flood first fills the TCP buffers between server and reader with large `message` events
/// (`slow_reader_fill_bytes`), then piles up `slow_reader_frames` small `typing` events, which
/// cost the server no storage, from other connections paced within the rate limit.
pub async fn close_1013_slow_reader(cx: Ctx) -> Result<()> {
    let limits = cx.limits().clone();
    let options = cx.options().clone();
    let room = limits.max_frame_bytes.saturating_sub(400);
    let (unit, unit_bytes) = if limits.max_text_chars * 3 <= room {
        ("耗", 3)
    } else {
        ("x", 1)
    };
    let body = unit.repeat(limits.max_text_chars.min(room / unit_bytes).max(1));
    let messages = options.slow_reader_fill_bytes.div_ceil(body.len() + 300);
    let notices = options.slow_reader_frames;
    let per_sender = (limits.request_burst as usize * 3 / 4)
        .saturating_sub(8)
        .max(1);
    let connections = (messages + notices).div_ceil(per_sender);
    if connections > 40 {
        return Err(Skip(format!(
            "flooding a connection within the rate limit would take {connections} connections \
             of {per_sender} requests"
        ))
        .into());
    }
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = create(&mut tom, &[jerry.uid()], "flood").await?;
    let mut slow = jerry.session_with("jerry-slow", Some(4096)).await?;
    let account = jerry.account().clone();
    jerry.send_close().await?;
    jerry.wait_closed().await?;
    let mut senders = Vec::new();
    for i in 1..connections {
        senders.push(tom.session(&format!("tom-{i}")).await?);
    }
    senders.push(tom);
    let count = senders.len();
    let cid = c.id;
    let share = |total: usize, i: usize| total / count + usize::from(i < total % count);
    let started = Instant::now();
    // First the messages (every sender sees them all: they are sessions of one member), then,
    // once all are stored, the typing notices.
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, mut sender)| {
            let mine = share(messages, i);
            let body = body.clone();
            tokio::spawn(async move {
                let frames: Vec<(u64, String)> = (0..mine)
                    .map(|_| sender.frame("send_text", text(cid, &body)))
                    .collect();
                sender
                    .send_burst(&frames.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>())
                    .await?;
                for (id, _) in &frames {
                    if let Err(e) = sender.reply(*id).await? {
                        bail!("{}: a send was refused: {e}", sender.label());
                    }
                }
                let mut seen = mine + sender.take_events().len();
                while seen < messages {
                    sender.next_event().await?;
                    seen += 1;
                }
                anyhow::Ok(sender)
            })
        })
        .collect();
    let mut senders = Vec::new();
    for task in tasks {
        senders.push(task.await??);
    }
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, mut sender)| {
            let mine = share(notices, i);
            tokio::spawn(async move {
                let frames: Vec<(u64, String)> = (0..mine)
                    .map(|n| {
                        sender.frame(
                            "typing",
                            json!({"conversation_id": cid, "typing": n % 2 == 0}),
                        )
                    })
                    .collect();
                sender
                    .send_burst(&frames.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>())
                    .await?;
                for (id, _) in &frames {
                    if let Err(e) = sender.reply(*id).await? {
                        bail!("{}: typing was refused: {e}", sender.label());
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let flood = started.elapsed();
    let closed = slow.wait_closed().await?;
    let events = slow.take_events();
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.event() {
            Some(Event::Message(m)) => Some(m.seq),
            _ => None,
        })
        .collect();
    let sent = messages + notices;
    match closed.code() {
        Some(1013) => {}
        _ => bail!(
            "after {} of {sent} events ({messages} messages, then {notices} typing notices, sent \
             in {flood:?}) the slow reader's connection ended with {closed:?}, not close 1013",
            events.len()
        ),
    }
    ensure!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "the messages before the close came in seq order: {seqs:?}"
    );
    ensure!(
        events.len() < sent,
        "all {sent} events arrived before the close"
    );
    let mut back = cx.anon("jerry-back").await?;
    back.ok("resume", json!({"token": account.token})).await?;
    back.set_signed_in(account);
    same!(
        view(&mut back, c.id).await?.last_seq,
        messages as u64,
        "the conversation"
    );
    same!(
        history(&mut back, c.id).await?.len(),
        messages,
        "every message is in get_messages"
    );
    Ok(())
}
