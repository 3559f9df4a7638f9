//! Accounts and sessions (§2.3, §4.5, `sign_up` … `get_users`, §9.8): names and passwords,
//! tokens, the sign-in throttle, signing out everywhere the token is used, and looking users up.

use anyhow::{ensure, Result};
use im_proto::{ErrorCode, Event, Uid, User};
use serde_json::{json, Value};

use super::support::{create, send, Findings};
use crate::client::str_field;
use crate::{same, Ctx};

fn sign_up_params(username: &str, password: &str, display_name: Option<&str>) -> Value {
    json!({"username": username, "password": password, "display_name": display_name})
}

fn sign_in_params(username: &str, password: &str) -> Value {
    json!({"username": username, "password": password})
}

/// `sign_up` trims and lower-cases the username, trims the display name (absent or empty means
/// the username), answers the new user, and does not sign the connection in; the password then
/// signs in (`sign_up`, §4.5).
pub async fn sign_up(cx: Ctx) -> Result<()> {
    let mut conn = cx.anon("client").await?;
    let tom = cx.username("tom");
    let result = conn
        .ok(
            "sign_up",
            sign_up_params(
                &format!("  {}  ", tom.to_uppercase()),
                "tom-password",
                Some("  Tom Cat  "),
            ),
        )
        .await?;
    let user: User = conn.decode("sign_up's user", &result["user"])?;
    same!(user.username, tom, "the username, trimmed and lower-cased");
    same!(user.display_name, "Tom Cat", "the display name, trimmed");
    conn.refused("list_conversations", json!({}), ErrorCode::Unauthenticated)
        .await?;
    for (name, display_name) in [("jerry", None), ("spike", Some("")), ("tyke", Some("   "))] {
        let username = cx.username(name);
        let result = conn
            .ok(
                "sign_up",
                sign_up_params(&username, "long-enough", display_name),
            )
            .await?;
        let user: User = conn.decode("sign_up's user", &result["user"])?;
        same!(
            user.display_name,
            username,
            "display name {display_name:?} means the username"
        );
    }
    let signed = conn
        .ok("sign_in", sign_in_params(&tom, "tom-password"))
        .await?;
    let again: User = conn.decode("sign_in's user", &signed["user"])?;
    same!(again, user, "sign_in's user is the one signed up");
    Ok(())
}

