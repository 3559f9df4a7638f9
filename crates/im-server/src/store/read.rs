//! Queries, run on the reader pool: what the server makes of the rows a backend's [`ReadConn`]
//! returns (membership checks first, views, pages, sync). Every conversation query checks
//! membership first.

use im_proto::{
    normalize_username, ConversationId, ConversationPage, ConversationView, ErrorCode, Message,
    MessageChanges, MessagePage, Seq, SyncPage, Uid, User,
};

use super::read_conn::{ReadConn, MAX_BOUND};
use super::rows::{self, MemberState};
use super::Store;
use crate::error::{Error, Result};
use crate::hub::TokenHash;

/// The member's state, checking that `uid` is an active member of `id`.
fn require_member<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    id: ConversationId,
) -> Result<MemberState> {
    match conn.member_state(uid, id)? {
        Some(state) if state.active => Ok(state),
        _ => Err(if conn.conversation_exists(id)? {
            Error::refused(
                ErrorCode::NotMember,
                format!("you are not a member of conversation {id}"),
            )
        } else {
            Error::refused(
                ErrorCode::ConversationNotFound,
                format!("no conversation {id}"),
            )
        }),
    }
}

fn views<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    page: &[MemberState],
) -> Result<Vec<ConversationView>> {
    page.iter().map(|m| rows::view(conn, uid, m)).collect()
}

/// `uid`'s conversations that changed after `since`, oldest change first: a conversation counts
/// as changed for a member when it changed or their own membership did (joined, read mark), and
/// for a former member only when their membership did (they left or were removed).
pub(super) fn sync_page<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    since: u64,
    limit: usize,
) -> Result<SyncPage> {
    let mut page = conn.changed_since(uid, since, limit + 1)?;
    let has_more = page.len() > limit;
    page.truncate(limit);
    let conversations = views(conn, uid, &page)?;
    let cursor = conversations.last().map_or(since, |v| v.version);
    Ok(SyncPage {
        conversations,
        cursor,
        has_more,
    })
}

/// `uid`'s conversations, most recently changed first.
fn conversation_page<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    before: Option<u64>,
    limit: usize,
) -> Result<ConversationPage> {
    let mut page = conn.newest_conversations(uid, before.unwrap_or(MAX_BOUND), limit + 1)?;
    let next_before = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|(_, v)| *v)
    } else {
        None
    };
    let states: Vec<MemberState> = page.into_iter().map(|(m, _)| m).collect();
    Ok(ConversationPage {
        conversations: views(conn, uid, &states)?,
        next_before,
    })
}

/// A page of messages, checked for membership. The page stops early (with `has_more`) once its
/// texts pass `byte_budget`, so one frame stays bounded however long the messages are.
fn message_page<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    id: ConversationId,
    direction: Direction,
    limit: usize,
    byte_budget: usize,
) -> Result<MessagePage> {
    require_member(conn, uid, id)?;
    let mut messages: Vec<Message> = Vec::new();
    let mut bytes = 0;
    let mut has_more = false;
    conn.messages(id, direction, limit + 1, &mut |message| {
        if messages.len() == limit || (bytes >= byte_budget && !messages.is_empty()) {
            has_more = true;
            return false;
        }
        bytes += message.body.preview().len() + 200;
        messages.push(message);
        true
    })?;
    if matches!(direction, Direction::Before(_)) {
        messages.reverse();
    }
    Ok(MessagePage { messages, has_more })
}

/// A page of a conversation's changed messages after a change counter, checked for membership;
/// bounded by `byte_budget` like [`message_page`].
fn message_changes_page<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    id: ConversationId,
    after: u64,
    limit: usize,
    byte_budget: usize,
) -> Result<MessageChanges> {
    require_member(conn, uid, id)?;
    let mut page = conn.message_changes(id, after, limit + 1)?;
    let mut has_more = page.len() > limit;
    page.truncate(limit);
    let mut bytes = 0;
    if let Some(end) = page.iter().position(|(m, _)| {
        let over = bytes >= byte_budget;
        bytes += m.body.preview().len() + 200;
        over
    }) {
        page.truncate(end.max(1));
        has_more = true;
    }
    let next = page.last().map_or(after, |(_, version)| *version);
    Ok(MessageChanges {
        messages: page.into_iter().map(|(m, _)| m).collect(),
        next,
        has_more,
    })
}

