//! The commands the web UI invokes. Each is thin: parse ids, call the SDK, shape the result.
//! Passwords arrive here and go straight into a `Secret`; tokens never leave the backend.

use im_sdk::{ClientId, ConversationId, CreateConversation, Secret, TextMessage, Uid};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::dto::{
    Account, AppInfo, Bootstrap, ConversationItem, ImEvent, MemberInfo, MessagePage, SearchHit,
    SessionInfo, UiConnectionState, UiMessage, UserInfo,
};
use crate::error::AppError;
use crate::server_address::{self, ServerAddress};
use crate::state::AppState;
use crate::view::{self, Names};

/// The server the sign-in form suggests.
pub const DEFAULT_SERVER_URL: &str = "ws://127.0.0.1:7822/ws";

type Result<T> = std::result::Result<T, AppError>;

fn conversation_id(raw: &str) -> Result<ConversationId> {
    raw.parse()
        .map_err(|_| AppError::new("bad_id", format!("{raw:?} is not a conversation id")))
}

fn device_label() -> String {
    format!("Gtedx IM on {}", std::env::consts::OS)
}

/// Version, profile and defaults.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    info(&state)
}

fn info(state: &AppState) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        profile: state.profile.name().map(str::to_owned),
        default_server_url: DEFAULT_SERVER_URL.to_owned(),
        max_text_chars: state
            .client()
            .map(|c| c.limits().max_text_chars)
            .unwrap_or(im_sdk::Limits::default().max_text_chars),
    }
}

/// Signs in from the keyring, if a session is saved there: at once, from the cache (the client
/// connects in the background).
#[tauri::command]
pub async fn restore_session<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Option<Account>> {
    state.restore(&app).await
}

/// The first screen's data in one round trip: app info, the session restored from the keyring
/// (started while the page was loading), the first page of conversations and the connection state.
#[tauri::command]
pub async fn bootstrap<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Bootstrap> {
    let begun = std::time::Instant::now();
    let (account, error) = match state.restore(&app).await {
        Ok(account) => (account, None),
        Err(e) => (None, Some(e)),
    };
    let conversations = match &account {
        Some(_) => list_conversations(state.clone(), Some(0), Some(50)).await?,
        None => Vec::new(),
    };
    tracing::debug!(
        ms = begun.elapsed().as_secs_f64() * 1e3,
        since_start_ms = state.started.elapsed().as_secs_f64() * 1e3,
        "bootstrap"
    );
    Ok(Bootstrap {
        info: info(&state),
        account,
        error,
        conversations,
        connection: connection_state(state),
    })
}

async fn signed_in<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    session: im_sdk::Session,
) -> Result<Account> {
    let credentials = state.credentials.clone();
    let saving = session.clone();
    if let Err(e) = crate::state::blocking(move || credentials.save(&saving)).await {
        // Without a keyring the session cannot be kept: do not leave it alive on the server.
        let _ = im_sdk::sign_out(&session).await;
        return Err(e);
    }
    let account = state.start(app, session).await?;
    retry_sign_outs_later(app);
    Ok(account)
}

/// Revokes, in the background, sessions signed out while offline (the server answers now).
pub fn retry_sign_outs_later<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = handle.state::<AppState>();
        if let Err(e) = state.retry_sign_outs().await {
            tracing::debug!(error = %e, "pending sign-outs not retried");
        }
    });
}

/// Creates an account (with an invite code when the server needs one) and signs in.
// A command's parameters are the UI's named arguments (`api.ts`), one each.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn sign_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server_url: String,
    username: String,
    password: String,
    display_name: Option<String>,
    allow_insecure: Option<bool>,
    invite: Option<String>,
) -> Result<Account> {
    let server = server_address::resolve_for_sign_in(&server_url, allow_insecure == Some(true))?;
    let password = Secret::new(password);
    let display_name = display_name.filter(|n| !n.trim().is_empty());
    let invite = invite.filter(|i| !i.trim().is_empty()).map(Secret::new);
    let session = im_sdk::sign_up_with_invite(
        &server.url,
        &username,
        &password,
        display_name.as_deref(),
        invite.as_ref(),
    )
    .await?;
    signed_in(&app, &state, session).await
}

