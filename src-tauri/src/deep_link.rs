//! Links into the app: `gtedx://chat/<username>` opens (or starts) the 1:1 chat with that person,
//! `gtedx://conversation/<id>` opens a conversation. The scheme is registered by the installers
//! (tauri-plugin-deep-link's configuration); a link clicked while the app runs starts a second
//! process, which hands its arguments to this one (single instance) — so links are read from
//! the arguments of either, whatever the profile. macOS delivers them as events instead.

use im_sdk::{ConversationId, CreateConversation};
use tauri::{AppHandle, Manager, Runtime};

use crate::dto::ImEvent;
use crate::error::AppError;
use crate::state::AppState;

/// The scheme the app answers to.
pub const SCHEME: &str = "gtedx";

/// Where a link goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The 1:1 chat with this username.
    Chat(String),
    /// A conversation by id.
    Conversation(ConversationId),
}

/// The target of `text` if it is one of the app's links: `None` for anything else (other
/// arguments), an error for a link of ours that makes no sense.
pub fn parse(text: &str) -> Option<Result<Target, String>> {
    let url = tauri::Url::parse(text).ok()?;
    if url.scheme() != SCHEME {
        return None;
    }
    // `gtedx://chat/tom`: the host is the kind, the path the value.
    let kind = url.host_str().unwrap_or_default();
    let value = url.path().trim_matches('/');
    let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
    Some(match (kind, value.as_ref()) {
        (_, "") => Err(format!("{text} names nobody and no conversation")),
        ("chat", name) if !name.contains('/') => Ok(Target::Chat(name.to_owned())),
        ("conversation", id) => id
            .parse()
            .map(Target::Conversation)
            .map_err(|_| format!("{id:?} is not a conversation id")),
        _ => Err(format!("{text} is not a link Gtedx IM knows")),
    })
}

/// The links among a process's arguments.
pub fn from_args<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Vec<Result<Target, String>> {
    args.into_iter()
        .filter_map(|arg| parse(arg.as_ref()))
        .collect()
}

/// Follows links: the window comes up and opens where they go; what fails is said in the UI.
pub fn follow<R: Runtime>(app: &AppHandle<R>, links: Vec<Result<Target, String>>) {
    if links.is_empty() {
        return;
    }
    crate::tray::show_main_window(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        for link in links {
            let state = app.state::<AppState>();
            let opened = match link {
                Ok(target) => open(&state, target).await,
                Err(reason) => Err(AppError::new("invalid_input", reason)),
            };
            match opened {
                Ok(id) => {
                    // In the list before it is opened (a new chat may not be there yet).
                    if let Ok(client) = state.client() {
                        if let Some(item) = crate::view::item_for(&client, id).await {
                            state.ui_events.send(ImEvent::Conversation {
                                conversation: Box::new(item),
                            });
                        }
                    }
                    state.ui_events.send(ImEvent::OpenConversation {
                        conversation_id: id.to_string(),
                    });
                }
                Err(error) => {
                    tracing::info!(%error, "a link could not be followed");
                    state.ui_events.send(ImEvent::Error { error });
                }
            }
        }
    });
}

async fn open(state: &AppState, target: Target) -> Result<ConversationId, AppError> {
    let client = state.client()?;
    match target {
        Target::Conversation(id) => Ok(client.conversation(id).await?.info().id),
        Target::Chat(username) => {
            let user = client.find_user(&username).await?.ok_or_else(|| {
                AppError::new("user_not_found", format!("nobody is called {username}"))
            })?;
            let conversation = client
                .create_conversation(CreateConversation {
                    user_ids: vec![user.uid],
                    unique: true,
                    ..Default::default()
                })
                .await?;
            Ok(conversation.info().id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_and_everything_else_is_left_alone() {
        assert_eq!(
            parse("gtedx://chat/tom"),
            Some(Ok(Target::Chat("tom".into())))
        );
        assert_eq!(
            parse("gtedx://chat/%E6%B1%A4%E5%A7%86/"),
            Some(Ok(Target::Chat("汤姆".into())))
        );
        let id = ConversationId::random();
        assert_eq!(
            parse(&format!("gtedx://conversation/{id}")),
            Some(Ok(Target::Conversation(id)))
        );
        for bad in [
            "gtedx://conversation/not-an-id",
            "gtedx://chat/",
            "gtedx://chat/a/b",
            "gtedx://wallet/steal",
            "gtedx:",
        ] {
            assert!(matches!(parse(bad), Some(Err(_))), "{bad}");
        }
        for other in [
            "--profile",
            "jerry",
            "https://chat/tom",
            "/tmp/x",
            "--minimized",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
        let args = ["gtedx-im", "--profile", "jerry", "gtedx://chat/tom"];
        assert_eq!(from_args(args), vec![Ok(Target::Chat("tom".into()))]);
    }
}
