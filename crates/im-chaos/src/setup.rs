//! The cast, created on the server before the chaos: accounts for the raw clients and the SDK
//! senders, and the conversations they write in (1:1 pairs of raw users, a few groups of raw
//! users, and one 1:1 per SDK sender with a raw user, who writes in it too).

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::future::try_join_all;
use im_proto::{ConversationId, CreateConversation, Secret, SignIn, SignUp, User};
use rand::Rng;

use crate::wire::Wire;

const TIMEOUT: Duration = Duration::from_secs(30);

/// An account and a session token for it.
#[derive(Debug, Clone)]
pub struct Account {
    /// The username (also the sender name in message texts).
    pub username: String,
    /// Its password.
    pub password: String,
    /// The user.
    pub user: User,
    /// A session token from setup's sign-in (raw clients and the audit resume with it).
    pub token: Secret,
}

/// What a conversation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationKind {
    /// Two raw users.
    Pair,
    /// Several raw users.
    Group,
    /// An SDK sender and a raw user.
    Sdk,
}

/// A conversation and its members (indices into [`Cast::accounts`]).
#[derive(Debug, Clone)]
pub struct PlannedConversation {
    /// Its id.
    pub id: ConversationId,
    /// What it is for.
    pub kind: ConversationKind,
    /// Its members.
    pub members: Vec<usize>,
}

/// Everyone and everything the run uses.
#[derive(Debug, Clone)]
pub struct Cast {
    /// Every account: the raw users first, then the SDK senders.
    pub accounts: Vec<Account>,
    /// How many of them are raw users.
    pub raw_users: usize,
    /// Every conversation.
    pub conversations: Vec<PlannedConversation>,
}

impl Cast {
    /// The indices of the SDK senders' accounts.
    pub fn sdk_users(&self) -> std::ops::Range<usize> {
        self.raw_users..self.accounts.len()
    }

    /// The conversations a raw user writes in.
    pub fn conversations_of(&self, account: usize) -> Vec<ConversationId> {
        self.conversations
            .iter()
            .filter(|c| c.members.contains(&account))
            .map(|c| c.id)
            .collect()
    }

    /// The conversation an SDK sender writes in.
    pub fn sdk_conversation(&self, account: usize) -> Option<ConversationId> {
        self.conversations
            .iter()
            .find(|c| c.kind == ConversationKind::Sdk && c.members.contains(&account))
            .map(|c| c.id)
    }
}

/// How many of what.
#[derive(Debug, Clone, Copy)]
pub struct CastSize {
    /// Raw protocol users (at least 2).
    pub raw_users: usize,
    /// SDK sender users.
    pub sdk_users: usize,
    /// Groups of raw users.
    pub groups: usize,
    /// Members per group (at most the raw users; at least 3, or no groups).
    pub group_size: usize,
}

/// Signs everyone up and in on the server at `url` and creates the conversations. Group
/// members are drawn with `rng`.
pub async fn create(url: &str, size: CastSize, rng: &mut impl Rng) -> Result<Cast> {
    anyhow::ensure!(size.raw_users >= 2, "at least 2 raw clients are needed");
    let names: Vec<String> = (0..size.raw_users)
        .map(|i| format!("raw{i:03}"))
        .chain((0..size.sdk_users).map(|i| format!("sdk{i:03}")))
        .collect();
    let signed: Vec<(Account, Wire)> =
        try_join_all(names.into_iter().map(|name| sign_up_and_in(url, name))).await?;
    let (accounts, mut wires): (Vec<Account>, Vec<Wire>) = signed.into_iter().unzip();
    let mut conversations = Vec::new();

    let raw = size.raw_users;
    for a in (0..raw).step_by(2) {
        let b = if a + 1 < raw { a + 1 } else { 0 };
        if b != a {
            let id = create_conversation(&mut wires[a], &accounts, &[b], "pair").await?;
            conversations.push(PlannedConversation {
                id,
                kind: ConversationKind::Pair,
                members: vec![a, b],
            });
        }
    }
    let group_size = size.group_size.min(raw);
    if group_size >= 3 {
        for _ in 0..size.groups {
            let members = rand::seq::index::sample(rng, raw, group_size).into_vec();
            let id = create_conversation(&mut wires[members[0]], &accounts, &members[1..], "group")
                .await?;
            conversations.push(PlannedConversation {
                id,
                kind: ConversationKind::Group,
                members,
            });
        }
    }
    for (n, sender) in (raw..accounts.len()).enumerate() {
        let peer = n % raw;
        let id = create_conversation(&mut wires[peer], &accounts, &[sender], "sdk").await?;
        conversations.push(PlannedConversation {
            id,
            kind: ConversationKind::Sdk,
            members: vec![peer, sender],
        });
    }
    for wire in wires {
        wire.close().await;
    }
    Ok(Cast {
        accounts,
        raw_users: raw,
        conversations,
    })
}

async fn sign_up_and_in(url: &str, username: String) -> Result<(Account, Wire)> {
    let password = format!("chaos-password-{username}");
    let mut wire = Wire::connect(url, TIMEOUT).await?;
    wire.call(
        SignUp {
            username: username.clone(),
            password: Secret::new(password.clone()),
            display_name: None,
            invite: None,
        },
        TIMEOUT,
    )
    .await
    .with_context(|| format!("signing up {username}"))?;
    let signed = wire
        .call(
            SignIn {
                username: username.clone(),
                password: Secret::new(password.clone()),
                device: Some("im-chaos setup".into()),
            },
            TIMEOUT,
        )
        .await
        .with_context(|| format!("signing in {username}"))?;
    Ok((
        Account {
            username,
            password,
            user: signed.user,
            token: signed.token,
        },
        wire,
    ))
}

async fn create_conversation(
    creator: &mut Wire,
    accounts: &[Account],
    others: &[usize],
    title: &str,
) -> Result<ConversationId> {
    let created = creator
        .call(
            CreateConversation {
                user_ids: others.iter().map(|&i| accounts[i].user.uid).collect(),
                title: Some(title.to_owned()),
                ..Default::default()
            },
            TIMEOUT,
        )
        .await
        .with_context(|| format!("creating a {title} conversation"))?;
    Ok(created.conversation.id)
}