/// Who may create an account on a server (`open`, `invite`, `closed`): for the sign-up form to
/// ask for an invite code, or to say the server takes no sign-ups.
#[tauri::command]
pub async fn server_sign_up_mode(server: String, allow_insecure: Option<bool>) -> Result<String> {
    let server = server_address::resolve_for_sign_in(&server, allow_insecure == Some(true))?;
    Ok(im_sdk::sign_up_mode(&server.url).await?.as_str().to_owned())
}

/// This account's signed-in devices, newest first.
#[tauri::command]
pub async fn list_sessions(state: State<'_, AppState>) -> Result<Vec<SessionInfo>> {
    let client = state.client()?;
    Ok(client
        .sessions()
        .await?
        .into_iter()
        .map(SessionInfo::from)
        .collect())
}

/// Signs another of this account's devices out.
#[tauri::command]
pub async fn revoke_session(state: State<'_, AppState>, session_id: String) -> Result<()> {
    let client = state.client()?;
    client.revoke_session(&session_id).await?;
    Ok(())
}

/// Changes the password (the current one is needed); the account's other devices are signed
/// out, this one stays signed in.
#[tauri::command]
pub async fn change_password(
    state: State<'_, AppState>,
    old_password: String,
    new_password: String,
) -> Result<()> {
    let client = state.client()?;
    client
        .change_password(&Secret::new(old_password), &Secret::new(new_password))
        .await?;
    Ok(())
}

/// What a person typed as their server, resolved to the WebSocket URL the app will use (for
/// the sign-in screen to show before connecting).
#[tauri::command]
pub fn server_address(input: String) -> Result<ServerAddress> {
    server_address::resolve(&input)
}

/// Signs in with a username and password.
#[tauri::command]
pub async fn sign_in<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server_url: String,
    username: String,
    password: String,
    allow_insecure: Option<bool>,
) -> Result<Account> {
    let server = server_address::resolve_for_sign_in(&server_url, allow_insecure == Some(true))?;
    let password = Secret::new(password);
    let session = im_sdk::sign_in(&server.url, &username, &password, Some(&device_label())).await?;
    signed_in(&app, &state, session).await
}

/// Signs out: revokes the session on the server (later, if offline now), forgets it in the
/// keyring, and with `forget_data` removes this account's messages from this computer.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>, forget_data: Option<bool>) -> Result<()> {
    state.sign_out(forget_data.unwrap_or(false)).await
}

/// Finds a user by username.
#[tauri::command]
pub async fn find_user(state: State<'_, AppState>, username: String) -> Result<Option<UserInfo>> {
    let client = state.client()?;
    Ok(client
        .find_user(username.trim())
        .await?
        .as_ref()
        .map(UserInfo::from))
}

/// A page of the conversation list from the cache, most recent activity first (updates follow
/// as events). The UI asks for one screenful at start-up and more as the list scrolls.
#[tauri::command]
pub async fn list_conversations(
    state: State<'_, AppState>,
    offset: Option<usize>,
    limit: Option<usize>,
) -> Result<Vec<ConversationItem>> {
    let begun = std::time::Instant::now();
    let client = state.client()?;
    let conversations =
        client.conversations(offset.unwrap_or(0), limit.unwrap_or(50).clamp(1, 500))?;
    let names = Names::load(&client, view::uids_for(&conversations)).await;
    let outbox = client.outbox()?;
    let mut items: Vec<ConversationItem> = conversations
        .iter()
        .map(|c| view::item(&client, &names, c, &outbox))
        .collect();
    items.sort_by_key(|item| std::cmp::Reverse(item.last_activity));
    tracing::debug!(
        items = items.len(),
        ms = begun.elapsed().as_secs_f64() * 1e3,
        since_start_ms = state.started.elapsed().as_secs_f64() * 1e3,
        "list_conversations"
    );
    Ok(items)
}

/// The most hits a search returns.
const SEARCH_LIMIT_MAX: usize = 500;

