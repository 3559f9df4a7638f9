//! The audit: after the chaos, reads every conversation's whole history (`get_messages`, paged)
//! and every member's view of it (`get_conversation`) straight from the server, and holds them
//! against what the clients were told (raw clients' acks) and what the SDK senders enqueued.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use im_proto::{ClientId, ConversationId, GetConversation, GetMessages, Message, Resume, Uid};
use serde::Serialize;

use crate::raw_client::RawClientOutcome;
use crate::sender_log::SenderLog;
use crate::senders::SenderSpec;
use crate::setup::Cast;
use crate::tag::MessageTag;
use crate::wire::Wire;

const TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many problems are described one by one.
const MAX_PROBLEMS: usize = 100;

/// What the audit found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Findings {
    /// Conversations read.
    pub conversations: usize,
    /// Messages stored, over all conversations.
    pub stored: u64,
    /// Raw clients' messages acknowledged.
    pub acked_raw: u64,
    /// SDK senders' messages enqueued (their `enqueued` lines).
    pub enqueued_sdk: u64,
    /// Of those, logged as recovered from the outbox after a kill.
    pub recovered_sdk: u64,
    /// SDK senders' `acked` lines.
    pub acked_sdk: u64,
    /// Acked or enqueued, but not in the history.
    pub lost: u64,
    /// Stored more than once: the same client id, or the same (sender, k), twice.
    pub duplicated: u64,
    /// Stored after a later message of the same sender in the same conversation.
    pub out_of_order: u64,
    /// Seqs missing from 1..=last_seq, repeated, or beyond what the history holds.
    pub seq_gaps: u64,
    /// Members whose `get_conversation` disagrees with the history's newest message.
    pub view_mismatches: u64,
    /// Acks whose seq is not where the message is stored (or that acked something else).
    pub ack_mismatches: u64,
    /// Stored messages no client created (unreadable text, unknown (sender, k), wrong sender).
    pub unknown_messages: u64,
    /// Messages refused for good (raw `send_text` errors, SDK `failed` lines).
    pub refused: u64,
    /// Raw messages created but never acked (the drain ran out of time).
    pub unacked_raw: u64,
    /// SDK messages enqueued but never acked in the log (informational: an ack that came
    /// just before a kill may be missing from the log; the history decides).
    pub unlogged_sdk_acks: u64,
    /// Unreadable lines in the SDK senders' logs.
    pub unreadable_log_lines: u64,
    /// The first problems, one line each.
    pub problems: Vec<String>,
}

impl Findings {
    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// A message some client expects to be stored once.
struct Expected {
    conversation_id: ConversationId,
    client_id: ClientId,
    tag: MessageTag,
    /// The seq an ack gave it, if one came.
    acked_seq: Option<u64>,
    what: &'static str,
}

/// What the server says after the chaos.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Every conversation's whole history, oldest first.
    pub histories: BTreeMap<ConversationId, Vec<Message>>,
    /// Every member's view of every conversation.
    pub views: Vec<MemberView>,
}

/// One member's `get_conversation` of one conversation.
#[derive(Debug, Clone)]
pub struct MemberView {
    /// The member's username.
    pub member: String,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its `last_seq`.
    pub last_seq: u64,
    /// Its `last_message`.
    pub last_message: Option<Message>,
}

/// Reads every conversation of `cast` from the server at `url` and checks it.
pub async fn audit(
    url: &str,
    cast: &Cast,
    raw: &[RawClientOutcome],
    senders: &[(SenderSpec, SenderLog)],
) -> Result<Findings> {
    let observed = read(url, cast).await?;
    Ok(check(cast, raw, senders, &observed))
}

/// Reads every conversation's history (as its first member) and every member's view of it.
pub async fn read(url: &str, cast: &Cast) -> Result<Observed> {
    let mut wires: HashMap<usize, Wire> = HashMap::new();
    let mut observed = Observed::default();
    for conversation in &cast.conversations {
        let reader = conversation.members[0];
        let wire = signed_in(&mut wires, url, cast, reader).await?;
        let history = read_history(wire, conversation.id)
            .await
            .with_context(|| format!("reading conversation {}", conversation.id))?;
        observed.histories.insert(conversation.id, history);
        for &member in &conversation.members {
            let wire = signed_in(&mut wires, url, cast, member).await?;
            let view = wire
                .call(
                    GetConversation {
                        conversation_id: conversation.id,
                    },
                    TIMEOUT,
                )
                .await?;
            observed.views.push(MemberView {
                member: cast.accounts[member].username.clone(),
                conversation_id: conversation.id,
                last_seq: view.last_seq,
                last_message: view.last_message,
            });
        }
    }
    for wire in wires.into_values() {
        wire.close().await;
    }
    Ok(observed)
}