/// Who hears `uid` typing in `id`: the other members, or nobody in a single chat where one of
/// the two blocks the other.
fn typing_audience<R: ReadConn + ?Sized>(
    conn: &R,
    uid: Uid,
    id: ConversationId,
) -> Result<Vec<Uid>> {
    require_member(conn, uid, id)?;
    let others: Vec<Uid> = conn
        .active_members(id)?
        .into_iter()
        .filter(|m| *m != uid)
        .collect();
    if let (true, [other]) = (conn.is_single_chat(id)?, others.as_slice()) {
        if conn.blocked_either_way(uid, *other)? {
            return Ok(Vec::new());
        }
    }
    Ok(others)
}

/// Which way `messages` pages.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// The newest messages below this seq.
    Before(Seq),
    /// The oldest messages above this seq.
    After(Seq),
}

impl Store {
    /// The account and password hash for a sign-in.
    pub async fn user_for_sign_in(&self, username: String) -> Result<Option<(User, String, bool)>> {
        self.read(move |conn| conn.user_for_sign_in(&username))
            .await
    }

    /// A user's sessions, newest first: (token hash, device, created at).
    pub async fn sessions_of(
        &self,
        uid: Uid,
    ) -> Result<Vec<(TokenHash, String, im_proto::Millis)>> {
        self.read(move |conn| conn.sessions_of(uid)).await
    }

    /// The user a session token (by hash) belongs to, from the database.
    pub(super) async fn session_user_stored(&self, token_hash: TokenHash) -> Result<Option<User>> {
        self.read(move |conn| conn.session_user(&token_hash)).await
    }

    /// Users by username (exact after normalizing); unknown names are skipped.
    pub async fn find_users(&self, usernames: Vec<String>) -> Result<Vec<User>> {
        self.read(move |conn| {
            let mut found: Vec<User> = Vec::new();
            for name in usernames.iter().filter_map(|n| normalize_username(n)) {
                if let Some(user) = conn.user_by_name(&name)? {
                    if !found.iter().any(|u| u.uid == user.uid) {
                        found.push(user);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    /// Users by uid; unknown uids are skipped.
    pub async fn get_users(&self, uids: Vec<Uid>) -> Result<Vec<User>> {
        self.read(move |conn| {
            let mut found: Vec<User> = Vec::new();
            for uid in uids {
                if found.iter().any(|u| u.uid == uid) {
                    continue;
                }
                if let Some(user) = conn.user_by_uid(uid)? {
                    found.push(user);
                }
            }
            Ok(found)
        })
        .await
    }

    /// One conversation as `uid` sees it.
    pub async fn conversation_view(
        &self,
        uid: Uid,
        id: ConversationId,
    ) -> Result<ConversationView> {
        self.read(move |conn| {
            let member = require_member(conn, uid, id)?;
            rows::view(conn, uid, &member)
        })
        .await
    }

    /// Who hears `uid` typing in `id`: the other members, or nobody in a single chat where one
    /// of the two blocks the other.
    pub async fn typing_audience(&self, uid: Uid, id: ConversationId) -> Result<Vec<Uid>> {
        self.read(move |conn| typing_audience(conn, uid, id)).await
    }

    /// The users `uid` blocks, most recently blocked first.
    pub async fn blocked_users(&self, uid: Uid) -> Result<Vec<Uid>> {
        self.read(move |conn| conn.blocked_users(uid)).await
    }

    /// `uid`'s conversations, most recently changed first.
    pub async fn list_conversations(
        &self,
        uid: Uid,
        before: Option<u64>,
        limit: usize,
    ) -> Result<ConversationPage> {
        self.read(move |conn| conversation_page(conn, uid, before, limit))
            .await
    }

    /// `uid`'s conversations that changed after `since`, oldest change first.
    pub async fn sync(&self, uid: Uid, since: u64, limit: usize) -> Result<SyncPage> {
        self.read(move |conn| sync_page(conn, uid, since, limit))
            .await
    }

    /// A conversation's messages changed after the change counter `after`, oldest change first.
    pub async fn message_changes(
        &self,
        uid: Uid,
        id: ConversationId,
        after: u64,
        limit: usize,
        byte_budget: usize,
    ) -> Result<MessageChanges> {
        self.read(move |conn| message_changes_page(conn, uid, id, after, limit, byte_budget))
            .await
    }

    /// A page of messages, checked for membership. The page stops early (with `has_more`) once
    /// its texts pass `byte_budget`, so one frame stays bounded however long the messages are.
    pub async fn messages(
        &self,
        uid: Uid,
        id: ConversationId,
        direction: Direction,
        limit: usize,
        byte_budget: usize,
    ) -> Result<im_proto::MessagePage> {
        self.read(move |conn| message_page(conn, uid, id, direction, limit, byte_budget))
            .await
    }
}
