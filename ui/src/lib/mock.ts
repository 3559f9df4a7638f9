// An in-memory stand-in for the Rust backend, used only outside Tauri (plain browser,
// `npm run dev`). Loaded with a dynamic import, so the app inside Tauri never fetches it.
//
// URL switches: `?mock=signedin` starts signed in, `?mock=keyring` makes restore_session,
// sign_in and sign_up fail with keyring_unavailable, `?maxchars=N` sets app_info().maxTextChars,
// `?convs=N` adds N older conversations (to try the paged, virtual list), `?listlimit=N` makes
// list_conversations answer N items whatever limit was asked (to measure a big first page).
// Sending a text containing "fail" fails it (Retry then succeeds); "/reconnect" plays a reconnect
// sequence (ending with a resync), "/resync" adds messages without events and then sends a
// resync, "/signout" makes the server sign you out; "/blockme" (in a 1:1 chat) makes the other
// person block you (your next messages there fail with `blocked`), "/added" makes Tyke add you to
// a new group (the "added you to" notice). Mute, leave, block and the blocked list work, and so
// does managing a group (conversation_members, update_conversation, add_members by username,
// remove_member; Tom manages "Cat & Mouse Club", Tyke the groups he adds you to).
// `close_window`, `quit_app` (Ctrl+W, Ctrl+Q) and `restart_app` are only logged and recorded (`control.windowCommands`). Jerry
// reads (read ticks) and answers in the 1:1 chat, quoting what you said (a reply).
// Messages can be edited (own texts, 48 h), recalled (own ones for 24 h; any in a group you
// manage, such as "Cat & Mouse Club") and deleted on this device (delete_for_me), with the
// backend's errors and `messageUpdated` events; "/edit" and "/recall" make the other person edit
// or recall their last message in that conversation. Messages take emoji reactions (`react`: per
// person, toggled, at most 20 different emoji, none on a recalled message) and, in groups,
// @mentions (`send_text`'s `mentions` must be members, `mentionAll` is the manager's); the list
// counts the unread ones that mention you (`unreadMentions`). Jerry reacts to what you say in the
// group now and then, and Spike mentions you there; "/react" makes the other person react to your
// last message, "/mention" (in a group) makes someone mention you. `search_messages` searches the mock's acked
// messages with the backend's meaning (every term, any case, anywhere; newest first). "Jеrry" (with a Cyrillic е, username
// jerry_official) is an impostor: the chat header warns that another contact has a similar name.
// The server field is resolved like the backend does (`resolveServerAddress`): a `ws://` server
// that is not this computer needs `allowInsecure`; a `wss://` host whose first label is
// `untrusted`, `expired`, `wronghost`, `revoked` or `tlsfail` (e.g. `expired.example.org`) fails
// signing in with that certificate problem, and one starting with `unreachable` with
// `connect_failed`.
//
// Accounts: `?signup=invite` or `?signup=closed` makes the server take sign-ups only with an
// invite code (the mock's is `TEST-CODE-0000-0000`; case, dashes and spaces do not matter) or not
// at all (`server_sign_up_mode` says so, and sign_up refuses with invite_required, invite_invalid
// or sign_up_closed); a server host whose first label is `invite` or `closed` (e.g.
// `wss://invite.example.org`) does the same for that server only. Signing in as `disabled` fails
// with account_disabled. The account has two other devices (list_sessions, revoke_session), and
// change_password checks the password the mock signed in with (a restored session, after a reload
// or with `?mock=signedin`, has `password123`); five wrong ones in a row are rate_limited.
//
// Desktop settings (close to tray, start at sign-in, hardware acceleration, pausing notifications)
// are kept in memory; `?tray=none` plays a desktop without a system tray, `?autostart=fail` makes
// set_start_at_login fail with `autostart`, `?hwaccel=none` plays Windows or macOS (no hardware
// acceleration setting: set_hardware_acceleration is refused with `invalid_params`). Hardware
// acceleration starts off; set_hardware_acceleration changes the saved choice (`enabled`) only,
// and `restart_app` (logged, as if the app restarted) makes the app use it (`active`).
//
// The self-update behaves like the backend's (one check or download at once, an update kept ready
// until installed, set_auto_update without an event): a check takes a moment and finds nothing,
// unless `?update=0.2.0` (it then downloads 0.2.0, with progress, and has it ready; the check at
// start finds it too), `?update=fail` (the check fails with `update_network`) or
// `?update=unsupported` (check_for_updates is refused with `update_unsupported`, as in a build
// installed by the system's package manager); `?install=fail` makes install_update fail with
// `update_install` (the update stays ready). A successful install is only logged: the state stays
// `installing`, as if the app were restarting. `cache_usage` counts the acked messages cached (and
// the unsent ones); `clear_cache` empties the cache (unsent messages stay), and a conversation's
// page loaded again is cached again; `?cache=fail` makes both fail with `cache`.
//
// Tests create their own instance with `createMockBackend(options)`: no URL, no sessionStorage,
// no delays, their own event delivery, and (`scripted`) nothing happening by itself; the returned
// `control` plays the server side (messages from others, acks, receipts, removals, resync…).
import { GROUP_REMARK_MAX, GROUP_TITLE_MAX } from './api';
import type {
  Account,
  AppError,
  Backend,
  CacheUsage,
  ConnectionState,
  ConversationItem,
  DesktopSettings,
  ImEvent,
  MemberInfo,
  MuteSpan,
  ServerAddress,
  SearchHit,
  SessionInfo,
  SignUpMode,
  Reaction,
  ReplyPreview,
  UiMessage,
  UpdateState,
  UpdateStatus,
  UserInfo,
} from './api';
import { compareConversations } from './conversations';
import { matchesAllTerms, searchTerms } from './highlight';
import { isSingleEmoji } from './reactions';

type Conv = {
  id: string;
  type: ConversationItem['type'];
  title: string;
  managerId: string;
  userIds: string[];
  messages: UiMessage[];
  readSeq: number;
  peerReadSeq: number;
  createdAt?: number; // the activity of a conversation without messages
  muted?: boolean;
  remark?: string;
};

const err = (code: string, message: string): AppError => ({ code, message });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What a person typed as their server, resolved like the backend's `server_address`: no scheme or
 * `https://` → `wss://`, `http://` → `ws://`, an empty path → `/ws`, the scheme's default port and
 * any `#fragment` dropped. Throws `invalid_server_address` (with what is wrong) otherwise.
 */