/// Holds what the server says against what the clients were told and what they enqueued.
pub fn check(
    cast: &Cast,
    raw: &[RawClientOutcome],
    senders: &[(SenderSpec, SenderLog)],
    observed: &Observed,
) -> Findings {
    let mut findings = Findings::default();
    let mut expected = Vec::new();
    // Every (sender, k) some client created, and the uid it must be stored under.
    let mut created: HashSet<MessageTag> = HashSet::new();
    let uid_of: HashMap<&str, Uid> = cast
        .accounts
        .iter()
        .map(|a| (a.username.as_str(), a.user.uid))
        .collect();

    for outcome in raw {
        created.extend((1..=outcome.created).map(|k| MessageTag::new(&outcome.username, k)));
        findings.acked_raw += outcome.acked.len() as u64;
        findings.unacked_raw += outcome.unacked.len() as u64;
        findings.refused += outcome.refused.len() as u64;
        findings.ack_mismatches += outcome.ack_mismatches.len() as u64;
        for text in &outcome.ack_mismatches {
            findings.problem(format!("ack mismatch: {text}"));
        }
        for (message, error) in &outcome.refused {
            findings.problem(format!(
                "refused: {} k={}: {error}",
                outcome.username, message.k
            ));
        }
        if let Some(fatal) = &outcome.fatal {
            findings.problem(format!("{} stopped: {fatal}", outcome.username));
        }
        for acked in &outcome.acked {
            expected.push(Expected {
                conversation_id: acked.sent.conversation_id,
                client_id: acked.sent.client_id.clone(),
                tag: MessageTag::new(&outcome.username, acked.sent.k),
                acked_seq: Some(acked.seq),
                what: "acked",
            });
        }
    }
    for (spec, log) in senders {
        findings.enqueued_sdk += log.enqueued.len() as u64;
        findings.recovered_sdk += log.recovered;
        findings.acked_sdk += log.acked.len() as u64;
        findings.refused += log.failed.len() as u64;
        findings.unreadable_log_lines += log.unreadable_lines;
        for (k, code) in &log.failed {
            findings.problem(format!("refused: {} k={k}: {code}", spec.username));
        }
        for (k, first, other) in &log.conflicting_acks {
            findings.ack_mismatches += 1;
            findings.problem(format!(
                "{} k={k} acked at seq {first} and at seq {other}",
                spec.username
            ));
        }
        for (&k, client_id) in &log.enqueued {
            let tag = MessageTag::new(&spec.username, k);
            created.insert(tag.clone());
            if !log.acked.contains_key(&k) {
                findings.unlogged_sdk_acks += 1;
            }
            expected.push(Expected {
                conversation_id: spec.conversation,
                client_id: client_id.clone(),
                tag,
                acked_seq: log.acked.get(&k).copied(),
                what: "enqueued",
            });
        }
        for k in log.acked.keys().filter(|k| !log.enqueued.contains_key(k)) {
            findings.ack_mismatches += 1;
            findings.problem(format!("{} k={k} acked but never enqueued", spec.username));
        }
    }

    let histories = &observed.histories;
    for (&conversation_id, history) in histories {
        findings.conversations += 1;
        findings.stored += history.len() as u64;
        check_seqs(&mut findings, conversation_id, history);
    }
    // The highest last_seq any member's view claims, per conversation.
    let mut claimed: BTreeMap<ConversationId, u64> = BTreeMap::new();
    for view in &observed.views {
        let highest = claimed.entry(view.conversation_id).or_default();
        *highest = (*highest).max(view.last_seq);
        let newest = histories.get(&view.conversation_id).and_then(|h| h.last());
        let newest_seq = newest.map_or(0, |m| m.seq);
        if view.last_seq != newest_seq || view.last_message.as_ref() != newest {
            findings.view_mismatches += 1;
            findings.problem(format!(
                "view ≠ history: {} sees {} at last_seq {} / last message seq {:?}; the history's newest is seq {newest_seq}",
                view.member,
                view.conversation_id,
                view.last_seq,
                view.last_message.as_ref().map(|m| m.seq),
            ));
        }
    }
    for (conversation_id, last_seq) in claimed {
        let newest_seq = histories
            .get(&conversation_id)
            .and_then(|h| h.last())
            .map_or(0, |m| m.seq);
        if last_seq > newest_seq {
            // Seqs up to last_seq that the history does not hold.
            findings.seq_gaps += last_seq - newest_seq;
            findings.problem(format!(
                "seq gap in {conversation_id}: last_seq is {last_seq}, the history ends at {newest_seq}"
            ));
        }
    }

    // Duplicates, order and strangers, over every stored message.
    let mut by_client_id: HashMap<(ConversationId, &ClientId), &Message> = HashMap::new();
    let mut seen_tags: HashSet<MessageTag> = HashSet::new();
    for (&conversation_id, history) in histories {
        let mut newest_k: HashMap<String, u64> = HashMap::new();
        for message in history {
            let tag = MessageTag::parse(message.body.preview());
            let duplicate_client_id = by_client_id
                .insert((conversation_id, &message.client_id), message)
                .is_some();
            let duplicate_tag = tag.as_ref().is_some_and(|t| !seen_tags.insert(t.clone()));
            if duplicate_client_id || duplicate_tag {
                findings.duplicated += 1;
                findings.problem(format!(
                    "duplicate: {:?} (client id {}) again at seq {} of {conversation_id}",
                    message.body.preview(),
                    message.client_id,
                    message.seq
                ));
            }
            let Some(tag) = tag else {
                findings.unknown_messages += 1;
                findings.problem(format!(
                    "unknown message {:?} at seq {} of {conversation_id}",
                    message.body.preview(),
                    message.seq
                ));
                continue;
            };
            if !created.contains(&tag) || uid_of.get(tag.sender.as_str()) != Some(&message.from) {
                findings.unknown_messages += 1;
                findings.problem(format!(
                    "stranger: {:?} from {} at seq {} of {conversation_id}",
                    message.body.preview(),
                    message.from,
                    message.seq
                ));
            }
            let newest = newest_k.entry(tag.sender.clone()).or_insert(0);
            if tag.k < *newest {
                findings.out_of_order += 1;
                findings.problem(format!(
                    "out of order: {} k={} stored at seq {} of {conversation_id}, after k={}",
                    tag.sender, tag.k, message.seq, newest
                ));
            }
            *newest = (*newest).max(tag.k);
        }
    }

    // Everything acked or enqueued must be there, once, where its ack said.
    for e in &expected {
        match by_client_id.get(&(e.conversation_id, &e.client_id)) {
            None => {
                findings.lost += 1;
                findings.problem(format!(
                    "LOST: {} k={} ({}, client id {}) is not in {}",
                    e.tag.sender, e.tag.k, e.what, e.client_id, e.conversation_id
                ));
            }
            Some(stored) => {
                let stored_tag = MessageTag::parse(stored.body.preview());
                if stored_tag.as_ref() != Some(&e.tag)
                    || e.acked_seq.is_some_and(|seq| seq != stored.seq)
                {
                    findings.ack_mismatches += 1;
                    findings.problem(format!(
                        "ack ≠ history: {} k={} acked at seq {:?}, stored as {:?} at seq {}",
                        e.tag.sender,
                        e.tag.k,
                        e.acked_seq,
                        stored.body.preview(),
                        stored.seq
                    ));
                }
            }
        }
    }
    findings
}

