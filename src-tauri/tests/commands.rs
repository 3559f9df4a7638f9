//! The app's commands through Tauri's IPC (mock runtime, no window on screen), against a real
//! im-server and the real Secret Service of the session (run inside `.ci/desktop-env`).

use std::time::{Duration, Instant};

mod common;

use common::TestApp;
use serde_json::{json, Value};
use tauri::async_runtime::block_on;
use tauri::Manager;

fn wait_event(rx: &std::sync::mpsc::Receiver<Value>, pick: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = rx.recv_timeout(left).expect("the event did not come");
        if pick(&event) {
            return event;
        }
    }
}

fn server() -> (im_server::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = im_server::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("im.sqlite3"),
    );
    let running = tauri::async_runtime::block_on(im_server::start(config)).unwrap();
    (running, dir)
}

#[test]
fn info_and_refusals_before_signing_in() {
    let app = TestApp::start("info");
    let info = app.ok("app_info", json!({}));
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["profile"], "info");
    assert_eq!(info["defaultServerUrl"], "ws://127.0.0.1:7822/ws");
    assert_eq!(info["maxTextChars"], 4096);
    assert_eq!(app.ok("restore_session", json!({})), Value::Null);
    let first = app.ok("bootstrap", json!({}));
    assert_eq!(
        first["account"],
        Value::Null,
        "nothing in the keyring: {first}"
    );
    assert_eq!(first["conversations"], json!([]));
    assert_eq!(first["error"], Value::Null);
    assert_eq!(first["connection"], json!({"state": "offline"}));
    for (cmd, args) in [
        ("list_conversations", json!({})),
        ("find_user", json!({"username": "jerry"})),
        (
            "send_text",
            json!({"conversationId": "00000000000000000000000000000000", "text": "hi"}),
        ),
    ] {
        let e = app.err(cmd, args);
        assert_eq!(e["code"], "not_signed_in", "{cmd}: {e}");
    }
    assert_eq!(
        app.ok("connection_state", json!({})),
        json!({"state": "offline"})
    );
    app.close();
}