/// Usernames are 3 to 32 characters from `a-z 0-9 _ . -` after trimming and lower-casing,
/// passwords 8 to 256 bytes (bytes, not characters), display names at most 64 characters after
/// trimming (`sign_up`, §8).
pub async fn sign_up_limits(cx: Ctx) -> Result<()> {
    let mut conn = cx.anon("client").await?;
    let mut findings = Findings::default();
    let long_name = format!(
        "{}{}",
        cx.username(""),
        "a".repeat(33 - cx.username("").len())
    );
    for bad in [
        "ab".to_owned(),
        "  ab  ".to_owned(),
        long_name,
        cx.username("tom cat"),
        cx.username("tom!"),
        cx.username("汤姆"),
        String::new(),
    ] {
        let reply = conn
            .call("sign_up", sign_up_params(&bad, "long-enough", None))
            .await?;
        findings.code(
            &format!("username {bad:?}"),
            &reply,
            ErrorCode::InvalidUsername,
        );
    }
    let longest = format!(
        "{}{}",
        cx.username(""),
        "z".repeat(32 - cx.username("").len())
    );
    let reply = conn
        .call("sign_up", sign_up_params(&longest, "long-enough", None))
        .await?;
    findings.check(reply.is_ok(), || {
        format!("a 32-character username: {reply:?}")
    });

    let too_long = "p".repeat(257);
    for (name, password) in [("short", "7 bytes"), ("long", too_long.as_str())] {
        let reply = conn
            .call(
                "sign_up",
                sign_up_params(&cx.username(name), password, None),
            )
            .await?;
        findings.code(
            &format!("a password of {} bytes", password.len()),
            &reply,
            ErrorCode::InvalidPassword,
        );
    }
    for (name, password) in [
        ("p8", "8 bytes!".to_owned()),
        ("p256", "p".repeat(256)),
        ("p9b", "密码密".to_owned()),
    ] {
        let reply = conn
            .call(
                "sign_up",
                sign_up_params(&cx.username(name), &password, None),
            )
            .await?;
        findings.check(reply.is_ok(), || {
            format!(
                "a password of {} bytes is accepted: {reply:?}",
                password.len()
            )
        });
    }
    let reply = conn
        .call(
            "sign_up",
            sign_up_params(&cx.username("d65"), "long-enough", Some(&"名".repeat(65))),
        )
        .await?;
    findings.code(
        "a display name of 65 characters",
        &reply,
        ErrorCode::FieldTooLong,
    );
    let padded = format!("  {}  ", "名".repeat(64));
    let reply = conn
        .call(
            "sign_up",
            sign_up_params(&cx.username("d64"), "long-enough", Some(&padded)),
        )
        .await?;
    match &reply {
        Ok(v) => findings.check(v["user"]["display_name"] == json!("名".repeat(64)), || {
            format!("a 64-character display name, trimmed: {v}")
        }),
        Err(e) => findings.push(format!("a 64-character display name is accepted: {e}")),
    }
    // None of the refused sign-ups created an account.
    let mut finder = cx.user("finder").await?;
    let found = finder
        .ok(
            "find_users",
            json!({"usernames": [cx.username("short"), cx.username("long"), cx.username("d65")]}),
        )
        .await?;
    findings.check(found["users"] == json!([]), || {
        format!("refused sign-ups created accounts: {found}")
    });
    findings.finish()
}

/// A display name that could pass for something else by its rendering — text-direction or
/// control characters, or nothing visible — is `invalid_display_name` and creates no account;
/// other scripts, emoji and joiners inside them are fine. (The code as im-proto defines it;
/// PROTOCOL.md does not list it yet.)
pub async fn display_name_characters(cx: Ctx) -> Result<()> {
    let mut conn = cx.anon("client").await?;
    let mut findings = Findings::default();
    let refused = [
        ("rtl", "\u{202E}nimda metsys"),
        ("isolate", "a\u{2067}b"),
        ("newline", "two\nlines"),
        ("nul", "tom\u{0}"),
        ("zwsp", "\u{200B}\u{200B}"),
        ("filler", " \u{3164} "),
    ];
    for (name, display_name) in refused {
        let reply = conn
            .call(
                "sign_up",
                sign_up_params(&cx.username(name), "long-enough", Some(display_name)),
            )
            .await?;
        findings.code(
            &format!("display name {display_name:?}"),
            &reply,
            ErrorCode::InvalidDisplayName,
        );
    }
    for (name, display_name) in [
        ("family", "👨\u{200D}👩\u{200D}👧 family"),
        ("mouse", "耗子"),
    ] {
        let reply = conn
            .call(
                "sign_up",
                sign_up_params(&cx.username(name), "long-enough", Some(display_name)),
            )
            .await?;
        match reply {
            Ok(v) => findings.check(v["user"]["display_name"] == json!(display_name), || {
                format!("display name {display_name:?} is stored as given: {v}")
            }),
            Err(e) => findings.push(format!("display name {display_name:?} was refused: {e}")),
        }
    }
    let mut finder = cx.user("finder").await?;
    let names: Vec<String> = refused.iter().map(|(name, _)| cx.username(name)).collect();
    let found = finder.ok("find_users", json!({"usernames": names})).await?;
    findings.check(found["users"] == json!([]), || {
        format!("refused sign-ups created accounts: {found}")
    });
    findings.finish()
}