/// The connection of account `i`, opened and resumed on first use.
async fn signed_in<'w>(
    wires: &'w mut HashMap<usize, Wire>,
    url: &str,
    cast: &Cast,
    i: usize,
) -> Result<&'w mut Wire> {
    match wires.entry(i) {
        Entry::Occupied(open) => Ok(open.into_mut()),
        Entry::Vacant(slot) => {
            let mut wire = Wire::connect(url, TIMEOUT).await?;
            wire.call(
                Resume {
                    token: cast.accounts[i].token.clone(),
                },
                TIMEOUT,
            )
            .await
            .with_context(|| format!("resuming {}", cast.accounts[i].username))?;
            Ok(slot.insert(wire))
        }
    }
}

/// A conversation's whole history, oldest first, paging forwards.
async fn read_history(wire: &mut Wire, conversation_id: ConversationId) -> Result<Vec<Message>> {
    let mut history: Vec<Message> = Vec::new();
    loop {
        let after = history.last().map_or(0, |m| m.seq);
        let page = wire
            .call(
                GetMessages {
                    conversation_id,
                    before: None,
                    after: Some(after),
                    limit: None,
                },
                TIMEOUT,
            )
            .await?;
        let progressed = !page.messages.is_empty();
        history.extend(page.messages);
        if !page.has_more {
            return Ok(history);
        }
        anyhow::ensure!(progressed, "get_messages said has_more with an empty page");
    }
}

