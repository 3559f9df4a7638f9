//! A model-based test of the writer: random sequences of every write command from many
//! connections, cut into write batches at random, each batch checked against a reference model.
//!
//! After every batch it checks, against [`Model`]:
//! - every reply (value or error code), and every frame each connection receives, in order —
//!   replies and events interleaved as the connection would write them;
//! - what is stored: per conversation gapless seqs `1..=last_seq`, `last_seq` = max seq, the
//!   messages themselves, membership in joining order, manager, type, member key (the unique
//!   lookup), read marks (never above `last_seq`), what former members saw when they left;
//! - what readers serve from it: every member's view (last seq, read mark, unread count, others'
//!   read mark, the frozen view of former members), and `sync` from the cursor before the batch
//!   (exactly the conversations that changed for each user);
//! - sessions per user, accounts disabled and password hashes (disabling an account or resetting
//!   its password signs out every session; a disabled account cannot start one; a session is
//!   revoked by id by another of its user's devices), and invite codes (a sign-up with a code
//!   spends one use, checked before the username; a used-up, expired or unknown code refuses);
//! - mutes (in every view, and told to the member's other connections) and blocks (no messages
//!   in a single chat between the two, no conversation with or adding of the one who blocks);
//! - mentions (of members only; `@all` by a group's manager only), emoji reactions (added,
//!   taken back, each emoji once per user, at most `MAX_REACTIONS` emoji; none on a recalled
//!   message), replies (to a seq that exists), edits (own text messages, not recalled; the same text again
//!   changes nothing) and recalls (own messages, or any in a group by its manager): what every
//!   member's connections are told, the messages as stored, `sync` bringing the conversation
//!   back and `get_message_changes` from the cursor before the batch naming exactly the changed
//!   messages. (The edit and recall windows are checked against the clock in
//!   `tests/messaging.rs`.)
//!
//! - file messages naming those blobs: sent only by who may read the blob (its uploader, or a
//!   member of a conversation where it was sent: forwarding), with its stored size; readable by
//!   each conversation's members while they are members and until the message is recalled;
//!   not editable;
//! - uploads and blobs (`rules/blobs.rs`): uploads created (found again, or "you have it") under
//!   the size cap, the count of unfinished uploads and the storage quota, some expiring at once;
//!   leases (one token at a time, at the stored offset), checkpoints, renewals, releases,
//!   cancels (by the owner only), finishing (content stored once, claimed by its uploader) and
//!   sweeps of expired uploads, in any order and in one batch with everything else: the stored
//!   uploads and who may read which blob are compared with the model after every batch.
//!
//! The writer's hot-conversation cache is sometimes tiny (1 to 8 members in all), so
//! conversations leave it mid-batch and are loaded back.
//!
//! It runs on both storage backends: on SQLite with every check above, and on PostgreSQL (a
//! throwaway cluster, a database per case) with the replies, frames and everything readers serve
//! (through PostgreSQL's `ReadConn`) checked; the raw rows are checked on SQLite.
//!
//! `IM_MODEL_CASES` sets the number of cases (default 2,000; `.ci/long-tests` runs far more),
//! `IM_MODEL_PG_CASES` those on PostgreSQL (default 128).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use im_proto::{
    decode_server_frame, AddMembers, BlockState, Conversation, ConversationId, ConversationType,
    ConversationView, CreateConversation, CreatedConversation, ErrorCode, Event, Message,
    MessageBody, MuteState, ReadMark, RemoveMembers, RequestId, ServerFrame, Uid,
    UpdateConversation, User,
};
use proptest::prelude::*;
use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::backend::Backend;
use super::command::{Origin, Reply, WriteCmd};
use super::engine::Writer;
use super::pg::{PgBackend, PgReader};
use super::read_conn::ReadConn;
use super::sqlite_tx::SqliteBackend;
use super::{checkpoint, read, rows, schema};
use crate::error::Result;
use crate::hub::{ConnHandle, Hub, Outbound, TokenHash};

/// Members a conversation may have in these tests (small, so the limit is often hit).
const MAX_MEMBERS: usize = 4;
/// Usernames that sign-ups pick from; the first `INITIAL_USERS` exist from the start.
const NAMES: usize = 6;
const INITIAL_USERS: usize = 4;
/// Connections per initial user: the first two share a session, the third has its own.
const CONNS_PER_USER: usize = 3;
/// Stands for a uid no account has.
const GHOST: usize = usize::MAX;

fn cases() -> u32 {
    std::env::var("IM_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

// ---------------------------------------------------------------------------------------------
// What the test generates: steps that name connections, conversations and users by small
// numbers, resolved against the model's state when the step is reached.

#[derive(Debug, Clone, Copy)]
enum ReadTarget {
    Zero,
    Back(u8),
    Last,
    Beyond(u8),
}

#[derive(Debug, Clone)]
enum Step {
    /// Ends the current write batch.
    Cut,
    SignUp(u8),
    SignIn(u8),
    SignOut(u8),
    Create {
        conn: u8,
        others: Vec<u8>,
        unique: bool,
        title: Option<u8>,
    },
    Update {
        conn: u8,
        conv: u8,
        title: Option<u8>,
    },
    Add {
        conn: u8,
        conv: u8,
        users: Vec<u8>,
    },
    Remove {
        conn: u8,
        conv: u8,
        users: Vec<u8>,
    },
    Leave {
        conn: u8,
        conv: u8,
    },
    Send {
        conn: u8,
        conv: u8,
        /// Reuse one of the sender's earlier client ids (a resend).
        resend: Option<u8>,
        /// Reply to a seq: 0, one of the conversation's, or one beyond its last.
        reply: Option<ReadTarget>,
        /// Users to mention (members or not), and `@all`.
        mentions: Vec<u8>,
        mention_all: bool,
        /// A file message instead of a text: which content, and whether its declared size is
        /// wrong.
        file: Option<(u8, bool)>,
    },
    React {
        conn: u8,
        conv: u8,
        target: ReadTarget,
        /// Which of a few emoji.
        emoji: u8,
        on: bool,
    },
    Edit {
        conn: u8,
        conv: u8,
        target: ReadTarget,
        /// The message's own text again (a retry).
        same_text: bool,
    },
    Recall {
        conn: u8,
        conv: u8,
        target: ReadTarget,
    },
    MarkRead {
        conn: u8,
        conv: u8,
        target: ReadTarget,
    },
    Mute {
        conn: u8,
        conv: u8,
        muted: bool,
    },
    Block {
        conn: u8,
        /// Whom (any user, the ghost, or the connection's own user).
        user: u8,
        blocked: bool,
    },
    /// The operator disables or enables an account.
    Disable {
        user: u8,
        disabled: bool,
    },
    /// The operator resets an account's password.
    ResetPassword(u8),
    /// A device signs out another session of its user, by id (or an id that is none of them).
    RevokeOther {
        conn: u8,
        which: u8,
    },
    /// The operator creates an invite code.
    Invite {
        uses: u8,
        expired: bool,
    },
    /// A sign-up with an invite code (one of the codes, or an unknown one).
    SignUpInvited {
        name: u8,
        invite: u8,
    },
    /// A user starts an upload of one of a few contents (one over the size cap); a short-lived
    /// one expires at once.
    BlobCreate {
        user: u8,
        content: u8,
        short_lived: bool,
    },
    /// A request takes an upload's lease (as its owner or not, at its offset or not).
    BlobLease {
        upload: u8,
        token: u8,
        stranger: bool,
        wrong_offset: bool,
    },
    /// A lease holder (or not) commits bytes from the offset (or not), by 0 or more bytes.
    BlobCheckpoint {
        upload: u8,
        token: u8,
        stale_from: bool,
        advance: u8,
    },
    BlobRenew {
        upload: u8,
        token: u8,
    },
    BlobFinish {
        upload: u8,
        token: u8,
    },
    BlobRelease {
        upload: u8,
        token: u8,
    },
    BlobCancel {
        upload: u8,
        stranger: bool,
    },
    BlobSweep,
    /// A whole upload in one request, as its owner sends it: lease, then finish.
    BlobPatch {
        upload: u8,
    },
}

fn read_target() -> impl Strategy<Value = ReadTarget> {
    prop_oneof![
        Just(ReadTarget::Zero),
        (0u8..4).prop_map(ReadTarget::Back),
        Just(ReadTarget::Last),
        (0u8..4).prop_map(ReadTarget::Beyond),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let n = any::<u8>;
    let users = || prop::collection::vec(any::<u8>(), 0..4);
    prop_oneof![
        4 => Just(Step::Cut),
        1 => n().prop_map(Step::SignUp),
        1 => n().prop_map(Step::SignIn),
        1 => n().prop_map(Step::SignOut),
        3 => (n(), users(), any::<bool>(), prop::option::of(0u8..3)).prop_map(
            |(conn, others, unique, title)| Step::Create { conn, others, unique, title }
        ),
        2 => (n(), n(), prop::option::of(0u8..3))
            .prop_map(|(conn, conv, title)| Step::Update { conn, conv, title }),
        2 => (n(), n(), users()).prop_map(|(conn, conv, users)| Step::Add { conn, conv, users }),
        2 => (n(), n(), users())
            .prop_map(|(conn, conv, users)| Step::Remove { conn, conv, users }),
        1 => (n(), n()).prop_map(|(conn, conv)| Step::Leave { conn, conv }),
        12 => (
            n(),
            n(),
            prop::option::weighted(0.2, n()),
            prop::option::weighted(0.2, read_target()),
            prop::collection::vec(any::<u8>(), 0..3),
            prop::bool::weighted(0.1),
            prop::option::weighted(0.25, (any::<u8>(), prop::bool::weighted(0.1))),
        )
            .prop_map(|(conn, conv, resend, reply, mentions, mention_all, file)| Step::Send {
                conn,
                conv,
                resend,
                reply,
                mentions,
                mention_all,
                file,
            }),
        3 => (n(), n(), read_target(), 0u8..4, prop::bool::weighted(0.7))
            .prop_map(|(conn, conv, target, emoji, on)| Step::React { conn, conv, target, emoji, on }),
        3 => (n(), n(), read_target(), prop::bool::weighted(0.2))
            .prop_map(|(conn, conv, target, same_text)| Step::Edit { conn, conv, target, same_text }),
        2 => (n(), n(), read_target())
            .prop_map(|(conn, conv, target)| Step::Recall { conn, conv, target }),
        4 => (n(), n(), read_target())
            .prop_map(|(conn, conv, target)| Step::MarkRead { conn, conv, target }),
        1 => (n(), n(), any::<bool>())
            .prop_map(|(conn, conv, muted)| Step::Mute { conn, conv, muted }),
        2 => (n(), n(), prop::bool::weighted(0.7))
            .prop_map(|(conn, user, blocked)| Step::Block { conn, user, blocked }),
        1 => (n(), any::<bool>()).prop_map(|(user, disabled)| Step::Disable { user, disabled }),
        1 => n().prop_map(Step::ResetPassword),
        1 => (n(), n()).prop_map(|(conn, which)| Step::RevokeOther { conn, which }),
        1 => (0u8..3, prop::bool::weighted(0.2))
            .prop_map(|(uses, expired)| Step::Invite { uses, expired }),
        1 => (n(), n()).prop_map(|(name, invite)| Step::SignUpInvited { name, invite }),
        4 => (n(), 0u8..BLOB_CONTENTS as u8, prop::bool::weighted(0.15))
            .prop_map(|(user, content, short_lived)| Step::BlobCreate { user, content, short_lived }),
        3 => (n(), 1u8..4, prop::bool::weighted(0.15), prop::bool::weighted(0.15)).prop_map(
            |(upload, token, stranger, wrong_offset)| Step::BlobLease { upload, token, stranger, wrong_offset }
        ),
        3 => (n(), 1u8..4, prop::bool::weighted(0.15), 0u8..4).prop_map(
            |(upload, token, stale_from, advance)| Step::BlobCheckpoint { upload, token, stale_from, advance }
        ),
        1 => (n(), 1u8..4).prop_map(|(upload, token)| Step::BlobRenew { upload, token }),
        2 => (n(), 1u8..4).prop_map(|(upload, token)| Step::BlobFinish { upload, token }),
        1 => (n(), 1u8..4).prop_map(|(upload, token)| Step::BlobRelease { upload, token }),
        1 => (n(), prop::bool::weighted(0.3))
            .prop_map(|(upload, stranger)| Step::BlobCancel { upload, stranger }),
        1 => Just(Step::BlobSweep),
        4 => n().prop_map(|upload| Step::BlobPatch { upload }),
    ]
}

/// Contents uploads are made of, by size: the last is over the cap.
/// Enough of them that a user's quota holds only some: the others a user reads only through
/// messages, so that what a recall or leaving takes away shows.
const BLOB_CONTENTS: usize = 6;
const BLOB_SIZES: [u64; BLOB_CONTENTS] = [400, 900, 1_200, 300, 600, 700];
const BLOB_MAX: u64 = 1_000;
const BLOB_QUOTA: u64 = 1_500;
const BLOB_IN_PROGRESS: u32 = 2;
/// How far a checkpoint moves an upload, by `advance`.
const BLOB_STEPS: [u64; 4] = [0, 100, 300, 1_000];

fn blob_sha(content: usize) -> crate::blobs::BlobId {
    crate::blobs::BlobId([content as u8 + 1; 32])
}

// ---------------------------------------------------------------------------------------------
// The reference model: plain data, one command at a time.

/// A conversation as everyone should see it (users and conversations by model index).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    conv: usize,
    kind: ConversationType,
    title: String,
    manager: usize,
    members: Vec<usize>,
}

/// A frame a connection should receive.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Message {
        conv: usize,
        seq: u64,
        from: usize,
        client_id: String,
        /// Empty once recalled.
        text: String,
        reply_to: Option<u64>,
        edited: bool,
        recalled_by: Option<usize>,
        mentions: Vec<usize>,
        mention_all: bool,
        /// (emoji, who) in order.
        reactions: Vec<(String, Vec<usize>)>,
        /// Told as `message_updated` (an edit or recall), not `message`.
        updated: bool,
    },
    Receipt {
        conv: usize,
        user: usize,
        read_seq: u64,
    },
    Created(Snap),
    Updated(Snap),
    Removed {
        conv: usize,
        by: usize,
    },
    SignedOut,
    MuteChanged {
        conv: usize,
        muted: bool,
    },
    BlockChanged {
        user: usize,
        blocked: bool,
    },
    /// The reply to a request (its expected content is in `Model::expect`).
    Reply(RequestId),
}

