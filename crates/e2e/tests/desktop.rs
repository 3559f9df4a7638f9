//! Tom and Jerry, through the UI only: two app instances (profiles tom and jerry) and a real
//! im-server. Tom starts a chat and sends "耗子，起床啦"; Jerry's unfocused window shows it with
//! an unread badge and a notification appears on the session bus; Jerry opens it and replies;
//! Tom sees the reply. Then Jerry's app is closed, the server stopped, and Jerry's app started
//! again: signed in from the keyring, it shows the conversation and both messages from its cache.

use anyhow::{Context, Result};
use fantoccini::key::Key;
use gtedx_e2e::{
    free_port, require_desktop_session, start_server, text, text_in, App, NotificationMonitor,
};

const WAKE_UP: &str = "耗子，起床啦";
const REPLY: &str = "我醒了！Coming, Tom.";

fn artifacts() -> std::path::PathBuf {
    std::env::var_os("GTEDX_E2E_ARTIFACTS")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-artifacts")
        })
}

/// Signs up through the form.
async fn sign_up(app: &App, server_url: &str, username: &str, display_name: &str) -> Result<()> {
    app.find("[data-testid=auth-form]").await?;
    app.click("[data-testid=auth-mode-toggle]").await?;
    app.find("[data-testid=display-name]").await?;
    app.fill("[data-testid=server-url]", server_url).await?;
    app.fill("[data-testid=username]", username).await?;
    app.fill("[data-testid=password]", &format!("{username}-password"))
        .await?;
    app.fill("[data-testid=display-name]", display_name).await?;
    app.click("[data-testid=auth-submit]").await?;
    app.find("[data-testid=main]")
        .await
        .context("signed up, the main screen shows")?;
    Ok(())
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
    let (server, url) = start_server(&work, port)?;
    let notifications = NotificationMonitor::start(work.join("notifications.log"))?;

    let jerry = App::launch("jerry", &shots).await?;
    let tom = App::launch("tom", &shots).await?;
    tom.find("[data-testid=auth-form]").await?;
    tom.screenshot("01-sign-in").await?;
    sign_up(&jerry, &url, "jerry", "Jerry").await?;
    sign_up(&tom, &url, "tom", "Tom").await?;

    // Tom starts a chat with jerry and sends the wake-up call.
    tom.click("[data-testid=new-chat]").await?;
    tom.find("[data-testid=new-chat-dialog]").await?;
    tom.fill("[data-testid=new-chat-username]", "jerry").await?;
    tom.click("[data-testid=new-chat-start]").await?;
    tom.until("the chat with Jerry is open", async || {
        let title = text(&tom.find("[data-testid=chat-title]").await?).await?;
        Ok(title.contains("Jerry").then_some(()))
    })
    .await?;
    tom.type_into("[data-testid=composer]", WAKE_UP).await?;
    tom.type_into("[data-testid=composer]", &Key::Enter.to_string())
        .await?;
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
    let item = jerry
        .until("Jerry's list shows the unread conversation", async || {
            for item in jerry.all("[data-testid=conversation-item]").await? {
                let preview = text_in(&item, "[data-testid=conversation-preview]")
                    .await?
                    .unwrap_or_default();
                let badge = text_in(&item, "[data-testid=unread-badge]").await?;
                if preview.contains(WAKE_UP) && badge.as_deref() == Some("1") {
                    return Ok(Some(item));
                }
            }
            Ok(None)
        })
        .await?;
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
    jerry.screenshot("02-unread-badge").await?;

    // Jerry opens it, reads it and replies.
    item.click().await?;
    jerry
        .until("Jerry sees Tom's message", async || {
            let list = messages(&jerry).await?;
            Ok(list
                .iter()
                .any(|(t, own, _)| t == WAKE_UP && !own)
                .then_some(()))
        })
        .await?;
    jerry.type_into("[data-testid=composer]", REPLY).await?;
    jerry
        .type_into("[data-testid=composer]", &Key::Enter.to_string())
        .await?;

    // Replying counts as reading: Jerry's badge is gone.
    jerry
        .until("the badge is gone after replying", async || {
            Ok(jerry
                .all("[data-testid=unread-badge]")
                .await?
                .is_empty()
                .then_some(()))
        })
        .await?;

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
    let item = jerry
        .until("the cached conversation is listed", async || {
            for item in jerry.all("[data-testid=conversation-item]").await? {
                let preview = text_in(&item, "[data-testid=conversation-preview]")
                    .await?
                    .unwrap_or_default();
                if preview.contains(REPLY) {
                    return Ok(Some(item));
                }
            }
            Ok(None)
        })
        .await?;
    item.click().await?;
    jerry
        .until("both messages show from the cache", async || {
            let list = messages(&jerry).await?;
            let texts: Vec<&str> = list.iter().map(|(t, _, _)| t.as_str()).collect();
            Ok((texts == [WAKE_UP, REPLY]).then_some(()))
        })
        .await?;
    let banner = jerry.find("[data-testid=connection-banner]").await?;
    let state = banner.attr("data-state").await?.unwrap_or_default();
    assert_ne!(
        state, "online",
        "the server is down, and the banner says so"
    );
    jerry.screenshot("05-offline-from-cache").await?;
    jerry.quit().await?;
    tom.quit().await?;
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("gtedx-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
