//! Turns SDK data into what the UI shows: messages with sender names, conversation list items
//! with display titles, pending outbox messages merged in.

use std::collections::HashMap;

use im_sdk::{Conversation, ConversationType, ImClient, Message, OutgoingMessage, Uid, User};

use crate::dto::{ConversationItem, UiMessage};

/// Display names, looked up once per batch (cache first, then the server when online).
pub struct Names {
    known: HashMap<Uid, User>,
}

impl Names {
    /// Looks up every uid in `uids` (errors just leave names unknown: the UI shows a short id).
    pub async fn load(client: &ImClient, uids: impl IntoIterator<Item = Uid>) -> Self {
        let mut wanted: Vec<Uid> = uids.into_iter().collect();
        wanted.sort();
        wanted.dedup();
        let mut known: HashMap<Uid, User> = HashMap::new();
        known.insert(client.user().uid, client.user().clone());
        wanted.retain(|u| !known.contains_key(u));
        if !wanted.is_empty() {
            match client.users(&wanted).await {
                Ok(users) => known.extend(users.into_iter().map(|u| (u.uid, u))),
                Err(e) => tracing::debug!(error = %e, "names unavailable"),
            }
        }
        Self { known }
    }

    /// The user, if known.
    pub fn user(&self, uid: Uid) -> Option<&User> {
        self.known.get(&uid)
    }

    /// The display name of `uid`.
    pub fn of(&self, uid: Uid) -> String {
        match self.known.get(&uid) {
            Some(u) => u.display_name.clone(),
            None => uid.to_string()[..8].to_owned(),
        }
    }
}

/// A far-future time for "any time" (what JavaScript's `Date` can still hold).
const ANY_TIME: i64 = 8_640_000_000_000_000;

/// Whether the user manages `c` as a group (and so may recall anyone's message there, any time).
pub fn manages(client: &ImClient, c: &Conversation) -> bool {
    c.info().kind == ConversationType::GroupChat && c.info().manager_id == client.user().uid
}

/// One stored message as the UI shows it, with what that takes: the names it needs and its
/// conversation (the cache first), both handed back for the caller's further use.
pub async fn shown(client: &ImClient, m: &Message) -> (UiMessage, Names, Option<Conversation>) {
    let names = Names::load(client, uids_of(client, [m]).collect::<Vec<_>>()).await;
    let conversation = client.conversation(m.conversation_id).await.ok();
    let manager = conversation.as_ref().is_some_and(|c| manages(client, c));
    (message(client, &names, manager, m), names, conversation)
}

/// A stored message for the UI: with the quoted message (as the cache holds it), who recalled
/// it, and until when the user may edit and recall it (`manages`: the user manages its
/// conversation as a group).
pub fn message(client: &ImClient, names: &Names, manages: bool, m: &Message) -> UiMessage {
    let me = client.user().uid;
    let mut ui = UiMessage::sent(m, &me.to_string(), names.of(m.from));
    if let im_sdk::MessageBody::Recalled { by } = &m.body {
        ui.recalled_by_name = Some(names.of(*by));
        return ui;
    }
    ui.reactions = m
        .reactions
        .iter()
        .map(|r| crate::dto::UiReaction {
            emoji: r.emoji.clone(),
            count: r.user_ids.len(),
            mine: r.user_ids.contains(&me),
            names: r.user_ids.iter().map(|u| names.of(*u)).collect(),
        })
        .collect();
    let limits = client.limits();
    let window = |ms: u64| {
        (ms > 0).then(|| {
            m.timestamp
                .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
        })
    };
    if m.from == me {
        ui.editable_until = window(limits.edit_window_ms);
        ui.recallable_until = window(limits.recall_window_ms);
    }
    if manages {
        ui.recallable_until = Some(ANY_TIME);
    }
    ui.reply_to =
        m.reply_to.map(
            |seq| match client.cached_message(m.conversation_id, seq).ok().flatten() {
                Some(quoted) => crate::dto::ReplyPreview {
                    seq,
                    from_name: Some(names.of(quoted.from)),
                    text: Some(quoted.body.preview().to_owned()),
                    recalled: quoted.body.is_recalled(),
                },
                None => crate::dto::ReplyPreview {
                    seq,
                    from_name: None,
                    text: None,
                    recalled: false,
                },
            },
        );
    ui
}

/// The uids whose names messages need: their senders, who recalled them, and the senders of
/// the messages they quote (as far as the cache holds them).
pub fn uids_of<'a>(
    client: &'a ImClient,
    messages: impl IntoIterator<Item = &'a Message> + 'a,
) -> impl Iterator<Item = Uid> + 'a {
    messages.into_iter().flat_map(move |m| {
        let recalled_by = match &m.body {
            im_sdk::MessageBody::Recalled { by } => Some(*by),
            _ => None,
        };
        let quoted = m.reply_to.and_then(|seq| {
            client
                .cached_message(m.conversation_id, seq)
                .ok()
                .flatten()
                .map(|q| q.from)
        });
        [Some(m.from), recalled_by, quoted]
            .into_iter()
            .flatten()
            .chain(m.reactions.iter().flat_map(|r| r.user_ids.iter().copied()))
    })
}

