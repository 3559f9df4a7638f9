//! [`WriteTx`]: what the write rules need from a storage backend inside one write transaction.
//! The rules (`rules/`) are written against this trait only; SQLite (`sqlite_tx.rs`) is its
//! first implementation, and a second backend implements the same operations.
//!
//! Every method runs inside the open transaction and sees what earlier calls in it wrote.
//! Nothing here decides anything: checks, ids, versions and events are the rules' business.

use im_proto::{ClientId, Conversation, ConversationId, Message, Millis, Seq, Uid, User};

use super::rows::ConversationRow;
use crate::blobs::{BlobId, BlobRow, UploadId, UploadRow};
use crate::error::Result;
use crate::hub::TokenHash;

/// The storage operations of a write transaction.
pub trait WriteTx {
    /// Inserts an account; false if the username is taken.
    fn insert_user(&self, user: &User, password_hash: &str, created_at: Millis) -> Result<bool>;
    /// The uids among `uids` that name no account.
    fn missing_users(&self, uids: &[Uid]) -> Result<Vec<Uid>>;

    /// Stores a session (by its token's hash).
    fn insert_session(
        &self,
        token_hash: &TokenHash,
        uid: Uid,
        device: &str,
        at: Millis,
    ) -> Result<()>;
    /// Deletes a session; nothing if there is none.
    fn delete_session(&self, token_hash: &TokenHash) -> Result<()>;
    /// A user's sessions, oldest first.
    fn sessions_of(&self, uid: Uid) -> Result<Vec<TokenHash>>;

    /// A conversation with its active members (in joining order) and bookkeeping.
    fn conversation(&self, id: ConversationId) -> Result<Option<ConversationRow>>;
    /// The oldest conversation whose active members are exactly `member_key`'s.
    fn conversation_by_members(&self, member_key: &[u8]) -> Result<Option<ConversationId>>;
    /// Inserts a new conversation (members are inserted separately).
    fn insert_conversation(&self, c: &Conversation, member_key: &[u8], version: u64) -> Result<()>;
    /// Sets the given fields (the others stay) and the version.
    fn update_conversation(&self, id: ConversationId, fields: &Fields, version: u64) -> Result<()>;
    /// Writes what follows from the membership: count, member key, manager, version.
    fn set_membership(
        &self,
        id: ConversationId,
        count: usize,
        member_key: &[u8],
        manager: Uid,
        version: u64,
    ) -> Result<()>;
    /// Writes a conversation's last seq and version (once per batch).
    fn set_last_seq(&self, id: ConversationId, last_seq: Seq, version: u64) -> Result<()>;

    /// Makes `uids` active members (after the current ones, in order), with a read mark of
    /// `read_seq`. A former member comes back with a fresh position and read mark.
    fn add_members(
        &self,
        id: ConversationId,
        uids: &[Uid],
        read_seq: Seq,
        version: u64,
    ) -> Result<()>;
    /// Marks `uids` as former members, remembering what they saw: the last seq and the
    /// conversation as JSON.
    fn remove_members(
        &self,
        id: ConversationId,
        uids: &[Uid],
        version: u64,
        left_seq: Seq,
        snapshot: &str,
    ) -> Result<()>;
    /// A member's (or former member's) read mark.
    fn read_seq(&self, uid: Uid, id: ConversationId) -> Result<Option<Seq>>;
    /// Sets a read mark (and the membership's version).
    fn set_read_seq(&self, uid: Uid, id: ConversationId, seq: Seq, version: u64) -> Result<()>;
    /// Whether a member muted the conversation (`None`: not a member).
    fn muted(&self, uid: Uid, id: ConversationId) -> Result<Option<bool>>;
    /// Mutes or un-mutes it for a member (and sets the membership's version).
    fn set_muted(&self, uid: Uid, id: ConversationId, muted: bool, version: u64) -> Result<()>;

    /// Whether `uid` blocks `other`.
    fn blocks(&self, uid: Uid, other: Uid) -> Result<bool>;
    /// Records (`blocked`) or lifts a block; false if it was already so.
    fn set_block(&self, uid: Uid, other: Uid, blocked: bool, at: Millis) -> Result<bool>;

    /// Raises a read mark to `seq` if it is below (a sender has read their own message); the
    /// version stays.
    fn raise_read_seq(&self, uid: Uid, id: ConversationId, seq: Seq) -> Result<()>;