#[test]
fn sign_up_chat_and_restore_from_the_keyring() {
    let (server, _dir) = server();
    let url = server.url();
    // Jerry exists; Tom uses the app.
    tauri::async_runtime::block_on(im_sdk::sign_up(
        &url,
        "jerry",
        &im_sdk::Secret::new("jerry-password"),
        Some("Jerry"),
    ))
    .unwrap();

    let app = TestApp::start("cmd-tom");
    let events = app.events();
    let wrong = app.err(
        "sign_in",
        json!({"serverUrl": url, "username": "tom", "password": "nope-nope"}),
    );
    assert_eq!(wrong["code"], "wrong_credentials");
    let account = app.ok(
        "sign_up",
        json!({"serverUrl": url, "username": "tom", "password": "tom-password", "displayName": "Tom"}),
    );
    assert_eq!(account["username"], "tom");
    assert_eq!(account["displayName"], "Tom");
    assert!(
        account.get("token").is_none(),
        "the token never reaches the UI: {account}"
    );
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });

    let jerry = app.ok("find_user", json!({"username": "Jerry"}));
    assert_eq!(jerry["displayName"], "Jerry");
    assert_eq!(
        app.ok("find_user", json!({"username": "nobody"})),
        Value::Null
    );
    let chat = app.ok(
        "create_conversation",
        json!({"userIds": [jerry["uid"]], "title": null, "unique": true}),
    );
    assert_eq!(chat["type"], "SINGLE_CHAT");
    assert_eq!(
        chat["displayTitle"], "Jerry",
        "a 1:1 chat is named after the other person"
    );
    let bad = app.err(
        "load_messages",
        json!({"conversationId": "not-an-id", "beforeSeq": null, "limit": 10}),
    );
    assert_eq!(bad["code"], "bad_id");

    let pending = app.ok(
        "send_text",
        json!({"conversationId": chat["id"], "text": "耗子，起床啦"}),
    );
    assert_eq!(pending["status"], "sending");
    assert_eq!(pending["own"], true);
    let sent = wait_event(&events, |e| {
        e["kind"] == "message" && e["message"]["status"] == "sent"
    });
    assert_eq!(
        sent["message"]["clientId"], pending["clientId"],
        "the ack updates the same message"
    );
    assert_eq!(sent["message"]["seq"], 1);
    let empty = app.err(
        "send_text",
        json!({"conversationId": chat["id"], "text": "   "}),
    );
    assert_eq!(empty["code"], "invalid_input");

    let page = app.ok(
        "load_messages",
        json!({"conversationId": chat["id"], "beforeSeq": null, "limit": 50}),
    );
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["text"], "耗子，起床啦");
    let list = app.ok("list_conversations", json!({}));
    assert_eq!(list[0]["lastMessage"]["text"], "耗子，起床啦");
    // Found by a part of it, with its conversation's title (the other person's name).
    let hits = app.ok("search_messages", json!({"query": "起床"}));
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["message"]["text"], "耗子，起床啦");
    assert_eq!(hits[0]["message"]["conversationId"], chat["id"]);
    assert_eq!(hits[0]["conversationTitle"], "Jerry");
    assert_eq!(
        app.ok("search_messages", json!({"query": "起来", "limit": 5})),
        json!([])
    );
    // Settings → Storage: the cache's size and messages; cleared, the list and its preview stay
    // and the history comes back from the server (and is cached and found again).
    let usage = app.ok("cache_usage", json!({}));
    assert_eq!(usage["messages"], 1, "{usage}");
    assert!(usage["bytes"].as_u64().unwrap() > 0, "{usage}");
    let cleared = app.ok("clear_cache", json!({}));
    assert_eq!(cleared["messages"], 0, "{cleared}");
    assert_eq!(
        app.ok("search_messages", json!({"query": "起床"})),
        json!([])
    );
    let list = app.ok("list_conversations", json!({}));
    assert_eq!(list[0]["lastMessage"]["text"], "耗子，起床啦");
    let page = app.ok(
        "load_messages",
        json!({"conversationId": chat["id"], "beforeSeq": null, "limit": 50}),
    );
    assert_eq!(page["messages"][0]["text"], "耗子，起床啦", "{page}");
    assert_eq!(app.ok("cache_usage", json!({}))["messages"], 1);
    assert_eq!(
        app.ok("search_messages", json!({"query": "起床"}))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Paged, most recent activity first.
    let second = app.ok(
        "create_conversation",
        json!({"userIds": [jerry["uid"]], "title": "plans", "unique": false}),
    );
    let first_page = app.ok("list_conversations", json!({"offset": 0, "limit": 1}));
    let second_page = app.ok("list_conversations", json!({"offset": 1, "limit": 1}));
    let beyond = app.ok("list_conversations", json!({"offset": 2, "limit": 1}));
    assert_eq!(first_page.as_array().unwrap().len(), 1);
    let firsts = [first_page[0]["id"].clone(), second_page[0]["id"].clone()];
    assert!(
        firsts.contains(&second["id"]) && firsts.contains(&chat["id"]),
        "{firsts:?}"
    );
    assert_ne!(firsts[0], firsts[1]);
    assert!(beyond.as_array().unwrap().is_empty());
    app.close();

    // The app restarts: its first screen in one call, signed in from the keyring, the list
    // from the cache.
    let again = TestApp::start("cmd-tom");
    let first = again.ok("bootstrap", json!({}));
    assert_eq!(first["account"]["username"], "tom");
    assert!(first["account"].get("token").is_none(), "{first}");
    assert_eq!(first["error"], Value::Null);
    assert_eq!(first["info"]["profile"], "cmd-tom");
    let shown = first["conversations"].as_array().unwrap();
    assert_eq!(shown.len(), 2, "{first}");
    assert!(shown.iter().any(|c| c["displayTitle"] == "Jerry"));
    assert!(first["connection"]["state"].is_string(), "{first}");
    let list = again.ok("list_conversations", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["displayTitle"] == "Jerry"));

    // Signing out forgets the session on the server and in the keyring.
    again.ok("sign_out", json!({}));
    assert_eq!(again.ok("restore_session", json!({})), Value::Null);
    again.close();
    tauri::async_runtime::block_on(server.shutdown());
}

fn server_at(addr: std::net::SocketAddr, dir: &std::path::Path) -> im_server::RunningServer {
    let config = im_server::Config::new(addr, dir.join("im.sqlite3"));
    tauri::async_runtime::block_on(im_server::start(config)).unwrap()
}