export function resolveServerAddress(input: string): ServerAddress {
  const invalid = (why: string) => err('invalid_server_address', `${JSON.stringify(input)} is not a server address: ${why}`);
  const typed = input.trim();
  if (!typed) throw invalid('it is empty');
  if (/\s/.test(typed)) throw invalid('it contains spaces');
  let scheme = 'wss';
  let rest = typed;
  const sep = typed.indexOf('://');
  if (sep !== -1) {
    const given = typed.slice(0, sep).toLowerCase();
    if (given === 'wss' || given === 'https') scheme = 'wss';
    else if (given === 'ws' || given === 'http') scheme = 'ws';
    else throw invalid('use a web address (https://… or wss://…)');
    rest = typed.slice(sep + 3);
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${rest}`);
  } catch {
    throw invalid('it is not a valid web address');
  }
  if (!url.hostname) throw invalid('it names no host');
  if (url.username || url.password) throw invalid('it must not carry a user name or password');
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/ws';
  url.hash = '';
  return { url: url.href, secure: scheme === 'wss', loopback: isLoopbackHost(url.hostname) };
}

/** `localhost` (and `*.localhost`), `127.0.0.0/8`, `::1`: this computer. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

/** The certificate problems the mock plays for a `wss://` host starting with these labels. */
const TLS_DEMO: Record<string, [code: string, problem: string]> = {
  untrusted: ['tls_untrusted', 'its certificate is not from an authority this computer trusts (a private server needs its authority added to the app)'],
  expired: ['tls_expired', "its certificate has expired or is not valid yet (or this computer's clock is wrong)"],
  wronghost: ['tls_wrong_host', 'its certificate is for another server name than the one typed'],
  revoked: ['tls_revoked', 'its certificate has been revoked'],
  tlsfail: ['tls_failed', 'the secure connection failed: received fatal alert: HandshakeFailure'],
};

/**
 * The server check of the mock's sign_in / sign_up: the address resolved, an unencrypted one to
 * another computer refused without `allowInsecure`, the demo certificate problems.
 */
export function checkMockServer(serverUrl: string, allowInsecure: boolean): ServerAddress {
  const address = resolveServerAddress(serverUrl);
  if (!address.secure && !address.loopback && !allowInsecure) {
    throw err(
      'insecure_server',
      `${address.url} is not encrypted: your password and messages would travel in clear. Use its https:// or wss:// address, or confirm connecting without encryption.`,
    );
  }
  const label = new URL(address.url).hostname.split('.')[0];
  const tls = address.secure ? TLS_DEMO[label] : undefined;
  if (tls) throw err(tls[0], `cannot connect securely to ${address.url}: ${tls[1]}`);
  if (label.startsWith('unreachable')) throw err('connect_failed', `cannot connect to ${address.url}: Connection refused (os error 111)`);
  return address;
}

/** `mute_notifications`' `tomorrow`: 08:00 local time on the day after `now`. */
export function tomorrowMorning(now: number): number {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(8, 0, 0, 0);
  return d.getTime();
}

/** The mock server's invite code (any case, with or without the dashes). */
export const MOCK_INVITE_CODE = 'TEST-CODE-0000-0000';
/** The password of a session the mock restored (it does not keep the one signed in with). */
export const MOCK_RESTORED_PASSWORD = 'password123';
/** Wrong current passwords in a row before change_password answers rate_limited. */
export const MOCK_PASSWORD_TRIES = 5;

/**
 * An invite code as the server compares it: letters and digits only, upper case, `O` read as `0`
 * and `I` / `L` as `1`.
 */
export function normalizeInviteCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

/** Who may sign up on the mock server at `address`: its host's first label, else the URL switch. */
function mockSignUpMode(address: ServerAddress, fallback: SignUpMode): SignUpMode {
  const label = new URL(address.url).hostname.split('.')[0];
  return label === 'invite' || label === 'closed' ? label : fallback;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export type MockOptions = {
  /** The URL switches (default: `location.search`). */
  search?: string;
  /** Where the signed-in account survives a reload (default: `sessionStorage`; null: nowhere). */
  storage?: KeyValueStore | null;
  /** Delay of every command in ms (default 20, sign-in 400); null: answered without any timer. */
  latencyMs?: number | null;
  /** How an event reaches the listeners (default: a 0 ms timer). Must keep their order. */
  deliver?: (fire: () => void, event: ImEvent) => void;
  /** Nothing happens by itself (no acks, replies, reconnects): `control` drives the server side. */
  scripted?: boolean;
  /** Messages in the long 1:1 chat with Jerry (default 2,000). */
  history?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
  /** No console lines. */
  quiet?: boolean;
  /**
   * Whether `leave_conversation` also sends this device a `conversationRemoved` event (default
   * true). The real server tells only the user's other devices; tests try both.
   */
  leaveEvent?: boolean;
  /**
   * The desktop settings at start (default: not to the tray, not at sign-in, not paused, a tray,
   * hardware acceleration off; `hardwareAcceleration: null`: Windows or macOS).
   */
  desktop?: Partial<DesktopSettings>;
  /** set_start_at_login fails with `autostart` (default: `?autostart=fail`). */
  autostartFails?: boolean;
  /** The self-update (default: the `?update=` and `?install=` switches). */
  update?: MockUpdateOptions;
  /** cache_usage and clear_cache fail with `cache` (default: `?cache=fail`). */
  cacheFails?: boolean;
};

export type MockUpdateOptions = {
  /** The version a check finds (default: `?update=<version>`; null: none, up to date). */
  version?: string | null;
  /** Its release notes (default: a line or two). */
  notes?: string | null;
  /** A check fails with this code (default: `?update=fail`: `update_network`; null: it does not). */
  checkFails?: string | null;
  /** check_for_updates is refused with `update_unsupported` (default: `?update=unsupported`). */
  unsupported?: boolean;
  /** install_update fails with `update_install` (default: `?install=fail`). */
  installFails?: boolean;
  /** The automatic checks are on at start (default true). */
  autoCheck?: boolean;
};

/** The version the mock runs (app_info, update_status). */
export const MOCK_VERSION = '0.1.0-mock';

/** The server side of the mock, for tests: every change sends the events the backend would. */
export type MockControl = {
  readonly me: UserInfo;
  readonly users: readonly UserInfo[];
  /** All conversations as `list_conversations` would give them (most recent first). */
  items(): ConversationItem[];
  /** The messages of a conversation, in seq order (pending own ones last). */
  messages(conversationId: string): UiMessage[];
  /** Own messages not acked yet (still sending). */
  pending(): UiMessage[];
  /**
   * Someone else writes in a conversation (`replyTo`: replying to the message with that seq;
   * `mention`: whom it mentions, unchecked): `message` and `conversation` events.
   */
  incoming(
    conversationId: string,
    from: string,
    text: string,
    replyTo?: number | null,
    mention?: { mentions?: string[]; mentionAll?: boolean },
  ): UiMessage;
  /**
   * Someone (or I, on another device) puts a reaction with `emoji` on a message, or takes theirs
   * back (`on` false): a `messageUpdated` event (and `conversation`, when it is the last message).
   * Null when nothing changed (no such message, recalled, already so, or a 21st emoji).
   */
  react(conversationId: string, seq: number, uid: string, emoji: string, on: boolean): UiMessage | null;
  /**
   * The sender of a message (someone else, or I on another device) edits it: a `messageUpdated`
   * event (and `conversation`, when it is the last message). Null when there is no such message
   * (or it is recalled).
   */
  edit(conversationId: string, seq: number, text: string): UiMessage | null;
  /**
   * A message is recalled by `by` (default its sender; a group's manager may recall anyone's), on
   * another device: `messageUpdated` (and `conversation`) events. Null when there is no such
   * message (or it is recalled already).
   */
  recall(conversationId: string, seq: number, by?: string): UiMessage | null;
  /** Messages the UI never hears about (as if the event channel overflowed); see `resync`. */
  missed(conversationId: string, from: string, count: number): void;
  /** The server acks a pending own message (or it fails): `message` and `conversation` events. */
  ack(conversationId: string, clientId: string): UiMessage | null;
  fail(conversationId: string, clientId: string): UiMessage | null;
  /** Someone starts a conversation with me: a `conversation` event. */
  create(userIds: string[], title: string): ConversationItem;
  /** Another member reads everything: `receipt` and `conversation` events. */
  peerRead(conversationId: string, uid: string): void;
  /** I read everything on another device: `receipt` (mine) and `conversation` events. */
  readElsewhere(conversationId: string): void;
  /** I left or was removed: a `conversationRemoved` event. */
  remove(conversationId: string): void;
  typing(conversationId: string, uid: string, typing: boolean): void;
  /** The backend asks the UI to reload (after missed events). */
  resync(): void;
  /** The server ends the session: a `signedOut` event. */
  signOut(reason: string): void;
  /** I mute or un-mute a conversation on another device: a `conversation` event. */
  muteElsewhere(conversationId: string, muted: boolean): void;
  /** I block or unblock someone on another device: a `blockChanged` event. */
  blockElsewhere(uid: string, blocked: boolean): void;
  /** Someone blocks me (or stops): no event; my messages in our 1:1 chat fail with `blocked`. */
  blockedBy(uid: string, blocked: boolean): void;
  /**
   * `by` (the manager) adds me to a group: a new one with `title`, or (`existing`) a group I left or
   * was removed from. `conversation` and `addedToGroup` events. Null if `existing` is not such a group.
   */
  addToGroup(by: string, title: string, existing?: string): ConversationItem | null;
  /** Groups I left or was removed from (they can add me back). */
  formerGroups(): string[];
  /** The uids I block, most recently blocked first. */
  blocked(): string[];
  /** The account's sessions as `list_sessions` would give them (newest first). */
  sessions(): SessionInfo[];
  /** The account signs in on another device (`device` may be ''): a new session, no event. */
  signInElsewhere(device: string): SessionInfo;
  /** A session is signed out from another device (no event here): revoking it is session_not_found. */
  revokeElsewhere(sessionId: string): boolean;
  /** The connection drops (`connection` offline) or comes back (online). */
  setOnline(online: boolean): void;
  /** The password change_password checks (null while signed out). */
  password(): string | null;
  /** What `set_notification_text` last set (true before it is called): notifications show the text. */
  notificationText(): boolean;
  /** The user clicks a notification of a conversation: an `openConversation` event. */
  notificationClicked(conversationId: string): void;
  /** The desktop settings as `desktop_settings` would give them. */
  desktopSettings(): DesktopSettings;
  /** The tray menu pauses the notifications (or resumes them): a `desktopSettings` event. */
  muteFromTray(span: MuteSpan): DesktopSettings;
  /** set_start_at_login fails with `autostart` from now on (or no more). */
  failAutostart(fail: boolean): void;
  /** The window commands called so far (`close_window`, `quit_app`, `restart_app`), in order. */
  windowCommands(): string[];
  /** The self-update's status as `update_status` would give it. */
  updateStatus(): UpdateStatus;
  /**
   * The self-update, step by step (the backend's rules: each does nothing in a state it does not
   * fit; each change is an `update` event): a check starts by itself (the daily one), finds
   * nothing, finds `version` (its download starts: `total` bytes, null: not said), gets `bytes`
   * more of it, has it downloaded and verified (`ready`), or fails with `code`.
   */
  updateCheckStarts(): UpdateStatus;
  updateUpToDate(): UpdateStatus;
  updateFound(version: string, total?: number | null): UpdateStatus;
  updateProgress(bytes: number): UpdateStatus;
  updateDownloaded(notes?: string | null): UpdateStatus;
  updateFailed(code: string): UpdateStatus;
  /** The check on its way ends as the options say (found, downloaded; failed; or nothing newer). */
  finishUpdateCheck(): UpdateStatus;
  /** install_update fails with `update_install` from now on (or no more). */
  failUpdateInstall(fail: boolean): void;
  /** cache_usage and clear_cache fail with `cache` from now on (or no more). */
  failCache(fail: boolean): void;
  /** The cache as `cache_usage` would give it (null while signed out). */
  cacheUsage(): CacheUsage | null;
  /** The members of a conversation as `conversation_members` would give them. */
  members(conversationId: string): MemberInfo[];
  /** A member changes the title and/or remark (on another device, or someone else): a `conversation` event. */
  updateElsewhere(conversationId: string, change: { title?: string; remark?: string }): ConversationItem;
  /**
   * The group's members change elsewhere (the manager on another device, or another manager):
   * users added (at the end, if not members yet) and removed (not me). A `conversation` event.
   */
  membersElsewhere(conversationId: string, change: { add?: string[]; remove?: string[] }): ConversationItem;
  /** The group's manager becomes `uid` (a member): a `conversation` event. */
  setManager(conversationId: string, uid: string): ConversationItem;
};

export type MockBackend = Backend & { control: MockControl };

/** How long an own text can be edited, and an own message recalled (the server's defaults). */
export const EDIT_WINDOW_MS = 48 * 3_600_000;
export const RECALL_WINDOW_MS = 24 * 3_600_000;
/** `recallableUntil` of the others' messages in a group the user manages (far in the future). */
export const MANAGER_RECALL_UNTIL = 8_640_000_000_000_000;
/** The most different emoji one message takes (the server's `too_many_reactions` beyond). */
export const MOCK_MAX_REACTIONS = 20;

export function createMockBackend(options: MockOptions = {}): MockBackend {
  const clock = options.now ?? Date.now;
  let counter = 0;
  const idBase = clock().toString(16);
  const newId = () => (idBase + (++counter).toString(16).padStart(8, '0')).padStart(32, '0');
  const storage: KeyValueStore | null =
    options.storage !== undefined ? options.storage : typeof sessionStorage !== 'undefined' ? sessionStorage : null;
  const scripted = options.scripted === true;
  const deliver = options.deliver ?? ((fire: () => void) => setTimeout(fire, 0));
  const params = new URLSearchParams(options.search ?? (typeof location !== 'undefined' ? location.search : ''));
  const maxTextChars = Number(params.get('maxchars')) || 4096;
  const extraConvs = Math.max(0, Math.floor(Number(params.get('convs')) || 0));
  const forcedLimit = Math.floor(Number(params.get('listlimit')) || 0);
  const keyringBroken = params.get('mock') === 'keyring';
  const signUpParam = params.get('signup');
  const signUpMode: SignUpMode = signUpParam === 'invite' || signUpParam === 'closed' ? signUpParam : 'open';
  const keyringError = () =>
    err('keyring_unavailable', 'no Secret Service provider is running (org.freedesktop.secrets)');
  const handlers = new Set<(e: ImEvent) => void>();
  const emit = (e: ImEvent) => deliver(() => handlers.forEach((h) => h(e)), e);

  const users: UserInfo[] = [
    { uid: 'u-tom', username: 'tom', displayName: 'Tom' },
    { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' },
    { uid: 'u-spike', username: 'spike', displayName: 'Spike' },
    { uid: 'u-tyke', username: 'tyke', displayName: 'Tyke' },
    // An impostor: "Jеrry" with a Cyrillic е.
    { uid: 'u-jerry2', username: 'jerry_official', displayName: 'J\u0435rry' },
  ];
  const me = users[0];
  let account: Account | null = null;
  let online = false;
  const convs = new Map<string, Conv>();
  /** Groups I left or was removed from (kept so that I can be added back). */
  const former = new Map<string, Conv>();
  /** Whom I block, most recently blocked first; who blocks me. */
  let blocking: string[] = [];
  const blockers = new Set<string>();
  const leaveEvent = options.leaveEvent !== false;
  /** The password signed in with; the account's sessions (this device's is `currentSession`). */
  let password: string | null = null;
  let wrongPasswords = 0;
  let sessionList: SessionInfo[] = [];
  let currentSession = '';
  let notificationText = true;
  const desktop: DesktopSettings = {
    closeToTray: false,
    startAtLogin: false,
    notificationsMutedUntil: null,
    trayAvailable: params.get('tray') !== 'none',
    hardwareAcceleration: params.get('hwaccel') === 'none' ? null : { enabled: false, active: false },
    ...options.desktop,
  };
  if (desktop.hardwareAcceleration) desktop.hardwareAcceleration = { ...desktop.hardwareAcceleration };
  let autostartFails = options.autostartFails ?? params.get('autostart') === 'fail';

  // The self-update, with the backend's rules (src-tauri's UpdateMachine).
  const updateParam = params.get('update');
  const offer = {
    version: options.update?.version !== undefined ? options.update.version : updateParam && /^\d/.test(updateParam) ? updateParam : null,
    notes:
      options.update?.notes !== undefined
        ? options.update.notes
        : 'Faster start-up.\nThe conversation list keeps its place when a message arrives.\n<b>Not bold</b>: notes are plain text.',
    checkFails: options.update?.checkFails !== undefined ? options.update.checkFails : updateParam === 'fail' ? 'update_network' : null,
    unsupported: options.update?.unsupported ?? updateParam === 'unsupported',
  };
  let installFails = options.update?.installFails ?? params.get('install') === 'fail';
  let update: { state: UpdateState; checkedAt: number | null; autoCheck: boolean } = {
    state: { kind: 'idle' },
    checkedAt: null,
    autoCheck: options.update?.autoCheck ?? true,
  };
  const updateNow = (): UpdateStatus => ({ currentVersion: MOCK_VERSION, autoCheck: update.autoCheck, checkedAt: update.checkedAt, state: structuredClone(update.state) });
  /** A change of the self-update's state (each is an `update` event, like the backend's). */
  const updateTo = (state: UpdateState, checkedAt = update.checkedAt): UpdateStatus => {
    update = { ...update, state, checkedAt };
    const status = updateNow();
    emit({ kind: 'update', status: structuredClone(status) });
    return status;
  };
  const updateSteps = {
    checkStarts: (): boolean => {
      if (!['idle', 'upToDate', 'failed'].includes(update.state.kind)) return false;
      updateTo({ kind: 'checking' });
      return true;
    },
    upToDate: () => (update.state.kind === 'checking' ? updateTo({ kind: 'upToDate' }, clock()) : updateNow()),
    found: (version: string, total: number | null = null) =>
      update.state.kind === 'checking' ? updateTo({ kind: 'downloading', version, received: 0, total }, clock()) : updateNow(),
    progress: (bytes: number) => {
      const s = update.state;
      return s.kind === 'downloading' ? updateTo({ ...s, received: s.received + bytes }) : updateNow();
    },
    downloaded: (notes: string | null = offer.notes) => {
      const s = update.state;
      return s.kind === 'downloading' ? updateTo({ kind: 'ready', version: s.version, notes }) : updateNow();
    },
    failed: (code: string) => {
      const s = update.state;
      if (s.kind !== 'checking' && s.kind !== 'downloading') return updateNow();
      const message: Record<string, string> = {
        update_network: 'error sending request for url (https://updates.example.org/latest.json)',
        update_signature: 'the signature was not made with the expected key',
        update_format: 'the updater binary format is invalid',
      };
      return updateTo({ kind: 'failed', error: err(code, message[code] ?? code) }, s.kind === 'checking' ? clock() : update.checkedAt);
    },
  };
  /** The check on its way ends as the options say. */
  const finishUpdateCheck = (): UpdateStatus => {
    if (update.state.kind !== 'checking') return updateNow();
    if (offer.checkFails) return updateSteps.failed(offer.checkFails);
    if (!offer.version) return updateSteps.upToDate();
    updateSteps.found(offer.version, 48_000_000);
    for (let i = 0; i < 4; i++) updateSteps.progress(12_000_000);
    return updateSteps.downloaded();
  };
  /** Outside tests: a check takes a moment, and a download comes in a few steps. */
  const playUpdateCheck = async () => {
    await sleep(800);
    if (update.state.kind !== 'checking') return;
    if (offer.checkFails) return void updateSteps.failed(offer.checkFails);
    if (!offer.version) return void updateSteps.upToDate();
    updateSteps.found(offer.version, 48_000_000);
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      updateSteps.progress(12_000_000);
    }
    await sleep(300);
    updateSteps.downloaded();
  };
  // Like the backend's check a while after start (with `?update=<version>`, so that the banner shows).
  if (!scripted && offer.version && typeof window !== 'undefined') {
    setTimeout(() => {
      if (update.autoCheck && updateSteps.checkStarts()) void playUpdateCheck();
    }, 1500);
  }

  // The message cache on this computer: the acked messages not cleared since (and loaded again),
  // and the unsent ones.
  let cacheFails = options.cacheFails ?? params.get('cache') === 'fail';
  /** The acked messages cleared from the cache (by id), until a page brings them back. */
  const uncached = new Set<string>();
  const cacheNow = (): CacheUsage => {
    let messages = 0;
    let bytes = 45_056; // the empty database
    for (const c of convs.values()) {
      for (const m of c.messages) {
        if ((m.seq !== null && m.id !== null && uncached.has(m.id)) || hidden.has(m.clientId)) continue;
        messages++;
        bytes += 2 * (utf8Length(m.text) + 160); // the row and its search index
      }
    }
    return { bytes, messages };
  };
  const needCache = () => {
    if (!account) throw err('not_signed_in', 'not signed in');
    if (cacheFails) throw err('cache', 'cannot open the message cache: database is locked');
  };
  /** The desktop settings now (a pause whose time has passed is none). */
  const desktopNow = (): DesktopSettings => {
    if (desktop.notificationsMutedUntil !== null && desktop.notificationsMutedUntil <= clock()) desktop.notificationsMutedUntil = null;
    const hardware = desktop.hardwareAcceleration;
    return { ...desktop, hardwareAcceleration: hardware && { ...hardware } };
  };
  const mute = (span: unknown): DesktopSettings => {
    if (span === 'hour') desktop.notificationsMutedUntil = clock() + 3_600_000;
    else if (span === 'tomorrow') desktop.notificationsMutedUntil = tomorrowMorning(clock());
    else if (span === 'off') desktop.notificationsMutedUntil = null;
    else throw err('invalid_params', 'span must be hour, tomorrow or off');
    return desktopNow();
  };
  const enabledArg = (a: Record<string, unknown>): boolean => {
    if (typeof a.enabled !== 'boolean') throw err('invalid_params', 'enabled must be true or false');
    return a.enabled;
  };
  /** `close_window` / `quit_app` / `restart_app` calls (the mock has no window to close). */
  const windowCommands: string[] = [];
  const windowCommand = (cmd: string) => {
    windowCommands.push(cmd);
    const what = cmd === 'quit_app' ? 'quit' : cmd === 'restart_app' ? 'restart' : 'close';
    if (!options.quiet) console.info(`[mock] ${cmd}: the app's window would ${what} now`);
    return null;
  };
  const sessionId = () => newId().slice(-16);
  /** Signed in: this device's session, and the account's two other devices. */
  const startSessions = () => {
    const at = clock();
    currentSession = sessionId();
    sessionList = [
      { id: currentSession, device: 'Gtedx IM on Linux', createdAt: at, current: true },
      { id: sessionId(), device: 'Gtedx IM on Android', createdAt: at - 2 * 86_400_000, current: false },
      { id: sessionId(), device: '', createdAt: at - 40 * 86_400_000, current: false },
    ];
  };
  const sortedSessions = () => [...sessionList].sort((a, b) => b.createdAt - a.createdAt);
  const name = (uid: string) => users.find((u) => u.uid === uid)?.displayName ?? uid;
  const userInfo = (uid: string): UserInfo => {
    const u = users.find((x) => x.uid === uid);
    return u ? { ...u } : { uid, username: '', displayName: uid };
  };

  const lastSeqOf = (c: Conv) => c.messages.reduce((s, x) => Math.max(s, x.seq ?? 0), 0);
  /** The messages deleted on this device (`delete_for_me`), by clientId: the server still has them. */
  const hidden = new Set<string>();
  /** A conversation's messages as this device has them (without those deleted here). */
  const visible = (c: Conv) => (hidden.size ? c.messages.filter((m) => !hidden.has(m.clientId)) : c.messages);
  /**
   * Who reacted with what, per message (`conversationId:seq`): each emoji (in the order first
   * used) with the uids that chose it (in the order they did). A message's `reactions` are made from it.
   */
  const reactors = new Map<string, Map<string, string[]>>();
  /** A message's reactions as the backend gives them to me. */
  const reactionsFor = (c: Conv, seq: number): Reaction[] =>
    [...(reactors.get(`${c.id}:${seq}`) ?? new Map<string, string[]>())].map(([emoji, uids]) => ({
      emoji,
      count: uids.length,
      mine: uids.includes(me.uid),
      names: uids.map(name),
    }));
  /**
   * What a message says of the user's rights on it, as the backend computes them: an own sent text
   * can be edited for 48 h and recalled for 24 h; a group's manager can recall any of its messages
   * at any time.
   */
  const stamp = (c: Conv, m: UiMessage): UiMessage => {
    const sent = m.seq !== null && m.status === 'sent' && !m.recalled;
    const own = m.from === me.uid;
    const managed = c.type === 'GROUP_CHAT' && c.managerId === me.uid;
    return {
      ...m,
      editableUntil: sent && own ? m.timestamp + EDIT_WINDOW_MS : null,
      recallableUntil: !sent ? null : managed ? MANAGER_RECALL_UNTIL : own ? m.timestamp + RECALL_WINDOW_MS : null,
    };
  };
  /** The preview of the message with this seq, for a reply to it (as the backend reads it from its cache). */
  const preview = (c: Conv, seq: number): ReplyPreview => {
    const o = c.messages.find((x) => x.seq === seq);
    if (!o) return { seq, fromName: null, text: null, recalled: false };
    return { seq, fromName: o.fromName, text: o.recalled ? null : o.text, recalled: o.recalled };
  };
  const msg = (
    c: Conv,
    from: string,
    text: string,
    timestamp: number,
    replyTo: number | null = null,
    mention: { mentions?: string[]; mentionAll?: boolean } = {},
  ): UiMessage => {
    const seq = lastSeqOf(c) + 1;
    const mentions = [...new Set(mention.mentions ?? [])];
    const mentionAll = mention.mentionAll === true;
    const m: UiMessage = stamp(c, {
      conversationId: c.id, clientId: newId(), id: newId(), seq, from, fromName: name(from),
      own: from === me.uid, text, timestamp, status: 'sent', error: null,
      editedAt: null, recalled: false, recalledByName: null, replyTo: replyTo === null ? null : preview(c, replyTo),
      editableUntil: null, recallableUntil: null,
      mentions, mentionAll, mentionsMe: from !== me.uid && (mentionAll || mentions.includes(me.uid)), reactions: [],
    });
    // Acked messages first (seq order), pending own ones after them.
    const firstPending = c.messages.findIndex((x) => x.seq === null);
    if (firstPending === -1) c.messages.push(m);
    else c.messages.splice(firstPending, 0, m);
    return m;
  };

  // Seed: a long 1:1 history, a group, a short chat.
  const now = clock();
  const history = options.history ?? 2000;
  const jerry: Conv = { id: 'c-jerry', type: 'SINGLE_CHAT', title: '', managerId: me.uid, userIds: [me.uid, 'u-jerry'], messages: [], readSeq: 0, peerReadSeq: 0 };
  const lines = ['Hi Tom!', 'Where is the cheese?', 'Not telling 🧀', 'I will find it.', 'Good luck with that.', '你好，今天吃什么？', 'A longer message that wraps over more than one line, to see how the bubbles handle a paragraph of text in the message view.'];
  for (let i = 0; i < history; i++) {
    const from = i % 3 === 0 ? me.uid : 'u-jerry';
    msg(jerry, from, `${lines[i % lines.length]} (#${i + 1})`, now - (history - i) * 40 * 60_000);
  }
  jerry.readSeq = Math.max(0, history - 5);
  msg(jerry, me.uid, 'Did you read this? (not yet: a single tick)', now - 5 * 60_000);
  const group: Conv = { id: 'c-group', type: 'GROUP_CHAT', title: 'Cat & Mouse Club', managerId: me.uid, userIds: [me.uid, 'u-jerry', 'u-spike'], messages: [], readSeq: 0, peerReadSeq: 0 };
  msg(group, 'u-spike', 'Meeting at noon.', now - 3 * 86_400_000);
  msg(group, 'u-jerry', 'I will bring snacks.', now - 3 * 86_400_000 + 60_000);
  msg(group, me.uid, 'Count me in.\nSecond line.', now - 2 * 86_400_000);
  msg(group, 'u-spike', 'Great, see you all!', now - 50 * 60_000, 1);
  // Jerry edited his.
  group.messages[1] = { ...group.messages[1], editedAt: now - 3 * 86_400_000 + 5 * 60_000 };
  if (!scripted) {
    // (In the browser: reactions on the group's last message, and an unread mention of you.)
    const last = group.messages[group.messages.length - 1];
    reactors.set(`${group.id}:${last.seq}`, new Map([['👍', ['u-jerry', me.uid]], ['🎉', ['u-jerry']]]));
    group.messages[group.messages.length - 1] = { ...last, reactions: reactionsFor(group, last.seq!) };
    msg(group, 'u-jerry', `@${me.displayName} don't forget the cheese 🧀`, now - 20 * 60_000, null, { mentions: [me.uid] });
  }
  const spike: Conv = { id: 'c-spike', type: 'SINGLE_CHAT', title: '', managerId: 'u-spike', userIds: [me.uid, 'u-spike'], messages: [], readSeq: 1, peerReadSeq: 0 };
  msg(spike, 'u-spike', 'Keep it down, Tom.', now - 40 * 86_400_000);
  // The impostor: a 1:1 chat (titled, as anyone can title a chat they create) from "Jеrry".
  const impostor: Conv = { id: 'c-jerry2', type: 'SINGLE_CHAT', title: 'Jerry (new account)', managerId: 'u-jerry2', userIds: [me.uid, 'u-jerry2'], messages: [], readSeq: 0, peerReadSeq: 0 };
  msg(impostor, 'u-jerry2', 'Hi Tom, it is me, Jerry. New account, lost my phone. Can you send me the cheese vault code?', now - 90 * 60_000);
  for (const c of [jerry, group, spike, impostor]) convs.set(c.id, c);
  // `?convs=N`: many older conversations, one message each, some unread.
  const others = users.slice(1);
  for (let i = 0; i < extraConvs; i++) {
    const peer = others[i % others.length];
    const single = i % 5 !== 0;
    const c: Conv = {
      id: `c-x${i}`, type: single ? 'SINGLE_CHAT' : 'GROUP_CHAT', title: single ? `${peer.displayName} ${i + 1}` : `Group ${i + 1}`,
      managerId: me.uid, userIds: single ? [me.uid, peer.uid] : [me.uid, ...others.map((u) => u.uid)],
      messages: [], readSeq: i % 7 === 0 ? 0 : 1, peerReadSeq: 0,
    };
    msg(c, i % 3 === 0 ? me.uid : peer.uid, `Conversation ${i + 1}: ${lines[i % lines.length]}`, now - 60 * 60_000 - i * 17 * 60_000);
    convs.set(c.id, c);
  }

  const item = (c: Conv): ConversationItem => {
    // (The last message as this device has it; the activity is the server's.)
    const shown = visible(c);
    const lastMessage = shown[shown.length - 1] ?? null;
    const last = c.messages[c.messages.length - 1] ?? null;
    const other = c.userIds.find((u) => u !== me.uid);
    const peer = c.type === 'SINGLE_CHAT' && other ? userInfo(other) : null;
    return {
      id: c.id, type: c.type, title: c.title,
      // Like the backend: a 1:1 chat is always named after the other person, whatever its title.
      displayTitle: peer ? peer.displayName : c.title || c.userIds.map(name).join(', '),
      peer,
      managerId: c.managerId, userIds: c.userIds, lastMessage,
      unreadCount: c.messages.filter((m) => m.seq !== null && m.seq > c.readSeq && !m.own).length,
      // (A recalled mention no longer counts.)
      unreadMentions: c.messages.filter((m) => m.seq !== null && m.seq > c.readSeq && m.mentionsMe && !m.recalled).length,
      readSeq: c.readSeq,
      // Others' read marks; a member's own message counts as read up to it.
      peerReadSeq: c.messages.reduce((s, m) => (!m.own && m.seq !== null ? Math.max(s, m.seq) : s), c.peerReadSeq),
      lastSeq: c.messages.reduce((s, m) => Math.max(s, m.seq ?? 0), 0),
      lastActivity: last?.timestamp ?? c.createdAt ?? 0,
      muted: c.muted === true,
      remark: c.remark ?? '',
    };
  };
  /** What `conversation_members` gives: the members in the order they joined. */
  const membersOf = (c: Conv): MemberInfo[] =>
    c.userIds.map((uid) => ({ ...userInfo(uid), manager: uid === c.managerId, me: uid === me.uid }));
  const codePoints = (s: string) => [...s].length;
  /** A group the user manages (add_members, remove_member). */
  const managedGroup = (id: unknown) => {
    const c = conv(id);
    if (c.type !== 'GROUP_CHAT') throw err('single_chat_members_fixed', 'a single chat always has its two members');
    if (c.managerId !== me.uid) throw err('not_manager', 'only the conversation\'s manager may do that');
    return c;
  };
  /** A 1:1 chat where one of the two blocks the other: no messages get through. */
  const blockedChat = (c: Conv) => {
    if (c.type !== 'SINGLE_CHAT') return false;
    const other = c.userIds.find((u) => u !== me.uid);
    return !!other && (blocking.includes(other) || blockers.has(other));
  };
  const blockedError = () => err('blocked', 'one of you has blocked the other');
  const needOnline = () => {
    needAccount();
    if (!online) throw err('offline', 'not connected to the server');
  };
  const setBlocked = (uid: string, blocked: boolean) => {
    blocking = blocking.filter((u) => u !== uid);
    if (blocked) blocking.unshift(uid);
    emit({ kind: 'blockChanged', uid, blocked });
  };
  /** I am no longer in a group (left, removed): kept to be added back. */
  const drop = (id: string) => {
    const c = convs.get(id);
    if (!c) return false;
    convs.delete(id);
    if (c.type === 'GROUP_CHAT') former.set(id, c);
    return true;
  };
  const addToGroup = (by: string, title: string, existing?: string): ConversationItem | null => {
    let c: Conv;
    if (existing !== undefined) {
      const back = former.get(existing);
      if (!back) return null;
      former.delete(existing);
      c = { ...back, managerId: by, userIds: back.userIds.includes(by) ? back.userIds : [...back.userIds, by] };
    } else {
      const third = users.find((u) => u.uid !== me.uid && u.uid !== by)!;
      c = { id: 'c-' + newId(), type: 'GROUP_CHAT', title, managerId: by, userIds: [by, third.uid, me.uid], messages: [], readSeq: 0, peerReadSeq: 0, createdAt: clock() };
    }
    convs.set(c.id, c);
    emit({ kind: 'conversation', conversation: item(c) });
    emit({ kind: 'addedToGroup', conversationId: c.id, title: c.title, by: userInfo(by) });
    return item(c);
  };
  const conv = (id: unknown) => {
    const c = convs.get(String(id));
    if (!c) throw err('conversation_not_found', 'no conversation has that id');
    return c;
  };
  const needAccount = () => {
    if (!account) throw err('unauthenticated', 'sign in first');
    return account;
  };
  const setConn = (state: ConnectionState) => {
    online = state.state === 'online';
    emit({ kind: 'connection', state });
  };
  const connect = () => {
    if (scripted) {
      setConn({ state: 'online' });
      return;
    }
    setConn({ state: 'connecting' });
    setTimeout(() => {
      setConn({ state: 'online' });
      // Send what was queued while offline; the catch-up is done: tell the UI to resync.
      for (const c of convs.values()) for (const m of c.messages) if (m.status === 'sending') void ack(c, m);
      emit({ kind: 'resync' });
    }, 400);
  };
  const signIn = (a: Record<string, unknown>): Account => {
    if (a.password === 'wrong') throw err('wrong_credentials', 'wrong username or password');
    if (a.username === 'disabled') throw err('account_disabled', 'this account is disabled; ask the server operator');
    if (keyringBroken) throw keyringError();
    password = typeof a.password === 'string' ? a.password : MOCK_RESTORED_PASSWORD;
    wrongPasswords = 0;
    startSessions();
    account = { uid: me.uid, username: String(a.username || me.username), displayName: String(a.displayName || me.displayName), serverUrl: String(a.serverUrl) };
    me.username = account.username;
    me.displayName = account.displayName;
    storage?.setItem('mock-account', JSON.stringify(account));
    connect();
    return account;
  };

  const ack = async (c: Conv, m: UiMessage) => {
    await sleep(500);
    let next: UiMessage;
    if (blockedChat(c)) {
      next = { ...m, status: 'failed', error: blockedError() };
    } else if (m.text.includes('fail') && m.status === 'sending' && !m.error) {
      next = { ...m, status: 'failed', error: err('internal', 'the server did not answer in time') };
    } else {
      next = { ...m, status: 'sent', seq: lastSeqOf(c) + 1, id: newId(), error: null, timestamp: clock() };
    }
    const settled = settle(c, m, next);
    if (settled?.status === 'sent' && c.id === 'c-jerry') void reply(c, settled);
    if (settled?.status === 'sent' && c.type === 'GROUP_CHAT') void groupChatter(c, settled);
  };

  /** In a group (outside tests): Jerry reacts to what you said now and then; Spike mentions you. */
  let chatter = 0;
  const groupChatter = async (c: Conv, mine: UiMessage) => {
    const turn = chatter++;
    const others = c.userIds.filter((u) => u !== me.uid);
    if (others.length === 0) return;
    await sleep(900);
    const stored = c.messages.find((x) => x.seq === mine.seq);
    if (turn % 2 === 0 && stored && !stored.recalled && convs.has(c.id)) {
      try {
        setReaction(c, stored, others[0], turn % 4 === 0 ? '👍' : '❤️', true);
      } catch {
        // (a message with 20 different emoji already)
      }
    }
    if (turn % 3 === 1 && convs.has(c.id)) {
      await sleep(1200);
      const who = others[others.length - 1];
      const m = msg(c, who, `@${me.displayName} noted: “${mine.text.slice(0, 40)}”`, clock(), mine.seq, { mentions: [me.uid] });
      emit({ kind: 'message', message: m });
      emit({ kind: 'conversation', conversation: item(c) });
    }
  };

  /** An own message's fate (acked or failed): stored, and told with its events. */
  const settle = (c: Conv, m: UiMessage, fate: UiMessage): UiMessage | null => {
    const idx = c.messages.indexOf(m);
    if (idx === -1) return null;
    // (Acked: its rights, and the preview of what it replies to as it is now.)
    const next = stamp(c, { ...fate, replyTo: fate.replyTo && fate.seq !== null ? preview(c, fate.replyTo.seq) : fate.replyTo });
    c.messages.splice(idx, 1, next);
    c.messages.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    emit({ kind: 'message', message: next });
    emit({ kind: 'conversation', conversation: item(c) });
    return next;
  };

  /**
   * A message edited or recalled: stored (the replies quoting it show the change too), told with a
   * `messageUpdated` event, and a `conversation` event when the list's last message changed.
   */
  const change = (c: Conv, old: UiMessage, next: UiMessage): UiMessage => {
    const before = item(c);
    const idx = c.messages.indexOf(old);
    if (idx !== -1) c.messages[idx] = next;
    if (next.seq !== null) {
      const seq = next.seq;
      c.messages = c.messages.map((x) => (x.seq !== null && x.replyTo?.seq === seq ? { ...x, replyTo: preview(c, seq) } : x));
    }
    emit({ kind: 'messageUpdated', message: next });
    const after = item(c);
    if (after.lastMessage !== before.lastMessage || after.unreadMentions !== before.unreadMentions) {
      emit({ kind: 'conversation', conversation: after });
    }
    return next;
  };
  const editBy = (c: Conv, m: UiMessage, text: string) => change(c, m, { ...m, text, editedAt: clock() });
  const recallBy = (c: Conv, m: UiMessage, by: string) => {
    if (m.seq !== null) reactors.delete(`${c.id}:${m.seq}`); // (a recalled message keeps no reactions)
    return change(c, m, stamp(c, { ...m, text: '', recalled: true, recalledByName: name(by), reactions: [] }));
  };
  /**
   * `uid` puts a reaction with `emoji` on a (sent, not recalled) message, or takes theirs back:
   * stored and told (`change`). Null when it is so already; `too_many_reactions` for a new emoji
   * beyond MOCK_MAX_REACTIONS.
   */
  const setReaction = (c: Conv, m: UiMessage, uid: string, emoji: string, on: boolean): UiMessage | null => {
    const key = `${c.id}:${m.seq}`;
    let byEmoji = reactors.get(key);
    const uids = byEmoji?.get(emoji) ?? [];
    if (uids.includes(uid) === on) return null;
    if (on) {
      if (!byEmoji) reactors.set(key, (byEmoji = new Map()));
      if (!byEmoji.has(emoji) && byEmoji.size >= MOCK_MAX_REACTIONS) {
        throw err('too_many_reactions', `a message takes at most ${MOCK_MAX_REACTIONS} different emoji`);
      }
      byEmoji.set(emoji, [...uids, uid]);
    } else {
      const rest = uids.filter((u) => u !== uid);
      if (rest.length) byEmoji!.set(emoji, rest);
      else byEmoji!.delete(emoji);
      if (byEmoji!.size === 0) reactors.delete(key);
    }
    return change(c, m, { ...m, reactions: reactionsFor(c, m.seq!) });
  };
  /** The acked message with this seq (deleted here or not: the server has it). */
  const bySeq = (c: Conv, seq: unknown) => {
    const m = c.messages.find((x) => x.seq !== null && x.seq === Number(seq));
    if (!m) throw err('message_not_found', 'the conversation has no message with that seq');
    return m;
  };
  /** The other person's last message in a conversation (for "/edit", "/recall"). */
  const othersLast = (c: Conv) => [...c.messages].reverse().find((x) => x.from !== me.uid && x.seq !== null && !x.recalled);

  const reply = async (c: Conv, mine: UiMessage) => {
    const text = mine.text;
    await sleep(600);
    // Jerry reads it: the read tick.
    const readSeq = c.messages.reduce((s, m) => Math.max(s, m.seq ?? 0), 0);
    c.peerReadSeq = Math.max(c.peerReadSeq, readSeq);
    emit({ kind: 'receipt', conversationId: c.id, uid: 'u-jerry', readSeq });
    emit({ kind: 'conversation', conversation: item(c) });
    await sleep(500);
    emit({ kind: 'typing', conversationId: c.id, uid: 'u-jerry', name: 'Jerry', typing: true });
    await sleep(2000);
    emit({ kind: 'typing', conversationId: c.id, uid: 'u-jerry', name: 'Jerry', typing: false });
    const m = msg(c, 'u-jerry', `You said: “${text.slice(0, 60)}”`, clock(), mine.seq);
    emit({ kind: 'message', message: m });
    emit({ kind: 'conversation', conversation: item(c) });
  };

  const reconnectDemo = async () => {
    setConn({ state: 'offline' });
    await sleep(1500);
    for (let attempt = 1; attempt <= 2; attempt++) {
      setConn({ state: 'reconnecting', attempt, delayMs: 3000 });
      await sleep(3000);
    }
    connect();
  };

  // Messages the UI never hears about (as if the event channel overflowed), then a resync.
  const resyncDemo = async () => {
    await sleep(300);
    const c = convs.get('c-jerry')!;
    for (let i = 1; i <= 3; i++) msg(c, 'u-jerry', `Missed message ${i} (brought by the resync)`, clock());
    const g = convs.get('c-group')!;
    msg(g, 'u-spike', 'A group message you missed', clock());
    emit({ kind: 'resync' });
  };

  const commands: Record<string, (a: Record<string, unknown>) => unknown> = {
    app_info: () => ({ version: MOCK_VERSION, profile: 'mock', defaultServerUrl: 'ws://127.0.0.1:7822/ws', maxTextChars }),
    restore_session: () => {
      if (keyringBroken) throw keyringError();
      const saved = storage?.getItem('mock-account');
      if (saved) return signIn(JSON.parse(saved));
      if (params.get('mock') === 'signedin') return signIn({ serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', displayName: 'Tom' });
      return null;
    },
    bootstrap: () => {
      const info = commands.app_info({});
      let account: unknown = null;
      let error: unknown = null;
      try {
        account = commands.restore_session({});
      } catch (e) {
        error = e;
      }
      const conversations = account ? commands.list_conversations({ offset: 0, limit: 50 }) : [];
      return { info, account, error, conversations, connection: commands.connection_state({}) };
    },
    server_address: (a) => resolveServerAddress(String(a.input ?? '')),
    // Like the backend: the server field is resolved (and refused if unencrypted without consent)
    // before anything else.
    sign_in: (a) => {
      const server = checkMockServer(String(a.serverUrl ?? ''), a.allowInsecure === true);
      return signIn({ ...a, serverUrl: server.url });
    },
    server_sign_up_mode: (a) => mockSignUpMode(checkMockServer(String(a.server ?? ''), a.allowInsecure === true), signUpMode),
    sign_up: (a) => {
      const server = checkMockServer(String(a.serverUrl ?? ''), a.allowInsecure === true);
      const mode = mockSignUpMode(server, signUpMode);
      if (mode === 'closed') throw err('sign_up_closed', 'this server does not take sign-ups; ask its operator for an account');
      if (mode === 'invite') {
        const invite = typeof a.invite === 'string' ? a.invite : '';
        if (!invite.trim()) throw err('invite_required', 'this server takes sign-ups with an invite code from its operator');
        if (normalizeInviteCode(invite) !== normalizeInviteCode(MOCK_INVITE_CODE)) {
          throw err('invite_invalid', 'this invite code is unknown, used up or expired; ask for a new one');
        }
      }
      if (a.username === 'jerry') throw err('username_taken', 'that username is taken');
      const bytes = utf8Length(String(a.password));
      if (bytes < 8 || bytes > 256) throw err('invalid_password', 'a password must be 8 to 256 bytes long');
      return signIn({ ...a, serverUrl: server.url });
    },
    sign_out: (a) => {
      account = null;
      password = null;
      sessionList = [];
      storage?.removeItem('mock-account');
      // The mock keeps nothing on disk; the real backend deletes the account's message cache.
      if (a.forgetData === true && !options.quiet) console.info('[mock] sign_out: forgetData, the cached messages are removed');
      return null;
    },
    find_user: (a) => users.find((u) => u.username === String(a.username).toLowerCase()) ?? null,
    // Like the backend: most recent activity first, `limit` (default 50, clamped to 1..=500) from `offset`.
    list_conversations: (a) => {
      needAccount();
      const offset = a.offset == null ? 0 : Math.max(0, Math.floor(Number(a.offset)) || 0);
      const asked = a.limit == null ? 50 : Math.floor(Number(a.limit)) || 1;
      const limit = forcedLimit > 0 ? forcedLimit : Math.min(500, Math.max(1, asked));
      const page = [...convs.values()].map(item).sort(compareConversations).slice(offset, offset + limit);
      if (!options.quiet) console.debug(`[mock] list_conversations offset ${offset} limit ${limit} → ${page.length}`);
      return page;
    },
    create_conversation: (a) => {
      needAccount();
      const ids = [me.uid, ...(a.userIds as string[]).filter((u) => u !== me.uid)];
      const type = ids.length === 2 ? 'SINGLE_CHAT' : 'GROUP_CHAT';
      if (a.unique) {
        const found = [...convs.values()].find((c) => c.userIds.length === ids.length && ids.every((u) => c.userIds.includes(u)));
        if (found) return item(found);
      }
      if (ids.some((u) => u !== me.uid && (blocking.includes(u) || blockers.has(u)))) throw blockedError();
      const c: Conv = { id: 'c-' + newId(), type, title: String(a.title ?? ''), managerId: me.uid, userIds: ids, messages: [], readSeq: 0, peerReadSeq: 0, createdAt: clock() };
      convs.set(c.id, c);
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    load_messages: (a) => {
      const c = conv(a.conversationId);
      const before = a.beforeSeq as number | null;
      const shown = visible(c);
      const older = before === null ? shown : shown.filter((m) => m.seq !== null && m.seq < before);
      // Like the backend: `limit` (default 50) clamped to 1..=200.
      const limit = Math.min(200, Math.max(1, Math.floor(Number(a.limit)) || 50));
      const messages = older.slice(-limit);
      // (A page loaded from the server is cached again.)
      for (const m of messages) if (m.id !== null) uncached.delete(m.id);
      return { messages, hasMore: older.length > limit };
    },
    // Like the backend: every term (split at whitespace, lower-cased) in the lower-cased text,
    // anywhere; the cached (acked) messages of the user's conversations; newest first; `limit`
    // (default 100) clamped to 1..=500.
    search_messages: (a): SearchHit[] => {
      if (!account) throw err('not_signed_in', 'not signed in');
      const terms = searchTerms(String(a.query ?? ''));
      if (terms.length === 0) return [];
      const asked = a.limit == null ? 100 : Math.floor(Number(a.limit)) || 1;
      const limit = Math.min(500, Math.max(1, asked));
      const hits: SearchHit[] = [];
      for (const c of convs.values()) {
        const conversationTitle = item(c).displayTitle;
        for (const m of visible(c)) {
          if (m.seq !== null && !m.recalled && matchesAllTerms(m.text, terms)) hits.push({ message: m, conversationTitle });
        }
      }
      hits.sort((x, y) => y.message.timestamp - x.message.timestamp);
      return hits.slice(0, limit);
    },
    send_text: (a) => {
      const c = conv(a.conversationId);
      const text = String(a.text);
      if ([...text].length > maxTextChars) throw err('text_too_long', `the text is longer than ${maxTextChars} characters`);
      if (text === '/reconnect') void reconnectDemo();
      if (text === '/resync') void resyncDemo();
      if (text === '/signout') {
        setTimeout(() => control.signOut('Your session was revoked from another device.'), 300);
      }
      if (text === '/blockme' && c.type === 'SINGLE_CHAT') blockers.add(c.userIds.find((u) => u !== me.uid)!);
      if (text === '/added') setTimeout(() => addToGroup('u-tyke', 'Puppy Playdate'), 800);
      if (text === '/react') {
        setTimeout(() => {
          const other = c.userIds.find((u) => u !== me.uid);
          const mineLast = [...c.messages].reverse().find((x) => x.from === me.uid && x.seq !== null && !x.recalled && x.text !== '/react');
          if (other && mineLast) {
            try {
              setReaction(c, mineLast, other, '😂', true);
            } catch {
              // (20 different emoji already)
            }
          }
        }, 1200);
      }
      if (text === '/mention' && c.type === 'GROUP_CHAT') {
        setTimeout(() => {
          const who = c.userIds.find((u) => u !== me.uid);
          if (!who || !convs.has(c.id)) return;
          const m = msg(c, who, `@${me.displayName} have a look at this`, clock(), null, { mentions: [me.uid] });
          emit({ kind: 'message', message: m });
          emit({ kind: 'conversation', conversation: item(c) });
        }, 300);
      }
      if (text === '/edit' || text === '/recall') {
        setTimeout(() => {
          const theirs = othersLast(c);
          if (!theirs) return;
          if (text === '/edit') editBy(c, theirs, `${theirs.text} (edited)`);
          else recallBy(c, theirs, theirs.from);
        }, 300);
      }
      const replyTo = a.replyTo === undefined || a.replyTo === null ? null : preview(c, bySeq(c, a.replyTo).seq!);
      // Like the backend: mentions of members only, in a group; @all by its manager only.
      const mentions = a.mentions === undefined || a.mentions === null ? [] : a.mentions;
      if (!Array.isArray(mentions) || mentions.some((u) => typeof u !== 'string')) throw err('invalid_params', 'mentions must be a list of uids');
      const mentionAll = a.mentionAll === true;
      if ((mentions.length > 0 || mentionAll) && c.type !== 'GROUP_CHAT') throw err('invalid_params', 'mentions are for groups');
      if ((mentions as string[]).some((u) => !c.userIds.includes(u))) throw err('invalid_params', 'a mention of someone who is not a member');
      if (mentionAll && c.managerId !== me.uid) throw err('not_manager', "only the group's manager may mention everyone");
      const m: UiMessage = {
        conversationId: c.id, clientId: newId(), id: null, seq: null, from: me.uid, fromName: me.displayName,
        own: true, text, timestamp: clock(), status: 'sending', error: null,
        editedAt: null, recalled: false, recalledByName: null, replyTo, editableUntil: null, recallableUntil: null,
        mentions: [...new Set(mentions as string[])], mentionAll, mentionsMe: false, reactions: [],
      };
      c.messages.push(m);
      emit({ kind: 'conversation', conversation: item(c) });
      if (online && !scripted) void ack(c, m);
      return m;
    },
    retry_send: (a) => {
      const c = conv(a.conversationId);
      const idx = c.messages.findIndex((m) => m.clientId === a.clientId);
      if (idx === -1) throw err('invalid_params', 'no such message');
      const m: UiMessage = { ...c.messages[idx], status: 'sending', error: { code: 'retry', message: '' } };
      c.messages[idx] = m;
      if (!scripted) void ack(c, m);
      return { ...m, error: null };
    },
    // Like the backend: an own, sent text not recalled, within 48 h (not in a 1:1 chat where one
    // blocks the other); an unchanged text changes nothing (no event); else the message after the
    // edit, and its `messageUpdated` event.
    edit_message: (a) => {
      needOnline();
      const c = conv(a.conversationId);
      const m = bySeq(c, a.seq);
      if (m.from !== me.uid) throw err('not_sender', 'only the sender may edit a message');
      if (m.recalled) throw err('not_editable', 'a recalled message cannot be edited');
      if (blockedChat(c)) throw blockedError();
      if (clock() > m.timestamp + EDIT_WINDOW_MS) throw err('window_closed', 'the edit window of this message has closed');
      const text = String(a.text ?? '');
      if (!text.trim()) throw err('invalid_params', 'the text is empty');
      if ([...text].length > maxTextChars) throw err('text_too_long', `the text is longer than ${maxTextChars} characters`);
      if (text === m.text) return m;
      return editBy(c, m, text);
    },
    // Like the backend: the sender within 24 h, a group's manager any of its messages at any time;
    // recalled already: as it is (no event). The message keeps what it replied to.
    recall_message: (a) => {
      needOnline();
      const c = conv(a.conversationId);
      const m = bySeq(c, a.seq);
      if (m.recalled) return m;
      const manager = c.type === 'GROUP_CHAT' && c.managerId === me.uid;
      if (!manager && m.from !== me.uid) throw err('not_sender', "only the sender (or the group's manager) may recall a message");
      if (!manager && clock() > m.timestamp + RECALL_WINDOW_MS) throw err('window_closed', 'the recall window of this message has closed');
      return recallBy(c, m, me.uid);
    },
    // Like the backend: a single emoji on a sent message that is not recalled (not in a 1:1 chat
    // where one blocks the other); at most 20 different emoji; already so: as it is (no event).
    react: (a) => {
      needOnline();
      const c = conv(a.conversationId);
      const m = bySeq(c, a.seq);
      const emoji = typeof a.emoji === 'string' ? a.emoji : '';
      if (!isSingleEmoji(emoji)) throw err('invalid_params', 'a reaction is a single emoji');
      if (typeof a.on !== 'boolean') throw err('invalid_params', 'on must be true or false');
      if (m.recalled) throw err('not_editable', 'a recalled message takes no reactions');
      if (blockedChat(c)) throw blockedError();
      return setReaction(c, m, me.uid, emoji, a.on) ?? m;
    },
    // Like the backend: this device only (also offline). A sent message is hidden here (the server
    // keeps it); a failed one is discarded from the outbox; one being sent cannot be. A
    // `conversation` event follows when the list's last message changed.
    delete_for_me: (a) => {
      needAccount();
      const c = conv(a.conversationId);
      const m = c.messages.find((x) => x.clientId === a.clientId);
      if (!m || hidden.has(m.clientId)) throw err('message_not_found', 'no message with that clientId');
      if (m.status === 'sending') throw err('invalid_params', 'a message being sent cannot be deleted');
      const lastBefore = item(c).lastMessage;
      if (m.seq === null) c.messages = c.messages.filter((x) => x !== m);
      else hidden.add(m.clientId);
      if (item(c).lastMessage !== lastBefore) emit({ kind: 'conversation', conversation: item(c) });
      return null;
    },
    // Like the backend: the read mark moves at once; when it moved, the user's own receipt and the
    // conversation (its new unread count) follow, as they do for a mark from another device.
    mark_read: (a) => {
      const c = conv(a.conversationId);
      const readSeq = Math.min(Number(a.seq), lastSeqOf(c));
      if (readSeq > c.readSeq) {
        c.readSeq = readSeq;
        emit({ kind: 'receipt', conversationId: c.id, uid: me.uid, readSeq });
        emit({ kind: 'conversation', conversation: item(c) });
      }
      return null;
    },
    set_typing: () => null,
    set_active_conversation: () => null,
    set_locale: (a) => {
      if (a.locale !== 'en' && a.locale !== 'zh') throw err('invalid_params', 'locale must be en or zh');
      return null;
    },
    set_notification_text: (a) => {
      if (typeof a.show !== 'boolean') throw err('invalid_params', 'show must be true or false');
      notificationText = a.show;
      return null;
    },
    desktop_settings: () => desktopNow(),
    set_close_to_tray: (a) => {
      desktop.closeToTray = enabledArg(a);
      return desktopNow();
    },
    set_start_at_login: (a) => {
      const enabled = enabledArg(a);
      if (autostartFails) {
        throw err('autostart', `could not ${enabled ? 'write' : 'remove'} ~/.config/autostart/gtedx-im.desktop: Permission denied (os error 13)`);
      }
      desktop.startAtLogin = enabled;
      return desktopNow();
    },
    mute_notifications: (a) => mute(a.span),
    // Like the backend: the saved choice changes; the running app keeps what it uses until restarted.
    set_hardware_acceleration: (a) => {
      const enabled = enabledArg(a);
      if (!desktop.hardwareAcceleration) throw err('invalid_params', 'hardware acceleration is a setting on Linux only');
      desktop.hardwareAcceleration = { ...desktop.hardwareAcceleration, enabled };
      return desktopNow();
    },
    // Like the backend: signed in or not.
    update_status: () => updateNow(),
    // Like the backend: a check starts unless one runs, a download runs, or an update is ready or
    // being installed (the answer is the status then); the answer says `checking` for one that starts.
    check_for_updates: () => {
      if (offer.unsupported) throw err('update_unsupported', 'this build does not update itself: it was installed by the package manager');
      if (updateSteps.checkStarts() && !scripted) void playUpdateCheck();
      return updateNow();
    },
    // Like the backend: only a ready update; on failure it is ready again (its event before the answer).
    install_update: () => {
      const s = update.state;
      if (s.kind !== 'ready') throw err('update_install', 'no update is ready');
      updateTo({ kind: 'installing', version: s.version });
      if (installFails) {
        updateTo(s);
        throw err('update_install', 'the package could not be installed: dpkg exited with status 1');
      }
      if (!options.quiet) console.info(`[mock] install_update: Gtedx IM would restart into ${s.version} now`);
      return null;
    },
    // Like the backend: no event.
    set_auto_update: (a) => {
      update = { ...update, autoCheck: enabledArg(a) };
      return updateNow();
    },
    cache_usage: (): CacheUsage => {
      needCache();
      return cacheNow();
    },
    // Like the backend: the cached history and its index go; the unsent messages stay.
    clear_cache: (): CacheUsage => {
      needCache();
      for (const c of convs.values()) for (const m of c.messages) if (m.seq !== null && m.id !== null) uncached.add(m.id);
      return cacheNow();
    },
    set_muted: (a) => {
      needOnline();
      const c = conv(a.conversationId);
      c.muted = a.muted === true;
      emit({ kind: 'conversation', conversation: item(c) });
      return null;
    },
    leave_conversation: (a) => {
      needOnline();
      const c = conv(a.conversationId);
      if (c.type !== 'GROUP_CHAT') throw err('single_chat_members_fixed', 'a single chat always has its two members');
      drop(c.id);
      if (leaveEvent) emit({ kind: 'conversationRemoved', conversationId: c.id });
      return null;
    },
    // Like the backend: the members in the order they joined, with their names.
    conversation_members: (a): MemberInfo[] => {
      needAccount();
      return membersOf(conv(a.conversationId));
    },
    // Like the backend: any member; a field left out stays; the lengths in code points; all or
    // nothing; the `conversation` event follows a change.
    update_conversation: (a) => {
      needOnline();
      const c = conv(a.conversationId);
      const title = a.title === undefined || a.title === null ? undefined : a.title;
      const remark = a.remark === undefined || a.remark === null ? undefined : a.remark;
      if ((title !== undefined && typeof title !== 'string') || (remark !== undefined && typeof remark !== 'string')) {
        throw err('invalid_params', 'title and remark must be strings');
      }
      if (title !== undefined && codePoints(title) > GROUP_TITLE_MAX) throw err('field_too_long', `the title is longer than ${GROUP_TITLE_MAX} characters`);
      if (remark !== undefined && codePoints(remark) > GROUP_REMARK_MAX) throw err('field_too_long', `the remark is longer than ${GROUP_REMARK_MAX} characters`);
      if (title === undefined && remark === undefined) return item(c);
      if (title !== undefined) c.title = title;
      if (remark !== undefined) c.remark = remark;
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    // Like the backend: usernames resolved first (an unknown one is user_not_found naming it), the
    // manager only, all or nothing (a block on either side: blocked, nobody added), current members
    // skipped (nobody new: no change, no event).
    add_members: (a) => {
      needOnline();
      const c = managedGroup(a.conversationId);
      if (!Array.isArray(a.usernames) || a.usernames.some((u) => typeof u !== 'string')) {
        throw err('invalid_params', 'usernames must be a list of strings');
      }
      const names = [...new Set((a.usernames as string[]).map((u) => u.trim().replace(/^@/, '').toLowerCase()).filter(Boolean))];
      if (names.length === 0) throw err('invalid_params', 'no username given');
      const found: string[] = [];
      for (const username of names) {
        const u = users.find((x) => x.username === username);
        if (!u) throw err('user_not_found', `no user named ${JSON.stringify(username)}`);
        found.push(u.uid);
      }
      if (found.some((u) => u !== me.uid && (blocking.includes(u) || blockers.has(u)))) throw blockedError();
      const added = found.filter((u) => !c.userIds.includes(u));
      if (added.length === 0) return item(c);
      if (c.userIds.length + added.length > 500) throw err('too_many_members', 'too many members');
      c.userIds = [...c.userIds, ...added];
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    // Like the backend: the manager only; not oneself (that is leave_conversation); a uid that is
    // no member changes nothing.
    remove_member: (a) => {
      needOnline();
      const uid = String(a.uid ?? '');
      const c = managedGroup(a.conversationId);
      if (uid === me.uid) throw err('invalid_params', 'to remove yourself, leave the conversation');
      if (!c.userIds.includes(uid)) return item(c);
      c.userIds = c.userIds.filter((u) => u !== uid);
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    block_user: (a) => {
      needOnline();
      const uid = String(a.uid);
      if (uid === me.uid) throw err('invalid_params', 'you cannot block yourself');
      if (!users.some((u) => u.uid === uid)) throw err('user_not_found', 'no user has that id');
      setBlocked(uid, true);
      return null;
    },
    unblock_user: (a) => {
      needOnline();
      setBlocked(String(a.uid), false);
      return null;
    },
    blocked_users: () => {
      needOnline();
      return blocking.map(userInfo);
    },
    list_sessions: () => {
      needOnline();
      return sortedSessions();
    },
    revoke_session: (a) => {
      needOnline();
      const id = String(a.sessionId ?? '');
      if (id === currentSession) throw err('invalid_params', 'this is your own session: use sign_out');
      if (!sessionList.some((x) => x.id === id)) throw err('session_not_found', `no session ${JSON.stringify(id)} of this account`);
      sessionList = sessionList.filter((x) => x.id !== id);
      return null;
    },
    change_password: (a) => {
      needOnline();
      if (wrongPasswords >= MOCK_PASSWORD_TRIES) throw err('rate_limited', 'too many wrong passwords; try again in 60 s');
      const next = String(a.newPassword ?? '');
      const bytes = utf8Length(next);
      if (bytes < 8 || bytes > 256) throw err('invalid_password', 'a password must be 8 to 256 bytes long');
      if (a.oldPassword !== password) {
        wrongPasswords++;
        throw err('wrong_credentials', 'the current password is wrong');
      }
      wrongPasswords = 0;
      password = next;
      // The server signs out every other session of the account.
      sessionList = sessionList.filter((x) => x.current);
      return null;
    },
    // Like the backend: no arguments, null; signed in or not.
    close_window: () => windowCommand('close_window'),
    quit_app: () => windowCommand('quit_app'),
    // As if the app restarted: it uses the saved hardware acceleration from now on (no event: the
    // real app's page starts afresh).
    restart_app: () => {
      const hardware = desktop.hardwareAcceleration;
      if (hardware) desktop.hardwareAcceleration = { ...hardware, active: hardware.enabled };
      return windowCommand('restart_app');
    },
    connection_state: (): ConnectionState => (online ? { state: 'online' } : { state: 'connecting' }),
    ui_ready: (a) => {
      const at = Number(a.calledAt);
      const list = firstList ? `, ${(at - firstList.at).toFixed(1)} ms after the first list_conversations answer (${firstList.items} items)` : '';
      console.info(`[mock] ui_ready after ${at.toFixed(1)} ms${list}`);
      return null;
    },
  };

  // When the first list_conversations answer left the "backend" (for the ui_ready log line: the
  // time from the list data to the first paint; the structuredClone stands in for the IPC).
  let firstList: { at: number; items: number } | null = null;

  const findPending = (conversationId: string, clientId: string) => {
    const c = conv(conversationId);
    const m = c.messages.find((x) => x.clientId === clientId && x.status === 'sending');
    return m ? { c, m } : null;
  };

  const control: MockControl = {
    me,
    users,
    items: () => [...convs.values()].map(item).sort(compareConversations),
    messages: (id) => structuredClone(visible(conv(id))),
    pending: () => [...convs.values()].flatMap((c) => c.messages.filter((m) => m.own && m.status === 'sending')),
    incoming(conversationId, from, text, replyTo = null, mention = {}) {
      const c = conv(conversationId);
      const m = msg(c, from, text, clock(), replyTo, mention);
      emit({ kind: 'message', message: m });
      emit({ kind: 'conversation', conversation: item(c) });
      return m;
    },
    missed(conversationId, from, count) {
      const c = conv(conversationId);
      for (let i = 0; i < count; i++) msg(c, from, `missed ${i + 1}`, clock());
    },
    ack(conversationId, clientId) {
      const found = findPending(conversationId, clientId);
      if (!found) return null;
      if (blockedChat(found.c)) return control.fail(conversationId, clientId); // the server refuses it
      const next: UiMessage = { ...found.m, status: 'sent', seq: lastSeqOf(found.c) + 1, id: newId(), error: null, timestamp: clock() };
      return settle(found.c, found.m, next);
    },
    fail(conversationId, clientId) {
      const found = findPending(conversationId, clientId);
      if (!found) return null;
      const error = blockedChat(found.c) ? blockedError() : err('internal', 'the server did not answer in time');
      const next: UiMessage = { ...found.m, status: 'failed', error };
      return settle(found.c, found.m, next);
    },
    edit(conversationId, seq, text) {
      const c = conv(conversationId);
      const m = c.messages.find((x) => x.seq === seq);
      return m && !m.recalled ? editBy(c, m, text) : null;
    },
    recall(conversationId, seq, by) {
      const c = conv(conversationId);
      const m = c.messages.find((x) => x.seq === seq);
      return m && !m.recalled ? recallBy(c, m, by ?? m.from) : null;
    },
    react(conversationId, seq, uid, emoji, on) {
      const c = conv(conversationId);
      const m = c.messages.find((x) => x.seq === seq);
      if (!m || m.recalled) return null;
      try {
        return setReaction(c, m, uid, emoji, on);
      } catch {
        return null; // (a 21st emoji)
      }
    },
    create(userIds, title) {
      const ids = [me.uid, ...userIds.filter((u) => u !== me.uid)];
      const type = ids.length === 2 ? 'SINGLE_CHAT' : 'GROUP_CHAT';
      const c: Conv = { id: 'c-' + newId(), type, title, managerId: ids[1] ?? me.uid, userIds: ids, messages: [], readSeq: 0, peerReadSeq: 0, createdAt: clock() };
      convs.set(c.id, c);
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    peerRead(conversationId, uid) {
      const c = conv(conversationId);
      const readSeq = lastSeqOf(c);
      c.peerReadSeq = Math.max(c.peerReadSeq, readSeq);
      emit({ kind: 'receipt', conversationId, uid, readSeq });
      emit({ kind: 'conversation', conversation: item(c) });
    },
    readElsewhere(conversationId) {
      const c = conv(conversationId);
      c.readSeq = Math.max(c.readSeq, lastSeqOf(c));
      emit({ kind: 'receipt', conversationId, uid: me.uid, readSeq: c.readSeq });
      emit({ kind: 'conversation', conversation: item(c) });
    },
    remove(conversationId) {
      if (!drop(conversationId)) return;
      emit({ kind: 'conversationRemoved', conversationId });
    },
    typing(conversationId, uid, typing) {
      emit({ kind: 'typing', conversationId, uid, name: name(uid), typing });
    },
    resync() {
      emit({ kind: 'resync' });
    },
    signOut(reason) {
      account = null;
      password = null;
      sessionList = [];
      storage?.removeItem('mock-account');
      emit({ kind: 'signedOut', reason });
    },
    muteElsewhere(conversationId, muted) {
      const c = conv(conversationId);
      c.muted = muted;
      emit({ kind: 'conversation', conversation: item(c) });
    },
    blockElsewhere: setBlocked,
    blockedBy(uid, blocked) {
      if (blocked) blockers.add(uid);
      else blockers.delete(uid);
    },
    addToGroup,
    formerGroups: () => [...former.keys()],
    blocked: () => [...blocking],
    sessions: () => structuredClone(sortedSessions()),
    signInElsewhere(device) {
      const s: SessionInfo = { id: sessionId(), device, createdAt: clock(), current: false };
      sessionList = [...sessionList, s];
      return { ...s };
    },
    revokeElsewhere(id) {
      if (id === currentSession || !sessionList.some((x) => x.id === id)) return false;
      sessionList = sessionList.filter((x) => x.id !== id);
      return true;
    },
    setOnline(on) {
      setConn(on ? { state: 'online' } : { state: 'offline' });
    },
    password: () => password,
    notificationText: () => notificationText,
    notificationClicked(conversationId) {
      emit({ kind: 'openConversation', conversationId });
    },
    desktopSettings: () => desktopNow(),
    muteFromTray(span) {
      const settings = mute(span);
      emit({ kind: 'desktopSettings', settings: { ...settings } });
      return settings;
    },
    failAutostart(fail) {
      autostartFails = fail;
    },
    windowCommands: () => [...windowCommands],
    updateStatus: () => updateNow(),
    updateCheckStarts() {
      updateSteps.checkStarts();
      return updateNow();
    },
    updateUpToDate: () => updateSteps.upToDate(),
    updateFound: (version, total = null) => updateSteps.found(version, total),
    updateProgress: (bytes) => updateSteps.progress(bytes),
    updateDownloaded: (notes) => updateSteps.downloaded(notes === undefined ? offer.notes : notes),
    updateFailed: (code) => updateSteps.failed(code),
    finishUpdateCheck,
    failUpdateInstall(fail) {
      installFails = fail;
    },
    failCache(fail) {
      cacheFails = fail;
    },
    cacheUsage: () => (account ? cacheNow() : null),
    members: (id) => membersOf(conv(id)),
    updateElsewhere(conversationId, change) {
      const c = conv(conversationId);
      if (change.title !== undefined) c.title = change.title;
      if (change.remark !== undefined) c.remark = change.remark;
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    membersElsewhere(conversationId, change) {
      const c = conv(conversationId);
      const remove = new Set((change.remove ?? []).filter((u) => u !== me.uid));
      c.userIds = c.userIds.filter((u) => !remove.has(u));
      for (const u of change.add ?? []) if (!c.userIds.includes(u)) c.userIds = [...c.userIds, u];
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    setManager(conversationId, uid) {
      const c = conv(conversationId);
      if (c.userIds.includes(uid)) c.managerId = uid;
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
  };

  return {
    control,
    async invoke<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      const calledAt = performance.now(); // (ui_ready is timed when invoked, not after the mock's delay)
      // (Signing in and asking a server who may sign up connect to it: slower.)
      // (Installing an update takes a while too: the administrator's password, unpacking.)
      const slow: Record<string, number> = { sign_in: 400, sign_up: 400, server_sign_up_mode: 250, install_update: 1500 };
      const latency = options.latencyMs === undefined ? (slow[cmd] ?? 20) : options.latencyMs;
      if (latency !== null) await sleep(latency);
      const f = commands[cmd];
      if (!f) throw err('unknown_command', `the mock has no command ${cmd}`);
      const result = f(cmd === 'ui_ready' ? { calledAt } : args);
      if (cmd === 'list_conversations' && !firstList) {
        firstList = { at: performance.now(), items: (result as unknown[]).length };
        performance.mark?.('mock:list_conversations');
      }
      return structuredClone(result) as T;
    },
    async listen(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}