/// Seqs must be exactly 1, 2, … N in the history as read.
fn check_seqs(findings: &mut Findings, conversation_id: ConversationId, history: &[Message]) {
    let mut expected_seq = 1;
    for message in history {
        if message.seq != expected_seq {
            if message.seq > expected_seq {
                findings.seq_gaps += message.seq - expected_seq;
                findings.problem(format!(
                    "seq gap in {conversation_id}: seqs {expected_seq}..{} are missing",
                    message.seq
                ));
            } else {
                findings.seq_gaps += 1;
                findings.problem(format!(
                    "seq {} of {conversation_id} again (or backwards) after seq {}",
                    message.seq,
                    expected_seq - 1
                ));
            }
        }
        expected_seq = expected_seq.max(message.seq + 1);
    }
}

#[cfg(test)]
mod tests {
    use im_proto::{MessageBody, MessageId, Secret, User};

    use super::*;
    use crate::raw_client::{AckedMessage, SentMessage};
    use crate::setup::{Account, ConversationKind, PlannedConversation};

    fn account(username: &str) -> Account {
        Account {
            username: username.into(),
            password: String::new(),
            user: User {
                uid: Uid::random(),
                username: username.into(),
                display_name: username.into(),
            },
            token: Secret::new("token"),
        }
    }

    /// Two raw users in a pair, and an SDK sender with the first of them.
    struct World {
        cast: Cast,
        pair: ConversationId,
        sdk: ConversationId,
        raw: Vec<RawClientOutcome>,
        senders: Vec<(SenderSpec, SenderLog)>,
        histories: BTreeMap<ConversationId, Vec<Message>>,
    }

    impl World {
        /// raw000 sends k=1..=3 into the pair and sdk000 enqueues k=1..=2; all stored in order.
        fn healthy() -> Self {
            let (pair, sdk) = (ConversationId::random(), ConversationId::random());
            let cast = Cast {
                accounts: vec![account("raw000"), account("raw001"), account("sdk000")],
                raw_users: 2,
                conversations: vec![
                    PlannedConversation {
                        id: pair,
                        kind: ConversationKind::Pair,
                        members: vec![0, 1],
                    },
                    PlannedConversation {
                        id: sdk,
                        kind: ConversationKind::Sdk,
                        members: vec![0, 2],
                    },
                ],
            };
            let mut world = World {
                pair,
                sdk,
                raw: vec![],
                senders: vec![],
                histories: BTreeMap::new(),
                cast,
            };
            let mut outcome = RawClientOutcome {
                username: "raw000".into(),
                created: 3,
                ..Default::default()
            };
            for k in 1..=3 {
                let sent = SentMessage {
                    k,
                    conversation_id: pair,
                    client_id: ClientId::time_ordered(),
                };
                world.store(pair, 0, k, &sent.client_id);
                outcome.acked.push(AckedMessage { sent, seq: k });
            }
            world.raw = vec![
                outcome,
                RawClientOutcome {
                    username: "raw001".into(),
                    ..Default::default()
                },
            ];
            let mut log = SenderLog::default();
            for k in 1..=2 {
                let client_id = ClientId::time_ordered();
                world.store(sdk, 2, k, &client_id);
                log.enqueued.insert(k, client_id);
                log.acked.insert(k, k);
            }
            let spec = SenderSpec {
                dir: "/nonexistent".into(),
                username: "sdk000".into(),
                password: String::new(),
                conversation: sdk,
            };
            world.senders = vec![(spec, log)];
            world
        }

