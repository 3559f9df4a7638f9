// The backend contract: types and thin wrappers around the Tauri commands and the event
// stream (an IPC channel handed to `subscribe_events`, ordered). Argument keys are camelCase;
// Tauri maps them to the Rust snake_case parameters.
// Every command rejects with an `AppError`.
//
// Outside Tauri (a plain browser, `npm run dev`) an in-memory mock backend is loaded
// dynamically instead, so it never runs (and is never fetched) inside the app.
import { Channel, invoke as tauriInvoke } from '@tauri-apps/api/core';

export type AppError = { code: string; message: string };
export type Account = { uid: string; username: string; displayName: string; serverUrl: string };
export type UserInfo = { uid: string; username: string; displayName: string };
export type MessageStatus = 'sending' | 'sent' | 'failed';
/**
 * One emoji's reactions on a message: how many people chose it, whether the user is one of them,
 * and their display names (for the tooltip; the user's own among them when `mine`).
 */
export type Reaction = { emoji: string; count: number; mine: boolean; names: string[] };
export type UiMessage = {
  conversationId: string;
  clientId: string;
  id: string | null;
  seq: number | null; // null until the server acked it
  from: string;
  fromName: string;
  own: boolean;
  text: string;
  timestamp: number; // ms since epoch (local time while sending)
  status: MessageStatus;
  error: AppError | null; // error set when failed
  /** When the text was last edited (ms); null: never. The bubble says "edited" (its time as the tooltip). */
  editedAt: number | null;
  /**
   * Recalled for everyone (撤回): `text` is '' and the message shows as a centered line ("Tom
   * recalled a message") instead of a bubble.
   */
  recalled: boolean;
  /** A kind of message this version of the app cannot show (from a newer server): shown as such. Absent: false. */
  unsupported?: boolean;
  /** Who recalled it (the sender, or a group's manager), when recalled. */
  recalledByName: string | null;
  /** The message this one replies to (quotes), if any. */
  replyTo: ReplyPreview | null;
  /** Until when (ms since the epoch) the user may edit it (an own, sent text); null: not editable. */
  editableUntil: number | null;
  /**
   * Until when (ms since the epoch) the user may recall it; null: not recallable. A group's
   * manager gets a far-future value for the others' messages.
   */
  recallableUntil: number | null;
  /** The uids mentioned with @ (in a group; empty when none). */
  mentions: string[];
  /** "@all" (所有人): the group's manager mentioned everyone. */
  mentionAll: boolean;
  /** The signed-in user is mentioned (by uid, or by @all) and did not send it. */
  mentionsMe: boolean;
  /**
   * The emoji reactions, in the order the emoji were first used; empty when none (and always for
   * a recalled message).
   */
  reactions: Reaction[];
};
/**
 * The message a reply quotes (by its `seq` in the same conversation). `fromName` / `text` are null
 * when the original is not in this device's cache yet.
 */
export type ReplyPreview = { seq: number; fromName: string | null; text: string | null; recalled: boolean };
export type ConversationItem = {
  id: string;
  type: 'SINGLE_CHAT' | 'GROUP_CHAT';
  title: string; // the stored title (may be empty)
  displayTitle: string; // what to show: the title, or for 1:1 the other person's display name
  managerId: string;
  userIds: string[];
  lastMessage: UiMessage | null;
  unreadCount: number;
  /**
   * Of the unread messages, how many mention the user (by uid or @all; not their own): the list
   * shows "[@me]" before the preview while there are any, muted or not.
   */
  unreadMentions: number;
  readSeq: number; // how far I have read
  /**
   * How far the other member(s) have read: the highest read mark among the others (a member's
   * own message also counts as read up to it). Only ever grows. Drives the read ticks of 1:1 chats.
   */
  peerReadSeq: number;
  lastSeq: number;
  lastActivity: number; // ms; sort key (most recent first)
  /**
   * For a SINGLE_CHAT the other person (`username` may be '' while not known yet); null for
   * groups. A single chat's `displayTitle` is always this person's display name: the stored
   * `title` of a 1:1 chat never stands in for who the person is.
   */
  peer: UserInfo | null;
  /** The user muted it (on all their devices): no notifications, a quieter unread badge. */
  muted: boolean;
  /** A note about the conversation, any member may change it (`update_conversation`); may be empty. */
  remark: string;
};
/** A member of a conversation, as `conversation_members` gives them. */
export type MemberInfo = {
  uid: string;
  /** May be '' while not known. */
  username: string;
  displayName: string;
  /** The conversation's manager (`managerId`). */
  manager: boolean;
  /** The signed-in user. */
  me: boolean;
};
export type ConnectionState =
  | { state: 'connecting' }
  | { state: 'online' }
  | { state: 'offline' }
  | { state: 'reconnecting'; attempt: number; delayMs: number }
  | { state: 'failed'; reason: string };