/// A username is taken whatever its case or surrounding spaces (`sign_up`).
pub async fn username_taken(cx: Ctx) -> Result<()> {
    let mut conn = cx.anon("client").await?;
    let name = cx.username("tom");
    conn.ok("sign_up", sign_up_params(&name, "tom-password", None))
        .await?;
    for again in [name.clone(), name.to_uppercase(), format!(" {name} ")] {
        conn.refused(
            "sign_up",
            sign_up_params(&again, "other-password", None),
            ErrorCode::UsernameTaken,
        )
        .await?;
    }
    Ok(())
}

/// `sign_in` takes the username in any case with spaces around, answers the user and a token of
/// 64 lowercase hex characters, creates a new session each time, and cuts (does not refuse) a
/// long device label (`sign_in`, §9.8).
pub async fn sign_in(cx: Ctx) -> Result<()> {
    let tom = cx.user("tom").await?;
    let account = tom.account().clone();
    let mut tokens = vec![account.token.clone()];
    for (label, device) in [
        ("laptop", "x".repeat(150)),
        ("phone", "Gtedx IM on Linux".into()),
    ] {
        let mut conn = cx.anon(label).await?;
        let result = conn
            .ok(
                "sign_in",
                json!({"username": format!("  {}  ", account.user.username.to_uppercase()),
                       "password": account.password, "device": device}),
            )
            .await?;
        let user: User = conn.decode("sign_in's user", &result["user"])?;
        same!(user, account.user, "the signed-in user");
        tokens.push(str_field(&result, "token")?.to_owned());
        conn.ok("list_conversations", json!({})).await?;
    }
    tokens.sort();
    tokens.dedup();
    same!(
        tokens.len(),
        3,
        "every sign_in creates a new session with its own token"
    );
    for token in tokens {
        let mut conn = cx.anon("resumer").await?;
        conn.ok("resume", json!({"token": token})).await?;
    }
    Ok(())
}

/// A wrong password, an unknown username and a malformed one are all `wrong_credentials`; the
/// right password still works after a few failures (`sign_in`).
pub async fn wrong_credentials(cx: Ctx) -> Result<()> {
    let tom = cx.user("tom").await?;
    let name = tom.account().user.username.clone();
    let mut conn = cx.anon("client").await?;
    for (username, password) in [
        (name.as_str(), "wrong-password"),
        (&cx.username("nobody") as &str, "whatever-password"),
        ("x", "whatever-password"),
    ] {
        conn.refused(
            "sign_in",
            sign_in_params(username, password),
            ErrorCode::WrongCredentials,
        )
        .await?;
    }
    conn.ok("sign_in", sign_in_params(&name, &tom.account().password))
        .await?;
    Ok(())
}

/// Failed sign-ins slow further attempts down instead of locking anyone out (§5 `sign_in`): after
/// 5 failures for a username from one address, the next attempt from there — even with the right
/// password — waits about a second, and each further failure doubles the wait; another user from
/// the same address is not affected; once the wait is over the right password works.
pub async fn sign_in_throttle(cx: Ctx) -> Result<()> {
    let spike = cx.user("spike").await?;
    let jerry = cx.user("jerry").await?;
    let name = spike.account().user.username.clone();
    let right = spike.account().password.clone();
    let mut conn = cx.anon("client").await?;
    for _ in 0..5 {
        conn.refused(
            "sign_in",
            sign_in_params(&name, "a-wrong-guess"),
            ErrorCode::WrongCredentials,
        )
        .await?;
    }
    let first = conn
        .refused(
            "sign_in",
            sign_in_params(&name, &right),
            ErrorCode::RateLimited,
        )
        .await?
        .retry_after_ms
        .unwrap_or(0);
    ensure!(
        (1..=1_001).contains(&first),
        "after 5 failures the next attempt waits about a second, not {first} ms"
    );
    tokio::time::sleep(std::time::Duration::from_millis(first + 50)).await;
    conn.refused(
        "sign_in",
        sign_in_params(&name, "another-wrong-guess"),
        ErrorCode::WrongCredentials,
    )
    .await?;
    let second = conn
        .refused(
            "sign_in",
            sign_in_params(&name, &right),
            ErrorCode::RateLimited,
        )
        .await?
        .retry_after_ms
        .unwrap_or(0);
    ensure!(
        (1_001..=2_001).contains(&second),
        "one more failure doubles the wait to about two seconds, not {second} ms"
    );
    let mut other = cx.anon("other").await?;
    other
        .ok(
            "sign_in",
            sign_in_params(&jerry.account().user.username, &jerry.account().password),
        )
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(second + 50)).await;
    conn.ok("sign_in", sign_in_params(&name, &right)).await?;
    Ok(())
}

