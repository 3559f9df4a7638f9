//! Tom and Jerry, through the UI only: two app instances (profiles tom and jerry) and a real
//! im-server, over TLS with a test certificate authority the apps are told to trust. Tom starts a chat and sends "耗子，起床啦"; Jerry's unfocused window shows it with
//! an unread badge and a notification appears on the session bus, replaced with a count as more
//! arrive; Jerry clicks it (dunst), which opens the conversation, read; he replies;
//! Tom sees the reply. Then Jerry's app is closed, the server stopped, and Jerry's app started
//! again: signed in from the keyring, it shows the conversation and both messages from its cache.
//! A second scenario (own profiles and server) walks through consent: mute, being added to a
//! group and leaving it, blocking and unblocking. A third keeps Jerry's app in the tray: the
//! unread total beside the icon and on the launcher, Ctrl+W to the tray (said once), the tray
//! menu opening the window, pausing and resuming notifications, and quitting. A fourth follows
//! `gtedx://` links handed over by a second launch, and finds a Chinese message by two of its
//! characters, opening it in context far up its chat, then renames a group from its info. A
//! fifth updates the app from a signed release feed: a tampered build refused, the genuine one
//! installed in place of the running executable, and the app restarted from it. A sixth has Tom
//! and Jerry chat through two different nodes of a cluster (PostgreSQL + NATS). A seventh edits,
//! recalls and replies through the message menu, Jerry following live and after a restart.

use anyhow::{Context, Result};
use fantoccini::key::Key;
use gtedx_e2e::tray::Tray;
use gtedx_e2e::update_feed::{install_copy, processes_running, KillOnDrop, SigningKey, UpdateFeed};
use gtedx_e2e::{
    binary, free_port, operator, require_desktop_session, start_cluster_node,
    start_configured_server, start_server, text, text_in, App, NotificationMonitor, STEP,
};

const WAKE_UP: &str = "耗子，起床啦";
const REPLY: &str = "我醒了！Coming, Tom.";
/// Someone else's text that tries to forge markup in a notification, with a NUL that would make
/// the session bus drop the app's connection (silencing every later notification).
const FORGERY: &str = "<b>URGENT</b>\u{0} <a href=\"https://phish.example\">your bank</a>";
const AFTER_FORGERY: &str = "still notified afterwards";
const MUTED_TEXT: &str = "a message in the muted chat";
const BLOCKED_TEXT: &str = "are you there, Jerry?";

/// Tom, signed in on a second session outside his app (the SDK, memory cache), online.
async fn tom_elsewhere(url: &str) -> Result<im_sdk::ImClient> {
    let session = im_sdk::sign_in(
        url,
        "tom",
        &im_sdk::Secret::new("tom-password"),
        Some("e2e"),
    )
    .await?;
    let client = im_sdk::ImService::new().create_im_client(session)?;
    client.set_cache(im_sdk::MemoryCache::new())?;
    let mut state = client.watch_state();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        state.wait_for(|s| *s == im_sdk::ConnectionState::Online),
    )
    .await
    .context("Tom's second session did not come online")??;
    Ok(client)
}

/// Sends, as Tom, from a second session of his (the SDK, outside his app): texts no keyboard
/// types.
async fn tom_sends_from_elsewhere(url: &str, texts: &[&str]) -> Result<()> {
    let client = tom_elsewhere(url).await?;
    let jerry = client
        .find_user("jerry")
        .await?
        .context("jerry not found")?;
    let chat = client
        .create_conversation(im_sdk::CreateConversation {
            user_ids: vec![jerry.uid],
            unique: true,
            ..Default::default()
        })
        .await?;
    for text in texts {
        chat.send(im_sdk::TextMessage::new(*text)).await?;
    }
    client.close().await;
    Ok(())
}

/// Tom, from a session outside his app, makes a group with the given usernames.
async fn tom_makes_a_group(url: &str, title: &str, usernames: &[&str]) -> Result<()> {
    let client = tom_elsewhere(url).await?;
    let mut uids = Vec::new();
    for name in usernames {
        uids.push(client.find_user(name).await?.context("user not found")?.uid);
    }
    client
        .create_conversation(im_sdk::CreateConversation {
            user_ids: uids,
            title: Some(title.into()),
            ..Default::default()
        })
        .await?;
    client.close().await;
    Ok(())
}

/// Starts a 1:1 chat with `username` from the new-chat dialog and waits until it is open.
async fn open_chat_with(app: &App, username: &str, name: &str) -> Result<()> {
    app.click("[data-testid=new-chat]").await?;
    app.find("[data-testid=new-chat-dialog]").await?;
    app.fill("[data-testid=new-chat-username]", username)
        .await?;
    app.click("[data-testid=new-chat-start]").await?;
    app.until("the chat is open", async || {
        let title = text(&app.find("[data-testid=chat-title]").await?).await?;
        Ok(title.contains(name).then_some(()))
    })
    .await
}

/// Types `text` into the composer and presses Enter.
async fn send_from_composer(app: &App, text: &str) -> Result<()> {
    app.type_into("[data-testid=composer]", text).await?;
    app.type_into("[data-testid=composer]", &Key::Enter.to_string())
        .await
}

/// The first conversation in the list whose preview contains `text` and whose unread badge
/// (when `badge` is given) says `badge`.
async fn conversation_with_preview(
    app: &App,
    text: &str,
    badge: Option<&str>,
) -> Result<fantoccini::elements::Element> {
    app.until("the list shows the conversation", async || {
        for item in app.all("[data-testid=conversation-item]").await? {
            let preview = text_in(&item, "[data-testid=conversation-preview]")
                .await?
                .unwrap_or_default();
            let shown = text_in(&item, "[data-testid=unread-badge]").await?;
            if preview.contains(text) && badge.is_none_or(|b| shown.as_deref() == Some(b)) {
                return Ok(Some(item));
            }
        }
        Ok(None)
    })
    .await
}

fn artifacts() -> std::path::PathBuf {
    std::env::var_os("GTEDX_E2E_ARTIFACTS")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-artifacts")
        })
}

/// Signs up through the form; returns what the form showed it would connect to (the kind of
/// connection — secure, local — and the resolved URL).
async fn sign_up(
    app: &App,
    server_url: &str,
    username: &str,
    display_name: &str,
) -> Result<(String, String)> {
    sign_up_with(app, server_url, username, display_name, None).await
}