/// The other person of a single chat.
fn peer(client: &ImClient, c: &im_sdk::Conversation) -> Option<Uid> {
    let info = c.info();
    let me = client.user().uid;
    (info.kind == ConversationType::SingleChat)
        .then(|| info.user_ids.iter().copied().find(|u| *u != me))
        .flatten()
}

/// What the list shows as a conversation's name. A single chat is always called by the other
/// person's name: its title is set by either member and must never stand in for who they are.
/// A group: its title, or the members' names.
pub fn display_title(client: &ImClient, names: &Names, c: &im_sdk::Conversation) -> String {
    let info = c.info();
    if let Some(peer) = peer(client, c) {
        return names.of(peer);
    }
    if !info.title.trim().is_empty() {
        return info.title.clone();
    }
    let me = client.user().uid;
    let others: Vec<String> = info
        .user_ids
        .iter()
        .filter(|u| **u != me)
        .map(|u| names.of(*u))
        .collect();
    match (info.kind, others.len()) {
        (_, 0) => names.of(me),
        (ConversationType::SingleChat, _) => others[0].clone(),
        (_, n) if n <= 3 => others.join(", "),
        (_, n) => format!("{} +{}", others[..3].join(", "), n - 3),
    }
}

/// How many of the conversation's unread messages that this device holds mention the user
/// (counting at most the newest 200 unread).
fn unread_mentions(client: &ImClient, c: &Conversation) -> u64 {
    let record = c.record();
    let unread = record.unread_count().min(200) as usize;
    if unread == 0 {
        return 0;
    }
    let me = client.user().uid;
    client
        .cached_messages_before(c.info().id, record.last_seq + 1, unread)
        .map(|page| {
            page.iter()
                .filter(|m| m.seq > record.read_seq && m.mentions_user(me))
                .count() as u64
        })
        .unwrap_or(0)
}

/// The uids whose names a list of conversations needs.
pub fn uids_for(conversations: &[Conversation]) -> Vec<Uid> {
    conversations
        .iter()
        .flat_map(|c| {
            let from = c.record().last_message.as_ref().map(|m| m.from);
            c.info().user_ids.iter().copied().chain(from)
        })
        .collect()
}

/// A list item. `outbox` is the client's outbox: a newer pending message shows as the preview.
pub fn item(
    client: &ImClient,
    names: &Names,
    c: &Conversation,
    outbox: &[OutgoingMessage],
) -> ConversationItem {
    let record = c.record();
    let info = c.info();
    let mut last_message = record
        .last_message
        .as_ref()
        .map(|m| message(client, names, manages(client, c), m));
    let mut last_activity = record.activity;
    if let Some(pending) = outbox
        .iter()
        .filter(|o| o.conversation_id == info.id)
        .max_by_key(|o| o.created_at)
    {
        if last_message
            .as_ref()
            .is_none_or(|m| pending.created_at >= m.timestamp)
        {
            last_message = Some(UiMessage::outgoing(pending, client.user()));
            last_activity = last_activity.max(pending.created_at);
        }
    }
    ConversationItem {
        id: info.id.to_string(),
        kind: info.kind.as_str(),
        title: info.title.clone(),
        display_title: display_title(client, names, c),
        remark: info.remark.clone(),
        manager_id: info.manager_id.to_string(),
        user_ids: info.user_ids.iter().map(|u| u.to_string()).collect(),
        last_message,
        unread_count: record.unread_count(),
        read_seq: record.read_seq,
        last_seq: record.last_seq,
        peer_read_seq: record.peer_read_seq,
        last_activity,
        muted: record.muted,
        unread_mentions: unread_mentions(client, c),
        peer: peer(client, c).map(|uid| match names.user(uid) {
            Some(user) => crate::dto::UserInfo::from(user),
            None => crate::dto::UserInfo {
                uid: uid.to_string(),
                username: String::new(),
                display_name: names.of(uid),
            },
        }),
    }
}

/// One conversation's list item, fresh from the cache.
pub async fn item_for(client: &ImClient, id: im_sdk::ConversationId) -> Option<ConversationItem> {
    let c = client.conversation(id).await.ok()?;
    let names = Names::load(client, uids_for(std::slice::from_ref(&c))).await;
    let outbox = client.outbox().unwrap_or_default();
    Some(item(client, &names, &c, &outbox))
}