/// `sign_in`, `sign_up` and `resume` on a signed-in connection are `already_signed_in` and do
/// nothing (§2.3).
pub async fn already_signed_in(cx: Ctx) -> Result<()> {
    let mut tom = cx.user("tom").await?;
    let account = tom.account().clone();
    tom.refused(
        "sign_in",
        sign_in_params(&account.user.username, &account.password),
        ErrorCode::AlreadySignedIn,
    )
    .await?;
    let newcomer = cx.username("newcomer");
    tom.refused(
        "sign_up",
        sign_up_params(&newcomer, "long-enough", None),
        ErrorCode::AlreadySignedIn,
    )
    .await?;
    tom.refused(
        "resume",
        json!({"token": account.token}),
        ErrorCode::AlreadySignedIn,
    )
    .await?;
    let found = tom
        .ok("find_users", json!({"usernames": [newcomer]}))
        .await?;
    same!(
        found["users"],
        json!([]),
        "the refused sign_up created nobody"
    );
    tom.ok("list_conversations", json!({})).await?;
    Ok(())
}

/// `resume` signs in with a token on any number of connections at once; an unknown or malformed
/// token is `invalid_token` (`resume`).
pub async fn resume(cx: Ctx) -> Result<()> {
    let tom = cx.user("tom").await?;
    let account = tom.account().clone();
    let mut sessions = Vec::new();
    for n in 0..3 {
        let mut conn = cx.anon(&format!("device {n}")).await?;
        let result = conn.ok("resume", json!({"token": account.token})).await?;
        let user: User = conn.decode("resume's user", &result["user"])?;
        same!(user, account.user, "the resumed user");
        sessions.push(conn);
    }
    for conn in &mut sessions {
        conn.ok("list_conversations", json!({})).await?;
    }
    let mut conn = cx.anon("client").await?;
    for bad in [
        "abc".to_owned(),
        String::new(),
        "0".repeat(64),
        account.token.to_uppercase(),
        format!("{}0", account.token),
    ] {
        conn.refused("resume", json!({"token": bad}), ErrorCode::InvalidToken)
            .await?;
    }
    conn.refused("list_conversations", json!({}), ErrorCode::Unauthenticated)
        .await?;
    Ok(())
}