export type AppInfo = {
  version: string;
  profile: string | null;
  defaultServerUrl: string;
  /** The longest message text, in Unicode code points (the server's `max_text_chars`). */
  maxTextChars: number;
};
export type MessagePage = { messages: UiMessage[]; hasMore: boolean }; // ascending seq order
/** A server address as typed, resolved by `server_address`. */
export type ServerAddress = {
  /** The WebSocket URL it connects to (`wss://host[:port]/path`). */
  url: string;
  /** Encrypted (TLS, `wss://`). */
  secure: boolean;
  /** This computer (`localhost`, `127.0.0.0/8`, `::1`): unencrypted is fine there. */
  loopback: boolean;
};

export type ImEvent =
  | { kind: 'message'; message: UiMessage }
  /**
   * A message was edited, recalled or reacted to (by anyone, on any device; live, or found while catching up):
   * it replaces the message with the same `conversationId` and `seq`, if that is loaded (else
   * there is nothing to do). A `conversation` event follows when the list's last message changed.
   */
  | { kind: 'messageUpdated'; message: UiMessage }
  | { kind: 'conversation'; conversation: ConversationItem }
  | { kind: 'conversationRemoved'; conversationId: string }
  /**
   * Someone (the group's manager) added the user to a group, live. Comes after the `conversation`
   * event of that group. `title` may be empty; `by.username` may be '' when not known.
   */
  | { kind: 'addedToGroup'; conversationId: string; title: string; by: UserInfo }
  /** The user blocked or unblocked someone (on this device, after block_user / unblock_user, or another one). */
  | { kind: 'blockChanged'; uid: string; blocked: boolean }
  | { kind: 'connection'; state: ConnectionState }
  | { kind: 'receipt'; conversationId: string; uid: string; readSeq: number }
  | { kind: 'typing'; conversationId: string; uid: string; name: string; typing: boolean }
  /** `reason` is a human sentence from the server (English), e.g. "the session was revoked". */
  | { kind: 'signedOut'; reason: string }
  /**
   * The UI may have missed events (after the catch-up that follows a reconnect, or after the event
   * channel overflowed): reload the conversation list and the open conversation's newest page.
   */
  | { kind: 'resync' }
  | { kind: 'error'; error: AppError }
  /** A notification of this conversation was clicked (the window is already raised): show it. */
  | { kind: 'openConversation'; conversationId: string }
  /**
   * The desktop settings changed outside the Settings dialog (the tray menu paused or resumed the
   * notifications): the whole new state.
   */
  | { kind: 'desktopSettings'; settings: DesktopSettings }
  /**
   * The self-update's status changed (a check began or ended, a download progressed, an update is
   * ready, being installed, or failed): the whole new status. Download progress comes at most a
   * few times a second.
   */
  | { kind: 'update'; status: UpdateStatus };

/** What the UI needs from a backend: the Tauri one, or the dev mock. */
export interface Backend {
  invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  listen(handler: (event: ImEvent) => void): Promise<() => void>;
}

export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

const tauriBackend: Backend = {
  invoke: (cmd, args) => tauriInvoke(cmd, args),
  // One ordered channel (Tauri's advice for high-rate streams): the backend keeps what happened
  // while the page loaded and sends it first. Subscribing again replaces the channel.
  listen: async (handler) => {
    let live = true;
    const channel = new Channel<ImEvent>();
    channel.onmessage = (event) => {
      if (live) handler(event);
    };
    await tauriInvoke('subscribe_events', { onEvent: channel });
    return () => {
      live = false;
    };
  },
};

let backendPromise: Promise<Backend> | null = null;

/**
 * Uses this backend from now on instead of the Tauri one or the dev mock (for tests that drive
 * the real stores against a mock backend instance of their own).
 */