/// Searches the messages cached on this device: every whitespace-separated term anywhere in the
/// text, any case, Chinese included. Hits newest first, each with its conversation's title.
#[tauri::command]
pub async fn search_messages(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<SearchHit>> {
    let client = state.client()?;
    let limit = limit.unwrap_or(100).clamp(1, SEARCH_LIMIT_MAX);
    let begun = std::time::Instant::now();
    let found = {
        let client = client.clone();
        crate::state::blocking(move || Ok(client.search_messages(&query, limit)?)).await?
    };
    let searched_ms = begun.elapsed().as_secs_f64() * 1e3;
    let mut conversations: Vec<im_sdk::Conversation> = Vec::new();
    for m in &found {
        if !conversations
            .iter()
            .any(|c| c.info().id == m.conversation_id)
        {
            if let Ok(c) = client.conversation(m.conversation_id).await {
                conversations.push(c);
            }
        }
    }
    let names = Names::load(
        &client,
        view::uids_of(&client, &found)
            .chain(view::uids_for(&conversations))
            .collect::<Vec<_>>(),
    )
    .await;
    let hits: Vec<SearchHit> = found
        .iter()
        .map(|m| SearchHit {
            message: view::message(
                &client,
                &names,
                conversations
                    .iter()
                    .any(|c| c.info().id == m.conversation_id && view::manages(&client, c)),
                m,
            ),
            conversation_title: conversations
                .iter()
                .find(|c| c.info().id == m.conversation_id)
                .map(|c| view::display_title(&client, &names, c))
                .unwrap_or_default(),
        })
        .collect();
    tracing::debug!(hits = hits.len(), searched_ms, "search_messages");
    Ok(hits)
}

/// How much the cache on this computer holds (Settings → Storage).
#[tauri::command]
pub async fn cache_usage(state: State<'_, AppState>) -> Result<im_sdk::CacheUsage> {
    let client = state.client()?;
    crate::state::blocking(move || Ok(client.cache_usage()?)).await
}

/// Clears the cached history and search index on this computer (the list and unsent messages
/// stay; chats load again from the server); answers what the cache holds afterwards.
#[tauri::command]
pub async fn clear_cache(state: State<'_, AppState>) -> Result<im_sdk::CacheUsage> {
    let client = state.client()?;
    crate::state::blocking(move || {
        client.clear_cache()?;
        let usage = client.cache_usage()?;
        tracing::info!(bytes = usage.bytes, "cache cleared");
        Ok(usage)
    })
    .await
}

/// Creates a conversation (1:1 with `unique`, or a group).
#[tauri::command]
pub async fn create_conversation(
    state: State<'_, AppState>,
    user_ids: Vec<String>,
    title: Option<String>,
    unique: Option<bool>,
) -> Result<ConversationItem> {
    let client = state.client()?;
    let user_ids = user_ids
        .iter()
        .map(|u| {
            u.parse::<Uid>()
                .map_err(|_| AppError::new("bad_id", format!("{u:?} is not a user id")))
        })
        .collect::<Result<Vec<_>>>()?;
    let conversation = client
        .create_conversation(CreateConversation {
            user_ids,
            title: title.filter(|t| !t.trim().is_empty()),
            unique: unique.unwrap_or(false),
            ..Default::default()
        })
        .await?;
    let names = Names::load(&client, view::uids_for(std::slice::from_ref(&conversation))).await;
    Ok(view::item(
        &client,
        &names,
        &conversation,
        &client.outbox()?,
    ))
}

/// A page of history, ascending; the newest page also carries the conversation's unsent messages.
#[tauri::command]
pub async fn load_messages(
    state: State<'_, AppState>,
    conversation_id: String,
    before_seq: Option<u64>,
    limit: Option<usize>,
) -> Result<MessagePage> {
    let client = state.client()?;
    let id = self::conversation_id(&conversation_id)?;
    let conversation = client.conversation(id).await?;
    let manages = view::manages(&client, &conversation);
    let page = conversation
        .messages(before_seq, limit.unwrap_or(50))
        .await?;
    let names = Names::load(
        &client,
        view::uids_of(&client, &page.messages).collect::<Vec<_>>(),
    )
    .await;
    let mut messages: Vec<UiMessage> = page
        .messages
        .iter()
        .map(|m| view::message(&client, &names, manages, m))
        .collect();
    if before_seq.is_none() {
        let sent: std::collections::HashSet<String> =
            messages.iter().map(|m| m.client_id.clone()).collect();
        messages.extend(
            client
                .outbox()?
                .iter()
                .filter(|o| o.conversation_id == id && !sent.contains(o.client_id.as_str()))
                .map(|o| UiMessage::outgoing(o, client.user())),
        );
    }
    Ok(MessagePage {
        messages,
        has_more: page.has_more,
    })
}

/// Puts a text message in the outbox; returns it at once (status sending).
#[tauri::command]
pub async fn send_text(
    state: State<'_, AppState>,
    conversation_id: String,
    text: String,
    reply_to: Option<u64>,
    mentions: Option<Vec<String>>,
    mention_all: Option<bool>,
) -> Result<UiMessage> {
    let client = state.client()?;
    let conversation = client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?;
    let mentioned = mentions
        .unwrap_or_default()
        .iter()
        .map(|u| user_id(u))
        .collect::<Result<Vec<Uid>>>()?;
    let mut message = TextMessage::new(text).mentioning(mentioned);
    if mention_all == Some(true) {
        message = message.mentioning_all();
    }
    if let Some(seq) = reply_to {
        message = message.replying_to(seq);
    }
    let pending = conversation.enqueue(message)?;
    let mut ui = UiMessage::outgoing(&pending, client.user());
    if let (Some(quoted), Some(seq)) = (ui.reply_to.as_mut(), reply_to) {
        if let Ok(Some(original)) = client.cached_message(conversation.id(), seq) {
            let names = Names::load(&client, [original.from]).await;
            quoted.from_name = Some(names.of(original.from));
            quoted.text = Some(original.body.preview().to_owned());
            quoted.recalled = original.body.is_recalled();
        }
    }
    Ok(ui)
}

/// Replaces the text of one of the user's own messages, for everyone.
#[tauri::command]
pub async fn edit_message(
    state: State<'_, AppState>,
    conversation_id: String,
    seq: u64,
    text: String,
) -> Result<UiMessage> {
    let client = state.client()?;
    let conversation = client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?;
    let edited = conversation.edit(seq, text).await?;
    Ok(view::shown(&client, &edited).await.0)
}

/// Adds (`on`) or takes back the user's emoji reaction to a message.
#[tauri::command]
pub async fn react(
    state: State<'_, AppState>,
    conversation_id: String,
    seq: u64,
    emoji: String,
    on: bool,
) -> Result<UiMessage> {
    let client = state.client()?;
    let conversation = client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?;
    let reacted = conversation.react(seq, emoji, on).await?;
    Ok(view::shown(&client, &reacted).await.0)
}

/// Recalls a message for everyone (the user's own, or any in a group they manage).
#[tauri::command]
pub async fn recall_message(
    state: State<'_, AppState>,
    conversation_id: String,
    seq: u64,
) -> Result<UiMessage> {
    let client = state.client()?;
    let conversation = client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?;
    let recalled = conversation.recall(seq).await?;
    Ok(view::shown(&client, &recalled).await.0)
}

/// Deletes a message on this computer only: a sent one (`seq`) is hidden from history, search
/// and the preview; a failed unsent one (no `seq`) is dropped from the outbox. Tells the list,
/// whose preview may change.
#[tauri::command]
pub async fn delete_for_me(
    state: State<'_, AppState>,
    conversation_id: String,
    client_id: String,
    seq: Option<u64>,
) -> Result<()> {
    let client = state.client()?;
    let id = self::conversation_id(&conversation_id)?;
    let client_id: ClientId = client_id
        .parse()
        .map_err(|_| AppError::new("bad_id", "not a client id"))?;
    crate::state::blocking({
        let client = client.clone();
        move || match seq {
            Some(seq) => client.delete_for_me(id, seq).map_err(AppError::from),
            None => client.discard(&client_id).map_err(AppError::from),
        }
    })
    .await?;
    if let Some(item) = view::item_for(&client, id).await {
        state.ui_events.send(crate::dto::ImEvent::Conversation {
            conversation: Box::new(item),
        });
    }
    Ok(())
}

/// Sends a failed message again (same client id: it is never stored twice). Async, with the
/// outbox write (SQLite) on a blocking thread: a sync command would run on the main thread and
/// hold up the window.
#[tauri::command]
pub async fn retry_send(
    state: State<'_, AppState>,
    conversation_id: String,
    client_id: String,
) -> Result<UiMessage> {
    let client = state.client()?;
    self::conversation_id(&conversation_id)?;
    let client_id: ClientId = client_id
        .parse()
        .map_err(|_| AppError::new("bad_id", "not a client id"))?;
    let entry = crate::state::blocking({
        let client = client.clone();
        move || client.retry_send(&client_id).map_err(AppError::from)
    })
    .await?;
    Ok(UiMessage::outgoing(&entry, client.user()))
}

/// Marks messages up to `seq` read.
#[tauri::command]
pub async fn mark_read(
    state: State<'_, AppState>,
    conversation_id: String,
    seq: u64,
) -> Result<()> {
    let client = state.client()?;
    client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?
        .mark_read(seq)?;
    Ok(())
}

/// Typing notices.
#[tauri::command]
pub async fn set_typing(
    state: State<'_, AppState>,
    conversation_id: String,
    typing: bool,
) -> Result<()> {
    let client = state.client()?;
    client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?
        .typing(typing)
        .await?;
    Ok(())
}

/// Mutes or un-mutes a conversation (on all the user's devices): no notifications for it.
#[tauri::command]
pub async fn set_muted(
    state: State<'_, AppState>,
    conversation_id: String,
    muted: bool,
) -> Result<()> {
    let client = state.client()?;
    client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?
        .set_muted(muted)
        .await?;
    Ok(())
}

/// A conversation's members, manager first, then the user, then by name.
#[tauri::command]
pub async fn conversation_members(
    state: State<'_, AppState>,
    conversation_id: String,
) -> Result<Vec<MemberInfo>> {
    let client = state.client()?;
    let c = client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?;
    let info = c.info();
    let names = Names::load(&client, info.user_ids.iter().copied()).await;
    let me = client.user().uid;
    let mut members: Vec<MemberInfo> = info
        .user_ids
        .iter()
        .map(|uid| MemberInfo {
            uid: uid.to_string(),
            username: names
                .user(*uid)
                .map(|u| u.username.clone())
                .unwrap_or_default(),
            display_name: names.of(*uid),
            manager: *uid == info.manager_id,
            me: *uid == me,
        })
        .collect();
    members.sort_by(|a, b| {
        (!a.manager, !a.me, a.display_name.to_lowercase()).cmp(&(
            !b.manager,
            !b.me,
            b.display_name.to_lowercase(),
        ))
    });
    Ok(members)
}

/// Changes a conversation's title and/or remark (any member may).
#[tauri::command]
pub async fn update_conversation(
    state: State<'_, AppState>,
    conversation_id: String,
    title: Option<String>,
    remark: Option<String>,
) -> Result<ConversationItem> {
    let client = state.client()?;
    let id = self::conversation_id(&conversation_id)?;
    client
        .conversation(id)
        .await?
        .update(im_sdk::UpdateConversation {
            conversation_id: id,
            title,
            icon: None,
            remark,
            attrs: None,
        })
        .await?;
    changed_item(&state, &client, id).await
}

/// Adds people to a group by username (the manager may). All are looked up first: an unknown
/// name adds nobody.
#[tauri::command]
pub async fn add_members(
    state: State<'_, AppState>,
    conversation_id: String,
    usernames: Vec<String>,
) -> Result<ConversationItem> {
    let client = state.client()?;
    let id = self::conversation_id(&conversation_id)?;
    let mut uids = Vec::new();
    for name in usernames.iter().map(|n| n.trim().trim_start_matches('@')) {
        if name.is_empty() {
            continue;
        }
        let user = client
            .find_user(name)
            .await?
            .ok_or_else(|| AppError::new("user_not_found", format!("nobody is called {name}")))?;
        uids.push(user.uid);
    }
    if uids.is_empty() {
        return Err(AppError::new(
            "invalid_input",
            "name at least one person to add",
        ));
    }
    client.conversation(id).await?.add_members(uids).await?;
    changed_item(&state, &client, id).await
}

/// Removes someone from a group (the manager may).
#[tauri::command]
pub async fn remove_member(
    state: State<'_, AppState>,
    conversation_id: String,
    uid: String,
) -> Result<ConversationItem> {
    let client = state.client()?;
    let id = self::conversation_id(&conversation_id)?;
    client
        .conversation(id)
        .await?
        .remove_members(vec![user_id(&uid)?])
        .await?;
    changed_item(&state, &client, id).await
}

/// A conversation this device just changed, fresh from the cache; the list hears of it too (the
/// server tells the members' other connections, not the one that made the change).
async fn changed_item(
    state: &AppState,
    client: &im_sdk::ImClient,
    id: ConversationId,
) -> Result<ConversationItem> {
    let item = view::item_for(client, id)
        .await
        .ok_or_else(|| AppError::new("conversation_not_found", "that conversation is gone"))?;
    state.ui_events.send(ImEvent::Conversation {
        conversation: Box::new(item.clone()),
    });
    Ok(item)
}

/// Leaves a group.
#[tauri::command]
pub async fn leave_conversation(state: State<'_, AppState>, conversation_id: String) -> Result<()> {
    let client = state.client()?;
    client
        .conversation(self::conversation_id(&conversation_id)?)
        .await?
        .leave()
        .await?;
    Ok(())
}

/// Blocks a user: no messages from them in a single chat, no new conversations or groups with
/// this user started by them.
#[tauri::command]
pub async fn block_user(state: State<'_, AppState>, uid: String) -> Result<()> {
    let client = state.client()?;
    client.block_user(user_id(&uid)?).await?;
    Ok(())
}

/// Lifts a block.
#[tauri::command]
pub async fn unblock_user(state: State<'_, AppState>, uid: String) -> Result<()> {
    let client = state.client()?;
    client.unblock_user(user_id(&uid)?).await?;
    Ok(())
}

/// The users this user blocks, most recently blocked first, with their names.
#[tauri::command]
pub async fn blocked_users(state: State<'_, AppState>) -> Result<Vec<UserInfo>> {
    let client = state.client()?;
    let uids = client.blocked_users().await?;
    let users = client.users(&uids).await?;
    Ok(uids
        .iter()
        .filter_map(|uid| users.iter().find(|u| u.uid == *uid))
        .map(UserInfo::from)
        .collect())
}

fn user_id(uid: &str) -> Result<Uid> {
    uid.parse::<Uid>()
        .map_err(|_| AppError::new("bad_id", format!("{uid:?} is not a user id")))
}

/// The UI's event stream: every `ImEvent` from now on (and those that waited for the page to
/// load) arrives on `on_event`, in order. A reloaded page subscribes again.
#[tauri::command]
pub fn subscribe_events(state: State<'_, AppState>, on_event: Channel<ImEvent>) {
    state.ui_events.subscribe(on_event);
}

/// Which conversation the UI shows (no notifications for it while the window is focused).
#[tauri::command]
pub fn set_active_conversation<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    conversation_id: Option<String>,
) -> Result<()> {
    let id = conversation_id
        .as_deref()
        .map(self::conversation_id)
        .transpose()?;
    state.set_active(id);
    if let Some(id) = id {
        // Read here: its notification has nothing left to say.
        state.notifier.read(&app, id);
    }
    Ok(())
}

/// The connection state now.
#[tauri::command]
pub fn connection_state(state: State<'_, AppState>) -> UiConnectionState {
    state
        .client()
        .map(|c| UiConnectionState::from(&c.state()))
        .unwrap_or(UiConnectionState::Offline)
}

/// The UI has painted its first screen: log the time since the process started, and append it
/// (in milliseconds) to `$GTEDX_READY_FILE` if set (for start-up benchmarks).
#[tauri::command]
pub fn ui_ready(state: State<'_, AppState>, marks: Option<serde_json::Value>) {
    let ms = state.started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(ms, "ui ready");
    // The page's own marks (ms since its time origin): where the start-up time goes.
    tracing::debug!(marks = %marks.unwrap_or_default(), "ui start-up marks");
    if let Ok(path) = std::env::var("GTEDX_READY_FILE") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{ms:.1}");
        }
    }
}
