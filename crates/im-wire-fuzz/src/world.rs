//! The real state the attack works on: accounts signed up on the server, session tokens,
//! single and group conversations with messages, read marks, members who left or were
//! removed, and the ids the attack learns along the way. Built with well-behaved requests before
//! the attack so that mutated frames carry real ids and reach the server's deep logic.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use anyhow::{Context, Result};
use im_proto::{
    AddMembers, ClientId, ConversationId, CreateConversation, Limits, MarkRead, RemoveMembers,
    SendText, SignOut, Uid,
};
use rand::seq::IndexedRandom;
use rand::Rng;

use crate::client::Client;

/// Revoked tokens remembered for `resume` attacks.
const REVOKED_KEPT: usize = 64;
/// Conversation ids learned during the attack, kept for later frames.
const LEARNED_KEPT: usize = 512;

/// An account the fuzzer signed up.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its uid (32 hex characters).
    pub uid: String,
    /// Its username.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// A conversation made during set-up, with what is known about it.
#[derive(Debug, Clone)]
pub struct Conv {
    /// Its id.
    pub id: String,
    /// What it is, for reports (`single`, `group`, `left`, …).
    pub label: &'static str,
    /// Whether it is a `GROUP_CHAT`.
    pub group: bool,
    /// Account indexes of its members at the end of set-up.
    pub members: Vec<usize>,
    /// Account indexes of members who left or were removed.
    pub former: Vec<usize>,
    /// The seq of its last message at the end of set-up.
    pub last_seq: u64,
    /// Client ids of stored messages, with their senders (for resends).
    pub sent: Vec<(usize, String)>,
}

/// Accounts signed up as sign-in targets only: wrong passwords go to these (and to unknown
/// names), so the server's per-username throttle never locks out the accounts whose tokens the
/// attack relies on.
pub const DECOYS: usize = 2;

/// Everything the attack knows about the server's state.
#[derive(Debug)]
pub struct World {
    /// The fuzzer's accounts: the first `main_accounts` are members of the set-up
    /// conversations and have tokens; the rest are decoys.
    pub accounts: Vec<Account>,
    /// How many of `accounts` the attack signs in as.
    pub main_accounts: usize,
    /// The set-up conversations.
    pub conversations: Vec<Conv>,
    /// Ids of stored messages (a valid id of the wrong kind, for id fields).
    pub message_ids: Vec<String>,
    /// The limits the server announced.
    pub limits: Limits,
    tokens: Mutex<Vec<Vec<String>>>,
    revoked: Mutex<Vec<String>>,
    learned: Mutex<Vec<String>>,
    by_uid: HashMap<String, usize>,
}