        /// Appends a message of `account`'s k at the next seq.
        fn store(
            &mut self,
            conversation: ConversationId,
            account: usize,
            k: u64,
            client_id: &ClientId,
        ) {
            let history = self.histories.entry(conversation).or_default();
            let sender = &self.cast.accounts[account];
            history.push(Message {
                id: MessageId::time_ordered(),
                conversation_id: conversation,
                seq: history.len() as u64 + 1,
                from: sender.user.uid,
                client_id: client_id.clone(),
                timestamp: 0,
                body: MessageBody::text(MessageTag::new(&sender.username, k).text()),
                reply_to: None,
                edited_at: None,
                mentions: vec![],
                mention_all: false,
                reactions: vec![],
            });
        }

        /// Every member sees the history's newest message.
        fn observed(&self) -> Observed {
            let views = self
                .cast
                .conversations
                .iter()
                .flat_map(|c| {
                    let newest = self.histories.get(&c.id).and_then(|h| h.last()).cloned();
                    c.members.iter().map(move |&m| MemberView {
                        member: format!("member{m}"),
                        conversation_id: c.id,
                        last_seq: newest.as_ref().map_or(0, |m| m.seq),
                        last_message: newest.clone(),
                    })
                })
                .collect();
            Observed {
                histories: self.histories.clone(),
                views,
            }
        }

        fn check(&self) -> Findings {
            check(&self.cast, &self.raw, &self.senders, &self.observed())
        }
    }

    fn failures(f: &Findings) -> [u64; 7] {
        [
            f.lost,
            f.duplicated,
            f.out_of_order,
            f.seq_gaps,
            f.view_mismatches,
            f.ack_mismatches,
            f.unknown_messages,
        ]
    }

    #[test]
    fn a_healthy_run_has_no_findings() {
        let f = World::healthy().check();
        assert_eq!(failures(&f), [0; 7], "{:?}", f.problems);
        assert_eq!((f.stored, f.acked_raw, f.enqueued_sdk), (5, 3, 2));
    }

    #[test]
    fn a_missing_message_is_lost_and_a_gap() {
        let mut world = World::healthy();
        world.histories.get_mut(&world.pair).unwrap().remove(1);
        let f = world.check();
        assert_eq!(f.lost, 1, "{:?}", f.problems);
        assert_eq!(f.seq_gaps, 1, "{:?}", f.problems);
        // An enqueued SDK message that never arrived is lost too.
        let mut world = World::healthy();
        world.histories.get_mut(&world.sdk).unwrap().pop();
        assert_eq!(world.check().lost, 1);
    }

    #[test]
    fn a_message_stored_twice_is_a_duplicate() {
        let mut world = World::healthy();
        // The same (sender, k) under a fresh client id: a client that resent with a new id.
        world.store(world.pair, 0, 3, &ClientId::time_ordered());
        let f = world.check();
        assert_eq!(f.duplicated, 1, "{:?}", f.problems);
        assert_eq!(f.out_of_order, 0);
    }

    #[test]
    fn a_later_message_stored_first_is_out_of_order() {
        let mut world = World::healthy();
        let history = world.histories.get_mut(&world.pair).unwrap();
        let (first, second) = (history[0].body.clone(), history[1].body.clone());
        let (first_id, second_id) = (history[0].client_id.clone(), history[1].client_id.clone());
        (history[0].body, history[0].client_id) = (second, second_id);
        (history[1].body, history[1].client_id) = (first, first_id);
        let f = world.check();
        assert_eq!(f.out_of_order, 1, "{:?}", f.problems);
        // Both acks now point at the other seq.
        assert_eq!(f.ack_mismatches, 2, "{:?}", f.problems);
    }

    #[test]
    fn a_stale_view_is_a_mismatch() {
        let world = World::healthy();
        let mut observed = world.observed();
        observed.views[0].last_seq -= 1;
        let f = check(&world.cast, &world.raw, &world.senders, &observed);
        assert_eq!(f.view_mismatches, 1, "{:?}", f.problems);
        // A view ahead of the history also means seqs the history lacks.
        let mut observed = world.observed();
        observed.views[1].last_seq += 2;
        let f = check(&world.cast, &world.raw, &world.senders, &observed);
        assert_eq!((f.view_mismatches, f.seq_gaps), (1, 2), "{:?}", f.problems);
    }

    #[test]
    fn a_message_nobody_sent_is_unknown() {
        let mut world = World::healthy();
        world.store(world.pair, 1, 1, &ClientId::time_ordered());
        let f = world.check();
        assert_eq!(f.unknown_messages, 1, "{:?}", f.problems);
    }
}