#[test]
fn signing_out_offline_revokes_the_session_once_the_server_is_back_and_can_forget_the_data() {
    let (server, dir) = server();
    let url = server.url();
    let addr = server.local_addr();
    let app = TestApp::start("cmd-offline-sign-out");
    let events = app.events();
    let account = app.ok(
        "sign_up",
        json!({"serverUrl": url, "username": "tom", "password": "tom-password", "displayName": "Tom"}),
    );
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    let state = app.app.state::<gtedx_im::AppState>();
    let uid: im_sdk::Uid = account["uid"].as_str().unwrap().parse().unwrap();
    let cache = state.cache_path(uid);
    assert!(cache.exists(), "{}", cache.display());
    // The server goes away; Tom signs out and asks to remove his data.
    tauri::async_runtime::block_on(server.shutdown());
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] != "online"
    });
    app.ok("sign_out", json!({"forgetData": true}));
    assert_eq!(app.ok("restore_session", json!({})), Value::Null);
    assert!(!cache.exists(), "the account's data is gone");
    let pending = state.credentials.pending_sign_outs().unwrap();
    assert_eq!(pending.len(), 1, "the revocation waits for the server");
    let session = pending[0].clone();
    // The server is back: the revocation goes through, and the token no longer works.
    let server = server_at(addr, dir.path());
    let left = tauri::async_runtime::block_on(state.retry_sign_outs()).unwrap();
    assert_eq!(left, 0);
    assert!(state.credentials.pending_sign_outs().unwrap().is_empty());
    match tauri::async_runtime::block_on(im_sdk::sign_out(&session)) {
        Err(im_sdk::Error::SignedOut(_)) => {}
        other => panic!("the token still works: {other:?}"),
    }
    app.close();
    tauri::async_runtime::block_on(server.shutdown());
}

#[test]
fn two_sign_ins_at_once_leave_exactly_one_client_running() {
    let (server, _dir) = server();
    let url = server.url();
    for name in ["tom", "jerry"] {
        tauri::async_runtime::block_on(im_sdk::sign_up(
            &url,
            name,
            &im_sdk::Secret::new(format!("{name}-password")),
            None,
        ))
        .unwrap();
    }
    let app = TestApp::start("cmd-two-sign-ins");
    let events = app.events();
    let both: Vec<_> = ["tom", "jerry"]
        .into_iter()
        .map(|name| {
            let window = app.window.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                common::invoke_on(
                    &window,
                    "sign_in",
                    json!({"serverUrl": url, "username": name, "password": format!("{name}-password")}),
                )
                .unwrap()
            })
        })
        .collect();
    for t in both {
        t.join().unwrap();
    }
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    // The other client, if it was left running, would hold a connection too.
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.online_connections() != 1 {
        assert!(
            Instant::now() < deadline,
            "{} connections online",
            server.online_connections()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // And stays so for a round trip of the one that runs.
    app.ok("find_user", json!({"username": "tom"}));
    assert_eq!(server.online_connections(), 1);
    app.close();
    tauri::async_runtime::block_on(server.shutdown());
}

#[test]
fn mute_leave_and_block_through_the_commands() {
    let (server, _dir) = server();
    let url = server.url();
    let jerry_session = block_on(im_sdk::sign_up(
        &url,
        "jerry",
        &im_sdk::Secret::new("jerry-password"),
        Some("Jerry"),
    ))
    .unwrap();
    let jerry_uid = jerry_session.user.uid;

    let app = TestApp::start("cmd-privacy");
    let events = app.events();
    let tom = app.ok(
        "sign_up",
        json!({"serverUrl": url, "username": "tom", "password": "tom-password", "displayName": "Tom"}),
    );
    let tom_uid: im_sdk::Uid = tom["uid"].as_str().unwrap().parse().unwrap();
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    let chat = app.ok(
        "create_conversation",
        json!({"userIds": [jerry_uid.to_string()], "title": null, "unique": true}),
    );
    assert_eq!(chat["muted"], false);

    // Mute: the list item says so, through the event and the list.
    app.ok(
        "set_muted",
        json!({"conversationId": chat["id"], "muted": true}),
    );
    let item = wait_event(&events, |e| {
        e["kind"] == "conversation" && e["conversation"]["id"] == chat["id"]
    });
    assert_eq!(item["conversation"]["muted"], true);
    let list = app.ok("list_conversations", json!({}));
    assert_eq!(list[0]["muted"], true);

    // Block and unblock, with the event and the list of blocked users (names included).
    app.ok("block_user", json!({"uid": jerry_uid.to_string()}));
    let changed = wait_event(&events, |e| e["kind"] == "blockChanged");
    assert_eq!(changed["uid"], jerry_uid.to_string());
    assert_eq!(changed["blocked"], true);
    let blocked = app.ok("blocked_users", json!({}));
    assert_eq!(blocked[0]["username"], "jerry");
    assert_eq!(blocked[0]["displayName"], "Jerry");
    assert_eq!(
        app.err("block_user", json!({"uid": "nope"}))["code"],
        "bad_id"
    );
    // While blocked the chat takes no messages either way: Tom's own fails, with the reason.
    let pending = app.ok(
        "send_text",
        json!({"conversationId": chat["id"], "text": "still there?"}),
    );
    let client_id = pending["clientId"].clone();
    let failed = wait_event(&events, |e| {
        e["kind"] == "message"
            && e["message"]["clientId"] == client_id
            && e["message"]["status"] == "failed"
    });
    assert_eq!(failed["message"]["error"]["code"], "blocked");
    app.ok("unblock_user", json!({"uid": jerry_uid.to_string()}));
    assert_eq!(app.ok("blocked_users", json!({})), json!([]));
    // Unblocked, the failed message is sent again (the same client id) and goes through.
    let retried = app.ok(
        "retry_send",
        json!({"conversationId": chat["id"], "clientId": client_id}),
    );
    assert_eq!(retried["status"], "sending");
    let sent = wait_event(&events, |e| {
        e["kind"] == "message"
            && e["message"]["clientId"] == client_id
            && e["message"]["status"] == "sent"
    });
    assert_eq!(sent["message"]["text"], "still there?");

    // Jerry adds Tom to a group: the app hears who did it, and Tom can leave.
    let jerry_conn = block_on(async {
        let service = im_sdk::ImService::new();
        let client = service.create_im_client(jerry_session).unwrap();
        client.set_cache(im_sdk::MemoryCache::new()).unwrap();
        client
    });
    let spike = block_on(im_sdk::sign_up(
        &url,
        "spike",
        &im_sdk::Secret::new("spike-password"),
        None,
    ))
    .unwrap();
    let group = block_on(jerry_conn.create_conversation(im_sdk::CreateConversation {
        user_ids: vec![tom_uid, spike.user.uid],
        title: Some("cheese".into()),
        ..Default::default()
    }))
    .unwrap();
    let added = wait_event(&events, |e| e["kind"] == "addedToGroup");
    assert_eq!(added["conversationId"], group.id().to_string());
    assert_eq!(added["title"], "cheese");
    assert_eq!(added["by"]["username"], "jerry");
    app.ok(
        "leave_conversation",
        json!({"conversationId": group.id().to_string()}),
    );
    let list = app.ok("list_conversations", json!({}));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != group.id().to_string()),
        "the group left the list: {list}"
    );
    block_on(jerry_conn.close());
    app.close();
    block_on(server.shutdown());
}