impl Ev {
    /// The same message, told as `message_updated`.
    fn updated(self) -> Ev {
        match self {
            Ev::Message {
                conv,
                seq,
                from,
                client_id,
                text,
                reply_to,
                edited,
                recalled_by,
                mentions,
                mention_all,
                reactions,
                ..
            } => Ev::Message {
                conv,
                seq,
                from,
                client_id,
                text,
                reply_to,
                edited,
                recalled_by,
                mentions,
                mention_all,
                reactions,
                updated: true,
            },
            other => other,
        }
    }
}

/// What a command should answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Unit,
    User(usize),
    Created {
        snap: Snap,
        created: bool,
    },
    Conv(Snap),
    Message(Ev),
    ReadMark {
        conv: usize,
        read_seq: u64,
        unread: u64,
    },
    Mute {
        conv: usize,
        muted: bool,
    },
    Block {
        user: usize,
        blocked: bool,
    },
    Blob(BlobExpect),
    Refused(ErrorCode),
}

/// What a blob command answers, with uploads and contents by model index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BlobExpect {
    Have(usize),
    Upload {
        upload: usize,
        received: u64,
        created: bool,
    },
    Busy,
    Offset(u64),
    Finished {
        content: usize,
        discard: bool,
    },
    Swept(usize),
    Done,
}

/// An upload as the model knows it.
#[derive(Debug, Clone)]
struct MUpload {
    /// Learned when the batch that created it commits.
    id: Option<crate::blobs::UploadId>,
    user: usize,
    content: usize,
    received: u64,
    /// The token of the request holding it.
    lease: Option<u64>,
    expired: bool,
    live: bool,
}

#[derive(Debug, Clone)]
struct MUser {
    name: String,
    uid: Option<Uid>,
    disabled: bool,
    password_hash: String,
}

#[derive(Debug, Clone)]
struct MInvite {
    code_hash: TokenHash,
    uses_left: u32,
    expired: bool,
}

#[derive(Debug, Clone)]
struct MMember {
    active: bool,
    read_seq: u64,
    left_seq: u64,
    /// The conversation as it was when they last left.
    left_snap: Option<Snap>,
    muted: bool,
}

#[derive(Debug, Clone)]
struct MConv {
    id: Option<ConversationId>,
    kind: ConversationType,
    title: String,
    manager: usize,
    members: Vec<usize>,
    rows: HashMap<usize, MMember>,
    last_seq: u64,
    /// (sender, client id) → seq.
    by_client_id: HashMap<(usize, String), u64>,
    /// By seq - 1.
    messages: Vec<MMessage>,
}

#[derive(Debug, Clone)]
struct MMessage {
    from: usize,
    client_id: String,
    /// Empty once recalled.
    text: String,
    reply_to: Option<u64>,
    edited: bool,
    recalled_by: Option<usize>,
    mentions: Vec<usize>,
    mention_all: bool,
    reactions: Vec<(String, Vec<usize>)>,
    /// The content a file message names (readable by the members until it is recalled).
    blob: Option<usize>,
}

impl MMessage {
    fn ev(&self, conv: usize, seq: u64, updated: bool) -> Ev {
        Ev::Message {
            conv,
            seq,
            from: self.from,
            client_id: self.client_id.clone(),
            text: self.text.clone(),
            reply_to: self.reply_to,
            edited: self.edited,
            recalled_by: self.recalled_by,
            mentions: self.mentions.clone(),
            mention_all: self.mention_all,
            reactions: self.reactions.clone(),
            updated,
        }
    }
}

#[derive(Debug)]
struct MConn {
    user: usize,
    handle: Arc<ConnHandle>,
    rx: crate::outbound_queue::QueueReceiver<Outbound>,
    session: Option<usize>,
    /// In the hub (receives events); changes only between batches, as a connection registers
    /// after its sign-in is committed and unregisters after processing its sign-out.
    registered: bool,
    /// Waiting for its own sign-in or sign-out to commit: it sends nothing else meanwhile.
    busy: bool,
    /// Client ids this connection's user has used, per conversation.
    expected: Vec<Ev>,
}

#[derive(Debug)]
struct MSession {
    user: usize,
    token: TokenHash,
    live: bool,
}

#[derive(Debug, Default)]
struct Model {
    users: Vec<MUser>,
    convs: Vec<MConv>,
    conns: Vec<MConn>,
    sessions: Vec<MSession>,
    /// Replies expected, by request id.
    expect: HashMap<RequestId, Expect>,
    /// Conversations whose own version moved in this batch.
    conv_touched: HashSet<usize>,
    /// (user, conversation) whose membership row's version moved in this batch.
    member_touched: HashSet<(usize, usize)>,
    /// Messages (conversation, seq) edited or recalled in this batch.
    messages_changed: BTreeSet<(usize, u64)>,
    /// Client ids each user has used (for resends).
    client_ids: HashMap<usize, Vec<(usize, String)>>,
    next_client_id: u64,
    /// (who blocks, whom).
    blocks: HashSet<(usize, usize)>,
    invites: Vec<MInvite>,
    uploads: Vec<MUpload>,
    /// Contents stored as blobs.
    blobs: BTreeSet<usize>,
    /// (user, content): the user uploaded it.
    claims: BTreeSet<(usize, usize)>,
}

/// What an operator's command on `user` answers: done, or no such user for the ghost.
fn user_expected(user: usize) -> Expect {
    if user == GHOST {
        Expect::Refused(ErrorCode::UserNotFound)
    } else {
        Expect::Unit
    }
}

