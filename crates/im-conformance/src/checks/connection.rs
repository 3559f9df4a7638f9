//! Connecting and frames (§2.1, §2.2, §3): `hello` and `ping`, request ids, optional and
//! unknown parameters, every malformed input with its error code and the connection carrying
//! on, and the plain HTTP answers of the WebSocket port.

use anyhow::{bail, ensure, Context as _, Result};
use im_proto::{ConversationId, ErrorCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{client_id, Findings};
use crate::client::{clip, request_text, tcp, Conn};
use crate::{same, Ctx};

/// `hello` answers protocol 1, the server's name, the limits (the same on every connection) and
/// its clock; the optional `client` and unknown fields are accepted (§2.2, §3.1).
pub async fn hello_result(cx: Ctx) -> Result<()> {
    let mut conn = cx.open("client").await?;
    let result = conn
        .ok(
            "hello",
            json!({"protocol": 1, "client": "im-conformance/1 (test)", "future_field": [1, 2]}),
        )
        .await?;
    let limits: im_proto::Limits = conn.decode("limits", &result["limits"])?;
    same!(
        limits,
        *cx.limits(),
        "the limits announced on every connection"
    );
    let mut bare = cx.open("bare").await?;
    let result = bare.ok("hello", json!({"protocol": 1})).await?;
    same!(result["protocol"], json!(1), "protocol");
    Ok(())
}

/// Before a successful `hello`, every other request, whatever else is wrong with it, is answered
/// `hello_required` with its id and not carried out; a frame without an id stays
/// `malformed_frame`; a `hello` with bad parameters is `invalid_params` (§2.2, §7).
pub async fn hello_required(cx: Ctx) -> Result<()> {
    let mut finder = cx.user("finder").await?;
    let mut raw = cx.open("raw").await?;
    let stranger = cx.username("stranger");
    let mut findings = Findings::default();
    let frames = [
        request_text(1, "ping", json!({})),
        request_text(
            2,
            "sign_up",
            json!({"username": stranger, "password": "long-enough-password"}),
        ),
        request_text(
            3,
            "sign_in",
            json!({"username": stranger, "password": "long-enough-password"}),
        ),
        r#"{"id":4,"op":"launch_missiles"}"#.to_owned(),
        r#"{"id":5,"op":"send_text","conversation_id":7}"#.to_owned(),
        r#"{"id":6,"op":"get_conversation"}"#.to_owned(),
    ];
    for (i, frame) in frames.iter().enumerate() {
        raw.send_text(frame).await?;
        let reply = raw.next_reply().await?;
        let id = i as u64 + 1;
        findings.check(reply.id == Some(id), || {
            format!("{frame}: the refusal carries id {id}, not {:?}", reply.id)
        });
        findings.code(frame, &reply.outcome, ErrorCode::HelloRequired);
    }
    raw.send_text(r#"{"op":"ping"}"#).await?;
    let reply = raw.next_reply().await?;
    findings.check(reply.id.is_none(), || {
        format!(
            "a frame without id: the error's id is null, not {:?}",
            reply.id
        )
    });
    findings.code(
        "a frame without id before hello",
        &reply.outcome,
        ErrorCode::MalformedFrame,
    );
    raw.send_text(r#"{"id":7,"op":"hello","protocol":"one"}"#)
        .await?;
    let reply = raw.next_reply().await?;
    findings.code(
        "hello with protocol \"one\"",
        &reply.outcome,
        ErrorCode::InvalidParams,
    );
    raw.ok("hello", json!({"protocol": 1})).await?;
    raw.ok("ping", json!({})).await?;
    let found = finder
        .ok("find_users", json!({"usernames": [stranger]}))
        .await?;
    findings.check(found["users"] == json!([]), || {
        format!("the sign_up before hello was carried out: find_users gives {found}")
    });
    findings.finish()
}

/// A `hello` naming another version is `unsupported_version`; it is not a successful hello
/// (other requests are still `hello_required`), and a correct one may follow (§2.2).
pub async fn unsupported_version(cx: Ctx) -> Result<()> {
    let mut conn = cx.open("client").await?;
    conn.refused(
        "hello",
        json!({"protocol": 2}),
        ErrorCode::UnsupportedVersion,
    )
    .await?;
    conn.refused(
        "hello",
        json!({"protocol": 0}),
        ErrorCode::UnsupportedVersion,
    )
    .await?;
    conn.refused("ping", json!({}), ErrorCode::HelloRequired)
        .await?;
    conn.ok("hello", json!({"protocol": 1})).await?;
    conn.ok("ping", json!({})).await?;
    Ok(())
}

/// `hello` may be repeated at any time and changes nothing: a signed-in connection stays
/// signed in (§2.2).
pub async fn hello_repeated(cx: Ctx) -> Result<()> {
    let mut tom = cx.user("tom").await?;
    tom.ok("hello", json!({"protocol": 1})).await?;
    tom.ok("hello", json!({"protocol": 1, "client": "again"}))
        .await?;
    tom.ok("list_conversations", json!({})).await?;
    let mut anon = cx.anon("anon").await?;
    anon.ok("hello", json!({"protocol": 1})).await?;
    anon.refused("list_conversations", json!({}), ErrorCode::Unauthenticated)
        .await?;
    Ok(())
}

/// `ping` needs `hello` but not sign-in and answers the server's clock; unknown fields are
/// ignored (§3.1, `ping`).
pub async fn ping(cx: Ctx) -> Result<()> {
    let mut anon = cx.anon("anon").await?;
    anon.ok("ping", json!({})).await?;
    anon.ok("ping", json!({"future_field": true, "nested": {"x": [1]}}))
        .await?;
    let mut tom = cx.user("tom").await?;
    tom.ok("ping", json!({})).await?;
    Ok(())
}

/// Any request id up to 2^64 − 1 is echoed exactly; ids need not be unique (§3.1, §3.2).
pub async fn request_ids(cx: Ctx) -> Result<()> {
    let mut conn = cx.anon("client").await?;
    for id in [0, 1, 9_007_199_254_740_993, u64::MAX - 1, u64::MAX] {
        conn.send_text(&request_text(id, "ping", json!({}))).await?;
        let reply = conn.next_reply().await?;
        same!(reply.id, Some(id), "the reply's id");
        ensure!(
            reply.text.contains(&format!("\"id\":{id},")),
            "id {id} is echoed exactly: {}",
            reply.text
        );
        ensure!(reply.outcome.is_ok(), "ping {id}: {:?}", reply.outcome);
    }
    // The same id twice: each request still gets exactly one reply.
    conn.send_text(&request_text(42, "ping", json!({}))).await?;
    conn.send_text(&request_text(42, "ping", json!({}))).await?;
    for _ in 0..2 {
        same!(conn.next_reply().await?.id, Some(42), "a repeated id");
    }
    conn.expect_no_events("no more replies").await?;
    Ok(())
}

/// Optional parameters may be left out or `null`, which counts as absent (§3.1).
pub async fn optional_params_null(cx: Ctx) -> Result<()> {
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let created = tom
        .ok(
            "create_conversation",
            json!({"user_ids": [jerry.uid()], "title": null, "icon": null, "remark": null,
                   "attrs": null, "unique": null}),
        )
        .await?;
    same!(created["created"], json!(true), "created with unique null");
    let c = &created["conversation"];
    same!(c["title"], json!(""), "title null is the default");
    same!(c["attrs"], json!({}), "attrs null is the default");
    let id = c["id"].clone();
    tom.ok(
        "send_text",
        json!({"conversation_id": id, "client_id": client_id(), "text": "x"}),
    )
    .await?;
    let page = tom
        .ok(
            "get_messages",
            json!({"conversation_id": id, "before": null, "after": null, "limit": null}),
        )
        .await?;
    same!(
        page["messages"].as_array().map(Vec::len),
        Some(1),
        "get_messages with nulls"
    );
    tom.ok("list_conversations", json!({"limit": null, "before": null}))
        .await?;
    tom.ok("sync", json!({"since": 0, "limit": null})).await?;
    tom.ok(
        "update_conversation",
        json!({"conversation_id": id, "title": "set", "icon": null}),
    )
    .await?;
    Ok(())
}

/// Frames that are not requests are `malformed_frame`, with the id when it could be read and
/// `null` otherwise; binary frames are refused the same way; the connection carries on (§2.1,
/// §3.2, §7).
pub async fn malformed_frame(cx: Ctx) -> Result<()> {
    let mut conn = cx.anon("client").await?;
    let mut findings = Findings::default();
    let cases: [(&str, Option<u64>); 10] = [
        (r#"{"id":1,"#, None),
        ("this is not json", None),
        ("[1,2,3]", None),
        (r#""hello""#, None),
        (r#"{"op":"ping"}"#, None),
        (r#"{"id":"seven","op":"ping"}"#, None),
        (r#"{"id":-1,"op":"ping"}"#, None),
        (r#"{"id":1.5,"op":"ping"}"#, None),
        (r#"{"id":7}"#, Some(7)),
        (r#"{"id":4,"op":7}"#, Some(4)),
    ];
    for (frame, id) in cases {
        conn.send_text(frame).await?;
        let reply = conn.next_reply().await?;
        findings.check(reply.id == id, || {
            format!(
                "{frame}: the error's id should be {id:?}, not {:?}",
                reply.id
            )
        });
        findings.code(frame, &reply.outcome, ErrorCode::MalformedFrame);
    }
    for (bytes, id) in [
        (vec![1u8, 2], None),
        (br#"{"id":77,"op":"ping"}"#.to_vec(), Some(77)),
        (vec![0xff, 0xfe, b'{'], None),
    ] {
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        conn.send_binary(bytes).await?;
        let reply = conn.next_reply().await?;
        findings.check(reply.id == id, || {
            format!(
                "binary {shown:?}: the error's id should be {id:?}, not {:?}",
                reply.id
            )
        });
        findings.code(
            &format!("binary {shown:?}"),
            &reply.outcome,
            ErrorCode::MalformedFrame,
        );
    }
    findings.finish()?;
    conn.ok("ping", json!({})).await?;
    Ok(())
}

/// An `op` the server does not know is `unknown_op`, with the id (§7).
pub async fn unknown_op(cx: Ctx) -> Result<()> {
    let mut tom = cx.user("tom").await?;
    for (id, op) in [(8u64, "drop_tables"), (9, "HELLO"), (10, "")] {
        tom.send_text(&request_text(id, op, json!({}))).await?;
        let reply = tom.next_reply().await?;
        same!(reply.id, Some(id), "the id of unknown op {op:?}");
        match &reply.outcome {
            Err(e) if e.code == ErrorCode::UnknownOp => {}
            other => bail!("op {op:?}: expected unknown_op, got {other:?}"),
        }
    }
    tom.ok("ping", json!({})).await?;
    Ok(())
}

/// A missing parameter, a wrong JSON type (an id given as a number or `null` included) or an
/// invalid value is `invalid_params`, and the message names the field (§3.1, §7).
pub async fn invalid_params(cx: Ctx) -> Result<()> {
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = super::support::create(&mut tom, &[jerry.uid()], "params").await?;
    let id = c.id.to_string();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"op": "send_text", "client_id": "a", "text": "hi"}),
            "conversation_id",
        ),
        (
            json!({"op": "send_text", "conversation_id": id, "client_id": "a", "text": 5}),
            "text",
        ),
        (
            json!({"op": "send_text", "conversation_id": id, "text": "hi"}),
            "client_id",
        ),
        (
            json!({"op": "get_conversation", "conversation_id": 5}),
            "conversation_id",
        ),
        (
            json!({"op": "get_conversation", "conversation_id": null}),
            "conversation_id",
        ),
        (json!({"op": "get_conversation"}), "conversation_id"),
        (json!({"op": "get_users", "uids": [42]}), "uids"),
        (json!({"op": "list_conversations", "limit": "ten"}), "limit"),
        (json!({"op": "list_conversations", "limit": -1}), "limit"),
        (
            json!({"op": "create_conversation", "user_ids": [], "unique": "yes"}),
            "unique",
        ),
        (json!({"op": "create_conversation"}), "user_ids"),
        (json!({"op": "mark_read", "conversation_id": id}), "seq"),
        (
            json!({"op": "typing", "conversation_id": id, "typing": "yes"}),
            "typing",
        ),
        (json!({"op": "sync"}), "since"),
        (
            json!({"op": "update_conversation", "conversation_id": id, "attrs": [1]}),
            "attrs",
        ),
        (json!({"op": "find_users", "usernames": "tom"}), "usernames"),
    ];
    let mut findings = Findings::default();
    for (n, (mut frame, field)) in cases.into_iter().enumerate() {
        let request_id = 100 + n as u64;
        frame["id"] = json!(request_id);
        let text = frame.to_string();
        tom.send_text(&text).await?;
        let reply = tom.next_reply().await?;
        findings.check(reply.id == Some(request_id), || {
            format!(
                "{text}: the error carries id {request_id}, not {:?}",
                reply.id
            )
        });
        findings.code(&text, &reply.outcome, ErrorCode::InvalidParams);
        if let Err(e) = &reply.outcome {
            findings.check(e.message.contains(field), || {
                format!(
                    "{text}: the message names the field {field}: {:?}",
                    e.message
                )
            });
        }
    }
    findings.finish()?;
    let view = super::support::view(&mut tom, c.id).await?;
    same!(view.last_seq, 0, "nothing was sent by the refused requests");
    Ok(())
}

/// An id that is not 32 lowercase hex characters is `bad_id`, wherever it is (§4.1, §7).
pub async fn bad_id(cx: Ctx) -> Result<()> {
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let c = super::support::create(&mut tom, &[jerry.uid()], "ids").await?;
    let good = c.id.to_string();
    let upper = good.to_uppercase();
    let dashed = format!(
        "{}-{}-{}-{}-{}",
        &good[..8],
        &good[8..12],
        &good[12..16],
        &good[16..20],
        &good[20..]
    );
    let short = good[..31].to_owned();
    let long = format!("{good}0");
    let mut findings = Findings::default();
    let mut cases: Vec<Value> = Vec::new();
    for bad in [
        "NOPE",
        upper.as_str(),
        dashed.as_str(),
        short.as_str(),
        long.as_str(),
        "",
    ] {
        cases.push(json!({"op": "get_conversation", "conversation_id": bad}));
    }
    cases.extend([
        json!({"op": "send_text", "conversation_id": "xyz", "client_id": "a", "text": "hi"}),
        json!({"op": "get_messages", "conversation_id": upper}),
        json!({"op": "mark_read", "conversation_id": short, "seq": 1}),
        json!({"op": "typing", "conversation_id": dashed, "typing": true}),
        json!({"op": "update_conversation", "conversation_id": "NOPE", "title": "x"}),
        json!({"op": "get_users", "uids": ["42"]}),
        json!({"op": "create_conversation", "user_ids": [jerry.uid(), "XYZ"]}),
        json!({"op": "add_members", "conversation_id": good, "user_ids": [upper]}),
        json!({"op": "remove_members", "conversation_id": good, "user_ids": ["nope"]}),
    ]);
    for (n, mut frame) in cases.into_iter().enumerate() {
        let request_id = 200 + n as u64;
        frame["id"] = json!(request_id);
        let text = frame.to_string();
        tom.send_text(&text).await?;
        let reply = tom.next_reply().await?;
        findings.check(reply.id == Some(request_id), || {
            format!(
                "{text}: the error carries id {request_id}, not {:?}",
                reply.id
            )
        });
        findings.code(&text, &reply.outcome, ErrorCode::BadId);
    }
    findings.finish()
}

/// The URL's query string is ignored (§2.1).
pub async fn query_string_ignored(cx: Ctx) -> Result<()> {
    let mut target = cx.target().clone();
    target.url = format!("{}?client=im-conformance&x=1", target.url);
    let mut conn = Conn::open(&target, "with query").await?;
    conn.ok("hello", json!({"protocol": 1})).await?;
    conn.ok("ping", json!({})).await?;
    Ok(())
}

/// A plain HTTP request (written as given, possibly without its end) and the answer the server
/// gave before closing the connection.
async fn http(cx: &Ctx, request: &[u8]) -> Result<Http> {
    let shown = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
    let mut stream = tcp(cx.target(), None).await?;
    stream.write_all(request).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(cx.target().timeout, stream.read_to_end(&mut raw))
        .await
        .with_context(|| format!("{shown:?}: not answered and closed in time"))?
        .with_context(|| format!("{shown:?}: reading the answer"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("{shown:?}: not an HTTP response: {text:?}");
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    cx.target().observer.note(format!(
        "http:{}",
        status_line.split(' ').nth(1).unwrap_or("?")
    ));
    Ok(Http {
        request: shown,
        status_line,
        headers,
        body: body.to_owned(),
    })
}

#[derive(Debug)]
struct Http {
    request: String,
    status_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The status, `Content-Type: text/plain`, a body whose length `Content-Length` gives, and
    /// `Connection: close` (§2.1).
    fn expect(&self, status: u16) -> Result<()> {
        let request = &self.request;
        ensure!(
            self.status_line.starts_with(&format!("HTTP/1.1 {status} ")),
            "{request:?}: expected status {status}, got {:?}",
            self.status_line
        );
        ensure!(
            self.header("content-type")
                .is_some_and(|v| v.starts_with("text/plain")),
            "{request:?}: Content-Type: text/plain, got {:?}",
            self.headers
        );
        let length = self.body.len().to_string();
        same!(
            self.header("content-length"),
            Some(length.as_str()),
            "{request:?}: Content-Length is the body's length"
        );
        ensure!(
            self.header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close")),
            "{request:?}: Connection: close, got {:?}",
            self.headers
        );
        Ok(())
    }

    fn expect_header(&self, name: &str, value: &str) -> Result<()> {
        ensure!(
            self.header(&name.to_ascii_lowercase())
                .is_some_and(|v| v.eq_ignore_ascii_case(value)),
            "{:?}: {name}: {value}, got {:?}",
            self.request,
            self.headers
        );
        Ok(())
    }
}

/// A plain GET of the WebSocket path (no upgrade) is answered 426 Upgrade Required with
/// `Upgrade: websocket` and `Sec-WebSocket-Version: 13` (§2.1).
pub async fn http_plain_get(cx: Ctx) -> Result<()> {
    let path = cx.target().path()?.to_owned();
    for request in [
        format!("GET {path} HTTP/1.1\r\nHost: conformance\r\n\r\n"),
        format!("GET {path}?x=1 HTTP/1.0\r\n\r\n"),
    ] {
        let answer = http(&cx, request.as_bytes()).await?;
        answer.expect(426)?;
        answer.expect_header("Upgrade", "websocket")?;
        answer.expect_header("Sec-WebSocket-Version", "13")?;
    }
    Ok(())
}

/// Any other path is answered 404 with the body `not found: connect to /ws` (a trailing line
/// break allowed); a WebSocket upgrade there is refused too (§2.1).
pub async fn http_other_path(cx: Ctx) -> Result<()> {
    let path = cx.target().path()?.to_owned();
    for target in ["/", "/favicon.ico", "/wsx", "/ws/more"] {
        let request = format!("GET {target} HTTP/1.1\r\nHost: conformance\r\n\r\n");
        let answer = http(&cx, request.as_bytes()).await?;
        answer.expect(404)?;
        same!(
            answer.body.trim_end_matches(['\r', '\n']),
            format!("not found: connect to {path}"),
            "{request:?}: the 404 body"
        );
    }
    let mut target = cx.target().clone();
    target.url = target.url.replace(&path, "/elsewhere");
    if let Ok(mut conn) = Conn::open(&target, "elsewhere").await {
        let reply = conn.call("hello", json!({"protocol": 1})).await;
        bail!(
            "a WebSocket on /elsewhere was accepted: {}",
            clip(&format!("{reply:?}"))
        );
    }
    Ok(())
}

/// Another method on the WebSocket path is answered 405 Method Not Allowed with `Allow: GET`
/// (§2.1).
pub async fn http_other_method(cx: Ctx) -> Result<()> {
    let path = cx.target().path()?.to_owned();
    for method in ["DELETE", "POST", "PUT"] {
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: conformance\r\nContent-Length: 0\r\n\r\n");
        let answer = http(&cx, request.as_bytes()).await?;
        answer.expect(405)?;
        answer.expect_header("Allow", "GET")?;
    }
    Ok(())
}

/// A web page's WebSocket handshake (it carries an `Origin` header) from an origin the server does
/// not allow is answered 403 Forbidden (§2.1, §8); by default a server allows none.
pub async fn http_origin_not_allowed(cx: Ctx) -> Result<()> {
    let path = cx.target().path()?.to_owned();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: conformance\r\nOrigin: https://conformance.invalid\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    http(&cx, request.as_bytes()).await?.expect(403)
}

/// Bytes that are not HTTP at all are answered 400 Bad Request (§2.1).
pub async fn http_not_http(cx: Ctx) -> Result<()> {
    let tls_hello: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    for request in [tls_hello, b"{\"id\":1,\"op\":\"hello\"}\r\n\r\n"] {
        http(&cx, request).await?.expect(400)?;
    }
    Ok(())
}

/// A request head over 8 KiB is answered 431 Request Header Fields Too Large (§2.1). (The kit
/// sends the first 8 KiB of a longer head and waits for the answer.)
pub async fn http_head_too_large(cx: Ctx) -> Result<()> {
    let path = cx.target().path()?.to_owned();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: conformance\r\nX-Padding: ").into_bytes();
    head.resize(8 * 1024, b'a');
    http(&cx, &head).await?.expect(431)
}

/// The document's quick start works as written (§1, §10): hello, sign up, sign in, find the
/// other user, create the conversation with `unique`, send the seed's text; the other side
/// receives `conversation_created` and `message`.
pub async fn quick_start(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let found = tom
        .ok(
            "find_users",
            json!({"usernames": [jerry.account().user.username.to_uppercase()]}),
        )
        .await?;
    same!(
        found["users"][0]["uid"],
        json!(jerry.uid()),
        "find_users finds jerry"
    );
    let created = tom
        .ok(
            "create_conversation",
            json!({"user_ids": [jerry.uid()], "title": "Tom & Jerry", "unique": true}),
        )
        .await?;
    let conversation: im_proto::Conversation =
        tom.decode("the conversation", &created["conversation"])?;
    let id: ConversationId = conversation.id;
    let sent = tom
        .ok(
            "send_text",
            json!({"conversation_id": id, "client_id": client_id(), "text": "耗子，起床啦"}),
        )
        .await?;
    let message: im_proto::Message = tom.decode("the message", &sent)?;
    same!(message.seq, 1, "the first message's seq");
    jerry
        .expect_events(
            &[
                im_proto::Event::ConversationCreated(conversation),
                im_proto::Event::Message(message),
            ],
            "jerry hears of the conversation, then of the message",
        )
        .await?;
    Ok(())
}