/// An invite-only server: the sign-up form learns it needs a code, the code signs up; then the
/// settings screen's devices and password change.
#[test]
fn invite_sign_up_devices_and_password_through_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("im.sqlite3");
    let mut config = im_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.sign_up = im_sdk::SignUpMode::Invite;
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = block_on(im_server::start(config)).unwrap();
    let url = server.url();
    let admin = server.admin_addr();
    let code = match im_server::administer(
        &database,
        admin,
        im_server::AdminRequest::InviteCreate {
            uses: 1,
            expires_in_secs: None,
        },
    )
    .unwrap()
    .1
    {
        im_server::AdminResponse::Invite { code, .. } => code.expose().to_owned(),
        other => panic!("{other:?}"),
    };

    let app = TestApp::start("cmd-accounts");
    let events = app.events();
    assert_eq!(
        app.ok(
            "server_sign_up_mode",
            json!({"server": url, "allowInsecure": false})
        ),
        "invite"
    );
    assert_eq!(
        app.err(
            "server_sign_up_mode",
            json!({"server": "ws://chat.example.org", "allowInsecure": false})
        )["code"],
        "insecure_server"
    );
    let sign_up = |invite: Value| {
        json!({"serverUrl": url, "username": "tom", "password": "tom-password",
               "displayName": "Tom", "invite": invite})
    };
    assert_eq!(
        app.err("sign_up", sign_up(Value::Null))["code"],
        "invite_required"
    );
    assert_eq!(
        app.err("sign_up", sign_up(json!("AAAA-BBBB-CCCC-DDDD")))["code"],
        "invite_invalid"
    );
    app.ok("sign_up", sign_up(json!(code.to_lowercase())));
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    let phone = block_on(im_sdk::sign_in(
        &url,
        "tom",
        &im_sdk::Secret::new("tom-password"),
        Some("phone"),
    ))
    .unwrap();

    let sessions = app.ok("list_sessions", json!({}));
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0]["device"], "phone", "newest first");
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    assert!(sessions[1]["createdAt"].as_i64().unwrap() > 0);
    let phone_id = sessions[0]["id"].clone();
    app.ok("revoke_session", json!({"sessionId": phone_id}));
    assert_eq!(
        app.err("revoke_session", json!({"sessionId": phone_id}))["code"],
        "session_not_found"
    );
    let resumed = block_on(async {
        let client = im_sdk::ImService::new().create_im_client(phone).unwrap();
        client.set_cache(im_sdk::MemoryCache::new()).unwrap();
        client.find_user("tom").await
    });
    assert!(resumed.is_err(), "the phone's session is gone");

    assert_eq!(
        app.err(
            "change_password",
            json!({"oldPassword": "not-it", "newPassword": "a-new-password"})
        )["code"],
        "wrong_credentials"
    );
    assert_eq!(
        app.err(
            "change_password",
            json!({"oldPassword": "tom-password", "newPassword": "short"})
        )["code"],
        "invalid_password"
    );
    app.ok(
        "change_password",
        json!({"oldPassword": "tom-password", "newPassword": "a-new-password"}),
    );
    // This device stays signed in, and the new password works elsewhere.
    assert_eq!(
        app.ok("list_sessions", json!({})).as_array().unwrap().len(),
        1
    );
    block_on(im_sdk::sign_in(
        &url,
        "tom",
        &im_sdk::Secret::new("a-new-password"),
        None,
    ))
    .unwrap();
    app.close();
}