fn dedupe(items: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

impl Model {
    fn snap(&self, conv: usize) -> Snap {
        let c = &self.convs[conv];
        Snap {
            conv,
            kind: c.kind,
            title: c.title.clone(),
            manager: c.manager,
            members: c.members.clone(),
        }
    }

    /// Queues `ev` for every registered connection of `to`, but `skip`.
    fn deliver(&mut self, to: &[usize], ev: Ev, skip: Option<usize>) {
        for &user in to {
            for (i, c) in self.conns.iter_mut().enumerate() {
                if c.user == user && c.registered && Some(i) != skip {
                    c.expected.push(ev.clone());
                }
            }
        }
    }

    fn touch_members(&mut self, conv: usize, users: &[usize]) {
        for &u in users {
            self.member_touched.insert((u, conv));
        }
    }

    fn create(
        &mut self,
        conn: usize,
        others: Vec<usize>,
        unique: bool,
        title: Option<String>,
    ) -> Expect {
        let by = self.conns[conn].user;
        let members = dedupe(std::iter::once(by).chain(others));
        if members.len() > MAX_MEMBERS {
            return Expect::Refused(ErrorCode::TooManyMembers);
        }
        if members.contains(&GHOST) {
            return Expect::Refused(ErrorCode::UserNotFound);
        }
        if self.blocked_by_any(by, &members) {
            return Expect::Refused(ErrorCode::Blocked);
        }
        if unique {
            let wanted: BTreeSet<usize> = members.iter().copied().collect();
            if let Some(existing) = self
                .convs
                .iter()
                .position(|c| c.members.iter().copied().collect::<BTreeSet<_>>() == wanted)
            {
                return Expect::Created {
                    snap: self.snap(existing),
                    created: false,
                };
            }
        }
        let conv = self.convs.len();
        self.convs.push(MConv {
            id: None,
            kind: ConversationType::for_member_count(members.len()),
            title: title.unwrap_or_default(),
            manager: by,
            members: members.clone(),
            rows: members
                .iter()
                .map(|&u| {
                    (
                        u,
                        MMember {
                            active: true,
                            read_seq: 0,
                            left_seq: 0,
                            left_snap: None,
                            muted: false,
                        },
                    )
                })
                .collect(),
            last_seq: 0,
            by_client_id: HashMap::new(),
            messages: Vec::new(),
        });
        self.conv_touched.insert(conv);
        self.touch_members(conv, &members);
        let snap = self.snap(conv);
        self.deliver(&members, Ev::Created(snap.clone()), Some(conn));
        Expect::Created {
            snap,
            created: true,
        }
    }

    fn update(&mut self, conn: usize, conv: usize, title: Option<String>) -> Expect {
        let by = self.conns[conn].user;
        if !self.convs[conv].members.contains(&by) {
            return Expect::Refused(ErrorCode::NotMember);
        }
        let Some(title) = title else {
            return Expect::Conv(self.snap(conv));
        };
        self.convs[conv].title = title;
        self.conv_touched.insert(conv);
        let snap = self.snap(conv);
        let members = self.convs[conv].members.clone();
        self.deliver(&members, Ev::Updated(snap.clone()), Some(conn));
        Expect::Conv(snap)
    }

    fn add(&mut self, conn: usize, conv: usize, users: Vec<usize>) -> Expect {
        let by = self.conns[conn].user;
        let c = &self.convs[conv];
        if !c.members.contains(&by) {
            return Expect::Refused(ErrorCode::NotMember);
        }
        if c.kind == ConversationType::SingleChat {
            return Expect::Refused(ErrorCode::SingleChatMembersFixed);
        }
        if c.manager != by {
            return Expect::Refused(ErrorCode::NotManager);
        }
        let new: Vec<usize> = dedupe(users)
            .into_iter()
            .filter(|u| !c.members.contains(u))
            .collect();
        if new.is_empty() {
            return Expect::Conv(self.snap(conv));
        }
        if c.members.len() + new.len() > MAX_MEMBERS {
            return Expect::Refused(ErrorCode::TooManyMembers);
        }
        if new.contains(&GHOST) {
            return Expect::Refused(ErrorCode::UserNotFound);
        }
        if self.blocked_by_any(by, &new) {
            return Expect::Refused(ErrorCode::Blocked);
        }
        let c = &self.convs[conv];
        let old = c.members.clone();
        let c = &mut self.convs[conv];
        let last_seq = c.last_seq;
        for &u in &new {
            c.members.push(u);
            let row = c.rows.entry(u).or_insert(MMember {
                active: true,
                read_seq: 0,
                left_seq: 0,
                left_snap: None,
                muted: false,
            });
            row.active = true;
            row.read_seq = last_seq;
        }
        self.conv_touched.insert(conv);
        self.touch_members(conv, &new);
        let snap = self.snap(conv);
        self.deliver(&new, Ev::Created(snap.clone()), None);
        self.deliver(&old, Ev::Updated(snap.clone()), Some(conn));
        Expect::Conv(snap)
    }

    fn remove(&mut self, conn: usize, conv: usize, users: Vec<usize>) -> Expect {
        let by = self.conns[conn].user;
        let c = &self.convs[conv];
        if !c.members.contains(&by) {
            return Expect::Refused(ErrorCode::NotMember);
        }
        if c.kind == ConversationType::SingleChat {
            return Expect::Refused(ErrorCode::SingleChatMembersFixed);
        }
        let gone: Vec<usize> = dedupe(users)
            .into_iter()
            .filter(|u| c.members.contains(u))
            .collect();
        if gone.iter().any(|u| *u != by) && c.manager != by {
            return Expect::Refused(ErrorCode::NotManager);
        }
        if gone.is_empty() {
            return Expect::Conv(self.snap(conv));
        }
        let before = self.snap(conv);
        let c = &mut self.convs[conv];
        let last_seq = c.last_seq;
        for u in &gone {
            let row = c.rows.get_mut(u).expect("a member has a row");
            row.active = false;
            row.left_seq = last_seq;
            row.left_snap = Some(before.clone());
        }
        c.members.retain(|u| !gone.contains(u));
        if gone.contains(&c.manager) {
            if let Some(&first) = c.members.first() {
                c.manager = first;
            }
        }
        let remaining = c.members.clone();
        self.conv_touched.insert(conv);
        self.touch_members(conv, &gone);
        let snap = self.snap(conv);
        self.deliver(&gone, Ev::Removed { conv, by }, Some(conn));
        self.deliver(&remaining, Ev::Updated(snap.clone()), Some(conn));
        Expect::Conv(snap)
    }

    #[allow(clippy::too_many_arguments)] // the request's fields, as the writer's command has them
    fn send(
        &mut self,
        conn: usize,
        conv: usize,
        client_id: String,
        text: String,
        reply_to: Option<u64>,
        mentions: Vec<usize>,
        mention_all: bool,
        file: Option<(usize, bool)>,
    ) -> Expect {
        let by = self.conns[conn].user;
        let c = &mut self.convs[conv];
        if let Some(&seq) = c.by_client_id.get(&(by, client_id.clone())) {
            // A resend (by a member, or by a former member of a message sent before leaving).
            return Expect::Message(c.messages[seq as usize - 1].ev(conv, seq, false));
        }
        if !c.members.contains(&by) {
            return Expect::Refused(ErrorCode::NotMember);
        }
        if let (ConversationType::SingleChat, &[a, b]) = (c.kind, c.members.as_slice()) {
            if self.blocks.contains(&(a, b)) || self.blocks.contains(&(b, a)) {
                return Expect::Refused(ErrorCode::Blocked);
            }
        }
        let c = &mut self.convs[conv];
        if reply_to.is_some_and(|r| r == 0 || r > c.last_seq) {
            return Expect::Refused(ErrorCode::MessageNotFound);
        }
        let mut mentioned: Vec<usize> = Vec::new();
        for u in mentions {
            if !mentioned.contains(&u) {
                mentioned.push(u);
            }
        }
        if mentioned.iter().any(|u| !c.members.contains(u)) {
            return Expect::Refused(ErrorCode::InvalidParams);
        }
        if mention_all && !(c.kind == ConversationType::GroupChat && c.manager == by) {
            return Expect::Refused(ErrorCode::NotManager);
        }
        if let Some((content, wrong_size)) = file {
            if !self.can_read(by, content) {
                return Expect::Refused(ErrorCode::BlobNotFound);
            }
            if wrong_size {
                return Expect::Refused(ErrorCode::BlobMismatch);
            }
        }
        let c = &mut self.convs[conv];
        c.last_seq += 1;
        let seq = c.last_seq;
        c.by_client_id.insert((by, client_id.clone()), seq);
        let message = MMessage {
            from: by,
            client_id,
            text,
            reply_to,
            edited: false,
            recalled_by: None,
            mentions: mentioned,
            mention_all,
            reactions: Vec::new(),
            blob: file.map(|(content, _)| content),
        };
        let ev = message.ev(conv, seq, false);
        c.messages.push(message);
        let row = c.rows.get_mut(&by).expect("a member has a row");
        row.read_seq = row.read_seq.max(seq);
        let members = c.members.clone();
        self.conv_touched.insert(conv);
        self.deliver(&members, ev.clone(), Some(conn));
        Expect::Message(ev)
    }

    /// Whether `user` may read content `content`: they uploaded it, or they are a member of a
    /// conversation a message of which (not recalled) names it.
    fn can_read(&self, user: usize, content: usize) -> bool {
        self.claims.contains(&(user, content))
            || self.convs.iter().any(|c| {
                c.members.contains(&user)
                    && c.messages
                        .iter()
                        .any(|m| m.blob == Some(content) && m.recalled_by.is_none())
            })
    }

    /// Whether the conversation is a single chat where one of the two blocks the other.
    fn single_chat_blocked(&self, conv: usize) -> bool {
        let c = &self.convs[conv];
        match (c.kind, c.members.as_slice()) {
            (ConversationType::SingleChat, &[a, b]) => {
                self.blocks.contains(&(a, b)) || self.blocks.contains(&(b, a))
            }
            _ => false,
        }
    }

    /// Why `by` may not change message `seq` of `conv`: not a member, or no such message.
    fn message_refusal(&self, by: usize, conv: usize, seq: u64) -> Option<Expect> {
        let c = &self.convs[conv];
        if !c.members.contains(&by) {
            return Some(Expect::Refused(ErrorCode::NotMember));
        }
        if seq == 0 || seq > c.last_seq {
            return Some(Expect::Refused(ErrorCode::MessageNotFound));
        }
        None
    }

    /// Message `seq` of `conv` changed as `ev`: its members but `conn` hear `message_updated`,
    /// and it counts as changed in this batch.
    fn message_changed(&mut self, conn: usize, conv: usize, seq: u64, ev: &Ev) {
        let members = self.convs[conv].members.clone();
        self.messages_changed.insert((conv, seq));
        self.deliver(&members, ev.clone().updated(), Some(conn));
    }

    fn edit(&mut self, conn: usize, conv: usize, seq: u64, text: String) -> Expect {
        let by = self.conns[conn].user;
        let blocked = self.single_chat_blocked(conv);
        if let Some(refusal) = self.message_refusal(by, conv, seq) {
            return refusal;
        }
        let c = &mut self.convs[conv];
        let m = &mut c.messages[seq as usize - 1];
        if m.from != by {
            return Expect::Refused(ErrorCode::NotSender);
        }
        if m.recalled_by.is_some() || m.blob.is_some() {
            return Expect::Refused(ErrorCode::NotEditable);
        }
        if m.text == text {
            return Expect::Message(m.ev(conv, seq, false));
        }
        if blocked {
            return Expect::Refused(ErrorCode::Blocked);
        }
        m.text = text;
        m.edited = true;
        let ev = m.ev(conv, seq, false);
        self.message_changed(conn, conv, seq, &ev);
        Expect::Message(ev)
    }

    fn react(&mut self, conn: usize, conv: usize, seq: u64, emoji: &str, on: bool) -> Expect {
        let by = self.conns[conn].user;
        let blocked = self.single_chat_blocked(conv);
        if let Some(refusal) = self.message_refusal(by, conv, seq) {
            return refusal;
        }
        let c = &mut self.convs[conv];
        let m = &mut c.messages[seq as usize - 1];
        if m.recalled_by.is_some() {
            return Expect::Refused(ErrorCode::NotEditable);
        }
        if blocked {
            return Expect::Refused(ErrorCode::Blocked);
        }
        let at = m.reactions.iter().position(|(e, _)| e == emoji);
        let changed = match (on, at) {
            (true, Some(i)) if !m.reactions[i].1.contains(&by) => {
                m.reactions[i].1.push(by);
                true
            }
            (true, None) => {
                if m.reactions.len() >= im_proto::MAX_REACTIONS {
                    return Expect::Refused(ErrorCode::TooManyReactions);
                }
                m.reactions.push((emoji.to_owned(), vec![by]));
                true
            }
            (false, Some(i)) if m.reactions[i].1.contains(&by) => {
                m.reactions[i].1.retain(|u| *u != by);
                if m.reactions[i].1.is_empty() {
                    m.reactions.remove(i);
                }
                true
            }
            _ => false,
        };
        let ev = m.ev(conv, seq, false);
        if changed {
            self.message_changed(conn, conv, seq, &ev);
        }
        Expect::Message(ev)
    }

    fn recall(&mut self, conn: usize, conv: usize, seq: u64) -> Expect {
        let by = self.conns[conn].user;
        if let Some(refusal) = self.message_refusal(by, conv, seq) {
            return refusal;
        }
        let c = &mut self.convs[conv];
        let manager = c.kind == ConversationType::GroupChat && c.manager == by;
        let m = &mut c.messages[seq as usize - 1];
        if m.recalled_by.is_some() {
            return Expect::Message(m.ev(conv, seq, false));
        }
        if m.from != by && !manager {
            return Expect::Refused(ErrorCode::NotSender);
        }
        m.recalled_by = Some(by);
        m.text.clear();
        let ev = m.ev(conv, seq, false);
        self.message_changed(conn, conv, seq, &ev);
        Expect::Message(ev)
    }

    fn mark_read(&mut self, conn: usize, conv: usize, seq: u64) -> Expect {
        let by = self.conns[conn].user;
        let c = &mut self.convs[conv];
        if !c.members.contains(&by) {
            return Expect::Refused(ErrorCode::NotMember);
        }
        let last = c.last_seq;
        let row = c.rows.get_mut(&by).expect("a member has a row");
        let new = row.read_seq.max(seq.min(last));
        if new > row.read_seq {
            row.read_seq = new;
            let members = c.members.clone();
            self.member_touched.insert((by, conv));
            self.deliver(
                &members,
                Ev::Receipt {
                    conv,
                    user: by,
                    read_seq: new,
                },
                Some(conn),
            );
        }
        Expect::ReadMark {
            conv,
            read_seq: new,
            unread: last - new,
        }
    }

    /// Whether one of `users` (but `by`) blocks `by`.
    fn blocked_by_any(&self, by: usize, users: &[usize]) -> bool {
        users
            .iter()
            .any(|&u| u != by && self.blocks.contains(&(u, by)))
    }

    fn mute(&mut self, conn: usize, conv: usize, muted: bool) -> Expect {
        let by = self.conns[conn].user;
        let c = &mut self.convs[conv];
        if !c.members.contains(&by) {
            return Expect::Refused(ErrorCode::NotMember);
        }
        let row = c.rows.get_mut(&by).expect("a member has a row");
        if row.muted != muted {
            row.muted = muted;
            self.member_touched.insert((by, conv));
            self.deliver(&[by], Ev::MuteChanged { conv, muted }, Some(conn));
        }
        Expect::Mute { conv, muted }
    }

    fn block(&mut self, conn: usize, user: usize, blocked: bool) -> Expect {
        let by = self.conns[conn].user;
        if user == by {
            return Expect::Refused(ErrorCode::InvalidParams);
        }
        if user == GHOST {
            return Expect::Refused(ErrorCode::UserNotFound);
        }
        let changed = if blocked {
            self.blocks.insert((by, user))
        } else {
            self.blocks.remove(&(by, user))
        };
        if changed {
            self.deliver(&[by], Ev::BlockChanged { user, blocked }, Some(conn));
        }
        Expect::Block { user, blocked }
    }

    /// The sync result each user should get for this batch.
    fn changed_for(&self, user: usize) -> BTreeSet<usize> {
        self.convs
            .iter()
            .enumerate()
            .filter(|(i, c)| match c.rows.get(&user) {
                None => false,
                Some(row) if row.active => {
                    self.conv_touched.contains(i)
                        || self.member_touched.contains(&(user, *i))
                        || self
                            .messages_changed
                            .range((*i, 0)..=(*i, u64::MAX))
                            .next()
                            .is_some()
                }
                Some(_) => self.member_touched.contains(&(user, *i)),
            })
            .map(|(i, _)| i)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The harness: the real writer on a real SQLite file, with the model beside it.

/// Where a harness reads back what is stored: on SQLite the rows themselves and what readers
/// serve; on PostgreSQL what readers serve (through the same [`ReadConn`] logic).
enum Reads {
    Sqlite(Connection),
    Postgres(PgReader),
}

/// A reply that comes back to a waiting task rather than onto a connection.
enum Direct {
    Unit(oneshot::Receiver<Result<()>>),
    User(oneshot::Receiver<Result<User>>),
    Blob(oneshot::Receiver<Result<super::command::BlobAnswer>>),
}

struct Harness<B: Backend = SqliteBackend> {
    _dir: Option<tempfile::TempDir>,
    writer: Writer<B>,
    hub: Arc<Hub>,
    /// Where what is stored is read back.
    reads: Reads,
    model: Model,
    ghost: Uid,
    next_request: RequestId,
    batch: Vec<WriteCmd>,
    direct: Vec<(RequestId, Direct)>,
    /// Conversations created in the current batch, by request id.
    creating: Vec<(RequestId, usize)>,
    /// Users signing up in the current batch.
    signing_up: Vec<(RequestId, usize)>,
    /// Uploads created in the current batch, by request id.
    creating_uploads: Vec<(RequestId, usize)>,
}

impl Harness<SqliteBackend> {
    fn new(member_budget: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.sqlite3");
        let conn = schema::open_writer(&path).unwrap();
        // A test of logic, not of durability: no fsync per batch.
        conn.pragma_update(None, "synchronous", "OFF").unwrap();
        let checkpointer = checkpoint::Checkpointer::start(
            &path,
            i32::MAX,
            &crate::fatal::Fatal::default(),
            metrics::Histogram::noop(),
        )
        .unwrap();
        let reader = schema::open_reader(&path).unwrap();
        Self::start(
            SqliteBackend::new(conn, checkpointer),
            member_budget,
            Some(dir),
            Reads::Sqlite(reader),
        )
    }
}

impl Harness<PgBackend> {
    /// The same on a fresh, migrated PostgreSQL database.
    fn on_postgres(member_budget: usize, url: &str) -> Self {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        super::pg::migrate(&mut client).unwrap();
        // A test of logic, not of durability.
        client
            .batch_execute("SET synchronous_commit = off")
            .unwrap();
        let reader = PgReader::new(postgres::Client::connect(url, postgres::NoTls).unwrap());
        Self::start(
            PgBackend::new(client),
            member_budget,
            None,
            Reads::Postgres(reader),
        )
    }
}

impl<B: Backend> Harness<B> {
    /// A writer on `db` with the model beside it: the model's first users signed up and their
    /// connections signed in.
    fn start(db: B, member_budget: usize, dir: Option<tempfile::TempDir>, reads: Reads) -> Self {
        let hub = Arc::new(Hub::new());
        let sessions = Arc::new(std::sync::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(1000).unwrap(),
        )));
        let writer = Writer::new(
            db,
            hub.clone(),
            1024,
            MAX_MEMBERS,
            sessions,
            Default::default(),
        )
        .unwrap()
        .with_member_budget(member_budget);
        let mut this = Self {
            _dir: dir,
            writer,
            hub,
            reads,
            model: Model::default(),
            ghost: Uid::random(),
            next_request: 0,
            batch: Vec::new(),
            direct: Vec::new(),
            creating: Vec::new(),
            signing_up: Vec::new(),
            creating_uploads: Vec::new(),
        };
        for i in 0..NAMES {
            this.model.users.push(MUser {
                name: format!("user{i}"),
                uid: None,
                disabled: false,
                password_hash: "not a real hash".into(),
            });
        }
        // The first users sign up, then their connections sign in: two share a session.
        for i in 0..INITIAL_USERS {
            this.sign_up(i, None);
        }
        this.cut();
        for user in 0..INITIAL_USERS {
            for k in 0..CONNS_PER_USER {
                let (handle, rx) = ConnHandle::new(100 + this.model.conns.len() as u64, 100_000);
                this.model.conns.push(MConn {
                    user,
                    handle,
                    rx,
                    session: None,
                    registered: false,
                    busy: false,
                    expected: Vec::new(),
                });
                let conn = this.model.conns.len() - 1;
                if k == 1 {
                    let shared = this.model.conns[conn - 1].session;
                    this.model.conns[conn].session = shared;
                    this.model.conns[conn].busy = true;
                } else {
                    this.sign_in(conn);
                }
            }
        }
        this.cut();
        this
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        self.next_request
    }

    fn uid(&self, user: usize) -> Uid {
        if user == GHOST {
            self.ghost
        } else {
            self.model.users[user]
                .uid
                .expect("only known users are named")
        }
    }

    fn origin(&self, conn: usize) -> Origin {
        let c = &self.model.conns[conn];
        Origin {
            uid: self.uid(c.user),
            conn: c.handle.id(),
        }
    }

    fn frame<T>(&self, conn: usize, id: RequestId) -> Reply<T> {
        Reply::Frame {
            id,
            conn: self.model.conns[conn].handle.clone(),
        }
    }

    /// Connections that may send a request now.
    fn ready_conns(&self) -> Vec<usize> {
        (0..self.model.conns.len())
            .filter(|&i| {
                let c = &self.model.conns[i];
                c.registered && !c.busy
            })
            .collect()
    }

    /// Users whose uid a client could know by now, and the ghost.
    fn known_users(&self) -> Vec<usize> {
        let mut users: Vec<usize> = (0..self.model.users.len())
            .filter(|&u| self.model.users[u].uid.is_some())
            .collect();
        users.push(GHOST);
        users
    }

    /// Conversations whose id a client could know by now.
    fn known_convs(&self) -> Vec<usize> {
        (0..self.model.convs.len())
            .filter(|&c| self.model.convs[c].id.is_some())
            .collect()
    }

    fn pick<T: Copy>(items: &[T], n: u8) -> Option<T> {
        (!items.is_empty()).then(|| items[n as usize % items.len()])
    }

    fn pick_users(&self, ns: &[u8]) -> Vec<usize> {
        let known = self.known_users();
        ns.iter().filter_map(|&n| Self::pick(&known, n)).collect()
    }

    fn expect_frame(&mut self, conn: usize, id: RequestId, expect: Expect) {
        self.model.expect.insert(id, expect);
        self.model.conns[conn].expected.push(Ev::Reply(id));
    }

    /// A sign-up, with one of the invite codes (`Some(index)`, or an unknown code past the end).
    fn sign_up(&mut self, name: usize, invite: Option<usize>) {
        let id = self.request_id();
        let (tx, rx) = oneshot::channel();
        let username = self.model.users[name].name.clone();
        let taken =
            self.model.users[name].uid.is_some() || self.signing_up.iter().any(|&(_, u)| u == name);
        let code_hash = invite.map(|i| match self.model.invites.get(i) {
            Some(invite) => invite.code_hash,
            None => rand::random(),
        });
        self.batch.push(WriteCmd::CreateUser {
            username: username.clone(),
            display_name: username.to_uppercase(),
            password_hash: "not a real hash".into(),
            invite: code_hash,
            reply: Reply::Direct(tx),
        });
        self.direct.push((id, Direct::User(rx)));
        if let Some(i) = invite {
            let usable = self
                .model
                .invites
                .get(i)
                .is_some_and(|v| v.uses_left > 0 && !v.expired);
            if !usable {
                self.model
                    .expect
                    .insert(id, Expect::Refused(ErrorCode::InviteInvalid));
                return;
            }
            if !taken {
                self.model.invites[i].uses_left -= 1;
            }
        }
        if taken {
            self.model
                .expect
                .insert(id, Expect::Refused(ErrorCode::UsernameTaken));
        } else {
            self.signing_up.push((id, name));
            self.model.expect.insert(id, Expect::User(name));
        }
    }

    /// Queues a command answered directly with `()`, expecting `expect`; whether it is expected
    /// to succeed.
    fn push_direct(&mut self, make: impl FnOnce(Reply<()>) -> WriteCmd, expect: Expect) -> bool {
        let id = self.request_id();
        let (tx, rx) = oneshot::channel();
        self.batch.push(make(Reply::Direct(tx)));
        self.direct.push((id, Direct::Unit(rx)));
        let succeeds = matches!(expect, Expect::Unit);
        self.model.expect.insert(id, expect);
        succeeds
    }

    /// Ends every live session `which` picks: its registered connections are signed out.
    fn end_sessions(&mut self, which: impl Fn(&MSession) -> bool) {
        let ended: Vec<usize> = (0..self.model.sessions.len())
            .filter(|&s| self.model.sessions[s].live && which(&self.model.sessions[s]))
            .collect();
        for s in ended {
            self.model.sessions[s].live = false;
            for c in &mut self.model.conns {
                if c.session == Some(s) && c.registered {
                    c.expected.push(Ev::SignedOut);
                }
            }
        }
    }

    fn sign_in(&mut self, conn: usize) {
        let id = self.request_id();
        let (tx, rx) = oneshot::channel();
        let token: TokenHash = rand::random();
        let user = self.model.conns[conn].user;
        self.batch.push(WriteCmd::CreateSession {
            uid: self.uid(user),
            token_hash: token,
            device: "model".into(),
            reply: Reply::Direct(tx),
        });
        self.direct.push((id, Direct::Unit(rx)));
        if self.model.users[user].disabled {
            self.model
                .expect
                .insert(id, Expect::Refused(ErrorCode::AccountDisabled));
            self.model.conns[conn].busy = true;
            return;
        }
        self.model.expect.insert(id, Expect::Unit);
        self.model.sessions.push(MSession {
            user,
            token,
            live: true,
        });
        let c = &mut self.model.conns[conn];
        c.session = Some(self.model.sessions.len() - 1);
        c.busy = true;
    }

    fn sign_out(&mut self, conn: usize) {
        let id = self.request_id();
        let (tx, rx) = oneshot::channel();
        let session = self.model.conns[conn].session.expect("signed in");
        self.batch.push(WriteCmd::RevokeSession {
            by: self.origin(conn),
            token_hash: self.model.sessions[session].token,
            reply: Reply::Direct(tx),
        });
        self.direct.push((id, Direct::Unit(rx)));
        self.model.expect.insert(id, Expect::Unit);
        self.model.sessions[session].live = false;
        for (i, c) in self.model.conns.iter_mut().enumerate() {
            if c.session == Some(session) && c.registered && i != conn {
                c.expected.push(Ev::SignedOut);
            }
        }
        self.model.conns[conn].busy = true;
    }

    /// Turns a step into a command (or nothing, when nobody could send it now).
    /// A seq of the conversation named by a target (0, back from the last, the last, beyond).
    fn seq_of(&self, conv: usize, target: ReadTarget) -> u64 {
        let last = self.model.convs[conv].last_seq;
        match target {
            ReadTarget::Zero => 0,
            ReadTarget::Back(n) => last.saturating_sub(n as u64),
            ReadTarget::Last => last,
            ReadTarget::Beyond(n) => last + 1 + n as u64,
        }
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Cut => self.cut(),
            Step::BlobCreate { .. }
            | Step::BlobLease { .. }
            | Step::BlobCheckpoint { .. }
            | Step::BlobRenew { .. }
            | Step::BlobFinish { .. }
            | Step::BlobRelease { .. }
            | Step::BlobCancel { .. }
            | Step::BlobSweep => self.blob_step(step),
            Step::BlobPatch { upload } => {
                // One of the unfinished uploads, as the others step on gone ones enough.
                let known = self.known_uploads();
                let live: Vec<usize> = (0..known.len())
                    .filter(|&i| self.model.uploads[known[i]].live)
                    .collect();
                let Some(at) = Self::pick(&live, *upload) else {
                    return;
                };
                let upload = u8::try_from(at).unwrap_or(*upload);
                // The token no other step uses: this request's own.
                self.blob_step(&Step::BlobLease {
                    upload,
                    token: 9,
                    stranger: false,
                    wrong_offset: false,
                });
                self.blob_step(&Step::BlobFinish { upload, token: 9 });
            }
            Step::SignUp(n) => self.sign_up(*n as usize % NAMES, None),
            Step::SignUpInvited { name, invite } => {
                let invite = *invite as usize % (self.model.invites.len() + 1);
                self.sign_up(*name as usize % NAMES, Some(invite));
            }
            Step::Invite { uses, expired } => {
                let id = self.request_id();
                let (tx, rx) = oneshot::channel();
                let invite = MInvite {
                    code_hash: rand::random(),
                    uses_left: u32::from(*uses),
                    expired: *expired,
                };
                self.batch.push(WriteCmd::CreateInvite {
                    invite: super::NewInvite {
                        id: format!("invite{}", self.model.invites.len()),
                        code_hash: invite.code_hash,
                        uses: invite.uses_left,
                        expires_at: invite.expired.then_some(1),
                    },
                    reply: Reply::Direct(tx),
                });
                self.direct.push((id, Direct::Unit(rx)));
                self.model.expect.insert(id, Expect::Unit);
                self.model.invites.push(invite);
            }
            Step::Disable { user, disabled } => {
                let Some(user) = Self::pick(&self.known_users(), *user) else {
                    return;
                };
                let (uid, disabled) = (self.uid(user), *disabled);
                let known = self.push_direct(
                    |reply| WriteCmd::SetDisabled {
                        uid,
                        disabled,
                        reply,
                    },
                    user_expected(user),
                );
                if !known {
                    return;
                }
                self.model.users[user].disabled = disabled;
                if disabled {
                    self.end_sessions(|s| s.user == user);
                }
            }
            Step::ResetPassword(user) => {
                let Some(user) = Self::pick(&self.known_users(), *user) else {
                    return;
                };
                let uid = self.uid(user);
                let password_hash = format!("reset {}", rand::random::<u64>());
                let hash = password_hash.clone();
                let known = self.push_direct(
                    |reply| WriteCmd::SetPassword {
                        uid,
                        password_hash: hash,
                        keep: None,
                        reply,
                    },
                    user_expected(user),
                );
                if !known {
                    return;
                }
                self.model.users[user].password_hash = password_hash;
                self.end_sessions(|s| s.user == user);
            }
            Step::RevokeOther { conn, which } => {
                let Some(conn) = Self::pick(&self.ready_conns(), *conn) else {
                    return;
                };
                let user = self.model.conns[conn].user;
                let own = self.model.conns[conn].session;
                let others: Vec<usize> = (0..self.model.sessions.len())
                    .filter(|&s| {
                        let session = &self.model.sessions[s];
                        session.user == user && session.live && Some(s) != own
                    })
                    .collect();
                let target = Self::pick(&others, *which).filter(|_| *which % 5 != 4);
                let session_id = match target {
                    Some(s) => super::session_id(&self.model.sessions[s].token),
                    None => super::session_id(&rand::random()),
                };
                let id = self.request_id();
                let (tx, rx) = oneshot::channel();
                self.batch.push(WriteCmd::RevokeSessionById {
                    uid: self.uid(user),
                    session_id,
                    skip: self.model.conns[conn].handle.id(),
                    reply: Reply::Direct(tx),
                });
                self.direct.push((id, Direct::Unit(rx)));
                match target {
                    Some(target) => {
                        self.model.expect.insert(id, Expect::Unit);
                        let token = self.model.sessions[target].token;
                        self.end_sessions(move |s| s.token == token);
                    }
                    None => {
                        self.model
                            .expect
                            .insert(id, Expect::Refused(ErrorCode::SessionNotFound));
                    }
                }
            }
            Step::SignIn(n) => {
                let idle: Vec<usize> = (0..self.model.conns.len())
                    .filter(|&i| !self.model.conns[i].registered && !self.model.conns[i].busy)
                    .collect();
                if let Some(conn) = Self::pick(&idle, *n) {
                    self.sign_in(conn);
                }
            }
            Step::SignOut(n) => {
                if let Some(conn) = Self::pick(&self.ready_conns(), *n) {
                    self.sign_out(conn);
                }
            }
            Step::Create {
                conn,
                others,
                unique,
                title,
            } => {
                let Some(conn) = Self::pick(&self.ready_conns(), *conn) else {
                    return;
                };
                let others = self.pick_users(others);
                let title = title.map(|t| format!("title {t}"));
                let id = self.request_id();
                let params = CreateConversation {
                    user_ids: others.iter().map(|&u| self.uid(u)).collect(),
                    title: title.clone(),
                    unique: *unique,
                    ..Default::default()
                };
                self.batch.push(WriteCmd::CreateConversation {
                    by: self.origin(conn),
                    params,
                    reply: self.frame(conn, id),
                });
                let expect = self.model.create(conn, others, *unique, title);
                if let Expect::Created {
                    snap,
                    created: true,
                } = &expect
                {
                    self.creating.push((id, snap.conv));
                }
                self.expect_frame(conn, id, expect);
            }
            Step::Update { conn, conv, title } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let title = title.map(|t| format!("renamed {t}"));
                let id = self.request_id();
                self.batch.push(WriteCmd::UpdateConversation {
                    by: self.origin(conn),
                    params: UpdateConversation {
                        conversation_id: self.model.convs[conv].id.unwrap(),
                        title: title.clone(),
                        icon: None,
                        remark: None,
                        attrs: None,
                    },
                    reply: self.frame(conn, id),
                });
                let expect = self.model.update(conn, conv, title);
                self.expect_frame(conn, id, expect);
            }
            Step::Add { conn, conv, users } | Step::Remove { conn, conv, users } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let users = self.pick_users(users);
                self.members_change(conn, conv, users, matches!(step, Step::Add { .. }));
            }
            Step::Leave { conn, conv } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let me = self.model.conns[conn].user;
                self.members_change(conn, conv, vec![me], false);
            }
            Step::Send {
                conn,
                conv,
                resend,
                reply,
                mentions,
                mention_all,
                file,
            } => {
                let Some(conn) = Self::pick(&self.ready_conns(), *conn) else {
                    return;
                };
                let user = self.model.conns[conn].user;
                // A file goes mostly to one of the sender's conversations (else nearly every
                // one would be refused before its blob is looked at).
                let mut convs = self.known_convs();
                if file.is_some() && *conv % 5 != 0 {
                    convs.retain(|&c| self.model.convs[c].members.contains(&user));
                }
                let Some(conv) = Self::pick(&convs, *conv) else {
                    return;
                };
                let used: Vec<String> = self
                    .model
                    .client_ids
                    .get(&user)
                    .map(|ids| {
                        ids.iter()
                            .filter(|(c, _)| *c == conv)
                            .map(|(_, id)| id.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let client_id = match resend.and_then(|n| (!used.is_empty()).then_some(n)) {
                    Some(n) => used[n as usize % used.len()].clone(),
                    None => {
                        self.model.next_client_id += 1;
                        let id = format!("c{}", self.model.next_client_id);
                        self.model
                            .client_ids
                            .entry(user)
                            .or_default()
                            .push((conv, id.clone()));
                        id
                    }
                };
                let id = self.request_id();
                // Mostly a content the sender may read (else sends of files would nearly all be
                // refused); sometimes any.
                let sender = self.model.conns[conn].user;
                let readable: Vec<usize> = (0..BLOB_CONTENTS)
                    .filter(|&c| self.model.can_read(sender, c))
                    .collect();
                let file = file.map(|(n, wrong)| match Self::pick(&readable, n) {
                    Some(content) if n % 4 != 0 => (content, wrong),
                    _ => (n as usize % BLOB_CONTENTS, wrong),
                });
                let (text, body) = match file {
                    // A file's preview is its name: the model's text.
                    Some((content, wrong_size)) => (
                        format!("file-{content}"),
                        MessageBody::File(Box::new(im_proto::FileContent {
                            blob: blob_sha(content).hex(),
                            size: BLOB_SIZES[content] + u64::from(wrong_size),
                            mime: "application/octet-stream".into(),
                            name: format!("file-{content}"),
                            caption: None,
                        })),
                    ),
                    None => {
                        let text = format!("text of request {id}");
                        (text.clone(), MessageBody::text(text))
                    }
                };
                let reply_to = reply.map(|target| self.seq_of(conv, target));
                // Mentions are the texts' business here: a file's are left out (most would name
                // someone who is not a member, and the file would be refused before its blob).
                let (mentioned, mention_all) = if file.is_some() {
                    (Vec::new(), false)
                } else {
                    (self.pick_users(mentions), *mention_all)
                };
                self.batch.push(WriteCmd::Send {
                    by: self.origin(conn),
                    conversation_id: self.model.convs[conv].id.unwrap(),
                    client_id: client_id.parse().unwrap(),
                    body,
                    reply_to,
                    mentions: mentioned.iter().map(|&u| self.uid(u)).collect(),
                    mention_all,
                    order: id,
                    reply: self.frame(conn, id),
                });
                let expect = self.model.send(
                    conn,
                    conv,
                    client_id,
                    text,
                    reply_to,
                    mentioned,
                    mention_all,
                    file,
                );
                self.expect_frame(conn, id, expect);
            }
            Step::Edit {
                conn,
                conv,
                target,
                same_text,
            } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let id = self.request_id();
                let seq = self.seq_of(conv, *target);
                let text = match self.model.convs[conv]
                    .messages
                    .get((seq as usize).wrapping_sub(1))
                {
                    Some(m) if *same_text => m.text.clone(),
                    _ => format!("edited by request {id}"),
                };
                if text.is_empty() {
                    return; // a recalled message's empty text: refused before the writer
                }
                self.batch.push(WriteCmd::EditMessage {
                    by: self.origin(conn),
                    conversation_id: self.model.convs[conv].id.unwrap(),
                    seq,
                    text: text.clone(),
                    reply: self.frame(conn, id),
                });
                let expect = self.model.edit(conn, conv, seq, text);
                self.expect_frame(conn, id, expect);
            }
            Step::React {
                conn,
                conv,
                target,
                emoji,
                on,
            } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let id = self.request_id();
                let seq = self.seq_of(conv, *target);
                let emoji = ["👍", "❤️", "😂", "🎉"][*emoji as usize % 4];
                self.batch.push(WriteCmd::React {
                    by: self.origin(conn),
                    conversation_id: self.model.convs[conv].id.unwrap(),
                    seq,
                    emoji: emoji.to_owned(),
                    on: *on,
                    reply: self.frame(conn, id),
                });
                let expect = self.model.react(conn, conv, seq, emoji, *on);
                self.expect_frame(conn, id, expect);
            }
            Step::Recall { conn, conv, target } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let id = self.request_id();
                let seq = self.seq_of(conv, *target);
                self.batch.push(WriteCmd::RecallMessage {
                    by: self.origin(conn),
                    conversation_id: self.model.convs[conv].id.unwrap(),
                    seq,
                    reply: self.frame(conn, id),
                });
                let expect = self.model.recall(conn, conv, seq);
                self.expect_frame(conn, id, expect);
            }
            Step::MarkRead { conn, conv, target } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let id = self.request_id();
                let last = self.model.convs[conv].last_seq;
                let seq = match target {
                    ReadTarget::Zero => 0,
                    ReadTarget::Back(n) => last.saturating_sub(*n as u64),
                    ReadTarget::Last => last,
                    ReadTarget::Beyond(n) => last + 1 + *n as u64,
                };
                let expect = self.model.mark_read(conn, conv, seq);
                self.batch.push(WriteCmd::MarkRead {
                    by: self.origin(conn),
                    conversation_id: self.model.convs[conv].id.unwrap(),
                    seq,
                    reply: self.frame(conn, id),
                });
                self.expect_frame(conn, id, expect);
            }
            Step::Mute { conn, conv, muted } => {
                let (Some(conn), Some(conv)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_convs(), *conv),
                ) else {
                    return;
                };
                let id = self.request_id();
                let expect = self.model.mute(conn, conv, *muted);
                self.batch.push(WriteCmd::Mute {
                    by: self.origin(conn),
                    conversation_id: self.model.convs[conv].id.unwrap(),
                    muted: *muted,
                    reply: self.frame(conn, id),
                });
                self.expect_frame(conn, id, expect);
            }
            Step::Block {
                conn,
                user,
                blocked,
            } => {
                let (Some(conn), Some(user)) = (
                    Self::pick(&self.ready_conns(), *conn),
                    Self::pick(&self.known_users(), *user),
                ) else {
                    return;
                };
                let id = self.request_id();
                let expect = self.model.block(conn, user, *blocked);
                self.batch.push(WriteCmd::Block {
                    by: self.origin(conn),
                    user_id: self.uid(user),
                    blocked: *blocked,
                    reply: self.frame(conn, id),
                });
                self.expect_frame(conn, id, expect);
            }
        }
    }

    fn members_change(&mut self, conn: usize, conv: usize, users: Vec<usize>, add: bool) {
        let id = self.request_id();
        let conversation_id = self.model.convs[conv].id.unwrap();
        let user_ids: Vec<Uid> = users.iter().map(|&u| self.uid(u)).collect();
        let by = self.origin(conn);
        let reply = self.frame(conn, id);
        self.batch.push(if add {
            WriteCmd::AddMembers {
                by,
                params: AddMembers {
                    conversation_id,
                    user_ids,
                },
                reply,
            }
        } else {
            WriteCmd::RemoveMembers {
                by,
                params: RemoveMembers {
                    conversation_id,
                    user_ids,
                },
                reply,
            }
        });
        let expect = if add {
            self.model.add(conn, conv, users)
        } else {
            self.model.remove(conn, conv, users)
        };
        self.expect_frame(conn, id, expect);
    }

    /// Executes the batch so far as one write batch and checks everything.
    fn cut(&mut self) {
        let version_before = match &self.reads {
            Reads::Sqlite(db) => super::consistency::current_version(db).unwrap(),
            Reads::Postgres(db) => db.current_version().unwrap(),
        };
        let mut batch = std::mem::take(&mut self.batch);
        let size = batch.len();
        assert!(
            self.writer.execute(&mut batch).is_none(),
            "no stop was queued"
        );
        // Every frame each connection received, in order.
        let mut received: Vec<Vec<ServerFrame>> = Vec::new();
        let mut revoked: Vec<Vec<bool>> = Vec::new();
        for c in &mut self.model.conns {
            let mut frames = Vec::new();
            let mut marks = Vec::new();
            while let Ok(item) = c.rx.try_recv() {
                let (text, is_revoke) = match item {
                    Outbound::Frame(f) => (f, false),
                    Outbound::Revoked(f) => (f, true),
                };
                frames.push(decode_server_frame(text.as_str()).expect("a valid frame"));
                marks.push(is_revoke);
            }
            received.push(frames);
            revoked.push(marks);
        }
        // Learn the ids of what this batch created.
        for (id, user) in std::mem::take(&mut self.signing_up) {
            let Some(pos) = self.direct.iter().position(|(r, _)| *r == id) else {
                continue;
            };
            if let (_, Direct::User(rx)) = &mut self.direct[pos] {
                match rx.try_recv() {
                    Ok(Ok(created)) => {
                        assert_eq!(created.username, self.model.users[user].name);
                        self.model.users[user].uid = Some(created.uid);
                        self.direct[pos].1 = Direct::User(settled(Ok(created)));
                    }
                    other => panic!("sign-up {id} answered {other:?}"),
                }
            }
        }
        for (id, upload) in std::mem::take(&mut self.creating_uploads) {
            let pos = self
                .direct
                .iter()
                .position(|(r, _)| *r == id)
                .expect("a create's reply");
            if let (_, Direct::Blob(rx)) = &mut self.direct[pos] {
                match rx.try_recv() {
                    Ok(Ok(answer)) => {
                        if let super::command::BlobAnswer::Upload { row, .. } = &answer {
                            self.model.uploads[upload].id = Some(row.id);
                        }
                        self.direct[pos].1 = Direct::Blob(settled(Ok(answer)));
                    }
                    other => panic!("upload create {id} answered {other:?}"),
                }
            }
        }
        for (id, conv) in std::mem::take(&mut self.creating) {
            let conn = self
                .model
                .conns
                .iter()
                .position(|c| c.expected.contains(&Ev::Reply(id)))
                .expect("the creator expects a reply");
            let reply = received[conn].iter().find_map(|f| match f {
                ServerFrame::Result { id: rid, result } if *rid == id => Some(result.get()),
                _ => None,
            });
            let created: CreatedConversation = match reply {
                Some(json) => serde_json::from_str(json).unwrap(),
                None => panic!(
                    "create {id} got no result; connection {conn} received {:?}",
                    received[conn]
                ),
            };
            self.model.convs[conv].id = Some(created.conversation.id);
        }
        let names = Names::new(&self.model);
        // Replies that come back to a waiting task.
        for (id, direct) in std::mem::take(&mut self.direct) {
            let expect = self.model.expect.remove(&id).expect("an expectation");
            let got = match direct {
                Direct::Unit(mut rx) => match rx.try_recv().expect("answered after the commit") {
                    Ok(()) => Expect::Unit,
                    Err(e) => Expect::Refused(e.to_body().code),
                },
                Direct::User(mut rx) => match rx.try_recv().expect("answered after the commit") {
                    Ok(user) => Expect::User(names.user(user.uid)),
                    Err(e) => Expect::Refused(e.to_body().code),
                },
                Direct::Blob(mut rx) => match rx.try_recv().expect("answered after the commit") {
                    Ok(answer) => Expect::Blob(self.blob_expect(answer)),
                    Err(e) => Expect::Refused(e.to_body().code),
                },
            };
            assert_eq!(got, expect, "reply to request {id} (batch of {size})");
        }
        // Frames on every connection, replies and events interleaved.
        for (i, frames) in received.into_iter().enumerate() {
            let expected = std::mem::take(&mut self.model.conns[i].expected);
            let got: Vec<Ev> = frames
                .into_iter()
                .zip(&revoked[i])
                .map(|(frame, &revoke)| {
                    let ev = names.frame(frame, &self.model.expect);
                    if revoke {
                        assert_eq!(ev, Ev::SignedOut, "a revocation carries signed_out");
                    }
                    ev
                })
                .collect();
            // Compare replies by content, not only by id.
            let expand = |evs: Vec<Ev>| -> Vec<(Ev, Option<Expect>)> {
                evs.into_iter()
                    .map(|e| match e {
                        Ev::Reply(id) => (e, self.model.expect.get(&id).cloned()),
                        e => (e, None),
                    })
                    .collect()
            };
            let want = expand(expected);
            let have: Vec<(Ev, Option<Expect>)> = got
                .into_iter()
                .map(|e| match e {
                    Ev::Reply(id) => {
                        let parsed = names.parsed.borrow_mut().remove(&id);
                        (Ev::Reply(id), parsed)
                    }
                    e => (e, None),
                })
                .collect();
            assert_eq!(
                have, want,
                "connection {i} (user {}) after a batch of {size}",
                self.model.conns[i].user
            );
        }
        self.model.expect.clear();
        // Connections take their sign-ins and sign-outs into account.
        for c in &mut self.model.conns {
            let live = c.session.is_some_and(|s| self.model.sessions[s].live);
            let uid = self.model.users[c.user].uid.expect("known");
            if c.registered && !live {
                self.hub.unregister(uid, c.handle.id());
                c.registered = false;
                c.session = None;
            } else if !c.registered && live && c.busy {
                let s = c.session.expect("live");
                self.hub
                    .register(uid, self.model.sessions[s].token, c.handle.clone());
                c.registered = true;
            }
            c.busy = false;
        }
        match &self.reads {
            Reads::Sqlite(db) => self.check_store(db, version_before),
            Reads::Postgres(db) => self.check_reads(db, version_before),
        }
        self.model.conv_touched.clear();
        self.model.member_touched.clear();
        self.model.messages_changed.clear();
    }

    /// Compares what is stored, and what readers serve from it, with the model.
    /// (On SQLite: the rows themselves, then what readers serve.)
    fn check_store(&self, db: &Connection, version_before: u64) {
        let names = Names::new(&self.model);
        let users: i64 = db
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap();
        let known = self.model.users.iter().filter(|u| u.uid.is_some()).count();
        assert_eq!(users as usize, known, "accounts");
        let blocks: HashSet<(usize, usize)> = db
            .prepare("SELECT uid, blocked FROM blocks")
            .unwrap()
            .query_map([], |r| Ok((rows::uid(r, 0)?, rows::uid(r, 1)?)))
            .unwrap()
            .map(|pair| {
                let (a, b) = pair.unwrap();
                (names.user(a), names.user(b))
            })
            .collect();
        assert_eq!(blocks, self.model.blocks, "blocks");
        let invites: HashSet<(TokenHash, u32)> = db
            .prepare("SELECT code_hash, uses_left FROM invites")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|row| row.unwrap())
            .collect();
        let expected: HashSet<(TokenHash, u32)> = self
            .model
            .invites
            .iter()
            .map(|i| (i.code_hash, i.uses_left))
            .collect();
        assert_eq!(invites, expected, "invite codes and their uses left");
        for (u, user) in self.model.users.iter().enumerate() {
            let Some(uid) = user.uid else { continue };
            let sessions: i64 = db
                .query_row(
                    "SELECT count(*) FROM sessions WHERE uid = ?1",
                    [uid.as_bytes()],
                    |r| r.get(0),
                )
                .unwrap();
            let live = self
                .model
                .sessions
                .iter()
                .filter(|s| s.user == u && s.live)
                .count();
            assert_eq!(sessions as usize, live, "sessions of user {u}");
            let (disabled, hash): (bool, String) = db
                .query_row(
                    "SELECT disabled, password_hash FROM users WHERE uid = ?1",
                    [uid.as_bytes()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(disabled, user.disabled, "user {u} disabled");
            assert_eq!(hash, user.password_hash, "user {u}'s password hash");
        }
        let conversations: i64 = db
            .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            conversations as usize,
            self.model.convs.len(),
            "conversations"
        );
        for (k, c) in self.model.convs.iter().enumerate() {
            let id = c.id.expect("known after its batch");
            let (last_seq, title, manager, count, kind, key): (
                u64,
                String,
                [u8; 16],
                u32,
                String,
                Vec<u8>,
            ) = db
                .query_row(
                    "SELECT last_seq, title, manager_id, user_count, type, member_key
                     FROM conversations WHERE id = ?1",
                    [id.as_bytes()],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .unwrap();
            assert_eq!(last_seq, c.last_seq, "last_seq of conversation {k}");
            assert_eq!(title, c.title, "title of conversation {k}");
            assert_eq!(
                names.user(Uid::from_bytes(manager)),
                c.manager,
                "manager of {k}"
            );
            assert_eq!(count as usize, c.members.len(), "user_count of {k}");
            assert_eq!(kind, c.kind.as_str(), "type of {k}");
            let mut uids: Vec<Uid> = c.members.iter().map(|&u| names.uids[u]).collect();
            uids.sort();
            let want_key: Vec<u8> = uids.iter().flat_map(|u| *u.as_bytes()).collect();
            assert_eq!(key, want_key, "member_key of conversation {k}");
            // Membership rows, in joining order for the active ones.
            let mut stmt = db
                .prepare_cached(&format!(
                    "SELECT uid, {} FROM members WHERE conversation_id = ?1 ORDER BY position",
                    rows::MEMBER_COLUMNS
                ))
                .unwrap();
            let members: Vec<(Uid, rows::MemberState)> = stmt
                .query_map(params![id.as_bytes()], |r| {
                    let uid = rows::uid(r, 0)?;
                    // member_state reads from column 0: shift by one.
                    Ok((
                        uid,
                        rows::MemberState {
                            id: rows::conversation_id(r, 1)?,
                            active: r.get(2)?,
                            read_seq: r.get(3)?,
                            version: r.get(4)?,
                            left_seq: r.get(5)?,
                            left_snapshot: r.get(6)?,
                            muted: r.get(7)?,
                        },
                    ))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let active: Vec<usize> = members
                .iter()
                .filter(|(_, m)| m.active)
                .map(|(u, _)| names.user(*u))
                .collect();
            assert_eq!(active, c.members, "active members of conversation {k}");
            assert_eq!(
                members.len(),
                c.rows.len(),
                "member rows of conversation {k}"
            );
        }
        self.check_reads(db, version_before);
    }

    /// Compares what readers serve, through a backend's [`ReadConn`], with the model: sync from
    /// the cursor before the batch, every conversation's messages, and every member's (and
    /// former member's) state and view.
    fn check_reads<R: ReadConn>(&self, db: &R, version_before: u64) {
        self.check_blobs(db);
        let names = Names::new(&self.model);
        for (u, user) in self.model.users.iter().enumerate() {
            let Some(uid) = user.uid else { continue };
            let synced: BTreeSet<usize> = read::sync_page(db, uid, version_before, 10_000)
                .unwrap()
                .conversations
                .iter()
                .map(|v| names.conv(v.conversation.id))
                .collect();
            assert_eq!(
                synced,
                self.model.changed_for(u),
                "sync of user {u} from the cursor before the batch"
            );
        }
        for (k, c) in self.model.convs.iter().enumerate() {
            let id = c.id.expect("known after its batch");
            // Messages: exactly seqs 1..=last_seq, as sent.
            let mut stored: Vec<Message> = Vec::new();
            db.messages(id, read::Direction::After(0), 1_000_000, &mut |m| {
                stored.push(m);
                true
            })
            .unwrap();
            let want: Vec<Ev> = c
                .messages
                .iter()
                .enumerate()
                .map(|(i, m)| m.ev(k, i as u64 + 1, false))
                .collect();
            let have: Vec<Ev> = stored.iter().map(|m| names.message(m, false)).collect();
            assert_eq!(have, want, "messages of conversation {k}");
            // The changes since the cursor before the batch: exactly this batch's edits and
            // recalls (for members; former members are refused).
            let changed: BTreeSet<u64> = db
                .message_changes(id, version_before, 1_000_000)
                .unwrap()
                .iter()
                .map(|(m, _)| m.seq)
                .collect();
            let want_changed: BTreeSet<u64> = self
                .model
                .messages_changed
                .range((k, 0)..=(k, u64::MAX))
                .map(|(_, seq)| *seq)
                .collect();
            assert_eq!(
                changed, want_changed,
                "messages of {k} changed in the batch"
            );
            for (&u, row) in &c.rows {
                let uid = names.uids[u];
                let state = db
                    .member_state(uid, id)
                    .unwrap()
                    .unwrap_or_else(|| panic!("user {u}'s row in {k}"));
                assert_eq!(state.active, row.active, "user {u} active in {k}");
                assert_eq!(state.read_seq, row.read_seq, "read mark of user {u} in {k}");
                assert_eq!(state.muted, row.muted, "mute of user {u} in {k}");
                if row.active {
                    assert!(state.read_seq <= c.last_seq, "read mark above last_seq");
                } else {
                    assert_eq!(state.left_seq, row.left_seq, "left_seq of user {u} in {k}");
                }
                let view = rows::view(db, uid, &state).unwrap();
                self.check_view(&names, k, u, &view);
            }
        }
    }

    fn check_view(&self, names: &Names, k: usize, u: usize, view: &ConversationView) {
        let c = &self.model.convs[k];
        let row = &c.rows[&u];
        let what = format!("user {u}'s view of conversation {k}");
        assert_eq!(view.muted, row.muted, "{what}: muted");
        if row.active {
            let others = c
                .members
                .iter()
                .filter(|&&o| o != u)
                .map(|o| c.rows[o].read_seq)
                .max()
                .unwrap_or(0)
                .min(c.last_seq);
            assert!(!view.removed, "{what}");
            assert_eq!(view.last_seq, c.last_seq, "{what}: last_seq");
            assert_eq!(view.read_seq, row.read_seq, "{what}: read_seq");
            assert_eq!(
                view.unread_count,
                c.last_seq - row.read_seq,
                "{what}: unread"
            );
            assert_eq!(view.others_read_seq, others, "{what}: others_read_seq");
            assert_eq!(
                names.snap(k, &view.conversation),
                self.model.snap(k),
                "{what}"
            );
        } else {
            let read = row.read_seq.min(row.left_seq);
            assert!(view.removed, "{what}");
            assert_eq!(view.last_seq, row.left_seq, "{what}: last_seq");
            assert_eq!(view.read_seq, read, "{what}: read_seq");
            assert_eq!(view.unread_count, row.left_seq - read, "{what}: unread");
            assert_eq!(
                Some(names.snap(k, &view.conversation)),
                row.left_snap,
                "{what}: frozen at leaving"
            );
        }
        assert_eq!(
            view.last_message.as_ref().map(|m| m.seq),
            (view.last_seq > 0).then_some(view.last_seq),
            "{what}: last message"
        );
    }
}

/// A receiver that already holds its value.
impl<B: Backend> Harness<B> {
    /// Uploads a client could name: created in an earlier batch (live or gone).
    fn known_uploads(&self) -> Vec<usize> {
        (0..self.model.uploads.len())
            .filter(|&k| self.model.uploads[k].id.is_some())
            .collect()
    }

    fn push_blob(&mut self, cmd: super::command::BlobCmd, expect: BlobExpect) -> RequestId {
        self.push_blob_expecting(cmd, Expect::Blob(expect))
    }

    fn push_blob_expecting(&mut self, cmd: super::command::BlobCmd, expect: Expect) -> RequestId {
        let id = self.request_id();
        let (tx, rx) = oneshot::channel();
        self.batch.push(WriteCmd::Blob {
            cmd,
            reply: Reply::Direct(tx),
        });
        self.direct.push((id, Direct::Blob(rx)));
        self.model.expect.insert(id, expect);
        id
    }

    /// The upload's owner, or (a stranger) any other known user.
    fn upload_caller(&self, upload: usize, stranger: bool) -> usize {
        let owner = self.model.uploads[upload].user;
        if stranger {
            if let Some(other) = self
                .known_users()
                .into_iter()
                .find(|&u| u != owner && u != GHOST)
            {
                return other;
            }
        }
        owner
    }

    /// The refusal a lease holder's command meets, if any (`leased` in the rules).
    fn lease_refusal(&self, upload: usize, token: u64) -> Option<Expect> {
        let u = &self.model.uploads[upload];
        if !u.live {
            Some(Expect::Refused(ErrorCode::UploadNotFound))
        } else if u.lease != Some(token) {
            Some(Expect::Refused(ErrorCode::UploadBusy))
        } else {
            None
        }
    }

    fn blob_step(&mut self, step: &Step) {
        use super::command::BlobCmd;
        let fixed = |n: u8| u64::from(n);
        match *step {
            Step::BlobCreate {
                user,
                content,
                short_lived,
            } => {
                let users: Vec<usize> = self
                    .known_users()
                    .into_iter()
                    .filter(|&u| u != GHOST)
                    .collect();
                let Some(user) = Self::pick(&users, user) else {
                    return;
                };
                let c = content as usize % BLOB_CONTENTS;
                let cmd = BlobCmd::Create {
                    uid: self.uid(user),
                    sha256: blob_sha(c),
                    size: BLOB_SIZES[c],
                    limits: crate::blobs::UploadLimits {
                        max_upload_bytes: BLOB_MAX,
                        quota_bytes: BLOB_QUOTA,
                        uploads_in_progress: BLOB_IN_PROGRESS,
                        expiry_ms: if short_lived { 0 } else { 3_600_000 },
                    },
                };
                if self.model.can_read(user, c) {
                    self.push_blob(cmd, BlobExpect::Have(c));
                    return;
                }
                let m = &mut self.model;
                if let Some(k) = (0..m.uploads.len()).find(|&k| {
                    let u = &m.uploads[k];
                    u.live && !u.expired && u.user == user && u.content == c
                }) {
                    let received = m.uploads[k].received;
                    self.push_blob(
                        cmd,
                        BlobExpect::Upload {
                            upload: k,
                            received,
                            created: false,
                        },
                    );
                    return;
                }
                let mine = || {
                    m.uploads
                        .iter()
                        .filter(|u| u.live && !u.expired && u.user == user)
                };
                let count = mine().count() as u32;
                let bytes: u64 = mine().map(|u| BLOB_SIZES[u.content]).sum::<u64>()
                    + m.claims
                        .iter()
                        .filter(|(u, _)| *u == user)
                        .map(|(_, c)| BLOB_SIZES[*c])
                        .sum::<u64>();
                let refusal = if BLOB_SIZES[c] > BLOB_MAX {
                    Some(ErrorCode::TooLarge)
                } else if count >= BLOB_IN_PROGRESS {
                    Some(ErrorCode::TooManyUploads)
                } else if bytes + BLOB_SIZES[c] > BLOB_QUOTA {
                    Some(ErrorCode::QuotaExceeded)
                } else {
                    None
                };
                if let Some(code) = refusal {
                    self.push_blob_expecting(cmd, Expect::Refused(code));
                    return;
                }
                // The caller's expired uploads make way.
                let m = &mut self.model;
                for u in m.uploads.iter_mut() {
                    if u.live && u.user == user && u.expired {
                        u.live = false;
                    }
                }
                let k = m.uploads.len();
                m.uploads.push(MUpload {
                    id: None,
                    user,
                    content: c,
                    received: 0,
                    lease: None,
                    expired: short_lived,
                    live: true,
                });
                let id = self.push_blob(
                    cmd,
                    BlobExpect::Upload {
                        upload: k,
                        received: 0,
                        created: true,
                    },
                );
                self.creating_uploads.push((id, k));
            }
            Step::BlobLease {
                upload,
                token,
                stranger,
                wrong_offset,
            } => {
                let Some(k) = Self::pick(&self.known_uploads(), upload) else {
                    return;
                };
                let caller = self.upload_caller(k, stranger);
                let u = self.model.uploads[k].clone();
                let offset = u.received + u64::from(wrong_offset);
                let cmd = BlobCmd::Lease {
                    id: u.id.expect("known"),
                    uid: self.uid(caller),
                    offset,
                    token: fixed(token),
                };
                let expect = if !u.live || u.expired || caller != u.user {
                    Expect::Refused(ErrorCode::UploadNotFound)
                } else if u.lease.is_some() {
                    Expect::Blob(BlobExpect::Busy)
                } else if offset != u.received {
                    Expect::Blob(BlobExpect::Offset(u.received))
                } else {
                    self.model.uploads[k].lease = Some(fixed(token));
                    Expect::Blob(BlobExpect::Upload {
                        upload: k,
                        received: u.received,
                        created: false,
                    })
                };
                self.push_blob_expecting(cmd, expect);
            }
            Step::BlobCheckpoint {
                upload,
                token,
                stale_from,
                advance,
            } => {
                let Some(k) = Self::pick(&self.known_uploads(), upload) else {
                    return;
                };
                let u = self.model.uploads[k].clone();
                let from = u.received + u64::from(stale_from);
                let to = from + BLOB_STEPS[advance as usize % BLOB_STEPS.len()];
                let cmd = BlobCmd::Checkpoint {
                    id: u.id.expect("known"),
                    token: fixed(token),
                    from,
                    to,
                    hash_state: vec![advance; 8],
                    kind: None,
                    expiry_ms: 3_600_000,
                };
                let expect = match self.lease_refusal(k, fixed(token)) {
                    Some(refusal) => refusal,
                    None if from != u.received || to <= from || to > BLOB_SIZES[u.content] => {
                        Expect::Refused(ErrorCode::OffsetMismatch)
                    }
                    None => {
                        let m = &mut self.model.uploads[k];
                        m.received = to;
                        m.expired = false;
                        Expect::Blob(BlobExpect::Done)
                    }
                };
                self.push_blob_expecting(cmd, expect);
            }
            Step::BlobRenew { upload, token } => {
                let Some(k) = Self::pick(&self.known_uploads(), upload) else {
                    return;
                };
                let cmd = BlobCmd::Renew {
                    id: self.model.uploads[k].id.expect("known"),
                    token: fixed(token),
                };
                let expect = self
                    .lease_refusal(k, fixed(token))
                    .unwrap_or(Expect::Blob(BlobExpect::Done));
                self.push_blob_expecting(cmd, expect);
            }
            Step::BlobFinish { upload, token } => {
                let Some(k) = Self::pick(&self.known_uploads(), upload) else {
                    return;
                };
                let u = self.model.uploads[k].clone();
                let cmd = BlobCmd::Finish {
                    id: u.id.expect("known"),
                    token: fixed(token),
                    object_key: format!("objects/{k}"),
                    kind: crate::blobs::Kind::Other,
                };
                let expect = match self.lease_refusal(k, fixed(token)) {
                    Some(refusal) => refusal,
                    None => {
                        let m = &mut self.model;
                        m.uploads[k].live = false;
                        let discard = !m.blobs.insert(u.content);
                        m.claims.insert((u.user, u.content));
                        Expect::Blob(BlobExpect::Finished {
                            content: u.content,
                            discard,
                        })
                    }
                };
                self.push_blob_expecting(cmd, expect);
            }
            Step::BlobRelease { upload, token } => {
                let Some(k) = Self::pick(&self.known_uploads(), upload) else {
                    return;
                };
                let cmd = BlobCmd::Release {
                    id: self.model.uploads[k].id.expect("known"),
                    token: fixed(token),
                };
                if self.lease_refusal(k, fixed(token)).is_none() {
                    self.model.uploads[k].lease = None;
                }
                self.push_blob(cmd, BlobExpect::Done);
            }
            Step::BlobCancel { upload, stranger } => {
                let Some(k) = Self::pick(&self.known_uploads(), upload) else {
                    return;
                };
                let caller = self.upload_caller(k, stranger);
                let cmd = BlobCmd::Cancel {
                    id: self.model.uploads[k].id.expect("known"),
                    uid: self.uid(caller),
                };
                if caller == self.model.uploads[k].user {
                    self.model.uploads[k].live = false;
                }
                self.push_blob(cmd, BlobExpect::Done);
            }
            Step::BlobSweep => {
                let mut swept = 0;
                for u in self.model.uploads.iter_mut() {
                    if u.live && u.expired {
                        u.live = false;
                        swept += 1;
                    }
                }
                self.push_blob(
                    super::command::BlobCmd::Sweep { limit: 1_000 },
                    BlobExpect::Swept(swept),
                );
            }
            _ => unreachable!("not a blob step"),
        }
    }

    /// A blob answer in the model's terms.
    fn blob_expect(&self, answer: super::command::BlobAnswer) -> BlobExpect {
        use super::command::BlobAnswer;
        let content = |sha: crate::blobs::BlobId| {
            (0..BLOB_CONTENTS)
                .find(|&c| blob_sha(c) == sha)
                .expect("a model content")
        };
        let upload = |id: crate::blobs::UploadId| {
            self.model
                .uploads
                .iter()
                .position(|u| u.id == Some(id))
                .expect("a model upload")
        };
        match answer {
            BlobAnswer::Blob(blob) => BlobExpect::Have(content(blob.sha256)),
            BlobAnswer::Upload { row, created, .. } => BlobExpect::Upload {
                upload: upload(row.id),
                received: row.received,
                created,
            },
            BlobAnswer::Busy { .. } => BlobExpect::Busy,
            BlobAnswer::Offset(at) => BlobExpect::Offset(at),
            BlobAnswer::Finished { blob, discard } => {
                assert_eq!(blob.size, BLOB_SIZES[content(blob.sha256)]);
                BlobExpect::Finished {
                    content: content(blob.sha256),
                    discard: discard.is_some(),
                }
            }
            BlobAnswer::Swept(ids) => BlobExpect::Swept(ids.len()),
            BlobAnswer::Done => BlobExpect::Done,
        }
    }

    /// The uploads stored, and who may read which blob, against the model.
    fn check_blobs<R: ReadConn>(&self, db: &R) {
        for (k, u) in self.model.uploads.iter().enumerate() {
            let Some(id) = u.id else { continue };
            let stored = db.upload(id).unwrap();
            match (&stored, u.live) {
                (None, false) => {}
                (Some(row), true) => {
                    assert_eq!(row.received, u.received, "upload {k}'s offset");
                    assert_eq!(row.uid, self.uid(u.user), "upload {k}'s owner");
                    assert_eq!(row.sha256, blob_sha(u.content));
                }
                _ => panic!("upload {k}: stored {stored:?}, the model has {u:?}"),
            }
        }
        for (user, m) in self.model.users.iter().enumerate() {
            let Some(uid) = m.uid else { continue };
            for (c, size) in BLOB_SIZES.into_iter().enumerate() {
                let visible = db.visible_blob(uid, blob_sha(c)).unwrap();
                assert_eq!(
                    visible.as_ref().map(|b| b.size),
                    self.model.can_read(user, c).then_some(size),
                    "user {user} reading content {c}"
                );
            }
        }
    }
}

fn settled<T>(value: Result<T>) -> oneshot::Receiver<Result<T>> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(value);
    rx
}

/// Translates what the writer sent back into model terms.
struct Names {
    uids: Vec<Uid>,
    users: HashMap<Uid, usize>,
    convs: HashMap<ConversationId, usize>,
    /// Replies parsed by `frame`, by request id.
    parsed: std::cell::RefCell<HashMap<RequestId, Expect>>,
}

impl Names {
    fn new(model: &Model) -> Self {
        let uids: Vec<Uid> = model
            .users
            .iter()
            .map(|u| u.uid.unwrap_or_else(Uid::random))
            .collect();
        Self {
            users: uids.iter().enumerate().map(|(i, u)| (*u, i)).collect(),
            uids,
            convs: model
                .convs
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.id.map(|id| (id, i)))
                .collect(),
            parsed: Default::default(),
        }
    }

    fn user(&self, uid: Uid) -> usize {
        *self
            .users
            .get(&uid)
            .unwrap_or_else(|| panic!("unknown user {uid}"))
    }

    fn conv(&self, id: ConversationId) -> usize {
        *self
            .convs
            .get(&id)
            .unwrap_or_else(|| panic!("unknown conversation {id}"))
    }

    fn snap(&self, conv: usize, c: &Conversation) -> Snap {
        assert_eq!(c.user_count as usize, c.user_ids.len(), "user_count");
        Snap {
            conv,
            kind: c.kind,
            title: c.title.clone(),
            manager: self.user(c.manager_id),
            members: c.user_ids.iter().map(|u| self.user(*u)).collect(),
        }
    }

    fn message(&self, m: &Message, updated: bool) -> Ev {
        let (text, recalled_by) = match &m.body {
            MessageBody::Text { text } => (text.clone(), None),
            MessageBody::File(file) => {
                let content = (0..BLOB_CONTENTS)
                    .find(|&c| blob_sha(c).hex() == file.blob)
                    .expect("a model content");
                assert_eq!(file.size, BLOB_SIZES[content], "a file message's size");
                assert_eq!(file.name, format!("file-{content}"));
                (file.name.clone(), None)
            }
            MessageBody::Recalled { by } => (String::new(), Some(self.user(*by))),
            other => panic!("unexpected body {other:?}"),
        };
        Ev::Message {
            conv: self.conv(m.conversation_id),
            seq: m.seq,
            from: self.user(m.from),
            client_id: m.client_id.to_string(),
            text,
            reply_to: m.reply_to,
            edited: m.edited_at.is_some(),
            recalled_by,
            mentions: m.mentions.iter().map(|u| self.user(*u)).collect(),
            mention_all: m.mention_all,
            reactions: m
                .reactions
                .iter()
                .map(|r| {
                    (
                        r.emoji.clone(),
                        r.user_ids.iter().map(|u| self.user(*u)).collect(),
                    )
                })
                .collect(),
            updated,
        }
    }

    /// A received frame as an `Ev`; a reply is parsed by the type its expectation names and
    /// kept in `parsed`.
    fn frame(&self, frame: ServerFrame, expect: &HashMap<RequestId, Expect>) -> Ev {
        match frame {
            ServerFrame::Event(event) => match event {
                Event::Message(m) => self.message(&m, false),
                Event::MessageUpdated(m) => self.message(&m, true),
                Event::Receipt(r) => Ev::Receipt {
                    conv: self.conv(r.conversation_id),
                    user: self.user(r.uid),
                    read_seq: r.read_seq,
                },
                Event::ConversationCreated(c) => Ev::Created(self.snap(self.conv(c.id), &c)),
                Event::ConversationUpdated(c) => Ev::Updated(self.snap(self.conv(c.id), &c)),
                Event::ConversationRemoved(r) => Ev::Removed {
                    conv: self.conv(r.conversation_id),
                    by: self.user(r.by),
                },
                Event::SignedOut(_) => Ev::SignedOut,
                Event::MuteChanged(m) => Ev::MuteChanged {
                    conv: self.conv(m.conversation_id),
                    muted: m.muted,
                },
                Event::BlockChanged(b) => Ev::BlockChanged {
                    user: self.user(b.user_id),
                    blocked: b.blocked,
                },
                other => panic!("unexpected event {other:?}"),
            },
            ServerFrame::Error { id, error } => {
                let id = id.expect("errors name their request");
                self.parsed
                    .borrow_mut()
                    .insert(id, Expect::Refused(error.code));
                Ev::Reply(id)
            }
            ServerFrame::Result { id, result } => {
                let json = result.get();
                let parsed = match expect.get(&id) {
                    Some(Expect::Created { .. }) => {
                        let c: CreatedConversation = serde_json::from_str(json).unwrap();
                        Expect::Created {
                            snap: self.snap(self.conv(c.conversation.id), &c.conversation),
                            created: c.created,
                        }
                    }
                    Some(Expect::Conv(_)) => {
                        let c: Conversation = serde_json::from_str(json).unwrap();
                        Expect::Conv(self.snap(self.conv(c.id), &c))
                    }
                    Some(Expect::Message(_)) => {
                        let m: Message = serde_json::from_str(json).unwrap();
                        Expect::Message(self.message(&m, false))
                    }
                    Some(Expect::ReadMark { .. }) => {
                        let r: ReadMark = serde_json::from_str(json).unwrap();
                        Expect::ReadMark {
                            conv: self.conv(r.conversation_id),
                            read_seq: r.read_seq,
                            unread: r.unread_count,
                        }
                    }
                    Some(Expect::Mute { .. }) => {
                        let m: MuteState = serde_json::from_str(json).unwrap();
                        Expect::Mute {
                            conv: self.conv(m.conversation_id),
                            muted: m.muted,
                        }
                    }
                    Some(Expect::Block { .. }) => {
                        let b: BlockState = serde_json::from_str(json).unwrap();
                        Expect::Block {
                            user: self.user(b.user_id),
                            blocked: b.blocked,
                        }
                    }
                    other => panic!("result {json} for request {id}, which expects {other:?}"),
                };
                self.parsed.borrow_mut().insert(id, parsed);
                Ev::Reply(id)
            }
            ServerFrame::UnknownEvent(name) => panic!("unknown event {name}"),
        }
    }
}