/// Signs up through the form, with an invite code when the server asks for one (the form
/// shows the field once it has asked the server).
async fn sign_up_with(
    app: &App,
    server_url: &str,
    username: &str,
    display_name: &str,
    invite: Option<&str>,
) -> Result<(String, String)> {
    app.find("[data-testid=auth-form]").await?;
    app.click("[data-testid=auth-mode-toggle]").await?;
    app.find("[data-testid=display-name]").await?;
    app.fill("[data-testid=server-url]", server_url).await?;
    // The host and port typed, which the preview shows once it has caught up with the typing.
    let authority = server_url
        .rsplit("://")
        .next()
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(server_url);
    let resolved = app
        .until("the form shows where it will connect", async || {
            let preview = app.find("[data-testid=server-preview]").await?;
            let url = text_in(&preview, "[data-testid=server-preview-url]")
                .await?
                .unwrap_or_default();
            let kind = preview.attr("data-kind").await?.unwrap_or_default();
            Ok((url.contains(authority) && !kind.is_empty()).then_some((kind, url)))
        })
        .await?;
    app.fill("[data-testid=username]", username).await?;
    app.fill("[data-testid=password]", &format!("{username}-password"))
        .await?;
    app.fill("[data-testid=display-name]", display_name).await?;
    if let Some(code) = invite {
        app.find("[data-testid=invite-code]")
            .await
            .context("the form asks for the invite code the server wants")?;
        app.fill("[data-testid=invite-code]", code).await?;
    }
    app.click("[data-testid=auth-submit]").await?;
    app.find("[data-testid=main]")
        .await
        .context("signed up, the main screen shows")?;
    Ok(resolved)
}