#[test]
fn desktop_settings_through_the_commands() {
    let profile = "desktop-settings";
    let app = TestApp::start(profile);
    let first = app.ok("desktop_settings", json!({}));
    assert_eq!(first["closeToTray"], true, "{first}");
    assert_eq!(first["startAtLogin"], false, "{first}");
    assert_eq!(first["notificationsMutedUntil"], Value::Null, "{first}");
    assert!(first["trayAvailable"].is_boolean(), "{first}");
    // Linux: WebKit without the GPU unless asked for, from the next start.
    assert_eq!(
        first["hardwareAcceleration"],
        json!({"enabled": false, "active": false}),
        "{first}"
    );
    let gpu = app.ok("set_hardware_acceleration", json!({"enabled": true}));
    assert_eq!(
        gpu["hardwareAcceleration"],
        json!({"enabled": true, "active": false}),
        "chosen, not running yet: {gpu}"
    );

    // Close to tray: off, and still off at the next start.
    let off = app.ok("set_close_to_tray", json!({"enabled": false}));
    assert_eq!(off["closeToTray"], false);

    // A pause for an hour, then resumed; an unknown span is refused.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let paused = app.ok("mute_notifications", json!({"span": "hour"}));
    let until = paused["notificationsMutedUntil"].as_i64().expect("paused");
    assert!(
        (until - now_ms - 3_600_000).abs() < 60_000,
        "an hour from now: {until} vs {now_ms}"
    );
    let tomorrow = app.ok("mute_notifications", json!({"span": "tomorrow"}));
    let morning = tomorrow["notificationsMutedUntil"]
        .as_i64()
        .expect("paused");
    assert!(
        morning > now_ms && morning <= now_ms + 48 * 3_600_000,
        "{tomorrow}"
    );
    let resumed = app.ok("mute_notifications", json!({"span": "off"}));
    assert_eq!(resumed["notificationsMutedUntil"], Value::Null);
    app.err("mute_notifications", json!({"span": "forever"}));

    // Start at login: the desktop's autostart entry for this profile, starting in the tray.
    let home = std::env::var_os("HOME").expect("HOME (a temporary one in .ci/desktop-env)");
    let entry = std::path::Path::new(&home)
        .join(".config/autostart")
        .join(format!("gtedx-im-profile-{profile}.desktop"));
    let on = app.ok("set_start_at_login", json!({"enabled": true}));
    assert_eq!(on["startAtLogin"], true, "{on}");
    let written = std::fs::read_to_string(&entry).expect("the autostart entry");
    assert!(
        written.contains("--minimized") && written.contains(&format!("--profile {profile}")),
        "{written}"
    );
    let off = app.ok("set_start_at_login", json!({"enabled": false}));
    assert_eq!(off["startAtLogin"], false);
    assert!(!entry.exists(), "the entry is gone");

    // Updates: a development build not pointed at a feed does not update itself; checking
    // automatically can be turned off, and stays off.
    let update = app.ok("update_status", json!({}));
    assert_eq!(
        update["currentVersion"],
        env!("CARGO_PKG_VERSION"),
        "{update}"
    );
    assert_eq!(update["autoCheck"], true, "{update}");
    assert_eq!(update["state"]["kind"], "idle", "{update}");
    assert_eq!(
        app.err("check_for_updates", json!({}))["code"],
        "update_unsupported"
    );
    assert_eq!(
        app.err("install_update", json!({}))["code"],
        "update_install"
    );
    let manual = app.ok("set_auto_update", json!({"enabled": false}));
    assert_eq!(manual["autoCheck"], false, "{manual}");

    // The language of the backend's own texts: English or Chinese only.
    app.ok("set_locale", json!({"locale": "zh"}));
    app.err("set_locale", json!({"locale": "fr"}));
    app.close();

    let again = TestApp::start(profile);
    let settings = again.ok("desktop_settings", json!({}));
    assert_eq!(settings["closeToTray"], false, "remembered: {settings}");
    assert_eq!(settings["notificationsMutedUntil"], Value::Null);
    assert_eq!(again.ok("update_status", json!({}))["autoCheck"], false);
    assert_eq!(settings["hardwareAcceleration"]["enabled"], true);
    again.close();
}