export function useBackend(b: Backend): void {
  backendPromise = Promise.resolve(b);
}

function backend(): Promise<Backend> {
  backendPromise ??= isTauri()
    ? Promise.resolve(tauriBackend)
    : import('./mock').then((m) => m.createMockBackend());
  return backendPromise;
}

/** Turns whatever a command rejected with into an `AppError`. */
export function toAppError(e: unknown): AppError {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as AppError).code === 'string') {
    const message = (e as { message?: unknown }).message;
    return { code: (e as AppError).code, message: typeof message === 'string' ? message : '' };
  }
  if (typeof e === 'string') return { code: 'internal', message: e };
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}

export function isAppError(e: unknown): e is AppError {
  return !!e && typeof e === 'object' && typeof (e as AppError).code === 'string';
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  const b = await backend();
  try {
    return await b.invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

/** Subscribes to the backend's event stream; resolves to the unsubscribe function. */
export async function onImEvent(handler: (event: ImEvent) => void): Promise<() => void> {
  return (await backend()).listen(handler);
}

export const appInfo = () => call<AppInfo>('app_info');
/** The first screen's data in one round trip (the backend starts restoring while the page loads). */
export type Bootstrap = {
  info: AppInfo;
  account: Account | null;
  error: AppError | null; // why the saved session could not be restored (e.g. keyring_unavailable)
  conversations: ConversationItem[]; // the first page (CONVERSATIONS_FIRST_PAGE), empty when signed out
  connection: ConnectionState;
};
export const bootstrap = async () => {
  mark('bootstrap_sent');
  const b = await call<Bootstrap>('bootstrap');
  mark('bootstrap_received');
  return b;
};
// restore_session, sign_in and sign_up reject with `keyring_unavailable` when the system keyring
// (Secret Service) is missing or locked: the credentials were not stored.
export const restoreSession = () => call<Account | null>('restore_session');
//
// Both resolve the server field like `server_address` (so it may be what was typed). An
// unencrypted (`ws://`) server that is not this computer is refused with `insecure_server` unless
// `allowInsecure` (the person ticked "Connect without encryption anyway"). Reaching the server can
// fail with `invalid_server_address`, `connect_failed` or a certificate problem (`tls_untrusted`,
// `tls_expired`, `tls_wrong_host`, `tls_revoked`, `tls_failed`).
//
// sign_in also rejects with `account_disabled` (the password was right, but the server's
// administrator disabled the account). sign_up rejects with `sign_up_closed` (the server takes no
// sign-ups), `invite_required` (it takes them with an invite code only, and none was given) or
// `invite_invalid` (the code is unknown, used up or expired).
export type SignInArgs = { serverUrl: string; username: string; password: string; allowInsecure?: boolean };
export type SignUpArgs = SignInArgs & {
  displayName: string;
  /**
   * An invite code as the person typed it (`7KQ2-M9XD-4HBT-C0WZ`; the server ignores case, dashes
   * and spaces); null or left out: none. Sent as `invite` (null when there is none).
   */
  invite?: string | null;
};
export const signUp = (a: SignUpArgs) =>
  call<Account>('sign_up', { ...a, allowInsecure: a.allowInsecure === true, invite: a.invite ?? null });
export const signIn = (a: SignInArgs) => call<Account>('sign_in', { ...a, allowInsecure: a.allowInsecure === true });
/** Who may create an account on a server: anyone, people with an invite code, or nobody. */
export type SignUpMode = 'open' | 'invite' | 'closed';
/**
 * Asks a server who may create an account on it (it connects to the server). `server` and
 * `allowInsecure` mean what sign_in's `serverUrl` and `allowInsecure` do; it rejects with the same
 * errors reaching the server can (`invalid_server_address`, `insecure_server`, `connect_failed`,
 * `tls_*`, `offline`…).
 */
export const serverSignUpMode = (a: { server: string; allowInsecure?: boolean }) =>
  call<SignUpMode>('server_sign_up_mode', { server: a.server, allowInsecure: a.allowInsecure === true });
/**
 * What a person typed as their server (`chat.example.org`, `https://…`, `localhost:7822`…) as the
 * WebSocket URL it connects to; rejects with `invalid_server_address` when it is not an address.
 */
export const serverAddress = (a: { input: string }) => call<ServerAddress>('server_address', a);
/**
 * Signs out (also offline: the server is told later). With `forgetData` the backend also removes
 * this account's cached messages from this computer.
 */
export const signOut = (a: { forgetData?: boolean } = {}) =>
  call<null>('sign_out', { forgetData: a.forgetData === true });
export const findUser = (a: { username: string }) => call<UserInfo | null>('find_user', a);
/** The first page of the conversation list at start-up (and on `resync`): a screenful and more. */
export const CONVERSATIONS_FIRST_PAGE = 50;
/** Further pages, loaded as the list scrolls towards its end. */
export const CONVERSATIONS_NEXT_PAGE = 100;
/** The most items `list_conversations` returns at once (the backend clamps `limit` to 1..=500). */
export const CONVERSATIONS_MAX_PAGE = 500;
/**
 * A page of the conversation list, most recent activity first: `limit` items (default 50, at most
 * 500) starting at `offset` (default 0). A page shorter than `limit` is the end of the list.
 */
export const listConversations = (a: { offset?: number; limit?: number } = {}) =>
  call<ConversationItem[]>('list_conversations', a);
export const createConversation = (a: { userIds: string[]; title: string; unique: boolean }) =>
  call<ConversationItem>('create_conversation', a);
export const loadMessages = (a: { conversationId: string; beforeSeq: number | null; limit: number }) =>
  call<MessagePage>('load_messages', a);
/** The most messages one `load_messages` page holds (the backend clamps `limit` to 1..=200). */
export const MESSAGES_MAX_PAGE = 200;
/** A message found by `search_messages`, with the title of its conversation (may be ''). */
export type SearchHit = { message: UiMessage; conversationTitle: string };
/** The hits `search_messages` gives when no `limit` is asked; the most it gives at all. */
export const SEARCH_DEFAULT_LIMIT = 100;
export const SEARCH_MAX_LIMIT = 500;
/**
 * Searches the messages cached on this device. The query is split at whitespace into terms
 * (lower-cased, each once); a message is a hit when every term is in its lower-cased text,
 * anywhere (inside a word, inside Chinese without spaces: "起床" finds "耗子，起床啦"). An empty
 * or blank query finds nothing. Hits newest first, at most `limit` (default 100, clamped to
 * 1..=500); each acked (its `seq` is set). Rejects with `not_signed_in` while signed out.
 */
export const searchMessages = (a: { query: string; limit?: number }) =>
  call<SearchHit[]>('search_messages', a.limit === undefined ? { query: a.query } : { query: a.query, limit: a.limit });
/**
 * Sends a text; `replyTo`: the `seq` of the message it replies to (sent as null when none);
 * `mentions`: the uids it mentions with @, `mentionAll`: it mentions everyone (@all, a group's
 * manager only). Both are always sent (`[]` / false when none). A mention of someone who is not a
 * member is `invalid_params`, @all by someone who does not manage the group `not_manager`.
 */
export const sendText = (a: {
  conversationId: string;
  text: string;
  replyTo?: number | null;
  mentions?: string[];
  mentionAll?: boolean;
}) =>
  call<UiMessage>('send_text', {
    conversationId: a.conversationId,
    text: a.text,
    replyTo: a.replyTo ?? null,
    mentions: a.mentions ?? [],
    mentionAll: a.mentionAll === true,
  });
/**
 * Changes the text of an own, sent text message (within its `editableUntil`); resolves to the
 * message after the change (a `messageUpdated` event also comes). Rejects with
 * `message_not_found`, `not_sender`, `window_closed` (edit window, 48 h by default),
 * `not_editable` (not a text, or recalled), `text_too_long`, `offline`.
 */
export const editMessage = (a: { conversationId: string; seq: number; text: string }) =>
  call<UiMessage>('edit_message', { conversationId: a.conversationId, seq: a.seq, text: a.text });
/**
 * Recalls a message for everyone (its sender within `recallableUntil`, 24 h by default, or a
 * group's manager); resolves to the recalled message (a `messageUpdated` event also comes).
 * Rejects with `message_not_found`, `not_sender`, `window_closed`, `offline`.
 */
export const recallMessage = (a: { conversationId: string; seq: number }) =>
  call<UiMessage>('recall_message', { conversationId: a.conversationId, seq: a.seq });
/**
 * Adds (`on`) or takes back (`!on`) the user's reaction with one emoji on a sent message;
 * resolves to the message after the change. A `messageUpdated` event with it also reaches every
 * member (this device too), and a `conversation` event when it is the list's last message. Adding
 * one the user has already, or taking back one they do not have, changes nothing. Rejects with
 * `too_many_reactions` (a message takes at most MAX_REACTION_EMOJI different emoji),
 * `not_editable` (a recalled message takes no reactions), `message_not_found`, `not_member`,
 * `invalid_params` (not a single emoji), `offline`.
 */
export const react = (a: { conversationId: string; seq: number; emoji: string; on: boolean }) =>
  call<UiMessage>('react', a);
/** The most different emoji one message takes (`react` answers `too_many_reactions` beyond). */
export const MAX_REACTION_EMOJI = 20;
/** Removes a message from this device only (sent ones by seq; a failed unsent one by clientId). */
export const deleteForMe = (a: { conversationId: string; clientId: string; seq: number | null }) =>
  call<null>('delete_for_me', { conversationId: a.conversationId, clientId: a.clientId, seq: a.seq });
export const retrySend = (a: { conversationId: string; clientId: string }) => call<UiMessage>('retry_send', a);
export const markRead = (a: { conversationId: string; seq: number }) => call<null>('mark_read', a);
export const setTyping = (a: { conversationId: string; typing: boolean }) => call<null>('set_typing', a);
export const setActiveConversation = (a: { conversationId: string | null }) =>
  call<null>('set_active_conversation', a);
/**
 * Whether notifications show the message text (true) or only say that messages came ("New
 * message", "3 new messages"): a privacy preference. The backend starts with true.
 */
export const setNotificationText = (a: { show: boolean }) => call<null>('set_notification_text', a);
/** The UI's language, for the texts the backend shows itself (tray menu, notifications). */
export const setLocale = (a: { locale: 'en' | 'zh' }) => call<null>('set_locale', a);
/**
 * Mutes or un-mutes a conversation for this user on all their devices (no notifications for it).
 * Needs the connection. The backend also sends the conversation's `conversation` event.
 */
export const setMuted = (a: { conversationId: string; muted: boolean }) => call<null>('set_muted', a);
/**
 * Leaves a group. This device may or may not hear a `conversationRemoved` event for it: the UI
 * drops the conversation itself once this succeeds.
 */
export const leaveConversation = (a: { conversationId: string }) => call<null>('leave_conversation', a);
/**
 * Blocks a user: no messages between the two in their single chat, no new conversations or groups
 * with the user started by them. Needs the connection. Followed by a `blockChanged` event.
 */
export const blockUser = (a: { uid: string }) => call<null>('block_user', a);
/** Lifts a block. Needs the connection. Followed by a `blockChanged` event. */
export const unblockUser = (a: { uid: string }) => call<null>('unblock_user', a);
/** The users this user blocks, most recently blocked first. Needs the connection. */
export const blockedUsers = () => call<UserInfo[]>('blocked_users');
/** The longest group title `update_conversation` takes, in characters (Unicode code points). */
export const GROUP_TITLE_MAX = 128;
/** The longest remark `update_conversation` takes, in characters (Unicode code points). */
export const GROUP_REMARK_MAX = 256;
/**
 * The members of a conversation the user is in (manager included), in the order they joined.
 * Rejects with `conversation_not_found` or `not_member`.
 */
export const conversationMembers = (a: { conversationId: string }) =>
  call<MemberInfo[]>('conversation_members', { conversationId: a.conversationId });
/**
 * Changes a conversation's title and/or remark (a field left out stays as it is; `''` clears it).
 * Any member may. Resolves to the conversation after the change; the backend also sends its
 * `conversation` event. Rejects with `field_too_long` (a title over GROUP_TITLE_MAX or a remark
 * over GROUP_REMARK_MAX characters), `not_member`, `conversation_not_found`, `offline`.
 */
export const updateConversation = (a: { conversationId: string; title?: string; remark?: string }) => {
  const args: Record<string, unknown> = { conversationId: a.conversationId };
  if (a.title !== undefined) args.title = a.title;
  if (a.remark !== undefined) args.remark = a.remark;
  return call<ConversationItem>('update_conversation', args);
};
/**
 * Adds people to a group by username (a leading `@`, case and spaces around do not matter;
 * current members are skipped). Only the group's manager may. All or nothing: rejects, adding
 * nobody, with `user_not_found` (its message names the unknown username in double quotes:
 * `no user named "bob"`), `blocked` (one of the people named and the user block each other),
 * `not_manager`, `single_chat_members_fixed`, `too_many_members`, `invalid_params` (no username),
 * `not_member`, `conversation_not_found`, `offline`. Resolves to the conversation after the
 * change; the backend also sends its `conversation` event (none when nobody was new).
 */
export const addMembers = (a: { conversationId: string; usernames: string[] }) =>
  call<ConversationItem>('add_members', { conversationId: a.conversationId, usernames: a.usernames });
/**
 * Removes another member from a group (only the manager may; to remove oneself, leave with
 * `leave_conversation`: `invalid_params` here). A uid that is no member changes nothing. Resolves to the conversation after the change; the backend also sends
 * its `conversation` event. Rejects with `not_manager`, `single_chat_members_fixed`, `not_member`,
 * `invalid_params`, `conversation_not_found`, `offline`.
 */
export const removeMember = (a: { conversationId: string; uid: string }) =>
  call<ConversationItem>('remove_member', { conversationId: a.conversationId, uid: a.uid });
export const connectionState = () => call<ConnectionState>('connection_state');
/** A device signed in to the user's account (one of its sessions). */
export type SessionInfo = {
  /** Names the session for `revoke_session` (not a token: it cannot sign in). */
  id: string;
  /** The label the device gave when it signed in (may be ''). */
  device: string;
  /** When it signed in, ms since the epoch. */
  createdAt: number;
  /** This app's own session. */
  current: boolean;
};
/** The signed-in account's sessions (its devices), newest first. Needs the connection. */
export const listSessions = () => call<SessionInfo[]>('list_sessions');
/**
 * Signs another device of the account out. Rejects with `session_not_found` (it is signed out
 * already), `invalid_params` (it is this device's own session: use sign_out) or `offline`.
 */
export const revokeSession = (a: { sessionId: string }) => call<null>('revoke_session', { sessionId: a.sessionId });
/**
 * Changes the account's password. Every other device of the account is signed out; this one stays
 * signed in. Rejects with `wrong_credentials` (the current password is wrong), `invalid_password`
 * (the new one must be 8 to 256 bytes), `rate_limited` (too many wrong tries; the message says
 * when to try again) or `offline`.
 */
export const changePassword = (a: { oldPassword: string; newPassword: string }) =>
  call<null>('change_password', { oldPassword: a.oldPassword, newPassword: a.newPassword });
/** How the app behaves on this computer (not the account's settings: they stay when signing out). */
export type DesktopSettings = {
  /** Closing the window hides it to the tray (the app keeps running); Ctrl+Q or the tray quits. */
  closeToTray: boolean;
  /** The app starts when the user signs in to the computer (an autostart entry). */
  startAtLogin: boolean;
  /** Notifications are paused until then (ms since the epoch); null, or a time past: not paused. */
  notificationsMutedUntil: number | null;
  /**
   * The desktop has a system tray (a StatusNotifierItem host). Without one, closing the window
   * quits whatever `closeToTray` says.
   */
  trayAvailable: boolean;
  /**
   * Hardware acceleration, on Linux; null where the setting does not apply (Windows, macOS). On
   * Linux, WebKit draws without its GPU compositor unless this is on: measured here, ~76 MiB less
   * memory per process tree, and it avoids the blank or flickering windows some graphics drivers
   * give; on, animations and scrolling may be smoother on a real GPU. Takes effect at the next
   * start: `enabled` is the saved choice, `active` what the running app uses (they differ until a
   * restart, `restart_app`).
   */
  hardwareAcceleration: { enabled: boolean; active: boolean } | null;
};
/** How long `mute_notifications` pauses them: an hour, until 08:00 tomorrow (local time), or no more. */
export type MuteSpan = 'hour' | 'tomorrow' | 'off';
/** The desktop settings. */
export const desktopSettings = () => call<DesktopSettings>('desktop_settings');
/** Sets close-to-tray; resolves to the settings after the change. */
export const setCloseToTray = (a: { enabled: boolean }) => call<DesktopSettings>('set_close_to_tray', { enabled: a.enabled });
/**
 * Sets starting at sign-in (writes or removes the autostart entry); resolves to the settings after
 * the change. Rejects with `autostart` (the message says what failed) when that cannot be done.
 */
export const setStartAtLogin = (a: { enabled: boolean }) => call<DesktopSettings>('set_start_at_login', { enabled: a.enabled });
/**
 * Pauses the notifications for an hour or until tomorrow morning, or (`off`) resumes them;
 * resolves to the settings after the change. The tray menu does the same (then a
 * `desktopSettings` event says so).
 */
export const muteNotifications = (a: { span: MuteSpan }) => call<DesktopSettings>('mute_notifications', { span: a.span });
/**
 * Turns hardware acceleration on or off (Linux): the saved choice (`enabled`) changes, what the
 * running app uses (`active`) only at the next start. Resolves to the settings after the change.
 */
export const setHardwareAcceleration = (a: { enabled: boolean }) =>
  call<DesktopSettings>('set_hardware_acceleration', { enabled: a.enabled });
/**
 * Restarts the app (e.g. to apply hardware acceleration). No arguments; answers null, if it
 * answers at all (the app restarts): never wait on it.
 */
export const restartApp = () => call<null>('restart_app');
/** Where the app's self-update stands. */
export type UpdateStatus = {
  /** The running version, e.g. "0.1.0". */
  currentVersion: string;
  /** The app checks at start and daily by itself. */
  autoCheck: boolean;
  /** When the last check finished (ms since epoch), null if none yet. */
  checkedAt: number | null;
  state: UpdateState;
};
export type UpdateState =
  /** Nothing checked yet (or updates are not offered on this build). */
  | { kind: 'idle' }
  | { kind: 'checking' }
  | { kind: 'upToDate' }
  /** A newer version is coming down: `received` bytes of `total` (null: the server did not say). */
  | { kind: 'downloading'; version: string; received: number; total: number | null }
  /** Downloaded and its signature verified: installed on "Restart to update". */
  | { kind: 'ready'; version: string; notes: string | null }
  /** Being installed; the app restarts when done. */
  | { kind: 'installing'; version: string }
  /** The last check or download failed (`update_network`, `update_signature`, `update_format`…). */
  | { kind: 'failed'; error: AppError };
/** The self-update's status. */
export const updateStatus = () => call<UpdateStatus>('update_status');
/**
 * Starts a check in the background and resolves at once (state `checking`); progress and the
 * result come as `update` events. Rejects with `update_unsupported` when this build does not
 * update itself (e.g. installed by the system's package manager).
 */
export const checkForUpdates = () => call<UpdateStatus>('check_for_updates');
/**
 * Installs the ready update and restarts the app (so it may never answer). Rejects with an
 * `AppError` (`update_install`: its message may say why) when it cannot; the update then stays ready.
 */
export const installUpdate = () => call<null>('install_update');
/** Turns the automatic checks (at start and daily) on or off; resolves to the status after the change. */
export const setAutoUpdate = (a: { enabled: boolean }) => call<UpdateStatus>('set_auto_update', { enabled: a.enabled });
/** The messages kept on this computer. */
export type CacheUsage = { bytes: number; messages: number };
/** How much the signed-in account's message cache on this computer holds. */
export const cacheUsage = () => call<CacheUsage>('cache_usage');
/**
 * Deletes the cached message history and its search index on this computer (messages not yet
 * sent are kept; chats load again from the server when opened); resolves to the usage after it.
 * Rejects with `cache` when the files cannot be removed.
 */
export const clearCache = () => call<CacheUsage>('clear_cache');
/**
 * Closes the app's window (Ctrl+W / ⌘W). No arguments; answers null. What closing the window
 * means (hiding to the tray, or quitting when it is the last window) is the backend's choice.
 */
export const closeWindow = () => call<null>('close_window');
/** Quits the app (Ctrl+Q / ⌘Q). No arguments; answers null (if it answers at all). */
export const quitApp = () => call<null>('quit_app');
/** Start-up marks (ms since the page's time origin), reported with `ui_ready` for measurements. */
export const startMarks: Record<string, number> = {};
export function mark(name: string): void {
  if (typeof performance !== 'undefined') startMarks[name] = Math.round(performance.now());
}
export const uiReady = () => {
  mark('ready');
  return call<null>('ui_ready', { marks: startMarks });
};