fn run(member_budget: usize, steps: &[Step]) {
    play(Harness::new(member_budget), steps);
}

fn play<B: Backend>(mut harness: Harness<B>, steps: &[Step]) {
    for step in steps {
        harness.step(step);
    }
    harness.cut();
}

/// Cases on PostgreSQL (`IM_MODEL_PG_CASES`, default 128): each takes a fresh database.
fn postgres_cases() -> u32 {
    std::env::var("IM_MODEL_PG_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

/// The same property with the writer on PostgreSQL (one throwaway cluster, a database per case):
/// the rules and the engine are shared, so what differs is `PgTx`'s statements, and any
/// difference in what they do shows as an answer or a frame the model does not expect.
#[test]
fn the_writer_agrees_with_the_model_on_postgres() {
    use proptest::test_runner::{Config, TestRunner};
    let pg = im_test_services::Postgres::start().unwrap();
    let databases = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: postgres_cases(),
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop_oneof![Just(1usize), Just(4), Just(8), Just(1_000_000)],
        prop::collection::vec(step(), 1..150),
    );
    runner
        .run(&strategy, |(member_budget, steps)| {
            let n = databases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let url = pg.create_database(&format!("model{n}")).unwrap();
            play(Harness::on_postgres(member_budget, &url), &steps);
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 20_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The writer, batched any way, does what the model does one command at a time.
    #[test]
    fn the_writer_agrees_with_the_model(
        member_budget in prop_oneof![Just(1usize), Just(4), Just(8), Just(1_000_000)],
        steps in prop::collection::vec(step(), 1..150),
    ) {
        run(member_budget, &steps);
    }
}

/// The tester's reproduction (issue 9): sends and title changes in one batch lost `last_seq`.
#[test]
fn sends_and_a_rename_in_one_batch_keep_last_seq() {
    let steps = [
        Step::Create {
            conn: 0,
            others: vec![1, 2],
            unique: false,
            title: None,
        },
        Step::Cut,
        Step::Send {
            conn: 0,
            conv: 0,
            resend: None,
            reply: None,
            mentions: vec![],
            mention_all: false,
            file: None,
        },
        Step::Update {
            conn: 3,
            conv: 0,
            title: Some(1),
        },
        Step::Send {
            conn: 3,
            conv: 0,
            resend: None,
            reply: None,
            mentions: vec![],
            mention_all: false,
            file: None,
        },
        Step::Cut,
        Step::Send {
            conn: 6,
            conv: 0,
            resend: None,
            reply: None,
            mentions: vec![],
            mention_all: false,
            file: None,
        },
        Step::MarkRead {
            conn: 0,
            conv: 0,
            target: ReadTarget::Last,
        },
    ];
    run(100_000, &steps);
}

/// The interleavings a code review named, each inside one batch, checked against the model:
/// members added then sending, removed then sending, one client id twice, a read mark above a
/// seq assigned earlier in the same batch.
#[test]
fn batch_interleavings_the_review_named() {
    let send = |conn: u8, resend: Option<u8>| Step::Send {
        conn,
        conv: 0,
        resend,
        reply: None,
        mentions: vec![],
        mention_all: false,
        file: None,
    };
    let steps = [
        // A group of users 0, 1, 2 (connections 0–8; user 3 has 9–11).
        Step::Create {
            conn: 0,
            others: vec![1, 2],
            unique: false,
            title: Some(0),
        },
        Step::Cut,
        // Added, and sending in the same batch.
        Step::Add {
            conn: 0,
            conv: 0,
            users: vec![3],
        },
        send(9, None),
        send(3, None),
        Step::Cut,
        // Removed, and (refused) sending in the same batch; the resend of a message stored
        // before leaving still gets the original.
        Step::Remove {
            conn: 0,
            conv: 0,
            users: vec![3],
        },
        send(10, None),
        send(9, Some(0)),
        Step::Cut,
        // One client id twice in one batch: stored once.
        send(4, None),
        send(4, Some(1)),
        send(5, Some(1)),
        Step::Cut,
        // A read mark above everything, after seqs assigned in this batch.
        send(6, None),
        send(3, None),
        Step::MarkRead {
            conn: 1,
            conv: 0,
            target: ReadTarget::Beyond(3),
        },
        Step::MarkRead {
            conn: 2,
            conv: 0,
            target: ReadTarget::Back(1),
        },
        Step::Cut,
    ];
    for budget in [1, 1_000_000] {
        run(budget, &steps);
    }
}

/// What the model found first: the change counter read back from SQLite (at start, and by this
/// harness before each batch) ignored the counter of message changes, so a recall's change
/// came back in every later `sync` (and a restarted writer could stamp it again).
#[test]
fn a_recall_is_synced_once() {
    let steps = [
        Step::Create {
            conn: 0,
            others: vec![132],
            unique: false,
            title: None,
        },
        Step::Cut,
        Step::Send {
            conn: 246,
            conv: 0,
            resend: None,
            reply: None,
            mentions: vec![],
            mention_all: false,
            file: None,
        },
        Step::Cut,
        Step::Recall {
            conn: 30,
            conv: 0,
            target: ReadTarget::Last,
        },
        Step::Cut,
        Step::MarkRead {
            conn: 0,
            conv: 0,
            target: ReadTarget::Last,
        },
        Step::Cut,
    ];
    run(1, &steps);
}