impl World {
    /// Signs up `accounts` accounts (names and passwords derived from `seed`), signs each in
    /// `tokens` times, creates conversations, sends messages, marks some read, has members leave
    /// and be removed. Connections come from `source`.
    pub async fn build(
        url: &str,
        source: Option<IpAddr>,
        seed: u64,
        accounts: usize,
        tokens: usize,
    ) -> Result<Self> {
        let main_accounts = accounts.max(6);
        let mut clients = Vec::new();
        let mut handles = Vec::new();
        for i in 0..main_accounts + DECOYS {
            let decoy = i >= main_accounts;
            let url = url.to_owned();
            let account = Account {
                uid: String::new(),
                username: format!("wf{:08x}_{i}", seed as u32),
                password: format!("pw-{seed:x}-{i}-secret"),
            };
            handles.push(tokio::spawn(async move {
                let mut client = Client::connect(&url, source).await?;
                let user = client
                    .sign_up_and_in(&account.username, &account.password)
                    .await?;
                let mut pool = vec![client.token.clone().expect("signed in")];
                let mut revoked = Vec::new();
                let extras = if decoy { 0 } else { tokens };
                for extra in 0..extras {
                    let mut other = Client::connect(&url, source).await?;
                    other.sign_in(&account.username, &account.password).await?;
                    let token = other.token.clone().expect("signed in");
                    if extra == 0 {
                        // One signed-out token per account, for `resume` with a revoked token.
                        other.ok(SignOut {}).await?;
                        revoked.push(token);
                    } else {
                        pool.push(token);
                    }
                    other.close().await;
                }
                let account = Account {
                    uid: user.uid.to_string(),
                    ..account
                };
                anyhow::Ok((client, account, pool, revoked))
            }));
        }
        let mut all_accounts = Vec::new();
        let mut pools = Vec::new();
        let mut all_revoked = Vec::new();
        for handle in handles {
            let (client, account, pool, revoked) = handle.await??;
            clients.push(client);
            all_accounts.push(account);
            pools.push(pool);
            all_revoked.extend(revoked);
        }
        let limits = clients[0].limits.clone();
        let by_uid = all_accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.uid.clone(), i))
            .collect();
        let mut world = Self {
            accounts: all_accounts,
            main_accounts,
            conversations: Vec::new(),
            message_ids: Vec::new(),
            limits,
            tokens: Mutex::new(pools),
            revoked: Mutex::new(all_revoked),
            learned: Mutex::new(Vec::new()),
            by_uid,
        };
        world
            .make_conversations(&mut clients)
            .await
            .context("setting up conversations")?;
        for client in clients {
            client.close().await;
        }
        Ok(world)
    }

    fn uid(&self, account: usize) -> Uid {
        self.accounts[account]
            .uid
            .parse()
            .expect("server uids parse")
    }

    async fn create(
        &mut self,
        clients: &mut [Client],
        by: usize,
        others: &[usize],
        label: &'static str,
        title: &str,
    ) -> Result<usize> {
        let created = clients[by]
            .ok(CreateConversation {
                user_ids: others.iter().map(|&o| self.uid(o)).collect(),
                title: Some(title.into()),
                icon: Some("https://example.com/i.png".into()),
                remark: Some(format!("{label} made by the fuzzer")),
                attrs: Some(
                    serde_json::json!({"color": "blue", "pinned": true})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                ),
                unique: false,
            })
            .await?;
        let mut members = vec![by];
        members.extend_from_slice(others);
        self.conversations.push(Conv {
            id: created.conversation.id.to_string(),
            label,
            group: others.len() != 1,
            members,
            former: Vec::new(),
            last_seq: 0,
            sent: Vec::new(),
        });
        Ok(self.conversations.len() - 1)
    }

    async fn send(
        &mut self,
        clients: &mut [Client],
        c: usize,
        by: usize,
        text: &str,
    ) -> Result<()> {
        let client_id = ClientId::random();
        let message = clients[by]
            .ok(SendText {
                conversation_id: self.conversation_id(c),
                client_id: client_id.clone(),
                text: text.into(),
                reply_to: None,
                mentions: vec![],
                mention_all: false,
            })
            .await?;
        let conv = &mut self.conversations[c];
        conv.last_seq = message.seq;
        conv.sent.push((by, client_id.as_str().to_owned()));
        self.message_ids.push(message.id.to_string());
        Ok(())
    }

    fn conversation_id(&self, c: usize) -> ConversationId {
        self.conversations[c].id.parse().expect("server ids parse")
    }

    async fn make_conversations(&mut self, clients: &mut [Client]) -> Result<()> {
        let (a, b, c, d, e, f) = (0, 1, 2, 3, 4, 5);
        let tj = self
            .create(clients, a, &[b], "single", "Tom & Jerry")
            .await?;
        self.send(clients, tj, a, "耗子，起床啦").await?;
        self.send(clients, tj, b, "再睡五分钟").await?;
        for i in 0..5 {
            self.send(clients, tj, i % 2, &format!("message {i}"))
                .await?;
        }
        let cd = self.create(clients, c, &[d], "single", "C & D").await?;
        self.send(clients, cd, c, "hi").await?;
        let ae = self.create(clients, a, &[e], "single", "A & E").await?;
        self.send(clients, ae, e, "مرحبا \u{202e}olleh").await?;
        let g1 = self
            .create(clients, a, &[b, c, d], "group", "Cat & Mice")
            .await?;
        for (i, by) in [a, b, c, d, a].into_iter().enumerate() {
            self.send(clients, g1, by, &format!("group line {i} 🐱"))
                .await?;
        }
        let g2 = self
            .create(clients, e, &[f, a], "group", "E's group")
            .await?;
        self.send(clients, g2, e, "woof").await?;
        self.send(clients, g2, a, "meow").await?;
        // A leaves g3 and F (its manager) removes B: both become former members.
        let g3 = self
            .create(clients, f, &[a, b], "left", "left behind")
            .await?;
        self.send(clients, g3, a, "bye").await?;
        self.send(clients, g3, b, "me too").await?;
        let id = self.conversation_id(g3);
        clients[a]
            .ok(RemoveMembers {
                conversation_id: id,
                user_ids: vec![self.uid(a)],
            })
            .await?;
        clients[f]
            .ok(RemoveMembers {
                conversation_id: id,
                user_ids: vec![self.uid(b)],
            })
            .await?;
        self.conversations[g3].members = vec![f];
        self.conversations[g3].former = vec![a, b];
        // A group B made and then left alone: no members at all.
        let empty = self
            .create(clients, b, &[c, d], "empty", "nobody home")
            .await?;
        self.send(clients, empty, c, "echo").await?;
        let id = self.conversation_id(empty);
        for who in [c, d, b] {
            clients[who]
                .ok(RemoveMembers {
                    conversation_id: id,
                    user_ids: vec![self.uid(who)],
                })
                .await?;
        }
        self.conversations[empty].members.clear();
        self.conversations[empty].former = vec![b, c, d];
        // E and F's chat: A to D are outsiders.
        let ef = self.create(clients, e, &[f], "outsider", "E & F").await?;
        self.send(clients, ef, f, "private").await?;
        // A group whose membership changed: D added later.
        let g4 = self.create(clients, b, &[], "group", "B's group").await?;
        self.send(clients, g4, b, "alone").await?;
        clients[b]
            .ok(AddMembers {
                conversation_id: self.conversation_id(g4),
                user_ids: vec![self.uid(d), self.uid(e)],
            })
            .await?;
        self.conversations[g4].members = vec![b, d, e];
        for (conv, who, seq) in [(tj, b, 3), (g1, c, 2), (g1, d, 99), (g2, f, 1)] {
            clients[who]
                .ok(MarkRead {
                    conversation_id: self.conversation_id(conv),
                    seq,
                })
                .await?;
        }
        for client in clients.iter_mut() {
            client.events.clear();
        }
        Ok(())
    }

    /// A usable session token of `account`, if one is known.
    pub fn token(&self, account: usize, rng: &mut impl Rng) -> Option<String> {
        let tokens = self.tokens.lock().expect("tokens");
        tokens[account].choose(rng).cloned()
    }

    /// A token that was signed out, if any.
    pub fn revoked_token(&self, rng: &mut impl Rng) -> Option<String> {
        self.revoked.lock().expect("tokens").choose(rng).cloned()
    }

    /// Remembers a new token of the account with `uid`.
    pub fn add_token(&self, uid: &str, token: String) {
        if let Some(&account) = self.by_uid.get(uid) {
            let mut tokens = self.tokens.lock().expect("tokens");
            let pool = &mut tokens[account];
            if !pool.contains(&token) {
                pool.push(token);
                if pool.len() > 32 {
                    pool.remove(0);
                }
            }
        }
    }

    /// Forgets a token that no longer works (signed out).
    pub fn revoke(&self, token: &str) {
        for pool in self.tokens.lock().expect("tokens").iter_mut() {
            pool.retain(|t| t != token);
        }
        let mut revoked = self.revoked.lock().expect("tokens");
        if !revoked.iter().any(|t| t == token) {
            revoked.push(token.to_owned());
            if revoked.len() > REVOKED_KEPT {
                revoked.remove(0);
            }
        }
    }

    /// The account with this username (compared as the server does: trimmed, any case).
    pub fn account_of_name(&self, username: &str) -> Option<usize> {
        let name = username.trim().to_lowercase();
        self.accounts.iter().position(|a| a.username == name)
    }

    /// Remembers a conversation id seen during the attack.
    pub fn learn_conversation(&self, id: &str) {
        let mut learned = self.learned.lock().expect("learned");
        if learned.len() < LEARNED_KEPT && !learned.iter().any(|l| l == id) {
            learned.push(id.to_owned());
        }
    }

    /// A conversation id learned during the attack, if any.
    pub fn learned_conversation(&self, rng: &mut impl Rng) -> Option<String> {
        self.learned.lock().expect("learned").choose(rng).cloned()
    }

    /// How many set-up conversations there are of each label.
    pub fn census(&self) -> String {
        let mut counts = std::collections::BTreeMap::new();
        for c in &self.conversations {
            *counts.entry(c.label).or_insert(0) += 1;
        }
        counts
            .iter()
            .map(|(label, n)| format!("{n} {label}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Conversations `account` is a member of.
    pub fn member_of(&self, account: usize) -> Vec<&Conv> {
        self.conversations
            .iter()
            .filter(|c| c.members.contains(&account))
            .collect()
    }
}
