//! Forwards the SDK's events to the UI on its one ordered channel (`ui_events`, as
//! `dto::ImEvent`), and shows notifications for incoming messages.

use futures_util::StreamExt;
use im_sdk::{ClientEvent, ImClient};
use tauri::{AppHandle, Manager, Runtime};

use crate::dto::{ImEvent, UiConnectionState, UiMessage};
use crate::notifications;
use crate::state::AppState;
use crate::texts::Text;
use crate::tray;
use crate::view::{self, Names};

/// Spawns the task that forwards `client`'s events until the client stops. It subscribes
/// before returning, so every event after this call reaches the UI.
pub fn forward<R: Runtime>(
    app: AppHandle<R>,
    client: ImClient,
) -> tauri::async_runtime::JoinHandle<()> {
    let mut events = client.events();
    tauri::async_runtime::spawn(async move {
        let mut caught_up_from_others = 0usize;
        recount_unread(&app, &client).await;
        while let Some(event) = events.next().await {
            let ui_events = translate(&app, &client, event, &mut caught_up_from_others).await;
            let state = app.state::<AppState>();
            let mut recount = false;
            let mut total_changed = false;
            for ui in ui_events {
                match &ui {
                    ImEvent::Conversation { conversation } => {
                        if let Ok(id) = conversation.id.parse() {
                            total_changed |= state.unread().set(
                                id,
                                conversation.unread_count,
                                conversation.muted,
                            );
                        }
                    }
                    ImEvent::ConversationRemoved { conversation_id } => {
                        if let Ok(id) = conversation_id.parse() {
                            total_changed |= state.unread().remove(id);
                        }
                    }
                    ImEvent::Resync => recount = true,
                    _ => {}
                }
                state.ui_events.send(ui);
            }
            if recount {
                recount_unread(&app, &client).await;
            } else if total_changed {
                tray::show_unread(&app, state.unread_total());
            }
        }
        // Signed out or stopped: nothing counts any more.
        let state = app.state::<AppState>();
        if state.unread().replace_all([]) {
            tray::show_unread(&app, 0);
        }
    })
}