/// The texts of the messages in the open conversation, with (own, status).
async fn messages(app: &App) -> Result<Vec<(String, bool, String)>> {
    let mut out = Vec::new();
    for m in app.all("[data-testid=message]").await? {
        let text = text_in(&m, "[data-testid=message-text]")
            .await?
            .unwrap_or_default();
        let own = m.attr("data-own").await?.as_deref() == Some("true");
        let status = m.attr("data-status").await?.unwrap_or_default();
        out.push((text, own, status));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tom_wakes_jerry_and_jerry_keeps_the_conversation_offline() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?;
    let port = free_port()?;
    // Over TLS, as across the internet: a certificate authority made here stands in for a public
    // one; the apps are told to trust it once (`--trust-ca`, kept in their data folders).
    let ca = im_test_pki::TestCa::new("Gtedx e2e CA");
    let (cert, key) = ca
        .issue(&["localhost", "127.0.0.1"], im_test_pki::Validity::Current)
        .write(&work, "server");
    let ca_file = work.join("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem)?;
    im_sdk::trust_extra_ca_pem(ca.cert_pem.as_bytes())?;
    // Run as the README's "Run your own server" says: the settings file the server's .deb
    // installs, with this machine's port and paths; invite-only sign-up.
    let config = work.join("im-server.toml");
    std::fs::write(
        &config,
        packaged_settings(&[
            ("0.0.0.0:443", &format!("127.0.0.1:{port}")),
            (
                "/var/lib/im-server/im-server.sqlite3",
                &work.join("im-server.sqlite3").display().to_string(),
            ),
            ("127.0.0.1:7823", "127.0.0.1:0"),
            (
                "/etc/im-server/tls/fullchain.pem",
                &cert.display().to_string(),
            ),
            ("/etc/im-server/tls/privkey.pem", &key.display().to_string()),
        ])?,
    )?;
    let (server, url, admin) = start_configured_server(&work, &config)?;
    assert!(url.starts_with("wss://"), "{url}");
    // The operator makes an invite code for the two of them.
    // (Its settings say port 0 for the admin listener, so it is named here as the log said.)
    let admin_addr = admin.trim_start_matches("http://");
    let invited = operator(
        &config,
        &[
            "--admin-listen",
            admin_addr,
            "admin",
            "invite",
            "create",
            "--uses",
            "2",
        ],
    )?;
    let invite = invited
        .lines()
        .find_map(|l| l.strip_prefix("invite code: "))
        .with_context(|| format!("no code in {invited:?}"))?
        .to_owned();
    let notifications = NotificationMonitor::start(work.join("notifications.log"))?;

    let trust_ca = ["--trust-ca", ca_file.to_str().context("a UTF-8 path")?];
    let jerry = App::launch_with("jerry", &shots, &trust_ca).await?;
    let tom = App::launch_with("tom", &shots, &trust_ca).await?;
    tom.find("[data-testid=auth-form]").await?;
    tom.screenshot("01-sign-in").await?;
    // Typed as people type them: a host and port, an https:// address.
    let secure = ("secure".to_owned(), format!("wss://localhost:{port}/ws"));
    let shown = sign_up_with(
        &jerry,
        &format!("localhost:{port}"),
        "jerry",
        "Jerry",
        Some(&invite),
    )
    .await?;
    assert_eq!(shown, secure, "a host and port means TLS");
    // Typed the way people copy codes: lower case, spaces for dashes.
    let typed = invite.to_lowercase().replace('-', " ");
    let shown = sign_up_with(
        &tom,
        &format!("https://localhost:{port}"),
        "tom",
        "Tom",
        Some(&typed),
    )
    .await?;
    assert_eq!(shown, secure, "https:// means wss://");

    // Tom starts a chat with jerry and sends the wake-up call (on a screen without other
    // notifications, so Jerry's is the oldest there).
    NotificationMonitor::close_all().ok();
    open_chat_with(&tom, "jerry", "Jerry").await?;
    send_from_composer(&tom, WAKE_UP).await?;
    tom.until("the message is sent", async || {
        let list = messages(&tom).await?;
        Ok(list
            .iter()
            .any(|(t, own, s)| t == WAKE_UP && *own && s == "sent")
            .then_some(()))
    })
    .await?;
    let composer = tom.find("[data-testid=composer]").await?;
    assert_eq!(
        composer.prop("value").await?.unwrap_or_default(),
        "",
        "Enter sent and cleared the composer"
    );

    // Jerry, in the background, sees the conversation with an unread badge and the preview,
    // and a notification with the text reached the session bus.
    let item = conversation_with_preview(&jerry, WAKE_UP, Some("1"))
        .await
        .context("Jerry's list shows the unread conversation")?;
    let title = text_in(&item, "[data-testid=conversation-title]")
        .await?
        .unwrap_or_default();
    assert!(
        title.contains("Tom"),
        "the 1:1 chat is named after Tom: {title:?}"
    );
    let notified = notifications.wait_for(&["Tom", WAKE_UP]).await?;
    assert!(
        notified.contains("string \"Tom\""),
        "the sender is the title: {notified}"
    );
    assert!(
        notified.contains("string \"Gtedx IM\"")
            && notified.contains("string \"im.gtedx.desktop\""),
        "from the product, with the desktop entry desktops match it by: {notified}"
    );
    assert_eq!(
        NotificationMonitor::replaces_id(&notified),
        Some(0),
        "a new one"
    );
    jerry.screenshot("02-unread-badge").await?;

    // Other people's text in notifications: markup escaped (dunst renders it), the NUL gone, and
    // notifications keep coming afterwards.
    tom_sends_from_elsewhere(&url, &[FORGERY, AFTER_FORGERY]).await?;
    let forged = notifications
        .wait_for(&["&lt;b&gt;URGENT&lt;/b&gt;", "phish.example"])
        .await
        .context("the forged markup arrives escaped")?;
    assert!(!forged.contains("<b>"), "no raw markup: {forged}");
    assert!(!forged.contains("<a "), "no raw link: {forged}");
    let after = notifications
        .wait_for(&[AFTER_FORGERY])
        .await
        .context("notifications still work after a NUL")?;
    // One notification for the conversation: the later messages replace the first, counting.
    let shown = NotificationMonitor::replaces_id(&forged).filter(|id| *id != 0);
    assert!(shown.is_some(), "the second replaces the first: {forged}");
    assert!(forged.contains("2 new messages"), "{forged}");
    assert_eq!(NotificationMonitor::replaces_id(&after), shown, "{after}");
    assert!(after.contains("3 new messages"), "{after}");

    // Jerry clicks the notification: his window shows the conversation, read.
    NotificationMonitor::click_oldest()?;
    jerry
        .until("Jerry sees Tom's message", async || {
            let list = messages(&jerry).await?;
            Ok(list
                .iter()
                .any(|(t, own, _)| t == WAKE_UP && !own)
                .then_some(()))
        })
        .await?;
    // Open and in view is read: Jerry's badge is gone before he writes anything.
    jerry
        .until(
            "the badge is gone once the conversation is open",
            async || {
                Ok(jerry
                    .all("[data-testid=unread-badge]")
                    .await?
                    .is_empty()
                    .then_some(()))
            },
        )
        .await?;
    send_from_composer(&jerry, REPLY).await?;

    // Tom sees the reply.
    tom.until("Tom sees Jerry's reply", async || {
        let list = messages(&tom).await?;
        Ok(list
            .iter()
            .any(|(t, own, _)| t == REPLY && !own)
            .then_some(()))
    })
    .await?;
    tom.screenshot("03-chat").await?;
    jerry.screenshot("04-chat-jerry").await?;

    // The window cannot be taken to a remote page (one could pose as the sign-in screen).
    let before = tom.client.current_url().await?;
    tom.client
        .execute(
            "window.location.href = 'https://example.org/sign-in'; return true;",
            vec![],
        )
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = tom.client.current_url().await?;
    assert_eq!(after, before, "navigation away from the app was refused");
    tom.find("[data-testid=main]")
        .await
        .context("the app is still shown")?;

    // The operator backs the server up while it runs, and reads its figures.
    let backup = work.join("backup.sqlite3");
    let said = operator(
        &config,
        &["backup", "--to", backup.to_str().context("UTF-8")?],
    )?;
    assert!(
        said.contains("2 accounts") && said.contains("integrity ok"),
        "{said}"
    );
    let metrics = http_get(&format!("{admin}/metrics"))?;
    let sample = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(
        sample("im_messages_stored_total") >= 4.0,
        "four messages stored: {metrics}"
    );
    assert!(
        sample("im_tls_handshakes_total{kind=\"full\"}") >= 2.0,
        "the apps came over TLS: {metrics}"
    );
    assert_eq!(sample("im_accounts"), 2.0, "{metrics}");
    assert_eq!(http_get(&format!("{admin}/readyz"))?, "ready\n");

    // Tom's Settings: his devices (this one, and the session he signed in with elsewhere to
    // send the forgery), that one signed out from here; then a new password.
    tom.click("[data-testid=settings-open]").await?;
    tom.find("[data-testid=settings-dialog]").await?;
    let elsewhere = tom
        .until("the devices are listed", async || {
            for device in tom.all("[data-testid=device]").await? {
                let name = text_in(&device, "[data-testid=device-name]").await?;
                if device.attr("data-current").await?.as_deref() == Some("false")
                    && name.as_deref() == Some("e2e")
                {
                    return Ok(device.attr("data-session-id").await?);
                }
            }
            Ok(None)
        })
        .await?;
    tom.find("[data-testid=device][data-current=true] [data-testid=device-this]")
        .await
        .context("this device is marked")?;
    tom.screenshot("07-settings").await?;
    let row = format!("[data-testid=device][data-session-id=\"{elsewhere}\"]");
    tom.click(&format!("{row} [data-testid=device-sign-out]"))
        .await?;
    tom.click("[data-testid=revoke-session-confirm]").await?;
    tom.until("the signed-out device leaves the list", async || {
        Ok(tom.all(&row).await?.is_empty().then_some(()))
    })
    .await?;
    let change_password = async |current: &str| -> Result<()> {
        tom.fill("[data-testid=password-current]", current).await?;
        tom.fill("[data-testid=password-new]", "tom-new-password")
            .await?;
        tom.fill("[data-testid=password-repeat]", "tom-new-password")
            .await?;
        tom.click("[data-testid=password-submit]").await
    };
    change_password("not-toms-password").await?;
    let refused = tom.find("[data-testid=password-error]").await?;
    assert_eq!(
        refused.attr("data-code").await?.as_deref(),
        Some("wrong_credentials")
    );
    change_password("tom-password").await?;
    tom.find("[data-testid=toast][data-kind=info]")
        .await
        .context("the app says the password was changed")?;
    // Scrolled down to the devices, the heading and its close button stay in reach.
    tom.click("[data-testid=settings-close]").await?;
    tom.until("the Settings dialog closes", async || {
        Ok(tom
            .all("[data-testid=settings-dialog]")
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;
    im_sdk::sign_in(&url, "tom", &im_sdk::Secret::new("tom-new-password"), None)
        .await
        .context("the new password signs in")?;

    // Jerry's app closes; the server stops; Jerry's app starts again.
    jerry.quit().await?;
    assert!(server.terminate()?, "im-server stopped cleanly");
    let jerry = App::launch("jerry", &shots).await?;
    jerry
        .find("[data-testid=main]")
        .await
        .context("signed in again from the keyring")?;
    let me = text(&jerry.find("[data-testid=me]").await?).await?;
    assert!(me.contains("Jerry"), "{me:?}");
    let item = conversation_with_preview(&jerry, REPLY, None)
        .await
        .context("the cached conversation is listed")?;
    item.click().await?;
    jerry
        .until("both messages show from the cache", async || {
            let list = messages(&jerry).await?;
            let texts: Vec<&str> = list.iter().map(|(t, _, _)| t.as_str()).collect();
            Ok((texts.len() == 4
                && texts[0] == WAKE_UP
                && texts[2] == AFTER_FORGERY
                && texts[3] == REPLY)
                .then_some(()))
        })
        .await?;
    let banner = jerry.find("[data-testid=connection-banner]").await?;
    let state = banner.attr("data-state").await?.unwrap_or_default();
    assert_ne!(
        state, "online",
        "the server is down, and the banner says so"
    );
    jerry.screenshot("05-offline-from-cache").await?;

    // Jerry signs out while offline, asking to forget this computer's copy: a confirmation
    // first, then the sign-in screen; the cached history is gone from disk.
    let accounts = data_home()?
        .join("im.gtedx.desktop.profile-jerry")
        .join("accounts");
    assert!(
        has_cache(&accounts),
        "Jerry's cache is on disk before: {}",
        accounts.display()
    );
    jerry.click("[data-testid=sign-out]").await?;
    jerry.click("[data-testid=sign-out-forget-data]").await?;
    let forget = jerry.find("[data-testid=sign-out-forget-data]").await?;
    assert!(forget.is_selected().await?, "the box is ticked");
    jerry.screenshot("06-sign-out-confirm").await?;
    jerry.click("[data-testid=sign-out-confirm]").await?;
    jerry
        .find("[data-testid=auth-form]")
        .await
        .context("signed out to the sign-in screen")?;
    if has_cache(&accounts) {
        let mut toasts = Vec::new();
        for toast in jerry.all("[data-testid=toast]").await? {
            toasts.push(text(&toast).await?);
        }
        panic!("the cached history was not deleted; the app said: {toasts:?}");
    }
    jerry.quit().await?;
    // Started again, the app does not sign Jerry in: the keyring entry is gone too.
    let jerry = App::launch("jerry", &shots).await?;
    jerry
        .find("[data-testid=auth-form]")
        .await
        .context("after signing out the app starts at the sign-in screen")?;
    assert!(
        jerry.all("[data-testid=main]").await?.is_empty(),
        "not signed in"
    );
    jerry.quit().await?;
    tom.quit().await?;
    Ok(())
}

/// Consent, through the UI: Jerry mutes his chat with Tom (the list marks it, and a message in
/// it brings no notification), is added to a group by Tom (a notification naming @tom, and a
/// notice in the window from which he leaves the group), then blocks Tom (the composer gives
/// way to a banner, and Tom's next message fails with a reason) and unblocks him from the list
/// of blocked users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jerry_mutes_leaves_a_group_and_blocks_tom() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?;
    let port = free_port()?;
    let (_server, url) = start_server(&work, port)?;
    let notifications = NotificationMonitor::start(work.join("notifications.log"))?;
    im_sdk::sign_up(
        &url,
        "spike",
        &im_sdk::Secret::new("spike-password"),
        Some("Spike"),
    )
    .await?;
    let jerry = App::launch("consent-jerry", &shots).await?;
    let tom = App::launch("consent-tom", &shots).await?;
    // The local server without TLS: allowed without asking, and shown as local.
    let (kind, _) = sign_up(&jerry, &url, "jerry", "Jerry").await?;
    assert_eq!(kind, "local", "plain ws:// to this computer");
    sign_up(&tom, &url, "tom", "Tom").await?;
    open_chat_with(&tom, "jerry", "Jerry").await?;
    send_from_composer(&tom, "hello Jerry").await?;

    // Jerry opens the chat and mutes it.
    let item = conversation_with_preview(&jerry, "hello Jerry", None).await?;
    item.click().await?;
    jerry.click("[data-testid=chat-menu]").await?;
    jerry.click("[data-testid=mute-toggle]").await?;
    jerry.find("[data-testid=chat-muted]").await?;
    jerry
        .find("[data-testid=conversation-item] [data-testid=muted-indicator]")
        .await
        .context("the list marks the chat muted")?;

    // Jerry turns to another app. A message in the muted chat, then a group: the group's
    // notification comes after where the message's would have, so its arrival proves the
    // message brought none.
    jerry.look_away().await?;
    tom_sends_from_elsewhere(&url, &[MUTED_TEXT]).await?;
    tom_makes_a_group(&url, "Cheese club", &["jerry", "spike"]).await?;
    let added = notifications
        .wait_for(&["added you to", "Cheese club"])
        .await
        .context("being added to a group notifies")?;
    assert!(
        added.contains("@tom"),
        "the notification names @tom: {added}"
    );
    assert!(
        !notifications.seen(MUTED_TEXT),
        "no notification for a muted chat"
    );
    jerry
        .until("the muted message is shown all the same", async || {
            let list = messages(&jerry).await?;
            Ok(list.iter().any(|(t, _, _)| t == MUTED_TEXT).then_some(()))
        })
        .await?;

    // The notice in the window; Jerry leaves the group from it.
    let notice = jerry.find("[data-testid=added-to-group-toast]").await?;
    let said = text(&notice).await?;
    assert!(
        said.contains("@tom") && said.contains("Cheese club"),
        "{said:?}"
    );
    jerry.screenshot("consent-01-added").await?;
    jerry.click("[data-testid=added-to-group-leave]").await?;
    jerry
        .click("[data-testid=leave-group-dialog-confirm]")
        .await?;
    jerry
        .until("the group left the list", async || {
            for item in jerry.all("[data-testid=conversation-item]").await? {
                let title = text_in(&item, "[data-testid=conversation-title]")
                    .await?
                    .unwrap_or_default();
                if title.contains("Cheese club") {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await?;

    // Jerry blocks Tom: a banner instead of the composer; Tom's message fails, with a reason.
    jerry.click("[data-testid=chat-menu]").await?;
    jerry.click("[data-testid=block-user]").await?;
    jerry
        .click("[data-testid=block-user-dialog-confirm]")
        .await?;
    let banner = text(&jerry.find("[data-testid=blocked-banner]").await?).await?;
    assert!(banner.contains("@tom"), "{banner:?}");
    assert!(
        jerry.all("[data-testid=composer]").await?.is_empty(),
        "no composer in a blocked chat"
    );
    send_from_composer(&tom, BLOCKED_TEXT).await?;
    tom.until("Tom's message fails", async || {
        let list = messages(&tom).await?;
        Ok(list
            .iter()
            .any(|(t, own, s)| t == BLOCKED_TEXT && *own && s == "failed")
            .then_some(()))
    })
    .await?;
    let reason = text(&tom.find("[data-testid=message-failure]").await?).await?;
    assert!(
        reason.contains("@jerry"),
        "the failure says why: {reason:?}"
    );
    tom.screenshot("consent-02-blocked-send").await?;
    jerry.screenshot("consent-03-blocked-banner").await?;

    // Jerry unblocks Tom from the list of blocked users; the composer is back.
    jerry.click("[data-testid=blocked-users-open]").await?;
    let row = jerry
        .find("[data-testid=blocked-users-list] [data-testid=blocked-user]")
        .await?;
    assert_eq!(row.attr("data-username").await?.as_deref(), Some("tom"));
    jerry.click("[data-testid=blocked-users-unblock]").await?;
    jerry.find("[data-testid=blocked-users-empty]").await?;
    jerry.click("[data-testid=blocked-users-close]").await?;
    jerry
        .find("[data-testid=composer]")
        .await
        .context("the composer is back after unblocking")?;
    assert!(jerry.all("[data-testid=blocked-banner]").await?.is_empty());
    jerry.quit().await?;
    tom.quit().await?;
    Ok(())
}

/// Presses Ctrl+`key` in the app (in its composer, or wherever the focus is).
async fn press_ctrl(app: &App, key: char) -> Result<()> {
    let keys = format!("{}{key}", Key::Control);
    let focused = app.client.active_element().await?;
    focused.send_keys(&keys).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jerry_keeps_the_app_in_the_tray() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?;
    let (_server, url) = start_server(&work, free_port()?)?;
    let notifications = NotificationMonitor::start(work.join("notifications.log"))?;
    // A panel's tray, before the app starts (it registers its icon with it).
    let tray = Tray::start()?;
    im_sdk::sign_up(
        &url,
        "tom",
        &im_sdk::Secret::new("tom-password"),
        Some("Tom"),
    )
    .await?;
    let jerry = App::launch("tray-jerry", &shots).await?;
    sign_up(&jerry, &url, "jerry", "Jerry").await?;
    tray.item().await.context("the app's icon is in the tray")?;
    tray.wait_for_label("").await?;

    // Two messages while Jerry looks at his list: "2" beside the icon and on the launcher.
    tom_sends_from_elsewhere(&url, &["tray one", "tray two"]).await?;
    conversation_with_preview(&jerry, "tray two", Some("2")).await?;
    tray.wait_for_label("2")
        .await
        .context("the unread total beside the tray icon")?;
    tray.wait_for_launcher_count("im.gtedx.desktop.desktop", 2)
        .await?;

    // Ctrl+W: the window goes, the app stays, and says so once.
    press_ctrl(&jerry, 'w').await?;
    jerry
        .until("the window is hidden", async || {
            Ok((jerry.visibility().await? == "hidden").then_some(()))
        })
        .await?;
    assert!(jerry.running(), "closing the window keeps the app running");
    notifications
        .wait_for(&["still running", "Ctrl+Q"])
        .await
        .context("the first close to the tray says so")?;
    tom_sends_from_elsewhere(&url, &["while you were in the tray"]).await?;
    notifications
        .wait_for(&["Tom", "while you were in the tray"])
        .await
        .context("messages still notify with the window closed")?;
    tray.wait_for_label("3").await?;

    // The tray menu brings the window back; opening the chat reads it: the count goes.
    tray.click("Open Gtedx IM").await?;
    jerry
        .until("the window is back", async || {
            Ok((jerry.visibility().await? == "visible").then_some(()))
        })
        .await?;
    conversation_with_preview(&jerry, "while you were in the tray", Some("3"))
        .await?
        .click()
        .await?;
    tray.wait_for_label("")
        .await
        .context("read: no count beside the icon")?;
    tray.wait_for_launcher_count("im.gtedx.desktop.desktop", 0)
        .await?;

    // Paused from the tray, notifications stay quiet; resumed, they come again. The resumed
    // one's notification arrives after where the paused one's would have.
    let menu = tray.menu().await?;
    assert!(
        menu.iter()
            .any(|(_, label, enabled)| label == "Resume notifications" && !enabled),
        "nothing to resume yet: {menu:?}"
    );
    tray.click("Pause notifications for 1 hour").await?;
    press_ctrl(&jerry, 'w').await?;
    jerry
        .until("the window is hidden again", async || {
            Ok((jerry.visibility().await? == "hidden").then_some(()))
        })
        .await?;
    tom_sends_from_elsewhere(&url, &["sent while paused"]).await?;
    tray.wait_for_label("1").await?;
    tray.click("Resume notifications").await?;
    tom_sends_from_elsewhere(&url, &["sent after resuming"]).await?;
    notifications.wait_for(&["sent after resuming"]).await?;
    assert!(
        !notifications.seen("sent while paused"),
        "no notification while paused"
    );
    let hints = std::fs::read_to_string(work.join("notifications.log"))?
        .matches("still running")
        .count();
    assert_eq!(hints, 1, "the tray hint is said once");

    // Quit from the tray menu: the app is gone.
    tray.click("Quit").await?;
    jerry.gone().await.context("Quit in the tray menu quits")?;
    Ok(())
}

/// Starts `gtedx-im --profile PROFILE LINK` as a link handler does; it hands the link to the
/// running instance of the profile and exits.
fn follow_link(profile: &str, link: &str) -> Result<()> {
    let status = std::process::Command::new(gtedx_e2e::binary("gtedx-im")?)
        .args(["--profile", profile, link])
        .status()
        .context("starting the second instance")?;
    anyhow::ensure!(status.success(), "the second instance failed: {status}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jerry_follows_links_and_searches_in_chinese() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?;
    let (_server, url) = start_server(&work, free_port()?)?;
    im_sdk::sign_up(
        &url,
        "spike",
        &im_sdk::Secret::new("spike-password"),
        Some("Spike"),
    )
    .await?;
    im_sdk::sign_up(
        &url,
        "tom",
        &im_sdk::Secret::new("tom-password"),
        Some("Tom"),
    )
    .await?;
    let profile = "links-jerry";
    let jerry = App::launch(profile, &shots).await?;
    sign_up(&jerry, &url, "jerry", "Jerry").await?;

    // A link to a chat with Spike, clicked elsewhere: the running app opens it.
    follow_link(profile, "gtedx://chat/spike")?;
    jerry
        .until("the link opened the chat with Spike", async || {
            let title = text(&jerry.find("[data-testid=chat-title]").await?).await?;
            Ok(title.contains("Spike").then_some(()))
        })
        .await?;
    // A link to nobody: said in words, nothing opened.
    follow_link(profile, "gtedx://chat/nobody-here")?;
    jerry
        .until("the broken link is explained", async || {
            for toast in jerry.all("[data-testid=toast]").await? {
                if !text(&toast).await?.is_empty() {
                    return Ok(Some(()));
                }
            }
            Ok(None)
        })
        .await?;

    // Tom's wake-up call far up in a long chat, found by two of its characters.
    let mut texts: Vec<String> = vec![WAKE_UP.to_owned()];
    texts.extend((1..=120).map(|i| format!("filler message {i}")));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    tom_sends_from_elsewhere(&url, &refs).await?;
    conversation_with_preview(&jerry, "filler message 120", None).await?;
    press_ctrl(&jerry, 'f').await?;
    jerry.fill("[data-testid=search-input]", "起床").await?;
    let hit = jerry
        .until("the search finds the message", async || {
            for hit in jerry.all("[data-testid=search-hit]").await? {
                if text(&hit).await?.contains(WAKE_UP) {
                    return Ok(Some(hit));
                }
            }
            Ok(None)
        })
        .await?;
    assert!(
        !jerry.all("[data-testid=search-hit] mark").await?.is_empty(),
        "the match is highlighted"
    );
    jerry.screenshot("links-01-search").await?;
    hit.click().await?;
    jerry
        .until(
            "the message is shown in its chat, highlighted",
            async || {
                for m in jerry.all("[data-testid=message]").await? {
                    if m.attr("data-highlighted").await?.as_deref() == Some("true")
                        && text_in(&m, "[data-testid=message-text]").await?.as_deref()
                            == Some(WAKE_UP)
                    {
                        return Ok(Some(()));
                    }
                }
                Ok(None)
            },
        )
        .await?;
    let title = text(&jerry.find("[data-testid=chat-title]").await?).await?;
    assert!(title.contains("Tom"), "{title:?}");
    jerry.screenshot("links-02-in-context").await?;

    // A group Tom made: Jerry sees its members and renames it; the chat's title follows. (Esc
    // closes the search, back to the list.)
    jerry
        .type_into("[data-testid=search-input]", &Key::Escape.to_string())
        .await?;
    tom_makes_a_group(&url, "Cheese club", &["jerry", "spike"]).await?;
    let group = jerry
        .until("the group is in the list", async || {
            for item in jerry.all("[data-testid=conversation-item]").await? {
                let title = text_in(&item, "[data-testid=conversation-title]")
                    .await?
                    .unwrap_or_default();
                if title.contains("Cheese club") {
                    return Ok(Some(item));
                }
            }
            Ok(None)
        })
        .await?;
    group.click().await?;
    jerry.click("[data-testid=chat-menu]").await?;
    jerry.click("[data-testid=group-info-open]").await?;
    jerry.find("[data-testid=group-info-dialog]").await?;
    let members = jerry
        .until("the members are listed", async || {
            let rows = jerry.all("[data-testid=group-member]").await?;
            Ok((rows.len() == 3).then_some(rows))
        })
        .await?;
    let first = text(&members[0]).await?;
    assert!(first.contains("Tom"), "the manager first: {first:?}");
    assert!(
        jerry
            .all("[data-testid=group-member-remove]")
            .await?
            .is_empty(),
        "only the manager removes people"
    );
    jerry
        .fill("[data-testid=group-title-input]", "奶酪俱乐部")
        .await?;
    jerry.click("[data-testid=group-title-save]").await?;
    jerry
        .until("the chat is renamed", async || {
            let title = text(&jerry.find("[data-testid=chat-title]").await?).await?;
            Ok(title.contains("奶酪俱乐部").then_some(()))
        })
        .await?;
    jerry.screenshot("links-03-group-info").await?;
    jerry.quit().await?;
    Ok(())
}

/// `XDG_DATA_HOME`, where the app keeps each profile's data folder.
fn data_home() -> Result<std::path::PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/share")))
        .context("no XDG_DATA_HOME or HOME")
}

/// Whether any account under `accounts` has a cache file.
fn has_cache(accounts: &std::path::Path) -> bool {
    std::fs::read_dir(accounts)
        .map(|dirs| {
            dirs.flatten()
                .any(|d| d.path().join("cache.sqlite3").exists())
        })
        .unwrap_or(false)
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("gtedx-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The settings file the server's .deb installs (`packaging/im-server.toml`), with values
/// replaced; each must be there.
fn packaged_settings(replace: &[(&str, &str)]) -> Result<String> {
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let file = root.join("../../packaging/im-server.toml");
    let mut text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    for (from, to) in replace {
        anyhow::ensure!(text.contains(from), "{} has no {from:?}", file.display());
        text = text.replace(from, to);
    }
    Ok(text)
}

/// `GET url` (the admin listener: plain HTTP on loopback) → the body of a 200.
fn http_get(url: &str) -> Result<String> {
    Ok(ureq::get(url).call()?.body_mut().read_to_string()?)
}

/// Jerry's app updates itself from its release feed (a real static HTTP server, builds signed by
/// the Tauri CLI as the release workflow signs them). The check at start finds 0.2.0 whose
/// download does not match its signature: refused, the app left as it is, and Settings says why.
/// Then the genuine build: downloaded and verified in the background, "Restart to update"
/// replaces the installed executable with it and the app comes back from the new file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jerry_updates_the_app_from_a_signed_feed() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?.join("updates");
    std::fs::create_dir_all(&work)?;
    let (_server, url) = start_server(&work, free_port()?)?;
    let key = SigningKey::generate(&work.join("keys"))?;
    let installed = install_copy(&binary("gtedx-im")?, &work.join("installed"))?;
    let _restarted = KillOnDrop(installed.clone());
    let old_build = std::fs::read(&installed)?;
    // The next version: the same program with a marker after it (the ELF still runs).
    let mut new_build = old_build.clone();
    new_build.extend_from_slice(b"\0gtedx-im 0.2.0, an update test\0");
    let feed = UpdateFeed::serve(&work.join("feed"))?;
    let genuine = feed.put("gtedx-im-0.2.0", &new_build)?;
    let signature = key.sign(&feed.path("gtedx-im-0.2.0"), "0.2.0")?;
    let mut tampered_build = new_build.clone();
    let middle = tampered_build.len() / 2;
    tampered_build[middle] ^= 0xff;
    let tampered = feed.put("gtedx-im-0.2.0-tampered", &tampered_build)?;
    feed.announce("0.2.0", "Faster start-up.", &tampered, &signature)?;

    let env = [
        ("GTEDX_UPDATE_URL", feed.latest_json_url()),
        ("GTEDX_UPDATE_PUBKEY", key.public.clone()),
        ("GTEDX_UPDATE_FIRST_CHECK_MS", "0".to_owned()),
    ];
    let jerry = App::launch_installed("update-jerry", &shots, &installed, &[], &env).await?;
    sign_up(&jerry, &url, "jerry", "Jerry").await?;
    jerry.click("[data-testid=settings-open]").await?;
    jerry.find("[data-testid=settings-dialog]").await?;
    let refused = jerry
        .until("the tampered update is refused", async || {
            let status = text(&jerry.find("#update-status").await?).await?;
            Ok(status.contains("signature").then_some(status))
        })
        .await?;
    jerry.scroll_to("#update-status").await?;
    jerry.screenshot("30-update-refused").await?;
    assert!(
        std::fs::read(&installed)? == old_build,
        "a build that fails its signature is not installed ({refused})"
    );
    assert!(
        jerry.all("#update-restart").await?.is_empty(),
        "no update is offered"
    );

    // The feed now has the genuine build: "Check for updates" fetches and verifies it.
    feed.announce("0.2.0", "Faster start-up.", &genuine, &signature)?;
    jerry.click("#update-check").await?;
    jerry
        .until("the update is ready", async || {
            let status = text(&jerry.find("#update-status").await?).await?;
            Ok(status.contains("0.2.0").then_some(()))
        })
        .await?;
    jerry.scroll_to("#update-restart-settings").await?;
    jerry.screenshot("31-update-ready").await?;
    jerry
        .find("#update-restart")
        .await
        .context("the list offers \"Restart to update\" too")?;
    let running = processes_running(&installed);
    assert!(!running.is_empty(), "the app runs from its installed file");
    jerry.click("#update-restart-settings").await?;

    // Installed in place of the executable, and the app restarted from it.
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let replaced = std::fs::read(&installed)? == new_build;
        let restarted = processes_running(&installed)
            .iter()
            .any(|pid| !running.contains(pid));
        if replaced && restarted {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "after restart to update: installed file replaced {replaced}, app restarted {restarted}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tom_and_jerry_chat_through_two_nodes_of_a_cluster() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?;
    let database = im_test_services::TestDatabase::create()?;
    let nats = im_test_services::Nats::start()?;
    let (_one, tom_url) = start_cluster_node(&work, free_port()?, database.url(), &nats.url())?;
    let (_two, jerry_url) = start_cluster_node(&work, free_port()?, database.url(), &nats.url())?;
    assert_ne!(tom_url, jerry_url);
    let jerry = App::launch("cluster-jerry", &shots).await?;
    let tom = App::launch("cluster-tom", &shots).await?;
    sign_up(&jerry, &jerry_url, "jerry", "Jerry").await?;
    sign_up(&tom, &tom_url, "tom", "Tom").await?;

    // Tom on node 1 writes to Jerry on node 2, who answers.
    open_chat_with(&tom, "jerry", "Jerry").await?;
    send_from_composer(&tom, WAKE_UP).await?;
    let item = conversation_with_preview(&jerry, WAKE_UP, None)
        .await
        .context("Tom's message reached Jerry's app through the other node")?;
    item.click().await?;
    send_from_composer(&jerry, REPLY).await?;
    tom.until("Jerry's reply reached Tom's app", async || {
        let list = messages(&tom).await?;
        Ok(list
            .iter()
            .any(|(t, own, _)| t == REPLY && !own)
            .then_some(()))
    })
    .await?;
    let on_jerry = messages(&jerry).await?;
    let texts: Vec<&str> = on_jerry.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(texts, [WAKE_UP, REPLY], "in order, once each");
    tom.screenshot("cluster-01-tom-on-node-1").await?;
    jerry.screenshot("cluster-02-jerry-on-node-2").await?;
    jerry.quit().await?;
    tom.quit().await?;
    Ok(())
}

const FIRST: &str = "耗子，起床啦";
const EDITED: &str = "耗子，快起床！";
const TO_RECALL: &str = "oops, wrong chat";
const ANSWER: &str = "起来了，别催";
const EDITED_OFFLINE: &str = "耗子，早饭好了";

/// Opens the actions menu of the message whose text is `text` and clicks `action` in it
/// (the ⋯ button shows on hover; a script clicks it as the pointer would).
async fn message_action(app: &App, text: &str, action: &str) -> Result<()> {
    let item = format!("[data-testid=message-action-{action}]");
    app.until(&format!("the message's menu offers {action}"), async || {
        let opened = app
            .client
            .execute(
                "const row = [...document.querySelectorAll('[data-testid=message]')]
                   .find(r => r.querySelector('[data-testid=message-text]')?.textContent === arguments[0]
                         && r.getAttribute('data-status') === 'sent');
                 if (!row) return false;
                 if (!document.querySelector(arguments[1])) {
                   row.querySelector('[data-testid=message-actions]').click();
                 }
                 return true;",
                vec![serde_json::json!(text), serde_json::json!(item)],
            )
            .await?;
        if opened != serde_json::Value::Bool(true) {
            return Ok(None);
        }
        Ok(app.all(&item).await?.into_iter().next())
    })
    .await?
    .click()
    .await
    .with_context(|| format!("clicking {item}"))
}

/// The open conversation's messages as (text, edited, recalled, quoting a message).
async fn message_states(app: &App) -> Result<Vec<(String, bool, bool, bool)>> {
    let mut out = Vec::new();
    for m in app.all("[data-testid=message]").await? {
        let text = text_in(&m, "[data-testid=message-text]")
            .await?
            .unwrap_or_default();
        let edited = m.attr("data-edited").await?.as_deref() == Some("true");
        let recalled = m.attr("data-recalled").await?.as_deref() == Some("true");
        let quoting = text_in(&m, "[data-testid=message-quote]").await?.is_some();
        out.push((text, edited, recalled, quoting));
    }
    Ok(out)
}

/// Tom edits a message and recalls another through his app's message menu; Jerry's open chat
/// follows live ("edited", the recall line), and Jerry answers as a reply (Tom sees the quote).
/// Jerry quits; Tom edits again; Jerry's app, started again, shows the edit it missed. Then in a
/// group Jerry muted, Tom's ordinary message does not notify Jerry, and his @mention (chosen in
/// the composer's member picker) does, on the session bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tom_edits_and_recalls_and_jerry_follows_live_and_after_a_restart() -> Result<()> {
    require_desktop_session()?;
    let shots = artifacts();
    let work = tempfile_dir()?;
    let (_server, url) = start_server(&work, free_port()?)?;
    let jerry = App::launch("changes-jerry", &shots).await?;
    let tom = App::launch("changes-tom", &shots).await?;
    sign_up(&jerry, &url, "jerry", "Jerry").await?;
    sign_up(&tom, &url, "tom", "Tom").await?;
    open_chat_with(&tom, "jerry", "Jerry").await?;
    for text in [FIRST, TO_RECALL] {
        send_from_composer(&tom, text).await?;
    }
    conversation_with_preview(&jerry, TO_RECALL, None)
        .await?
        .click()
        .await?;
    jerry
        .until("Jerry's chat shows both", async || {
            Ok((message_states(&jerry).await?.len() == 2).then_some(()))
        })
        .await?;

    // Tom edits his first message from its menu: the composer takes it, Enter saves.
    message_action(&tom, FIRST, "edit").await?;
    tom.find("[data-testid=composer-context]").await?;
    tom.fill("[data-testid=composer]", EDITED).await?;
    tom.type_into("[data-testid=composer]", &Key::Enter.to_string())
        .await?;
    // And recalls the second, confirming.
    message_action(&tom, TO_RECALL, "recall").await?;
    tom.click("[data-testid=recall-message-dialog-confirm]")
        .await?;
    let live = jerry
        .until(
            "Jerry's open chat follows the edit and the recall",
            async || {
                let states = message_states(&jerry).await?;
                let want = [
                    (EDITED.to_owned(), true, false, false),
                    (String::new(), false, true, false),
                ];
                Ok((states == want).then_some(states))
            },
        )
        .await?;
    assert_eq!(live.len(), 2);
    jerry.find("[data-testid=message-recalled]").await?;
    conversation_with_preview(&jerry, "Tom recalled a message", None)
        .await
        .context("the list's preview says the last message was recalled")?;
    jerry.screenshot("changes-01-jerry-live").await?;

    // Jerry answers Tom's edited message as a reply: Tom sees the quote.
    message_action(&jerry, EDITED, "reply").await?;
    jerry.find("[data-testid=composer-context]").await?;
    send_from_composer(&jerry, ANSWER).await?;
    tom.until("Tom sees Jerry's reply quoting his message", async || {
        let states = message_states(&tom).await?;
        Ok(states
            .iter()
            .any(|(t, _, _, quoting)| t == ANSWER && *quoting)
            .then_some(()))
    })
    .await?;
    let quote = text(&tom.find("[data-testid=message-quote]").await?).await?;
    assert!(
        quote.contains(EDITED),
        "the quote shows the message: {quote}"
    );
    tom.screenshot("changes-02-tom-sees-the-reply").await?;

    // Jerry's app is closed; Tom edits again; Jerry's app, started again, catches up.
    jerry.quit().await?;
    message_action(&tom, EDITED, "edit").await?;
    tom.fill("[data-testid=composer]", EDITED_OFFLINE).await?;
    tom.type_into("[data-testid=composer]", &Key::Enter.to_string())
        .await?;
    tom.until("Tom's edit is saved", async || {
        let states = message_states(&tom).await?;
        Ok(states
            .iter()
            .any(|(t, edited, _, _)| t == EDITED_OFFLINE && *edited)
            .then_some(()))
    })
    .await?;
    let jerry = App::launch("changes-jerry", &shots).await?;
    jerry.find("[data-testid=main]").await?;
    conversation_with_preview(&jerry, ANSWER, None)
        .await?
        .click()
        .await?;
    jerry
        .until(
            "Jerry's restarted app shows the edit made while it was closed",
            async || {
                let states = message_states(&jerry).await?;
                Ok(
                    (states.first().map(|s| (s.0.as_str(), s.1)) == Some((EDITED_OFFLINE, true)))
                        .then_some(()),
                )
            },
        )
        .await?;
    jerry.screenshot("changes-03-jerry-after-restart").await?;

    // A group Jerry muted: an ordinary message there does not notify him, a mention does.
    im_sdk::sign_up(&url, "spike", &im_sdk::Secret::new("spike-password"), None).await?;
    tom_makes_a_group(&url, "Cheese club", &["jerry", "spike"]).await?;
    let notifications = NotificationMonitor::start(work.join("notifications.log"))?;
    for app in [&jerry, &tom] {
        app.until("the group is in the list", async || {
            for item in app.all("[data-testid=conversation-item]").await? {
                let title = text_in(&item, "[data-testid=conversation-title]")
                    .await?
                    .unwrap_or_default();
                if title.contains("Cheese club") {
                    item.click().await?;
                    return Ok(Some(()));
                }
            }
            Ok(None)
        })
        .await?;
    }
    jerry.click("[data-testid=chat-menu]").await?;
    jerry.click("[data-testid=mute-toggle]").await?;
    jerry.find("[data-testid=chat-muted]").await?;
    // Jerry goes back to his chat with Tom and turns to another app.
    conversation_with_preview(&jerry, ANSWER, None)
        .await?
        .click()
        .await?;
    jerry.look_away().await?;
    send_from_composer(&tom, MUTED_GROUP_TEXT).await?;
    tom.type_into("[data-testid=composer]", "@Jer").await?;
    tom.find("[data-testid=mention-picker]").await?;
    tom.type_into("[data-testid=composer]", &Key::Enter.to_string())
        .await?;
    send_from_composer(&tom, MENTION_TEXT).await?;
    let shown = notifications
        .wait_for(&[MENTION_TEXT])
        .await
        .context("a mention in a muted group notifies")?;
    assert!(shown.contains("Jerry"), "the mention's text: {shown}");
    assert!(
        !notifications.seen(MUTED_GROUP_TEXT),
        "an ordinary message in the muted group does not notify"
    );
    jerry.quit().await?;
    tom.quit().await?;
    Ok(())
}

const MUTED_GROUP_TEXT: &str = "lunch at noon, anyone?";
const MENTION_TEXT: &str = "起床开会";