    /// Inserts a message; false (and nothing written) if its sender already stored one with
    /// that client id in that conversation.
    fn insert_message(&self, message: &Message) -> Result<bool>;
    /// The message a sender stored with a client id.
    fn message_by_client_id(
        &self,
        id: ConversationId,
        sender: Uid,
        client_id: &ClientId,
    ) -> Result<Option<Message>>;

    /// A message by its seq.
    fn message_by_seq(&self, id: ConversationId, seq: Seq) -> Result<Option<Message>>;
    /// Stores an edited or recalled message (its body and `edited_at`, found by conversation and
    /// seq) as changed at `version`, which also becomes its conversation's `changes_version`
    /// (not its `version`: a change to an old message does not move the conversation up the
    /// list; `sync` looks at both).
    fn change_message(&self, message: &Message, version: u64) -> Result<()>;

    /// Whether an account is disabled (`None`: no such account).
    fn user_disabled(&self, uid: Uid) -> Result<Option<bool>>;
    /// Disables or enables an account.
    fn set_disabled(&self, uid: Uid, disabled: bool) -> Result<()>;
    /// Replaces an account's password hash.
    fn set_password(&self, uid: Uid, password_hash: &str) -> Result<()>;

    /// An invite code's uses left and expiry, by the code's hash.
    fn invite(&self, code_hash: &TokenHash) -> Result<Option<(u32, Option<Millis>)>>;
    /// Uses an invite code once.
    fn spend_invite(&self, code_hash: &TokenHash) -> Result<()>;
    /// Stores an invite code.
    fn insert_invite(&self, invite: &NewInvite, created_at: Millis) -> Result<()>;
    /// Deletes an invite code by id; false if there is none.
    fn delete_invite(&self, id: &str) -> Result<bool>;

    /// A stored blob.
    fn blob(&self, sha256: BlobId) -> Result<Option<BlobRow>>;
    /// A blob, if `uid` may read it (uploaded it, or is a member of a conversation a message
    /// of which names it).
    fn visible_blob(&self, uid: Uid, sha256: BlobId) -> Result<Option<BlobRow>>;
    /// Records the blobs a new message names (readable by the conversation's members).
    fn insert_message_blobs(&self, id: ConversationId, seq: Seq, blobs: &[BlobId]) -> Result<()>;
    /// Forgets the blobs a message names (it was recalled).
    fn delete_message_blobs(&self, id: ConversationId, seq: Seq) -> Result<()>;
    /// Stores a finished blob.
    fn insert_blob(&self, blob: &BlobRow) -> Result<()>;
    /// Whether a user uploaded (claimed) a blob.
    fn has_claim(&self, uid: Uid, sha256: BlobId) -> Result<bool>;
    /// Records that a user uploaded a blob (or refreshes when they did).
    fn claim_blob(&self, uid: Uid, sha256: BlobId, at: Millis) -> Result<()>;
    /// An unfinished upload.
    fn upload(&self, id: UploadId) -> Result<Option<UploadRow>>;
    /// A user's unfinished upload of some content.
    fn upload_of(&self, uid: Uid, sha256: BlobId) -> Result<Option<UploadRow>>;
    /// Stores a new upload.
    fn insert_upload(&self, upload: &UploadRow) -> Result<()>;
    /// Writes an upload's progress, hash state, kind, lease and expiry.
    fn update_upload(&self, upload: &UploadRow) -> Result<()>;
    /// Deletes an upload; nothing if it is gone.
    fn delete_upload(&self, id: UploadId) -> Result<()>;
    /// Uploads (a user's, or anyone's) that expired by `now`, at most `limit` of them.
    fn expired_uploads(&self, uid: Option<Uid>, now: Millis, limit: u32) -> Result<Vec<UploadId>>;
    /// A user's unfinished uploads that have not expired by `now`, and the bytes of those and
    /// of the blobs they claim.
    fn upload_usage(&self, uid: Uid, now: Millis) -> Result<(u32, u64)>;

    /// Records when the database last took a write probe (a health check).
    fn note_probe(&self, at: Millis) -> Result<()>;
}

/// An invite code to store.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// Names it for listing and revoking.
    pub id: String,
    /// The code's SHA-256.
    pub code_hash: TokenHash,
    /// Sign-ups it allows.
    pub uses: u32,
    /// When it stops working (`None`: never).
    pub expires_at: Option<Millis>,
}

/// The editable fields of a conversation; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// New title.
    pub title: Option<String>,
    /// New icon.
    pub icon: Option<String>,
    /// New remark.
    pub remark: Option<String>,
    /// New attrs, as JSON text.
    pub attrs: Option<String>,
}