#[test]
fn group_management_through_the_commands() {
    let (server, _dir) = server();
    let url = server.url();
    let sign_up = |name: &str, display: &str| {
        block_on(im_sdk::sign_up(
            &url,
            name,
            &im_sdk::Secret::new(format!("{name}-password")),
            Some(display),
        ))
        .unwrap()
        .user
        .uid
    };
    let jerry = sign_up("jerry", "Jerry");
    let spike = sign_up("spike", "Spike");
    let butch = sign_up("butch", "Butch");
    let app = TestApp::start("cmd-group");
    let events = app.events();
    app.ok(
        "sign_up",
        json!({"serverUrl": url, "username": "tom", "password": "tom-password", "displayName": "Tom"}),
    );
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    let group = app.ok(
        "create_conversation",
        json!({"userIds": [jerry.to_string(), spike.to_string()], "title": "Cheese club", "unique": false}),
    );
    let id = group["id"].clone();
    let members = |app: &TestApp| {
        app.ok("conversation_members", json!({"conversationId": id}))
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["username"].as_str().unwrap().to_owned(),
                    m["manager"].as_bool().unwrap(),
                    m["me"].as_bool().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        members(&app),
        [
            ("tom".into(), true, true),
            ("jerry".into(), false, false),
            ("spike".into(), false, false)
        ],
        "the manager (the user) first, then by name"
    );

    // Title and remark.
    let renamed = app.ok(
        "update_conversation",
        json!({"conversationId": id, "title": "奶酪俱乐部", "remark": "every Friday"}),
    );
    assert_eq!(renamed["title"], "奶酪俱乐部");
    assert_eq!(renamed["remark"], "every Friday");
    // The list hears of it on this device too (the server tells only the other connections).
    wait_event(&events, |e| {
        e["kind"] == "conversation" && e["conversation"]["title"] == "奶酪俱乐部"
    });
    let e = app.err(
        "update_conversation",
        json!({"conversationId": id, "title": "x".repeat(10_000)}),
    );
    assert_eq!(e["code"], "field_too_long", "{e}");

    // Adding: an unknown name adds nobody; then Butch by @username.
    let e = app.err(
        "add_members",
        json!({"conversationId": id, "usernames": ["butch", "nobody-here"]}),
    );
    assert_eq!(e["code"], "user_not_found", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("nobody-here"),
        "{e}"
    );
    assert_eq!(members(&app).len(), 3, "nobody added");
    let added = app.ok(
        "add_members",
        json!({"conversationId": id, "usernames": ["@butch"]}),
    );
    assert_eq!(added["userIds"].as_array().unwrap().len(), 4);
    assert!(members(&app).contains(&("butch".into(), false, false)));

    // Removing Jerry; a bad id is refused.
    let removed = app.ok(
        "remove_member",
        json!({"conversationId": id, "uid": jerry.to_string()}),
    );
    let left: Vec<&str> = removed["userIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(!left.contains(&jerry.to_string().as_str()), "{removed}");
    assert!(left.contains(&butch.to_string().as_str()), "{removed}");
    let e = app.err(
        "remove_member",
        json!({"conversationId": id, "uid": "nope"}),
    );
    assert_eq!(e["code"], "bad_id");
    app.close();
}

/// Replies, edits, recalls and delete-for-me through the commands: Jerry (an SDK client) edits
/// and recalls his messages and the app hears `messageUpdated` with names and quotes; Tom's own
/// edit and recall answer at once with his rights in them; delete-for-me hides one message here.
#[test]
fn replies_edits_recalls_and_delete_for_me_through_the_commands() {
    let (server, _dir) = server();
    let url = server.url();
    let jerry_session = block_on(im_sdk::sign_up(
        &url,
        "jerry",
        &im_sdk::Secret::new("jerry-password"),
        Some("Jerry"),
    ))
    .unwrap();
    let jerry_uid = jerry_session.user.uid;
    let jerry = block_on(async {
        let client = im_sdk::ImService::new()
            .create_im_client(jerry_session)
            .unwrap();
        client.set_cache(im_sdk::MemoryCache::new()).unwrap();
        client
    });

    let app = TestApp::start("cmd-changes");
    let events = app.events();
    app.ok(
        "sign_up",
        json!({"serverUrl": url, "username": "tom", "password": "tom-password", "displayName": "Tom"}),
    );
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    let chat = app.ok(
        "create_conversation",
        json!({"userIds": [jerry_uid.to_string()], "title": null, "unique": true}),
    );
    let id: im_sdk::ConversationId = chat["id"].as_str().unwrap().parse().unwrap();
    let wake = app.ok(
        "send_text",
        json!({"conversationId": chat["id"], "text": "耗子，起床啦", "replyTo": null}),
    );
    let sent = wait_event(&events, |e| {
        e["kind"] == "message"
            && e["message"]["clientId"] == wake["clientId"]
            && e["message"]["status"] == "sent"
    });
    let wake_seq = sent["message"]["seq"].as_u64().unwrap();
    // Tom's own message: editable for 48 h, recallable for 24 h from its time.
    let at = sent["message"]["timestamp"].as_i64().unwrap();
    assert_eq!(sent["message"]["editableUntil"], at + 48 * 3600 * 1000);
    assert_eq!(sent["message"]["recallableUntil"], at + 24 * 3600 * 1000);

    // Jerry replies to it: the app shows the quote with Tom's name and text.
    let jerrys_chat = block_on(jerry.conversation(id)).unwrap();
    let answer =
        block_on(jerrys_chat.send(im_sdk::TextMessage::new("再睡五分钟").replying_to(wake_seq)))
            .unwrap();
    let arrived = wait_event(&events, |e| {
        e["kind"] == "message" && e["message"]["seq"] == answer.seq
    });
    assert_eq!(arrived["message"]["replyTo"]["seq"], wake_seq);
    assert_eq!(arrived["message"]["replyTo"]["fromName"], "Tom");
    assert_eq!(arrived["message"]["replyTo"]["text"], "耗子，起床啦");
    assert_eq!(
        arrived["message"]["editableUntil"],
        Value::Null,
        "not Tom's"
    );
    assert_eq!(arrived["message"]["recallableUntil"], Value::Null);

    // Jerry edits, then recalls his answer: messageUpdated each time, then the list's preview.
    block_on(jerrys_chat.edit(answer.seq, "再睡十分钟")).unwrap();
    let edited = wait_event(&events, |e| e["kind"] == "messageUpdated");
    assert_eq!(edited["message"]["text"], "再睡十分钟");
    assert!(edited["message"]["editedAt"].is_i64());
    assert_eq!(edited["message"]["replyTo"]["seq"], wake_seq);
    block_on(jerrys_chat.recall(answer.seq)).unwrap();
    let recalled = wait_event(&events, |e| e["kind"] == "messageUpdated");
    assert_eq!(recalled["message"]["recalled"], true);
    assert_eq!(recalled["message"]["text"], "");
    assert_eq!(recalled["message"]["recalledByName"], "Jerry");
    let item = wait_event(&events, |e| e["kind"] == "conversation");
    assert_eq!(item["conversation"]["lastMessage"]["recalled"], true);

    // Tom's own edit and recall answer at once; a wrong one says why.
    let mine = app.ok(
        "edit_message",
        json!({"conversationId": chat["id"], "seq": wake_seq, "text": "耗子，快起床！"}),
    );
    assert_eq!(mine["text"], "耗子，快起床！");
    assert!(mine["editedAt"].is_i64());
    assert_eq!(
        app.err(
            "edit_message",
            json!({"conversationId": chat["id"], "seq": answer.seq, "text": "no"}),
        )["code"],
        "not_sender"
    );
    let page = app.ok(
        "load_messages",
        json!({"conversationId": chat["id"], "beforeSeq": null, "limit": 50}),
    );
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["耗子，快起床！", ""]);
    let gone = app.ok(
        "recall_message",
        json!({"conversationId": chat["id"], "seq": wake_seq}),
    );
    assert_eq!(gone["recalled"], true);
    assert_eq!(gone["recalledByName"], "Tom");

    // Delete for me: the recalled answer leaves this device's history, not Jerry's.
    app.ok(
        "delete_for_me",
        json!({"conversationId": chat["id"], "clientId": answer.client_id.to_string(), "seq": answer.seq}),
    );
    let page = app.ok(
        "load_messages",
        json!({"conversationId": chat["id"], "beforeSeq": null, "limit": 50}),
    );
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [wake_seq]);
    let jerrys = block_on(jerrys_chat.messages(None, 10)).unwrap();
    assert_eq!(jerrys.messages.len(), 2);
    block_on(jerry.close());
    app.close();
    block_on(server.shutdown());
}