/// `sign_out` answers `{}` and leaves the connection open and signed out; the other connections
/// using the same token get `signed_out` and are signed out too (left open); other sessions of
/// the user notice nothing; the token no longer resumes; signing in again works (`sign_out`,
/// `signed_out`, §9.8).
pub async fn sign_out(cx: Ctx) -> Result<()> {
    let mut jerry = cx.user("jerry").await?;
    let mut phone = cx.user("tom").await?;
    let mut laptop = phone.session("tom-laptop").await?;
    let mut desktop = phone.new_session("tom-desktop").await?;
    let c = create(&mut jerry, &[phone.uid()], "before").await?;
    for conn in [&mut phone, &mut laptop, &mut desktop] {
        conn.expect_events(&[Event::ConversationCreated(c.clone())], "tom hears of it")
            .await?;
    }
    let token = phone.account().token.clone();
    phone.ok("sign_out", json!({})).await?;
    phone
        .refused("list_conversations", json!({}), ErrorCode::Unauthenticated)
        .await?;
    phone.ok("ping", json!({})).await?;
    let told = laptop.drain().await?;
    ensure!(
        told.len() == 1 && told[0].name == "signed_out",
        "the laptop, on the same token, gets exactly signed_out: {told:?}"
    );
    laptop
        .refused(
            "get_conversation",
            json!({"conversation_id": c.id}),
            ErrorCode::Unauthenticated,
        )
        .await?;
    laptop.ok("ping", json!({})).await?;
    desktop.expect_no_events("another session of tom").await?;
    desktop.ok("list_conversations", json!({})).await?;
    let mut again = cx.anon("tom-again").await?;
    again
        .refused("resume", json!({"token": token}), ErrorCode::InvalidToken)
        .await?;
    // Signed-out connections receive no more events; the other session does.
    let sent = send(&mut jerry, c.id, "still there?").await?;
    desktop
        .expect_events(&[Event::Message(sent)], "the desktop hears jerry")
        .await?;
    phone.expect_no_events("a signed-out connection").await?;
    laptop.expect_no_events("a signed-out connection").await?;
    // Signing in again on the same connection works, with a new token.
    let account = phone.account().clone();
    let signed = phone
        .ok(
            "sign_in",
            sign_in_params(&account.user.username, &account.password),
        )
        .await?;
    ensure!(
        str_field(&signed, "token")? != token,
        "a new sign-in gives a new token"
    );
    phone
        .ok("get_conversation", json!({"conversation_id": c.id}))
        .await?;
    Ok(())
}

/// `find_users`: exact usernames after trimming and lower-casing, in the order asked, each once;
/// unknown and malformed names are left out (`find_users`).
pub async fn find_users(cx: Ctx) -> Result<()> {
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let j = jerry.account().user.clone();
    let t = tom.account().user.clone();
    let found = tom
        .ok(
            "find_users",
            json!({"usernames": [
                format!(" {} ", j.username.to_uppercase()),
                cx.username("nobody"),
                "x",
                "not a name!",
                t.username,
                j.username,
                &j.username[..j.username.len() - 1],
            ]}),
        )
        .await?;
    let users: Vec<User> = tom.decode("find_users' users", &found["users"])?;
    same!(
        users,
        vec![j, t],
        "the users found, in the order asked, each once"
    );
    let none = tom.ok("find_users", json!({"usernames": []})).await?;
    same!(none["users"], json!([]), "no names, no users");
    Ok(())
}

/// `get_users`: by uid, in the order asked, each once; unknown uids are left out (`get_users`).
pub async fn get_users(cx: Ctx) -> Result<()> {
    let jerry = cx.user("jerry").await?;
    let mut tom = cx.user("tom").await?;
    let j = jerry.account().user.clone();
    let t = tom.account().user.clone();
    let found = tom
        .ok(
            "get_users",
            json!({"uids": [j.uid, Uid::random(), t.uid, j.uid]}),
        )
        .await?;
    let users: Vec<User> = tom.decode("get_users' users", &found["users"])?;
    same!(
        users,
        vec![j, t],
        "the users found, in the order asked, each once"
    );
    Ok(())
}