/// Counts every conversation's unread messages afresh from the cache (at start and after
/// catching up) and shows the total.
async fn recount_unread<R: Runtime>(app: &AppHandle<R>, client: &ImClient) {
    let reader = client.clone();
    let counts = tauri::async_runtime::spawn_blocking(move || {
        reader.conversations(0, usize::MAX).map(|all| {
            all.iter()
                .map(|c| (c.info().id, c.record().unread_count(), c.record().muted))
                .collect::<Vec<_>>()
        })
    })
    .await;
    match counts {
        Ok(Ok(counts)) => {
            let state = app.state::<AppState>();
            state.unread().replace_all(counts);
            tray::show_unread(app, state.unread_total());
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot count unread messages"),
        Err(e) => tracing::warn!(error = %e, "cannot count unread messages"),
    }
}

async fn translate<R: Runtime>(
    app: &AppHandle<R>,
    client: &ImClient,
    event: ClientEvent,
    caught_up: &mut usize,
) -> Vec<ImEvent> {
    let me = client.user().uid;
    let conversation = |id| async move {
        view::item_for(client, id)
            .await
            .map(|conversation| ImEvent::Conversation {
                conversation: Box::new(conversation),
            })
    };
    match event {
        ClientEvent::Message { message, live } => {
            let (ui, names, shown_in) = view::shown(client, &message).await;
            let muted = shown_in.is_some_and(|c| c.record().muted);
            // A mention notifies even in a muted conversation.
            if message.from != me && (!muted || message.mentions_user(me)) {
                if live {
                    notify_message(app, client, &names, &message).await;
                } else {
                    *caught_up += 1;
                }
            }
            let mut out = vec![ImEvent::Message { message: ui }];
            out.extend(conversation(message.conversation_id).await);
            out
        }
        ClientEvent::MessageUpdated { message, .. }
        | ClientEvent::MessageRecalled { message, .. } => {
            let mut out = vec![ImEvent::MessageUpdated {
                message: view::shown(client, &message).await.0,
            }];
            out.extend(conversation(message.conversation_id).await);
            out
        }
        ClientEvent::MessageSent(message) => {
            let mut out = vec![ImEvent::Message {
                message: view::shown(client, &message).await.0,
            }];
            out.extend(conversation(message.conversation_id).await);
            out
        }
        ClientEvent::MessageFailed {
            conversation_id,
            client_id,
            ..
        } => {
            let failed = client
                .outbox()
                .unwrap_or_default()
                .into_iter()
                .find(|m| m.client_id == client_id);
            let mut out: Vec<ImEvent> = failed
                .map(|m| ImEvent::Message {
                    message: UiMessage::outgoing(&m, client.user()),
                })
                .into_iter()
                .collect();
            out.extend(conversation(conversation_id).await);
            out
        }
        ClientEvent::ConnectionState(state) => vec![ImEvent::Connection {
            state: UiConnectionState::from(&state),
        }],
        ClientEvent::CaughtUp { .. } => {
            let missed = std::mem::take(caught_up);
            if missed > 0 && !notifications::main_window_focused(app) {
                let state = app.state::<AppState>();
                state.notifier.plain(
                    app,
                    &tray::app_name(app),
                    &Text::CaughtUp.fill(state.locale.get(), &[("n", &missed.to_string())]),
                );
            }
            vec![ImEvent::Resync]
        }
        ClientEvent::Receipt(receipt) => {
            let mut out = vec![ImEvent::Receipt {
                conversation_id: receipt.conversation_id.to_string(),
                uid: receipt.uid.to_string(),
                read_seq: receipt.read_seq,
            }];
            out.extend(conversation(receipt.conversation_id).await);
            out
        }
        ClientEvent::ConversationCreated(c) | ClientEvent::ConversationUpdated(c) => {
            conversation(c.id).await.into_iter().collect()
        }
        ClientEvent::MuteChanged(state) => conversation(state.conversation_id)
            .await
            .into_iter()
            .collect(),
        ClientEvent::BlockChanged(state) => vec![ImEvent::BlockChanged {
            uid: state.user_id.to_string(),
            blocked: state.blocked,
        }],
        ClientEvent::AddedToGroup {
            conversation: c,
            by,
        } => {
            let names = Names::load(client, [by]).await;
            // With the @username: display names are not unique.
            let who = match names.user(by) {
                Some(user) => format!("{} (@{})", user.display_name, user.username),
                None => names.of(by),
            };
            let state = app.state::<AppState>();
            let locale = state.locale.get();
            let title = if c.title.trim().is_empty() {
                Text::AGroup.raw(locale).to_owned()
            } else {
                format!("“{}”", c.title)
            };
            if !notifications::main_window_focused(app) {
                state.notifier.plain(
                    app,
                    &tray::app_name(app),
                    &Text::AddedYou.fill(locale, &[("who", &who), ("what", &title)]),
                );
            }
            let by = match names.user(by) {
                Some(user) => crate::dto::UserInfo::from(user),
                None => crate::dto::UserInfo {
                    uid: by.to_string(),
                    username: String::new(),
                    display_name: names.of(by),
                },
            };
            vec![ImEvent::AddedToGroup {
                conversation_id: c.id.to_string(),
                title: c.title,
                by,
            }]
        }
        ClientEvent::ConversationRemoved(id) => vec![ImEvent::ConversationRemoved {
            conversation_id: id.to_string(),
        }],
        ClientEvent::Typing(typing) if typing.uid != me => {
            let names = Names::load(client, [typing.uid]).await;
            vec![ImEvent::Typing {
                conversation_id: typing.conversation_id.to_string(),
                uid: typing.uid.to_string(),
                name: names.of(typing.uid),
                typing: typing.typing,
            }]
        }
        ClientEvent::SignedOut(reason) => {
            let state = app.state::<AppState>();
            if let Err(e) = state.credentials.clear() {
                tracing::warn!(error = %e, "could not forget the saved session");
            }
            vec![ImEvent::SignedOut { reason }]
        }
        ClientEvent::Error(error) => vec![ImEvent::Error {
            error: error.into(),
        }],
        ClientEvent::Lagged(n) => {
            tracing::warn!(missed = n, "the UI forwarder fell behind");
            vec![ImEvent::Resync]
        }
        _ => Vec::new(),
    }
}

async fn notify_message<R: Runtime>(
    app: &AppHandle<R>,
    client: &ImClient,
    names: &Names,
    message: &im_sdk::Message,
) {
    let state = app.state::<AppState>();
    let open_here = state.active() == Some(message.conversation_id);
    if !notifications::should_notify(false, notifications::main_window_focused(app), open_here) {
        return;
    }
    let sender = names.of(message.from);
    let title = match client.conversation(message.conversation_id).await {
        Ok(c)
            if c.info().kind == im_sdk::ConversationType::GroupChat
                && !c.info().title.is_empty() =>
        {
            format!("{sender} · {}", c.info().title)
        }
        _ => sender,
    };
    state.notifier.message(
        app,
        message.conversation_id,
        &title,
        message.body.preview(),
        state.locale.get(),
    );
}