/// A mention of the user is marked on the message and counted on the list item (also in a muted
/// group); a reaction through `react` comes back with who reacted.
#[test]
fn mentions_and_reactions_through_the_commands() {
    let (server, _dir) = server();
    let url = server.url();
    let tom_session = block_on(im_sdk::sign_up(
        &url,
        "tom",
        &im_sdk::Secret::new("tom-password"),
        Some("Tom"),
    ))
    .unwrap();
    let tom = block_on(async {
        let client = im_sdk::ImService::new()
            .create_im_client(tom_session)
            .unwrap();
        client.set_cache(im_sdk::MemoryCache::new()).unwrap();
        client
    });
    let app = TestApp::start("cmd-mentions");
    let events = app.events();
    let jerry = app.ok(
        "sign_up",
        json!({"serverUrl": url, "username": "jerry", "password": "jerry-password", "displayName": "Jerry"}),
    );
    let jerry_uid: im_sdk::Uid = jerry["uid"].as_str().unwrap().parse().unwrap();
    wait_event(&events, |e| {
        e["kind"] == "connection" && e["state"]["state"] == "online"
    });
    let spike = block_on(im_sdk::sign_up(
        &url,
        "spike",
        &im_sdk::Secret::new("spike-password"),
        None,
    ))
    .unwrap();
    let group = block_on(tom.create_conversation(im_sdk::CreateConversation {
        user_ids: vec![jerry_uid, spike.user.uid],
        title: Some("cheese".into()),
        ..Default::default()
    }))
    .unwrap();
    wait_event(&events, |e| e["kind"] == "addedToGroup");
    app.ok(
        "set_muted",
        json!({"conversationId": group.id().to_string(), "muted": true}),
    );
    block_on(group.send(im_sdk::TextMessage::new("an ordinary message"))).unwrap();
    let plain = wait_event(&events, |e| e["kind"] == "message");
    assert_eq!(plain["message"]["mentionsMe"], false);
    let mention =
        block_on(group.send(im_sdk::TextMessage::new("@Jerry 起床").mentioning([jerry_uid])))
            .unwrap();
    let arrived = wait_event(&events, |e| e["kind"] == "message");
    assert_eq!(arrived["message"]["mentionsMe"], true);
    assert_eq!(
        arrived["message"]["mentions"],
        json!([jerry_uid.to_string()])
    );
    let item = wait_event(&events, |e| e["kind"] == "conversation");
    assert_eq!(item["conversation"]["muted"], true);
    assert_eq!(item["conversation"]["unreadMentions"], 1);

    let reacted = app.ok(
        "react",
        json!({"conversationId": group.id().to_string(), "seq": mention.seq, "emoji": "👍", "on": true}),
    );
    assert_eq!(
        reacted["reactions"],
        json!([{"emoji": "👍", "count": 1, "mine": true, "names": ["Jerry"]}])
    );
    assert_eq!(
        app.err(
            "react",
            json!({"conversationId": group.id().to_string(), "seq": mention.seq, "emoji": "no", "on": true}),
        )["code"],
        "invalid_params"
    );
    app.ok(
        "mark_read",
        json!({"conversationId": group.id().to_string(), "seq": mention.seq}),
    );
    let list = app.ok("list_conversations", json!({}));
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == group.id().to_string())
        .unwrap();
    assert_eq!(mine["unreadMentions"], 0, "read: no mention left unread");
    block_on(tom.close());
    app.close();
    block_on(server.shutdown());
}