/// `list_sessions` lists the caller's own sessions, newest first, the asking one `current`;
/// `revoke_session` signs another one out (its connection gets `signed_out`, its token stops
/// working); the caller's own session (that is `sign_out`), another user's and an unknown id are
/// refused (`list_sessions`, `revoke_session`).
pub async fn sessions(cx: Ctx) -> Result<()> {
    let mut laptop = cx.user("tom").await?;
    let mut phone = laptop.new_session("tom-phone").await?;
    let mut jerry = cx.user("jerry").await?;
    let listed = laptop.ok("list_sessions", json!({})).await?;
    let sessions: Vec<im_proto::SessionInfo> = laptop.decode("sessions", &listed["sessions"])?;
    same!(sessions.len(), 2, "tom's two sessions, not jerry's");
    ensure!(
        sessions[0].created_at >= sessions[1].created_at,
        "newest first: {sessions:?}"
    );
    let own: Vec<_> = sessions.iter().filter(|s| s.current).collect();
    same!(own.len(), 1, "exactly one session is the asking one");
    let own = own[0].id.clone();
    let other = sessions
        .iter()
        .find(|s| !s.current)
        .expect("two")
        .id
        .clone();
    ensure!(
        own.len() == 16 && own.bytes().all(|b| b.is_ascii_hexdigit()),
        "a session id is 16 hex characters: {own:?}"
    );
    let from_phone = phone.ok("list_sessions", json!({})).await?;
    let seen: Vec<im_proto::SessionInfo> = phone.decode("sessions", &from_phone["sessions"])?;
    ensure!(
        seen.iter().any(|s| s.current && s.id == other),
        "the phone sees itself as current: {seen:?}"
    );
    laptop
        .refused(
            "revoke_session",
            json!({"session_id": own}),
            ErrorCode::InvalidParams,
        )
        .await?;
    jerry
        .refused(
            "revoke_session",
            json!({"session_id": other}),
            ErrorCode::SessionNotFound,
        )
        .await?;
    laptop
        .refused(
            "revoke_session",
            json!({"session_id": "0123456789abcdef"}),
            ErrorCode::SessionNotFound,
        )
        .await?;
    let phone_token = phone.account().token.clone();
    laptop
        .ok("revoke_session", json!({"session_id": other}))
        .await?;
    let told = phone.drain().await?;
    ensure!(
        told.len() == 1 && told[0].name == "signed_out",
        "the revoked phone gets exactly signed_out: {told:?}"
    );
    phone
        .refused("list_sessions", json!({}), ErrorCode::Unauthenticated)
        .await?;
    let mut again = cx.anon("tom-again").await?;
    again
        .refused(
            "resume",
            json!({"token": phone_token}),
            ErrorCode::InvalidToken,
        )
        .await?;
    let left = laptop.ok("list_sessions", json!({})).await?;
    let left: Vec<im_proto::SessionInfo> = laptop.decode("sessions", &left["sessions"])?;
    same!(left.len(), 1, "one session left");
    same!(left[0].id, own, "the laptop's");
    Ok(())
}

/// `change_password` needs the current password (`wrong_credentials` otherwise) and a valid new
/// one; it signs out every other session of the account, keeps the asking one, and from then on
/// only the new password signs in (`change_password`).
pub async fn change_password(cx: Ctx) -> Result<()> {
    let mut laptop = cx.user("tom").await?;
    let mut phone = laptop.new_session("tom-phone").await?;
    let account = laptop.account().clone();
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});
    laptop
        .refused(
            "change_password",
            change("not-the-password", "a-new-password"),
            ErrorCode::WrongCredentials,
        )
        .await?;
    laptop
        .refused(
            "change_password",
            change(&account.password, "short"),
            ErrorCode::InvalidPassword,
        )
        .await?;
    let result = laptop
        .ok(
            "change_password",
            change(&account.password, "a-new-password"),
        )
        .await?;
    same!(result, json!({}), "change_password's result is empty");
    let told = phone.drain().await?;
    ensure!(
        told.len() == 1 && told[0].name == "signed_out",
        "the other session gets exactly signed_out: {told:?}"
    );
    laptop.ok("list_sessions", json!({})).await?;
    let mut again = cx.anon("tom-again").await?;
    again
        .refused(
            "sign_in",
            sign_in_params(&account.user.username, &account.password),
            ErrorCode::WrongCredentials,
        )
        .await?;
    again
        .ok(
            "sign_in",
            sign_in_params(&account.user.username, "a-new-password"),
        )
        .await?;
    Ok(())
}
